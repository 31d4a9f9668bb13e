"""Losses over code similarities (method.md section 7).

Every term is an MSE, averaged over the entries it covers, between the cosine similarity of
hash-net outputs H (tanh, (m, c)) or of their signs B = sign(H), and a target graph.
Each form of SGRN's L_intra marked [ours] in method.md is one function here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sgrn.graphs import EPS


def code_similarity(a: Tensor, b: Tensor) -> Tensor:
    """A^ B^T with the rows of A and B normalised to unit length (eps-safe): (m, m)."""
    return F.normalize(a, dim=1, eps=EPS) @ F.normalize(b, dim=1, eps=EPS).T


def binary_codes(h: Tensor) -> Tensor:
    """sign(H) in {-1, +1} with 0 -> +1 (as sgrn.retrieval.codes.binarize), detached, H's dtype."""
    return torch.where(h.detach() >= 0, 1.0, -1.0).to(h.dtype)


def inter_loss(h_img: Tensor, h_txt: Tensor, s: Tensor, lambda1: float, lambda2: float) -> Tensor:
    """L_inter = MSE(H^_I H^_T^T, S) + lambda1 MSE(H^_I H^_I^T, S) + lambda2 MSE(H^_T H^_T^T, S).

    DJSRH's loss (section 7).
    """
    return (
        F.mse_loss(code_similarity(h_img, h_txt), s)
        + lambda1 * F.mse_loss(code_similarity(h_img, h_img), s)
        + lambda2 * F.mse_loss(code_similarity(h_txt, h_txt), s)
    )


def block_inter_loss(h_img: Tensor, h_txt: Tensor, s_block: Tensor, lambda1: float, lambda2: float) -> Tensor:
    """L_inter of GRGR's concatenated reading (grgr_form concat, section 6) [ours].

    The block matrix of code similarities H^ H^T, H = [H_I; H_T] (2m, c), i.e.
    [[H^_I H^_I^T, H^_I H^_T^T], [H^_T H^_I^T, H^_T H^_T^T]], against the (2m, 2m) joint
    target ``s_block`` (`graphs.concat_graph`): the mean squared error of each block, the two
    cross-modal blocks weighted 1/2 each, the image block lambda1, the text block lambda2.
    With every block of the target equal to S this is `inter_loss` (up to rounding).
    """
    m = h_img.shape[0]
    err = (code_similarity(torch.cat([h_img, h_txt]), torch.cat([h_img, h_txt])) - s_block) ** 2
    return (
        0.5 * (err[:m, m:].mean() + err[m:, :m].mean())
        + lambda1 * err[:m, :m].mean()
        + lambda2 * err[m:, m:].mean()
    )


def paired_similarity(h_img: Tensor, h_txt: Tensor) -> Tensor:
    """mean(diag(H^_I H^_T^T)): the mean cosine of the codes of each pair's image and text.

    Subtracted from the loss, it pulls the two codes of a pair together with the full weight
    that the diagonal has only 1/m of in the MSE terms (JDSH's paired-item term).
    """
    return F.cosine_similarity(h_img, h_txt, dim=1, eps=EPS).mean()


def half_binary_loss(h_img: Tensor, h_txt: Tensor, s: Tensor) -> Tensor:
    """MSE(H^_I B^_T^T, S) + MSE(B^_I H^_T^T, S), B = sign(H) detached.

    Real-valued outputs of one modality aligned with the binary codes of the other through
    a target graph: DGCPN's "half binary" terms, and SGRN's hash-real inter-modal term
    (zeta, section 7) [ours]. Each half's gradient reaches only its real-valued side.
    """
    return F.mse_loss(code_similarity(h_img, binary_codes(h_txt)), s) + F.mse_loss(
        code_similarity(binary_codes(h_img), h_txt), s
    )


# ----------------------------------------------------------------- L_intra, one modality each


def intra_target(h: Tensor, graph: dict[str, Tensor], mu: float) -> Tensor:
    """(a) MSE(H^ H^T, mu S'): the rebased graph scaled as the joint target is [ours]."""
    return F.mse_loss(code_similarity(h, h), mu * graph["S"])


def intra_local(h: Tensor, graph: dict[str, Tensor], mu: float) -> Tensor:
    """(b) mean of (H^ H^T - S')^2 over the edges of the kNN mask N only [ours].

    Inside the rebased neighbourhoods the codes follow S'; outside them they are left free.
    """
    n = graph["N"]
    return ((code_similarity(h, h) - graph["S"]) ** 2 * n).sum() / n.sum().clamp_min(1.0)


def intra_orthogonal(h: Tensor, graph: dict[str, Tensor], mu: float) -> Tensor:
    """(c) MSE(H^ H^T, C'), C' = (S' + 1) / 2 in [0, 1] [ours].

    Items outside a neighbourhood are pushed towards orthogonal codes, not opposite ones.
    """
    return F.mse_loss(code_similarity(h, h), (graph["S"] + 1.0) / 2.0)


def intra_hash_real(h: Tensor, graph: dict[str, Tensor], mu: float) -> Tensor:
    """(d) MSE(H^ B^T, S'), B = sign(H) detached: outputs aligned with their own codes [ours]."""
    return F.mse_loss(code_similarity(h, binary_codes(h)), graph["S"])


INTRA_LOSSES = {
    "target": intra_target,
    "local": intra_local,
    "orthogonal": intra_orthogonal,
    "hash_real": intra_hash_real,
}
"""form name (params `intra_form`, sgrn.hparams.INTRA_FORMS) -> its function."""


def intra_loss(
    form: str, h_img: Tensor, h_txt: Tensor, g_img: dict[str, Tensor], g_txt: dict[str, Tensor], mu: float
) -> Tensor:
    """L_intra: the sum of the forms in ``form`` ('+'-joined), over both modalities (section 7).

    g_img, g_txt: the modality's rebased graph {"S": S'_X, "N": kNN mask N_X}.
    """
    total = h_img.new_zeros(())
    for name in form.split("+"):
        fn = INTRA_LOSSES[name]
        total = total + fn(h_img, g_img, mu) + fn(h_txt, g_txt, mu)
    return total
