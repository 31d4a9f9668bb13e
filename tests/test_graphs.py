"""sgrn.graphs against plain-Python loop references, and the graphs' properties."""

from __future__ import annotations

import math

import pytest
import torch

from sgrn import graphs

# --------------------------------------------------------------------------- references
# Written from method.md with loops over lists, sharing no code with sgrn.graphs.


def ref_cosine(f, standardised=False):
    m = len(f)
    norms = [math.sqrt(sum(x * x for x in row)) for row in f]
    c = [[0.0] * m for _ in range(m)]
    for i in range(m):
        for j in range(m):
            if i == j:
                c[i][j] = 1.0
                continue
            if norms[i] == 0 or norms[j] == 0:
                cos = 0.0
            else:
                cos = sum(a * b for a, b in zip(f[i], f[j])) / (norms[i] * norms[j])
            v = (1 + cos) / 2 if standardised else cos
            c[i][j] = min(1.0, max(0.0, v))
    return c


def ref_tau(c, k):
    return [sorted(row, reverse=True)[k - 1] for row in c]


def ref_knn(c, k, tol=1e-6):
    tau = ref_tau(c, k)
    m = len(c)
    return [
        [1.0 if (c[i][j] >= tau[i] - tol or c[j][i] >= tau[j] - tol) else 0.0 for j in range(m)]
        for i in range(m)
    ]


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def ref_gate(c, tau, gamma):
    return [[sigmoid(gamma * (x - tau[i])) for x in row] for i, row in enumerate(c)]


def ref_associate(a):
    p = [[x / sum(row) for x in row] for row in a]
    unit = [[x / math.sqrt(sum(y * y for y in row)) for x in row] for row in p]
    return [[sum(x * y for x, y in zip(u, v)) for v in unit] for u in unit]


def ref_rebase(c, k, gamma, omega, knn=True, gate=True, form="mask"):
    m = len(c)
    tau = ref_tau(c, k)
    n = ref_knn(c, k)
    a = [[0.0] * m for _ in range(m)]
    for i in range(m):
        for j in range(m):
            nij = n[i][j] if knn else 1.0
            # symmetric gate: the edge against the smaller of its two thresholds
            gij = sigmoid(gamma * (c[i][j] - min(tau[i], tau[j]))) if gate else 1.0
            lifted = max(c[i][j], nij * gij) if knn or gate else c[i][j]  # nothing to lift with
            a[i][j] = nij * gij * c[i][j] if form == "mask" else lifted
    q = ref_associate(a)
    out = [[(1 - omega) * a[i][j] + omega * q[i][j] for j in range(m)] for i in range(m)]
    for i in range(m):
        out[i][i] = 1.0
    return out


def ref_joint(s_i, s_t, beta, eta):
    m = len(s_i)
    s = [[beta * s_i[i][j] + (1 - beta) * s_t[i][j] for j in range(m)] for i in range(m)]
    ss = [[sum(s[i][l] * s[j][l] for l in range(m)) for j in range(m)] for i in range(m)]
    return [[(1 - eta) * s[i][j] + eta * ss[i][j] / m for j in range(m)] for i in range(m)]


def ref_weight(s_i, s_t, kappa, epsilon):
    m = len(s_i)
    return [
        [1 + 2 * epsilon * (sigmoid(kappa * s_i[i][j] * s_t[i][j]) - 0.5) for j in range(m)]
        for i in range(m)
    ]


# --------------------------------------------------------------------------- fixtures


def close(t, ref, tol=1e-10):
    return torch.allclose(t, torch.tensor(ref, dtype=t.dtype), atol=tol, rtol=0)


@pytest.fixture
def feats():
    """6 x 5 non-negative features in float64, one row sparse."""
    g = torch.Generator().manual_seed(1)
    f = torch.rand(6, 5, generator=g, dtype=torch.float64)
    f[2, :3] = 0.0
    return f


def sym(x):
    return torch.equal(x, x.T)


# --------------------------------------------------------------------------- section 3


@pytest.mark.parametrize("standardised", [False, True])
def test_cosine_graph_matches_loops(feats, standardised):
    f = feats - 0.5 if standardised else feats  # z-scored features have both signs
    c = graphs.cosine_graph(f, standardised=standardised)
    assert close(c, ref_cosine(f.tolist(), standardised))
    assert sym(c) and c.min() >= 0 and c.max() <= 1
    assert torch.equal(torch.diagonal(c), torch.ones(6, dtype=c.dtype))


def test_cosine_graph_zero_row_float32():
    f = torch.rand(5, 7)
    f[3] = 0.0
    c = graphs.cosine_graph(f)
    assert c.dtype == torch.float32 and torch.isfinite(c).all()
    assert c[3].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert torch.equal(torch.diagonal(c), torch.ones(5))
    s = graphs.cosine_graph(f, standardised=True)
    assert s[3, [0, 1, 2, 4]].tolist() == [0.5] * 4


def test_signed():
    c = torch.tensor([[1.0, 0.25], [0.25, 1.0]])
    assert torch.equal(graphs.signed(c), torch.tensor([[1.0, -0.5], [-0.5, 1.0]]))


# --------------------------------------------------------------------------- section 4


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_kth_largest_and_knn_match_loops(feats, k):
    c = graphs.cosine_graph(feats)
    assert close(graphs.kth_largest(c, k), ref_tau(c.tolist(), k))
    n = graphs.knn_mask(c, k)
    assert close(n, ref_knn(c.tolist(), k), tol=0) and sym(n)
    assert torch.equal(torch.diagonal(n), torch.ones(6, dtype=n.dtype))  # self included
    assert (n.sum(1) >= k).all()


def test_knn_includes_all_ties(tied):
    assert graphs.kth_largest(tied, 3).tolist() == [0.5, 0.3, 0.5, 0.5, 0.3]
    n = graphs.knn_mask(tied, 3)
    # row 0: 1, .8 and both .5 (tie at the 3rd value) -> 4 neighbours, not 3
    assert n[0].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    # row 1: three-way tie at .3 -> all five
    assert n[1].tolist() == [1.0] * 5
    # symmetrised: row 4 gains 1 (from row 1's ties)
    assert n[4].tolist() == [0.0, 1.0, 0.0, 1.0, 1.0]
    assert close(n, ref_knn(tied.tolist(), 3), tol=0) and sym(n)


def test_knn_ties_up_to_rounding(tied):
    c = tied.float()
    c[3, 0] = 0.1  # row 3 no longer picks 0, so N[0, 3] is decided by row 0 alone
    c[0, 3] = 0.5 - 3e-8  # a tie with c[0, 2] = 0.5, an ulp or so below it
    assert graphs.knn_mask(c, 3)[0].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    c[0, 3] = 0.5 - 1e-4  # a real gap
    assert graphs.knn_mask(c, 3)[0].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_kth_largest_rejects_k_out_of_range(tied):
    with pytest.raises(ValueError, match="k=6"):
        graphs.kth_largest(tied, 6)
    with pytest.raises(ValueError, match="k=0"):
        graphs.kth_largest(tied, 0)


def test_sigmoid_gate_matches_loops(tied):
    tau = graphs.kth_largest(tied, 2)
    g = graphs.sigmoid_gate(tied, tau, 10.0)
    assert close(g, ref_gate(tied.tolist(), tau.tolist(), 10.0))


def test_associate_matches_loops(feats):
    a = graphs.cosine_graph(feats) * graphs.knn_mask(graphs.cosine_graph(feats), 3)
    q = graphs.associate(a)
    assert close(q, ref_associate(a.tolist())) and sym(q)
    assert q.min() >= 0 and q.max() <= 1


@pytest.mark.parametrize(
    "knn,gate,omega,k",
    [(True, True, 0.5, 3), (True, False, 0.3, 2), (False, True, 0.7, 4), (True, True, 0.0, 3),
     (False, False, 1.0, 3), (True, True, 1.0, 1)],
)
@pytest.mark.parametrize("form", ["mask", "lift"])
def test_rebase_matches_loops(feats, tied, knn, gate, omega, k, form):
    for c in (graphs.cosine_graph(feats), tied):
        r = graphs.rebase(c, k, 10.0, omega, knn=knn, gate=gate, form=form)
        assert close(r, ref_rebase(c.tolist(), k, 10.0, omega, knn, gate, form))
        assert sym(r) and r.min() >= 0 and r.max() <= 1
        assert torch.equal(torch.diagonal(r), torch.ones(len(c), dtype=r.dtype))


def test_lift_raises_neighbours_and_keeps_every_other_edge(feats):
    c = graphs.cosine_graph(feats)
    lifted = graphs.rebase(c, 3, 50.0, 0.0, form="lift")
    masked = graphs.rebase(c, 3, 50.0, 0.0, form="mask")
    outside = graphs.knn_mask(c, 3) == 0
    assert torch.equal(lifted[outside], c[outside]) and (masked[outside] < 1e-6).all()
    assert (lifted >= c - 1e-12).all()
    with pytest.raises(ValueError, match="rebase form 'nosuch'"):
        graphs.rebase(c, 3, 10.0, 0.0, form="nosuch")


def test_rebase_switched_off_returns_c_exactly():
    f = torch.rand(12, 9)
    f[5] = 0.0
    c = graphs.cosine_graph(f)
    r = graphs.rebase(c, 4, 10.0, 0.0, knn=False, gate=False)
    assert torch.equal(r, c)  # C's diagonal is already 1, zero rows included
    assert r is not c
    c2 = c.clone()
    c2.fill_diagonal_(0.3)
    expected = c2.clone()
    expected.fill_diagonal_(1.0)
    assert torch.equal(graphs.rebase(c2, 4, 10.0, 0.0, knn=False, gate=False), expected)


def test_rebase_float32_properties_with_zero_row():
    g = torch.Generator().manual_seed(3)
    f = torch.rand(32, 40, generator=g)
    f[7] = 0.0
    r = graphs.rebase(graphs.cosine_graph(f), 10, 10.0, 0.5)
    assert torch.isfinite(r).all() and sym(r)
    assert r.min() >= 0 and r.max() <= 1
    assert torch.equal(torch.diagonal(r), torch.ones(32))
    assert r[7, torch.arange(32) != 7].abs().max() == 0  # a zero row relates to nothing


# --------------------------------------------------------------------------- sections 5, 6


def test_joint_graph_matches_loops(feats):
    g = torch.Generator().manual_seed(2)
    s_i = graphs.signed(graphs.cosine_graph(feats))
    s_t = graphs.signed(graphs.cosine_graph(torch.rand(6, 4, generator=g, dtype=torch.float64)))
    s_j = graphs.joint_graph(s_i, s_t, 0.9, 0.4)
    assert close(s_j, ref_joint(s_i.tolist(), s_t.tolist(), 0.9, 0.4)) and sym(s_j)


def ref_cross(s_i, s_t):
    def unit(row):
        n = math.sqrt(sum(x * x for x in row))
        return [x / max(n, 1e-12) for x in row]

    ui, ut = [unit(r) for r in s_i], [unit(r) for r in s_t]
    m = len(s_i)
    it = [[sum(a * b for a, b in zip(ui[i], ut[j])) for j in range(m)] for i in range(m)]
    return [[(it[i][j] + it[j][i]) / 2 for j in range(m)] for i in range(m)]


def test_cross_graph_and_its_place_in_the_joint_graph_match_loops(feats):
    g = torch.Generator().manual_seed(3)
    s_i = graphs.signed(graphs.cosine_graph(feats))
    s_t = graphs.signed(graphs.cosine_graph(torch.rand(6, 4, generator=g, dtype=torch.float64)))
    cross = ref_cross(s_i.tolist(), s_t.tolist())
    assert close(graphs.cross_graph(s_i, s_t), cross) and sym(graphs.cross_graph(s_i, s_t))
    mixed = [[0.6 * (0.9 * a + 0.1 * b) + 0.4 * c for a, b, c in zip(ri, rt, rc)]
             for ri, rt, rc in zip(s_i.tolist(), s_t.tolist(), cross)]
    m = len(mixed)
    second = [[sum(mixed[i][k] * mixed[j][k] for k in range(m)) / m for j in range(m)] for i in range(m)]
    expected = [[0.6 * mixed[i][j] + 0.4 * second[i][j] for j in range(m)] for i in range(m)]
    assert close(graphs.joint_graph(s_i, s_t, 0.9, 0.4, cross=0.4), expected)
    assert torch.equal(graphs.joint_graph(s_i, s_t, 0.9, 0.4, cross=0.0), graphs.joint_graph(s_i, s_t, 0.9, 0.4))


def test_enhanced_weight_matches_loops(feats, tied):
    s_i = graphs.signed(graphs.rebase(graphs.cosine_graph(feats)[:5, :5], 2, 10.0, 0.5))
    s_t = graphs.signed(tied)
    eps = 0.3
    w = graphs.enhanced_weight(s_i, s_t, 5.0, eps)
    assert close(w, ref_weight(s_i.tolist(), s_t.tolist(), 5.0, eps)) and sym(w)
    assert (w > 1 - eps).all() and (w < 1 + eps).all()
    agree = (s_i * s_t) > 0
    assert (w[agree] > 1).all() and (w[~agree & ((s_i * s_t) < 0)] < 1).all()
    assert torch.equal(graphs.enhanced_weight(s_i, s_t, 5.0, 0.0), torch.ones_like(w))


def test_target_symmetric_float32():
    g = torch.Generator().manual_seed(4)
    c_i, c_t = (graphs.cosine_graph(torch.rand(32, d, generator=g)) for d in (50, 20))
    s_i = graphs.signed(graphs.rebase(c_i, 10, 10.0, 0.5))
    s_t = graphs.signed(graphs.rebase(c_t, 10, 10.0, 0.5))
    s = 1.5 * (graphs.enhanced_weight(s_i, s_t, 5.0, 0.3) * graphs.joint_graph(s_i, s_t, 0.9, 0.4))
    assert sym(s)


# --------------------------------------------------------------------------- GRGR's readings (grgr_form)


def test_agreed_weight_matches_loops(feats, tied):
    s_i = graphs.signed(graphs.rebase(graphs.cosine_graph(feats)[:5, :5], 2, 10.0, 0.5))
    s_t = graphs.signed(tied)
    eps = 0.3
    w = graphs.agreed_weight(s_i, s_t, 5.0, eps)
    m = len(s_i)
    si, st = s_i.tolist(), s_t.tolist()
    # agreed edge (product >= 0): weight 1; conflicting one: the enhanced weight, below 1
    expected = [[1.0 if si[i][j] * st[i][j] >= 0 else 1 + 2 * eps * (sigmoid(5.0 * si[i][j] * st[i][j]) - 0.5)
                 for j in range(m)] for i in range(m)]
    assert close(w, expected) and sym(w)
    conflict = (s_i * s_t) < 0
    assert conflict.any() and (~conflict).any()
    assert (w[conflict] < 1).all() and (w[conflict] > 1 - eps).all() and (w[~conflict] == 1).all()
    assert torch.equal(graphs.agreed_weight(s_i, s_t, 5.0, 0.0), torch.ones_like(w))


def ref_overlap(c_i, c_t):
    return [[2 * x - 1 for x in row] for row in ref_cross(c_i, c_t)]


def test_overlap_graph_matches_loops_and_reads_disjoint_neighbourhoods_as_dissimilar(feats):
    g = torch.Generator().manual_seed(5)
    c_i = graphs.rebase(graphs.cosine_graph(feats), 2, 10.0, 0.5)
    c_t = graphs.rebase(graphs.cosine_graph(torch.rand(6, 4, generator=g, dtype=torch.float64)), 2, 10.0, 0.5)
    s_x = graphs.overlap_graph(c_i, c_t)
    assert close(s_x, ref_overlap(c_i.tolist(), c_t.tolist())) and sym(s_x)
    assert s_x.min() >= -1 and s_x.max() <= 1
    # two items whose neighbourhoods share no one are dissimilar (-1), identical ones similar (+1)
    blocks = torch.block_diag(torch.ones(2, 2), torch.ones(2, 2)).double()
    assert close(graphs.overlap_graph(blocks, blocks), graphs.signed(blocks).tolist(), tol=1e-12)
    # and its place in the joint graph: S_X instead of cross_graph(S_I, S_T)
    s_i, s_t = graphs.signed(c_i), graphs.signed(c_t)
    mixed = (0.6 * (0.9 * s_i + 0.1 * s_t) + 0.4 * s_x).tolist()
    m = len(mixed)
    second = [[sum(mixed[i][k] * mixed[j][k] for k in range(m)) / m for j in range(m)] for i in range(m)]
    expected = [[0.6 * mixed[i][j] + 0.4 * second[i][j] for j in range(m)] for i in range(m)]
    assert close(graphs.joint_graph(s_i, s_t, 0.9, 0.4, cross=0.4, s_cross=s_x), expected)


def test_concat_graph_matches_loops(feats, tied):
    g = torch.Generator().manual_seed(6)
    s_i = graphs.signed(tied)
    s_t = graphs.signed(graphs.cosine_graph(torch.rand(5, 4, generator=g, dtype=torch.float64)))
    s_it = torch.rand(5, 5, generator=g, dtype=torch.float64)  # not symmetric: S_TI is its transpose
    s = graphs.concat_graph(s_i, s_it, s_t)
    m = 5
    a, b, c = s_i.tolist(), s_it.tolist(), s_t.tolist()
    expected = [[(a[i][j] if j < m else b[i][j - m]) if i < m else (b[j][i - m] if j < m else c[i - m][j - m])
                 for j in range(2 * m)] for i in range(2 * m)]
    assert s.shape == (10, 10) and close(s, expected, tol=0)
    assert sym(graphs.concat_graph(s_i, graphs.joint_graph(s_i, s_t, 0.9, 0.4), s_t))
