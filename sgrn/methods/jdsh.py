"""JDSH (Liu et al., SIGIR 2020) on the shared pipeline (method.md section 9, JDSH bullet).

Joint-modal similarity S~ = a S_I + b S_T + l (S_high + S_high^T) / 2 with
S_high = norm(S_I) norm(S_T)^T, its tails re-weighted (DSDW), S = mu S~; loss
intra MSE(BI BI^T, S) + MSE(BI BT^T, S) + MSE(BT BI^T, S) - pair mean(diag(BI BT^T))
+ intra MSE(BT BT^T, S). Defaults are JDSH's MIRFlickr ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sgrn.graphs import EPS, signed
from sgrn.methods.base import Method
from sgrn.methods.losses import code_similarity


def joint_modal(s_i: Tensor, s_t: Tensor, a: float, b: float, l: float) -> Tensor:
    """S~ = a S_I + b S_T + l (S_high + S_high^T) / 2, S_high = norm(S_I) norm(S_T)^T."""
    s_high = F.normalize(s_i, dim=1, eps=EPS) @ F.normalize(s_t, dim=1, eps=EPS).T
    return a * s_i + b * s_t + l * (s_high + s_high.T) / 2


def reweight_tails(
    s: Tensor, left: float, right: float, s_min: float, s_max: float, l1: float, l2: float
) -> Tensor:
    """DSDW: S < left -> (1 + l1 exp(-(S - s_min))) S;  S > right -> (1 + l2 exp(S - s_max)) S.

    Both masks are taken on the input (JDSH updates in place, left tail first; the two agree
    unless a re-weighted left-tail value crosses right, impossible for left < 0).
    """
    low, high = s < left, s > right
    out = torch.where(low, (1 + l1 * torch.exp(-(s - s_min))) * s, s)
    return torch.where(high, (1 + l2 * torch.exp(s - s_max)) * s, out)


def fit_tails(values: Tensor) -> dict[str, float]:
    """JDSH's tail thresholds from a sample of S~'s entries, as its constants encode them:
    left = mean - 2 std, right = mean + 4 std, s_min and s_max the observed extremes."""
    values = values.double()
    mean, std = values.mean(), values.std()
    return {"left": float(mean - 2 * std), "right": float(mean + 4 * std),
            "s_min": float(values.min()), "s_max": float(values.max())}


class JDSH(Method):
    """JDSH's target S and loss for one batch (left <= right is checked in sgrn.hparams)."""

    name = "jdsh"

    @torch.no_grad()
    def fit_to_training_set(self, x_img: Tensor, x_txt: Tensor, rows: int) -> dict[str, float]:
        """With ``fit_tails``: left, right, s_min and s_max fitted (`fit_tails`) to the entries
        off the diagonal of S~ over the training set, on graphs of ``rows`` rows as training
        builds them (consecutive blocks of a fixed permutation; one block of all n for a
        global graph), and used from then on; without it, the values of the block."""
        if not self.params["fit_tails"]:
            return {}
        n = len(x_img)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(0)).to(x_img.device)
        off_diagonal = ~torch.eye(rows, dtype=torch.bool, device=x_img.device)
        values = [self.joint(x_img[idx], x_txt[idx])[0][off_diagonal]
                  for idx in order[:n - n % rows].split(rows)]
        fitted = fit_tails(torch.cat(values))
        self.params.update(fitted)
        return fitted

    def joint(self, f_img: Tensor, f_txt: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(S~, S_I, S_T) of the rows given, before the tails are re-weighted."""
        p = self.params
        s_img, s_txt = map(signed, self.cosine_graphs(f_img, f_txt))
        return joint_modal(s_img, s_txt, p["a"], p["b"], p["l"]), s_img, s_txt

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """S = mu reweight_tails(S~), and the intra-modal graphs S_I, S_T, (m, m)."""
        p = self.params
        s, s_img, s_txt = self.joint(f_img, f_txt)
        s = reweight_tails(s, p["left"], p["right"], p["s_min"], p["s_max"], p["l1"], p["l2"])
        return {"S": p["mu"] * s, "S_img": s_img, "S_txt": s_txt}

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """JDSH's loss on tanh outputs (m, c); terms (detached): inter, pair (mean cosine), intra.

        ``pair`` weighs the paired-item term (1 in JDSH; 0 removes it, for ablations)."""
        p, s = self.params, targets["S"]
        sim_it = code_similarity(h_img, h_txt)
        inter = F.mse_loss(sim_it, s) + F.mse_loss(code_similarity(h_txt, h_img), s)
        pair = torch.diagonal(sim_it).mean()
        intra = F.mse_loss(code_similarity(h_img, h_img), s) + F.mse_loss(
            code_similarity(h_txt, h_txt), s
        )
        total = p["intra"] * intra + inter - p["pair"] * pair
        return total, {"inter": inter.detach(), "pair": pair.detach(), "intra": intra.detach()}


METHOD = JDSH
