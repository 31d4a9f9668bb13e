"""DGCPN (Yu et al., AAAI 2021) on the shared pipeline (method.md section 9, DGCPN bullet).

Graph: S_pair = a1 C_T + (1 - a1) C_I on the cosine graphs C in [0, 1] (section 3); each
row's k largest kept (k = k_fraction of the rows), rows normalised to P; neighbour coherence
= cosine of P's rows; S = (1 - a2) S_pair + a2 coherence; target mu (2 S - 1).

DGCPN builds that graph once over the whole training set: ``global_graph`` (true by default)
tells the trainer to call `DGCPN.targets` on all n training pairs and slice the (n, n)
target per batch. `targets` also works on a batch alone (its graph is then a different,
local one: k is a fraction of the batch and the coherence sees only the batch).

Each formula is a small pure function, so a user holding DGCPN's equations can swap one.
The optimiser (SGD, lr 0.005) and early stopping on validation MAP are the trainer's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sgrn.graphs import EPS, TIE_TOL, kth_largest, signed
from sgrn.hparams.dgcpn import neighbour_count
from sgrn.methods.base import Method
from sgrn.methods.losses import code_similarity, half_binary_loss

# --------------------------------------------------------------------------- graph


def pair_graph(c_img: Tensor, c_txt: Tensor, a1: float) -> Tensor:
    """S_pair = a1 C_T + (1 - a1) C_I, from cosine graphs in [0, 1]."""
    return a1 * c_txt + (1.0 - a1) * c_img


def row_top_k(c: Tensor, k: int) -> Tensor:
    """``c`` with every entry below its row's k-th largest value set to 0.

    Ties follow graphs.knn_mask: values within TIE_TOL of the k-th largest (self included)
    are all kept, so a row may keep more than k. Row by row, not symmetrised: the result is
    row-normalised next, and the coherence built on it is symmetric.
    """
    tau = kth_largest(c, k)
    return c * (c >= tau[:, None] - TIE_TOL).to(c.dtype)


def neighbour_coherence(a: Tensor) -> Tensor:
    """Cosine of the rows of P = ``a`` with rows summing to 1: symmetric, in [0, 1] for a >= 0.

    High when two items share their strong neighbours. The diagonal is 1 (an item's
    neighbourhood agrees with itself), also for an all-zero row, which has cosine 0 with
    every other row.
    """
    p = a / a.sum(dim=1, keepdim=True).clamp_min(EPS)
    u = p / p.norm(dim=1, keepdim=True).clamp_min(EPS)
    q = u @ u.T
    q = (0.5 * (q + q.T)).clamp(0.0, 1.0)  # symmetric exactly, not up to rounding
    q.fill_diagonal_(1.0)
    return q


def dgcpn_graph(s_pair: Tensor, k: int, a2: float) -> Tensor:
    """2 S - 1, S = (1 - a2) S_pair + a2 neighbour_coherence(row_top_k(S_pair, k)).

    For a symmetric S_pair in [0, 1] with unit diagonal (as pair_graph gives), the result
    is symmetric, in [-1, 1], with diagonal 1 (set exactly, against rounding).
    """
    coherence = neighbour_coherence(row_top_k(s_pair, k))
    s = ((1.0 - a2) * s_pair + a2 * coherence).clamp(0.0, 1.0)
    s.fill_diagonal_(1.0)
    return signed(s)


# --------------------------------------------------------------------------- loss


def similarity_loss(h_img: Tensor, h_txt: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    """(inter, intra): MSE(H^_I H^_T^T, S) and MSE(H^_I H^_I^T, S) + MSE(H^_T H^_T^T, S)."""
    inter = F.mse_loss(code_similarity(h_img, h_txt), s)
    intra = F.mse_loss(code_similarity(h_img, h_img), s) + F.mse_loss(
        code_similarity(h_txt, h_txt), s
    )
    return inter, intra


def consistency_loss(h_img: Tensor, h_txt: Tensor) -> Tensor:
    """MSE(H^_I H^_I^T, H^_T H^_T^T) + MSE(H^_I H^_T^T, H^_T H^_I^T): the four code-similarity
    matrices made to agree (gradients flow through both sides of each MSE)."""
    sim_it = code_similarity(h_img, h_txt)
    return F.mse_loss(code_similarity(h_img, h_img), code_similarity(h_txt, h_txt)) + F.mse_loss(
        sim_it, code_similarity(h_txt, h_img)
    )


# --------------------------------------------------------------------------- method


class DGCPN(Method):
    """DGCPN's target S and loss for one batch (or, sliced, for the whole training set).

    The loss is our reading of DGCPN's description (its equations are not in method.md):

        L = inter + intra + gamma_c consistency + half_binary half_binary_loss

    with inter, intra = `similarity_loss` against S = mu (2 S - 1) (its diagonal mu pulls
    the codes of a pair to cosine mu), consistency = `consistency_loss`, and DGCPN's
    "half binary" steps folded into the same loss as `half_binary_loss` (one optimiser step
    per batch, not separate steps). gamma_c = 0 or half_binary = 0 removes that term exactly
    (it is still logged, outside the autograd graph).

    ``batch_size`` is the number of rows each graph will have (the batch, or n with
    ``global_graph``); any positive size fits, k being a fraction of it. ``global_graph`` is
    read by the trainer, not here.
    """

    name = "dgcpn"

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """{"S": mu (2 S - 1)}, (m, m), over the m rows given (a batch or the training set)."""
        p = self.params
        s_pair = pair_graph(*self.cosine_graphs(f_img, f_txt), p["a1"])
        k = neighbour_count(p["k_fraction"], s_pair.shape[0])
        return {"S": p["mu"] * dgcpn_graph(s_pair, k, p["a2"])}

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss on tanh outputs (m, c); terms inter, intra, consistency, half_binary."""
        p, s = self.params, targets["S"]
        inter, intra = similarity_loss(h_img, h_txt, s)
        total = inter + intra
        grad = torch.is_grad_enabled()
        with torch.set_grad_enabled(grad and p["gamma_c"] != 0):
            consistency = consistency_loss(h_img, h_txt)
        with torch.set_grad_enabled(grad and p["half_binary"] != 0):
            half = half_binary_loss(h_img, h_txt, s)
        if p["gamma_c"] != 0:
            total = total + p["gamma_c"] * consistency
        if p["half_binary"] != 0:
            total = total + p["half_binary"] * half
        return total, {
            "inter": inter.detach(),
            "intra": intra.detach(),
            "consistency": consistency.detach(),
            "half_binary": half.detach(),
        }


METHOD = DGCPN
