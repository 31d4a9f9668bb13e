"""SRCH (Wang et al., IJCAI 2020) on the shared pipeline (method.md section 9, SRCH bullet).

"Set and Rebase": the target graph is *set* from each modality's feature neighbourhoods (a
sparse geometric graph) and *rebased* on the current hash codes, in alternation with the
training of the hash nets; hash auto-encoders decode the features back from the codes.
SRCH's equations were not available to us; the forms here are our reconstruction:

    set      A0 = (N_I + N_T) / 2, N_X the symmetric kNN mask of C_X (k, self included)
    rebase   A  = (1 - rho) A0 + rho N_B, N_B the kNN mask of the codes' cosine graph,
             B = sign(H_I + H_T) of the batch, detached (the graph step of the alternation)
    loss     MSE(H^_I H^_T^T, mu A) + intra [MSE(H^_I H^_I^T, mu A) + MSE(H^_T H^_T^T, mu A)]
             + gamma mean (|H| - 1)^2 + delta reconstruction

with the reconstruction of each modality's unit-length features by a linear decoder from
either modality's codes (`SRCHDecoders`, a module the trainer optimises). A non-edge's target
is 0: the sparse graph says "not known to be similar", so such codes are pushed towards
orthogonal, not opposite, codes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sgrn.graphs import EPS, knn_mask
from sgrn.methods.base import Method
from sgrn.methods.losses import binary_codes, code_similarity


def set_graph(c_img: Tensor, c_txt: Tensor, k: int) -> Tensor:
    """A0 = (N_I + N_T) / 2 in {0, 1/2, 1}: 1 where both modalities' kNN graphs hold the
    edge, 1/2 where one does; the diagonal is 1 (self is its own neighbour)."""
    return (knn_mask(c_img, k) + knn_mask(c_txt, k)) / 2


def code_graph(b: Tensor, k: int) -> Tensor:
    """N_B: the symmetric kNN mask of the codes' cosine graph (1 + cos(b_i, b_j)) / 2."""
    return knn_mask((1 + code_similarity(b, b)) / 2, k)


def rebase_graph(a0: Tensor, b: Tensor, k: int, rho: float) -> Tensor:
    """A = (1 - rho) A0 + rho N_B: the set graph moved towards the codes' neighbourhoods."""
    return (1 - rho) * a0 + rho * code_graph(b, k)


def quantisation_loss(h_img: Tensor, h_txt: Tensor) -> Tensor:
    """mean (|H| - 1)^2 over both modalities: tanh outputs pushed to the binary corners."""
    return ((h_img.abs() - 1) ** 2).mean() + ((h_txt.abs() - 1) ** 2).mean()


class SRCHDecoders(nn.Module):
    """The decoders of the hash auto-encoders: codes (c) -> unit-length features of each
    modality, linear, initialised at zero.

    A randomly initialised decoder to d features puts out rows of norm about sqrt(d / 3)
    against targets of norm 1: its error, and the gradient it sends into the codes, grow with
    d (on the demo's 1,280-d image features the first steps saturated every tanh and froze
    the codes). From zero, the error starts at |F^|^2 = 1 per row and the codes feel the
    decoders only as far as these have learned to read them."""

    def __init__(self, dims: tuple[int, int], bits: int) -> None:
        super().__init__()
        self.image = nn.Linear(bits, dims[0])
        self.text = nn.Linear(bits, dims[1])
        for layer in (self.image, self.text):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, h_img: Tensor, h_txt: Tensor, f_img: Tensor, f_txt: Tensor) -> Tensor:
        """Sum over both decoders and both codes of the mean squared row error
        |D_X(H_Y) - F^_X|^2: each modality decoded from its own codes and from the other's."""
        total = h_img.new_zeros(())
        for decoder, f in ((self.image, f_img), (self.text, f_txt)):
            target = F.normalize(f, dim=1, eps=EPS)
            for h in (h_img, h_txt):
                total = total + ((decoder(h) - target) ** 2).sum(dim=1).mean()
        return total


class SRCH(Method):
    """SRCH's set graph (targets), rebased on the batch's codes in the loss."""

    name = "srch"
    uses_features = True

    def __init__(self, batch_size=None, **kwargs) -> None:
        super().__init__(batch_size, **kwargs)
        self.rows = batch_size  # rows of the set graph: the batch, or n with global_graph
        self.decoders: SRCHDecoders | None = None

    def code_neighbours(self, m: int) -> int:
        """k of the code graph of a batch of ``m``: k itself, or, when k counts neighbours
        among the n rows of a global set graph (the trainer scales it to n), the same
        fraction of the batch, within [1, m - 1]."""
        k = self.params["k"]
        if self.rows is None or self.rows == m:
            return k
        return max(1, min(m - 1, round(k * m / self.rows)))

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """{"A0": the set graph}, (m, m), over the rows given (a batch or the training set)."""
        return {"A0": set_graph(*self.cosine_graphs(f_img, f_txt), self.params["k"])}

    def build(self, dims: tuple[int, int], bits: int) -> None:
        self.decoders = SRCHDecoders(dims, bits)

    def modules(self) -> list[nn.Module]:
        return [] if self.decoders is None else [self.decoders]

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor],
        features: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss on tanh outputs (m, c); terms inter, intra, quantisation, reconstruction.

        Without ``features`` (or before `build`) the reconstruction term is 0; with delta = 0
        it is logged but not in the loss (nor in the autograd graph)."""
        p = self.params
        with torch.no_grad():  # the graph step: codes fixed (float32 at least, as the targets)
            a0 = targets["A0"].to(torch.promote_types(targets["A0"].dtype, h_img.dtype))
            b = binary_codes(h_img + h_txt).to(a0.dtype)
            s = p["mu"] * rebase_graph(a0, b, self.code_neighbours(len(b)), p["rho"])
        inter = F.mse_loss(code_similarity(h_img, h_txt), s)
        intra = F.mse_loss(code_similarity(h_img, h_img), s) + F.mse_loss(
            code_similarity(h_txt, h_txt), s)
        quant = quantisation_loss(h_img, h_txt)
        total = inter + p["intra"] * intra + p["gamma"] * quant
        rec = h_img.new_zeros(())
        if features is not None and self.decoders is not None:
            with torch.set_grad_enabled(torch.is_grad_enabled() and p["delta"] != 0):
                rec = self.decoders(h_img, h_txt, *features)
            if p["delta"] != 0:
                total = total + p["delta"] * rec
        return total, {"inter": inter.detach(), "intra": intra.detach(),
                       "quantisation": quant.detach(), "reconstruction": rec.detach()}


METHOD = SRCH
