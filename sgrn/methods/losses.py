"""Losses over code similarities (method.md section 7).

Every term is an MSE, averaged over the m x m entries, between the cosine similarity of
hash-net outputs H (tanh, (m, c)) and a target graph.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from sgrn.graphs import EPS


def code_similarity(a: Tensor, b: Tensor) -> Tensor:
    """A^ B^T with the rows of A and B normalised to unit length (eps-safe): (m, m)."""
    return F.normalize(a, dim=1, eps=EPS) @ F.normalize(b, dim=1, eps=EPS).T


def inter_loss(h_img: Tensor, h_txt: Tensor, s: Tensor, lambda1: float, lambda2: float) -> Tensor:
    """L_inter = MSE(H^_I H^_T^T, S) + lambda1 MSE(H^_I H^_I^T, S) + lambda2 MSE(H^_T H^_T^T, S).

    DJSRH's loss (section 7).
    """
    return (
        F.mse_loss(code_similarity(h_img, h_txt), s)
        + lambda1 * F.mse_loss(code_similarity(h_img, h_img), s)
        + lambda2 * F.mse_loss(code_similarity(h_txt, h_txt), s)
    )


def intra_loss(h_img: Tensor, h_txt: Tensor, s_img: Tensor, s_txt: Tensor, mu: float) -> Tensor:
    """L_intra = MSE(H^_I H^_I^T, mu S'_I) + MSE(H^_T H^_T^T, mu S'_T) (section 7) [ours]."""
    return F.mse_loss(code_similarity(h_img, h_img), mu * s_img) + F.mse_loss(
        code_similarity(h_txt, h_txt), mu * s_txt
    )
