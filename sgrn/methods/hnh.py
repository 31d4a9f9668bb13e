"""HNH (Zhang et al., World Wide Web 2021) on the shared pipeline (method.md section 9, HNH).

High-order nonlocal affinity, per modality X: A_X the cosine graph in [0, 1]; each item's
neighbourhood is its row of A_X kept on the kNN mask (k neighbours, self included); Q_X, the
cosine between neighbourhoods, is the nonlocal second-order affinity; A~_X = s_X (A_X * Q_X) - 1
(elementwise product, s_X = 2 maps [0, 1] to [-1, 1]); S = gamma A~_I + (1 - gamma) A~_T.
Common representation U (m, c) for the batch, shared by both modalities: the minimiser of
alpha (|U - H^_I|^2 + |U - H^_T|^2) + beta (|S - U H^_I^T|^2 + |S - U H^_T^T|^2), in closed form
(`common_representation`), then the nets' loss at that U (held fixed):
alpha (MSE(U, H^_I) + MSE(U, H^_T)) + beta (MSE(U H^_I^T, S) + MSE(U H^_T^T, S)) + lam MSE(H^_I H^_T^T, S).

The paper's equations were not available. The product A * second-order, the scale-and-shift by
k_x = k_y = 2, the closed-form U and the defaults come from the one public implementation that
could be read (unofficial); normalising each item's code (not each bit over the batch), the kNN
neighbourhoods (k) and holding U fixed in the nets' step are ours.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sgrn.graphs import EPS, associate, knn_mask
from sgrn.methods.base import Method
from sgrn.methods.losses import code_similarity


def nonlocal_affinity(a: Tensor, k: int) -> Tensor:
    """Q = cosine between the rows of A kept on its symmetric kNN mask: in [0, 1] for A >= 0.

    Two items are close in Q when their neighbourhoods agree, however far they are from each
    other (nonlocal); with k = all rows it is the cosine of the rows of A (A A^T, normalised).
    """
    return associate(a * knn_mask(a, k))


def high_order_affinity(a: Tensor, k: int, scale: float) -> Tensor:
    """A~ = scale (A * Q) - 1, Q = `nonlocal_affinity` (A in [0, 1]: A~ in [-1, scale - 1])."""
    return scale * (a * nonlocal_affinity(a, k)) - 1.0


def common_representation(b_img: Tensor, b_txt: Tensor, s: Tensor, alpha: float, beta: float) -> Tensor:
    """argmin_U alpha (|U - B_I|^2 + |U - B_T|^2) + beta (|S - U B_I^T|^2 + |S - U B_T^T|^2).

    B (m, c), S (m, m); setting the gradient to zero gives
    U (2 I_c + r (B_I^T B_I + B_T^T B_T)) = (I_m + r S)(B_I + B_T), r = beta / alpha,
    solved in float32 (the c x c matrix is symmetric positive definite). No host sync.
    """
    b_img, b_txt, s = b_img.float(), b_txt.float(), s.float()
    r = beta / alpha
    c = b_img.shape[1]
    gram = 2.0 * torch.eye(c, dtype=b_img.dtype, device=b_img.device) + r * (b_img.T @ b_img + b_txt.T @ b_txt)
    rhs = (b_img + b_txt) + r * (s @ (b_img + b_txt))
    u_t, _ = torch.linalg.solve_ex(gram, rhs.T)  # gram symmetric: U^T = gram^-1 rhs^T
    return u_t.T


class HNH(Method):
    """HNH's target S and loss for one batch (or, sliced, for the whole training set).

    ``batch_size`` is the number of rows each graph will have; k must not exceed it
    (sgrn/hparams/hnh.py `check`).
    """

    name = "hnh"
    # the linear solve of `common_representation` is not checked inside a CUDA graph (no GPU
    # here): the trainer runs HNH's steps eagerly on CUDA
    graph_safe = False

    @torch.no_grad()
    def targets(self, f_img: Tensor, f_txt: Tensor) -> dict[str, Tensor]:
        """S = gamma A~_I + (1 - gamma) A~_T, (m, m), symmetric."""
        p = self.params
        a_img, a_txt = self.cosine_graphs(f_img, f_txt)
        k, m = p["k"], a_img.shape[0]
        if k > m:
            raise ValueError(f"hnh: k={k} is larger than the {m} rows given: use k <= {m}")
        s = p["gamma"] * high_order_affinity(a_img, k, p["scale_img"]) + (1.0 - p["gamma"]) * high_order_affinity(
            a_txt, k, p["scale_txt"]
        )
        return {"S": s}

    def loss(
        self, h_img: Tensor, h_txt: Tensor, targets: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss on tanh outputs (m, c); terms common, affinity, inter (detached, unweighted)."""
        p, s = self.params, targets["S"]
        b_img = F.normalize(h_img, dim=1, eps=EPS)
        b_txt = F.normalize(h_txt, dim=1, eps=EPS)
        with torch.no_grad(), torch.autocast(h_img.device.type, enabled=False):
            u = common_representation(b_img, b_txt, s, p["alpha"], p["beta"]).to(b_img.dtype)
        common = F.mse_loss(b_img, u) + F.mse_loss(b_txt, u)
        affinity = F.mse_loss(u @ b_img.T, s) + F.mse_loss(u @ b_txt.T, s)
        inter = F.mse_loss(code_similarity(h_img, h_txt), s)
        total = p["alpha"] * common + p["beta"] * affinity + p["lam"] * inter
        return total, {"common": common.detach(), "affinity": affinity.detach(), "inter": inter.detach()}


METHOD = HNH
