"""Relation graphs over a batch: cosine graphs, LRGR, joint graph, GRGR weight.

Pure tensor functions over (m, d) features or (m, m) graphs (method.md sections 3 to 6).
They keep the input's dtype and device and build no autograd graph of their own: callers
pass detached features. Each formula marked [ours] in method.md is one function here, so a
user holding the paper's equations can swap it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sgrn.hparams import REBASE_FORMS

EPS = 1e-12
"""Floor on row norms and row sums: all-zero rows stay zero instead of becoming NaN."""

TIE_TOL = 1e-6
"""Values this close to the k-th largest count as ties of it. Bag-of-words rows give many
cosines that are equal in exact arithmetic but differ by an ulp or two once computed
(differently on CPU and GPU); without a tolerance, whether such a tie is a neighbour
would depend on rounding."""


def _unit_rows(x: Tensor) -> Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp_min(EPS)


def _symmetrise(x: Tensor) -> Tensor:
    # X X^T from a matmul is symmetric only up to rounding; this makes it exactly so.
    return 0.5 * (x + x.T)


def cosine_graph(f: Tensor, standardised: bool = False) -> Tensor:
    """Cosine relation graph C in [0, 1] of the rows of ``f`` (m, d) (section 3).

    standardised=False: C = clamp(F^ F^T, 0, 1), for non-negative features.
    standardised=True: C = (1 + cos) / 2, for features the caller has already z-scored.
    The diagonal is 1: every item is identical to itself. An all-zero feature row has
    cosine 0 with every other item (C = 0, or 0.5 when standardised).
    """
    u = _unit_rows(f)
    cos = _symmetrise(u @ u.T)
    c = (1.0 + cos) / 2.0 if standardised else cos
    c = c.clamp(0.0, 1.0)
    c.fill_diagonal_(1.0)
    return c


def signed(c: Tensor) -> Tensor:
    """S = 2 C - 1: a graph in [0, 1] mapped to [-1, 1] (section 3)."""
    return 2.0 * c - 1.0


def kth_largest(c: Tensor, k: int) -> Tensor:
    """tau: the k-th largest value of each row of ``c``, the diagonal included (section 4)."""
    m = c.shape[1]
    if not 1 <= k <= m:
        raise ValueError(f"k={k} must be between 1 and the number of columns {m}")
    return torch.topk(c, k, dim=1).values[:, -1]


def knn_mask(c: Tensor, k: int) -> Tensor:
    """Symmetric kNN mask N in {0, 1} (section 4, step 1) [ours].

    N[i, j] = 1 where C[i, j] >= tau[i] - TIE_TOL, tau[i] the k-th largest value of row i
    (self included). Ties at the k-th value (up to TIE_TOL) are all included, so a row may
    hold more than k ones. Then
    N = max(N, N^T): j is a neighbour of i when either is among the other's k nearest.
    """
    tau = kth_largest(c, k)
    n = (c >= tau[:, None] - TIE_TOL).to(c.dtype)
    return torch.maximum(n, n.T)


def sigmoid_gate(c: Tensor, tau: Tensor, gamma: float) -> Tensor:
    """Row-wise gate G = sigmoid(gamma (C - tau[i])) (section 4, step 2) [ours]."""
    return torch.sigmoid(gamma * (c - tau[:, None]))


def associate(a: Tensor) -> Tensor:
    """Association graph Q = norm(P) norm(P)^T, P = A with rows summing to 1 [ours].

    Section 4, step 3: Q[i, j] is high when i and j share strong neighbours. Q is in [0, 1] for A >= 0.
    (The L2 normalisation makes the sum-to-1 step a no-op for Q; it is kept so that the
    function reads as the method states it, and as a place to change P.)
    """
    p = a / a.sum(dim=1, keepdim=True).clamp_min(EPS)
    u = _unit_rows(p)
    return _symmetrise(u @ u.T).clamp(0.0, 1.0)


def rebase(
    c: Tensor,
    k: int,
    gamma: float,
    omega: float,
    knn: bool = True,
    gate: bool = True,
    form: str = "mask",
) -> Tensor:
    """Local Relation Graph Rebasing, LRGR: C' from a cosine graph C (section 4) [ours].

    form "mask": A = N * G * C (N = 1 when knn is off, G = 1 when gate is off): the edges
    outside the gated neighbourhoods become 0;
    form "lift": A = max(C, N * G): a gated neighbour is raised towards 1, every other
    edge keeps its cosine, so that "not a neighbour" does not read as "opposite";
    C' = (1 - omega) A + omega associate(A), diagonal set to 1. C' is symmetric, in [0, 1].

    The row-wise gate is symmetrised as G = max(G, G^T), i.e. each edge is gated against
    min(tau[i], tau[j]): the same OR rule as the kNN mask, so that G tends to N as gamma
    grows. With knn=False, gate=False, omega=0 this returns C with its diagonal set to 1.
    """
    if form not in REBASE_FORMS:
        raise ValueError(f"rebase form {form!r}: expected {' or '.join(map(repr, REBASE_FORMS))}")
    w = torch.ones_like(c)
    if knn:
        w = w * knn_mask(c, k)
    if gate:
        g = sigmoid_gate(c, kth_largest(c, k), gamma)
        w = w * torch.maximum(g, g.T)
    if form == "mask":
        a = c * w
    elif knn or gate:
        a = torch.maximum(c, w)
    else:  # nothing marks a neighbour: nothing to lift
        a = c
    if omega != 0:
        a = (1.0 - omega) * a + omega * associate(a)
    out = a.clone()
    out.fill_diagonal_(1.0)
    return out


def cross_graph(s_i: Tensor, s_t: Tensor) -> Tensor:
    """S_X = (S_IT + S_TI) / 2, S_IT = norm(S_I) norm(S_T)^T, S_TI = S_IT^T (section 6) [ours].

    The image-to-text and text-to-image similarities of GRGR: items i and j are similar when
    i's row of one modality's graph agrees with j's row of the other's (JDSH's S_high).
    """
    s_it = _unit_rows(s_i) @ _unit_rows(s_t).T
    return 0.5 * (s_it + s_it.T)


def overlap_graph(c_i: Tensor, c_t: Tensor) -> Tensor:
    """S_X = signed(cross_graph(C'_I, C'_T)): signed((U + U^T) / 2), U = norm(C'_I) norm(C'_T)^T
    (section 6, grgr_form overlap) [ours].

    The image-to-text similarity U[i, j] is the overlap of i's rebased image neighbourhood with
    j's rebased text neighbourhood, from the graphs in [0, 1] (C'_X, not S'_X: rows of S'_X are
    mostly -1, so the cosine of any two of them is high and cross_graph reads every pair as
    similar); mapped to [-1, 1] as the graphs are, symmetrised as cross_graph is.
    """
    return signed(cross_graph(c_i, c_t))


def joint_graph(
    s_i: Tensor, s_t: Tensor, beta: float, eta: float, cross: float = 0.0, s_cross: Tensor | None = None
) -> Tensor:
    """Cross-modal graph S_J of DJSRH (section 5), m = number of rows.

    S~ = beta S_I + (1 - beta) S_T;  S_J = (1 - eta) S~ + eta S~ S~^T / m.
    With ``cross`` > 0 [ours, section 6]: S~ = (1 - cross) S~ + cross S_X, S_X = ``s_cross``,
    by default cross_graph(S_I, S_T).
    """
    s = beta * s_i + (1.0 - beta) * s_t
    if cross != 0:
        s = (1.0 - cross) * s + cross * (cross_graph(s_i, s_t) if s_cross is None else s_cross)
    m = s.shape[0]
    return (1.0 - eta) * s + eta * _symmetrise(s @ s.T) / m


def enhanced_weight(s_i: Tensor, s_t: Tensor, kappa: float, epsilon: float) -> Tensor:
    """GRGR enhanced weight W (section 6) [ours].

    E = sigmoid(kappa S_I * S_T) - 0.5;  W = 1 + 2 epsilon E, in (1 - epsilon, 1 + epsilon)
    (closed only where the sigmoid saturates in floating point). W > 1 where the two
    modalities agree, W < 1 where they conflict; epsilon = 0 gives W = 1 exactly.
    """
    e = torch.sigmoid(kappa * s_i * s_t) - 0.5
    return 1.0 + 2.0 * epsilon * e


def agreed_weight(s_i: Tensor, s_t: Tensor, kappa: float, epsilon: float) -> Tensor:
    """GRGR enhanced weight that keeps agreed edges and weakens the rest (grgr_form agreed) [ours].

    W = min(1, enhanced_weight(S_I, S_T, kappa, epsilon)), in (1 - epsilon, 1]: an edge on
    which both modalities agree (S_I * S_T >= 0) keeps its weight 1, one on which they conflict
    is weakened towards 1 - epsilon; no edge is raised, so no target leaves the range of S_J.
    epsilon = 0 gives W = 1 exactly.
    """
    return enhanced_weight(s_i, s_t, kappa, epsilon).clamp(max=1.0)


def concat_graph(s_i: Tensor, s_it: Tensor, s_t: Tensor) -> Tensor:
    """The joint target [[S_I, S_IT], [S_TI, S_T]], S_TI = S_IT^T: (2m, 2m) (grgr_form concat) [ours].

    The image and text similarity matrices concatenated into one cross-modal matrix, rows and
    columns ordered images first, then texts; aligned with `losses.block_inter_loss`.
    """
    return torch.cat([torch.cat([s_i, s_it], dim=1), torch.cat([s_it.T, s_t], dim=1)], dim=0)
