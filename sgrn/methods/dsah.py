"""DSAH (Yang et al., ICMR 2020) on the shared pipeline (method.md section 9, DSAH).

Semantic alignment: S~ = alpha S_I + (1 - alpha) S_T on the signed cosine graphs, S = mu S~,
and the three code similarities of the tanh outputs made to match it; each modality's own
similarity also matches mu S_X, the codes of a pair are pulled to cosine mu, and the cross
similarity is made symmetric. Decoders reconstruct one modality's (row-normalised) features
from the other's codes: dec_T(B_T) ~ F^_I and dec_I(B_I) ~ F^_T, one linear layer each, trained
with the hash nets (the trainer's `Method.build` / `Method.modules` hook).

Read from the authors' code (a port of it; the paper's equations were not available): the
terms and their weights (1, 1, 1, 1, 1, 1, 2, ETA), K = mu = 1.5, ALPHA = 0.9, ETA = 0.1, and
decoders fed with sign(H). torch.sign passes no gradient, so there the reconstruction trains
the decoders only; ``decode_from: outputs`` feeds H instead, so that it shapes the codes [ours].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sgrn.graphs import EPS, signed
from sgrn.methods.base import Method
from sgrn.methods.losses import binary_codes, code_similarity


def semantic_target(s_img: Tensor, s_txt: Tensor, alpha: float, mu: float) -> Tensor:
    """S = mu (alpha S_I + (1 - alpha) S_T), from signed cosine graphs in [-1, 1]."""
    return mu * (alpha * s_img + (1.0 - alpha) * s_txt)


def alignment_terms(
    h_img: Tensor, h_txt: Tensor, s: Tensor, s_img: Tensor, s_txt: Tensor, mu: float
) -> dict[str, Tensor]:
    """DSAH's similarity terms on tanh outputs (m, c), each an MSE averaged over its entries.

    align = MSE(H^_T H^_T^T, S) + MSE(H^_I H^_T^T, S) + MSE(H^_I H^_I^T, S);
    intra = MSE(H^_I H^_I^T, mu S_I) + MSE(H^_T H^_T^T, mu S_T);
    pair = MSE(diag(H^_I H^_T^T), mu); sym = MSE(H^_I H^_T^T, (H^_I H^_T^T)^T).
    """
    sim_it = code_similarity(h_img, h_txt)
    sim_ii = code_similarity(h_img, h_img)
    sim_tt = code_similarity(h_txt, h_txt)
    diagonal = torch.diagonal(sim_it)
    return {
        "align": F.mse_loss(sim_tt, s) + F.mse_loss(sim_it, s) + F.mse_loss(sim_ii, s),
        "intra": F.mse_loss(sim_ii, mu * s_img) + F.mse_loss(sim_tt, mu * s_txt),
        "pair": F.mse_loss(diagonal, torch.full_like(diagonal, mu)),
        "sym": F.mse_loss(sim_it, sim_it.T),
    }


def reconstruction_loss(
    dec_img: nn.Module, dec_txt: nn.Module, h_img: Tensor, h_txt: Tensor, f_img: Tensor, f_txt: Tensor,
    from_codes: bool,
) -> Tensor:
    """MSE(dec_T(X_T), F^_I) + MSE(dec_I(X_I), F^_T): each modality rebuilt from the other's code.

    ``dec_img`` reads image codes and rebuilds text features, ``dec_txt`` the reverse; F^ are
    the features with rows of unit length; X = sign(H) (detached) with ``from_codes``, else H.
    """
    x_img, x_txt = (binary_codes(h_img), binary_codes(h_txt)) if from_codes else (h_img, h_txt)
    target_img = F.normalize(f_img, dim=1, eps=EPS)
    target_txt = F.normalize(f_txt, dim=1, eps=EPS)
    rebuilt_img, rebuilt_txt = dec_txt(x_txt), dec_img(x_img)
    return F.mse_loss(rebuilt_img, target_img.to(rebuilt_img.dtype)) + F.mse_loss(
        rebuilt_txt, target_txt.to(rebuilt_txt.dtype)
    )


class DSAH(Method):
    """DSAH's target S and loss for one batch; owns the two decoders (made by `build`).

    L = align + eta intra + pair_w pair + rec_w rec + sym_w sym (weights ``pair``, ``rec``,
    ``sym`` of the params; every term is logged, a zero weight leaves it out of L exactly).
    """

    name = "dsah"
    uses_features = True

    def build(self, dims: tuple[int, int], bits: int) -> None:
        """dec_I: Linear(bits, d_text) rebuilds text features from image codes; dec_T:
        Linear(bits, d_image) rebuilds image features from text codes (DSAH's decoders)."""
        d_img, d_txt = dims
        self.dec_img = nn.Linear(bits, d_txt)
        self.dec_txt = nn.Linear(bits, d_img)

    def modules(self) -> list[nn.Module]:
        return [self.dec_img, self.dec_txt] if hasattr(self, "dec_img") else []

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """S = mu (alpha S_I + (1 - alpha) S_T), and the signed graphs S_I, S_T, (m, m)."""
        p = self.params
        s_img, s_txt = map(signed, self.cosine_graphs(f_img, f_txt))
        return {"S": semantic_target(s_img, s_txt, p["alpha"], p["mu"]), "S_img": s_img, "S_txt": s_txt}

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor],
        features: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss on tanh outputs (m, c) and the batch's features; terms align, intra,
        pair, rec, sym (detached, unweighted)."""
        if features is None:
            raise ValueError("dsah: the loss needs the batch's features=(f_img, f_txt) for its decoders")
        if not hasattr(self, "dec_img"):
            raise ValueError("dsah: build(dims, bits) makes the decoders; call it before the loss")
        p = self.params
        terms = alignment_terms(h_img, h_txt, targets["S"], targets["S_img"], targets["S_txt"], p["mu"])
        with torch.set_grad_enabled(torch.is_grad_enabled() and p["rec"] != 0):
            terms["rec"] = reconstruction_loss(self.dec_img, self.dec_txt, h_img, h_txt, *features,
                                               from_codes=p["decode_from"] == "codes")
        total = terms["align"]
        for name, weight in (("intra", p["eta"]), ("pair", p["pair"]), ("rec", p["rec"]), ("sym", p["sym"])):
            if weight != 0:
                total = total + weight * terms[name]
        return total, {name: value.detach() for name, value in terms.items()}


METHOD = DSAH
