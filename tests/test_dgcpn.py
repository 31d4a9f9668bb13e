"""DGCPN baseline: its graph and loss against plain-loop references, properties, parameters;
global_graph in every family."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from sgrn.graphs import cosine_graph
from sgrn.hparams import TABLES, resolve_method_params
from sgrn.hparams.dgcpn import neighbour_count
from sgrn.methods import build_method, method_class
from sgrn.methods.dgcpn import (
    DGCPN,
    consistency_loss,
    dgcpn_graph,
    neighbour_coherence,
    pair_graph,
    row_top_k,
    similarity_loss,
)
from sgrn.methods.losses import binary_codes, code_similarity, half_binary_loss

# --------------------------------------------------------------------------- references
# Written from method.md section 9 with loops over lists, sharing no code with sgrn.


def ref_pair(c_i, c_t, a1):
    return [[a1 * t + (1 - a1) * i for i, t in zip(ri, rt)] for ri, rt in zip(c_i, c_t)]


def ref_top_k(c, k, tol=1e-6):
    out = []
    for row in c:
        tau = sorted(row, reverse=True)[k - 1]
        out.append([x if x >= tau - tol else 0.0 for x in row])
    return out


def ref_coherence(a):
    m = len(a)
    p = [[x / sum(row) if sum(row) > 0 else 0.0 for x in row] for row in a]
    norms = [math.sqrt(sum(x * x for x in row)) for row in p]
    q = [[0.0] * m for _ in range(m)]
    for i in range(m):
        for j in range(m):
            if i == j:
                q[i][j] = 1.0
            elif norms[i] > 0 and norms[j] > 0:
                q[i][j] = sum(x * y for x, y in zip(p[i], p[j])) / (norms[i] * norms[j])
    return q


def ref_graph(s_pair, k, a2):
    q = ref_coherence(ref_top_k(s_pair, k))
    m = len(s_pair)
    s = [[(1 - a2) * s_pair[i][j] + a2 * q[i][j] for j in range(m)] for i in range(m)]
    for i in range(m):
        s[i][i] = 1.0
    return [[2 * x - 1 for x in row] for row in s]


def ref_cos(a, b):
    def unit(r):
        n = math.sqrt(sum(x * x for x in r))
        return [x / n for x in r]

    ua, ub = [unit(r) for r in a], [unit(r) for r in b]
    return [[sum(x * y for x, y in zip(u, v)) for v in ub] for u in ua]


def ref_mse(x, y):
    m = len(x)
    return sum((x[i][j] - y[i][j]) ** 2 for i in range(m) for j in range(m)) / (m * m)


def ref_sign(h):
    return [[1.0 if x >= 0 else -1.0 for x in row] for row in h]


def ref_loss(h_i, h_t, s, gamma_c, half_binary):
    """(total, terms) of DGCPN's loss, from method.md and the DGCPN docstring's reading."""
    it, ii, tt, ti = ref_cos(h_i, h_t), ref_cos(h_i, h_i), ref_cos(h_t, h_t), ref_cos(h_t, h_i)
    inter = ref_mse(it, s)
    intra = ref_mse(ii, s) + ref_mse(tt, s)
    cons = ref_mse(ii, tt) + ref_mse(it, ti)
    half = ref_mse(ref_cos(h_i, ref_sign(h_t)), s) + ref_mse(ref_cos(ref_sign(h_i), h_t), s)
    total = inter + intra + gamma_c * cons + half_binary * half
    return total, {"inter": inter, "intra": intra, "consistency": cons, "half_binary": half}


# --------------------------------------------------------------------------- fixtures


def close(t, ref, tol=1e-10):
    return torch.allclose(t, torch.tensor(ref, dtype=t.dtype), atol=tol, rtol=0)


def sym(x):
    return torch.equal(x, x.T)


@pytest.fixture
def cosines():
    """Image and text cosine graphs of 7 items in float64; text item 3 has no tags."""
    g = torch.Generator().manual_seed(11)
    f_img = torch.rand(7, 6, generator=g, dtype=torch.float64)
    f_txt = (torch.rand(7, 9, generator=g) > 0.5).double()
    f_txt[3] = 0.0
    return cosine_graph(f_img), cosine_graph(f_txt)


def features(m, seed=0):
    """Non-negative image features and a sparse tag BOW with an empty row, float32."""
    g = torch.Generator().manual_seed(seed)
    f_img = torch.relu(torch.randn(m, 48, generator=g))
    f_txt = (torch.rand(m, 30, generator=g) > 0.8).float()
    f_txt[1] = 0.0
    return f_img, f_txt


def codes(m, bits=12, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.tanh(torch.randn(2, m, bits, generator=g, dtype=torch.float64))


# --------------------------------------------------------------------------- graph


@pytest.mark.parametrize("a1", [0.0, 0.01, 0.5, 1.0])
def test_pair_graph_matches_loops(cosines, a1):
    c_i, c_t = cosines
    s = pair_graph(c_i, c_t, a1)
    assert close(s, ref_pair(c_i.tolist(), c_t.tolist(), a1)) and sym(s)
    if a1 == 0.0:
        assert torch.equal(s, c_i)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_row_top_k_matches_loops(cosines, k):
    s = pair_graph(*cosines, 0.3)
    a = row_top_k(s, k)
    assert close(a, ref_top_k(s.tolist(), k), tol=0)
    assert ((a > 0).sum(1) >= k).all()  # k kept per row (all entries of s are > 0 here)
    assert torch.equal(torch.diagonal(a), torch.diagonal(s))  # self is the largest: kept
    if k == 7:
        assert torch.equal(a, s)  # k = m keeps every edge


def test_row_top_k_ties_and_rows(tied):
    a = row_top_k(tied, 3)
    assert close(a, ref_top_k(tied.tolist(), 3), tol=0)
    assert a[0].tolist() == [1.0, 0.8, 0.5, 0.5, 0.0]  # tie at the 3rd value: both kept
    assert a[1].tolist() == [0.8, 1.0, 0.3, 0.3, 0.3]  # three-way tie: all kept
    assert a[4].tolist() == [0.0, 0.3, 0.0, 0.4, 1.0]
    assert a[3].tolist() == [0.5, 0.0, 0.6, 1.0, 0.0]  # row-wise: 3 -> 4 dropped, 4 -> 3 kept
    assert not sym(a)
    c = tied.float()
    c[0, 3] = 0.5 - 3e-8  # a tie up to rounding counts as a tie (graphs.TIE_TOL)
    assert (row_top_k(c, 3)[0] > 0).tolist() == [True, True, True, True, False]
    with pytest.raises(ValueError, match="k=6"):
        row_top_k(tied, 6)


def test_neighbour_coherence_matches_loops(cosines, tied):
    for a in (row_top_k(pair_graph(*cosines, 0.01), 3), row_top_k(tied, 2), tied):
        q = neighbour_coherence(a)
        assert close(q, ref_coherence(a.tolist())) and sym(q)
        assert q.min() >= 0 and q.max() <= 1
        assert torch.equal(torch.diagonal(q), torch.ones(len(a), dtype=q.dtype))
    a = tied.clone()
    a[2] = 0.0  # an empty row: coherence 0 with the others, NaN nowhere
    q = neighbour_coherence(a)
    assert close(q, ref_coherence(a.tolist())) and torch.isfinite(q).all()
    assert q[2].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("k,a1,a2", [(3, 0.01, 0.3), (1, 0.5, 1.0), (7, 0.0, 0.0), (4, 1.0, 0.5)])
def test_dgcpn_graph_matches_loops(cosines, k, a1, a2):
    c_i, c_t = cosines
    s_pair = pair_graph(c_i, c_t, a1)
    s = dgcpn_graph(s_pair, k, a2)
    ref = ref_graph(ref_pair(c_i.tolist(), c_t.tolist(), a1), k, a2)
    assert close(s, ref) and sym(s)
    assert s.min() >= -1 and s.max() <= 1
    assert torch.equal(torch.diagonal(s), torch.ones(7, dtype=s.dtype))
    if a2 == 0.0:
        assert torch.allclose(s, 2 * s_pair - 1, atol=1e-15, rtol=0)


@pytest.mark.parametrize(
    "fraction,m,k",
    [(0.4, 5000, 2000), (0.4, 32, 13), (0.01, 10, 1), (1e-9, 3, 1), (1.0, 7, 7), (0.5, 5, 3),
     (0.3, 10, 3), (0.7, 10, 7)],
)
def test_neighbour_count(fraction, m, k):
    assert neighbour_count(fraction, m) == k


@pytest.mark.parametrize("standardised", [(False, False), (True, False), (False, True)])
def test_targets(standardised):
    f_img, f_txt = features(32)
    if standardised[0]:
        f_img = f_img - f_img.mean(0)
    if standardised[1]:
        f_txt = f_txt - f_txt.mean(0)
    method = DGCPN(batch_size=32, standardised=standardised)
    t = method.targets(f_img, f_txt)
    assert set(t) == {"S"}
    s = t["S"]
    assert s.shape == (32, 32) and s.dtype == torch.float32 and not s.requires_grad
    assert sym(s) and torch.isfinite(s).all()
    assert s.min() >= -1.5 and s.max() <= 1.5
    assert torch.equal(torch.diagonal(s), torch.full((32,), 1.5))
    s_pair = pair_graph(
        cosine_graph(f_img, standardised=standardised[0]),
        cosine_graph(f_txt, standardised=standardised[1]),
        0.01,
    )
    assert torch.equal(s, 1.5 * dgcpn_graph(s_pair, 13, 0.3))
    if standardised != (False, False):
        assert (s - DGCPN().targets(f_img, f_txt)["S"]).abs().max() > 1e-3


def test_targets_mix_both_modalities():
    f_img, f_txt = features(20)
    base = DGCPN(a1=0.5).targets(f_img, f_txt)["S"]
    assert (DGCPN(a1=0.5).targets(f_img, f_txt.roll(1, 0))["S"] - base).abs().max() > 1e-3
    assert (DGCPN(a1=0.5).targets(f_img.roll(1, 0), f_txt)["S"] - base).abs().max() > 1e-3


# --------------------------------------------------------------------------- loss


def test_binary_codes():
    h = torch.tensor([[0.3, -0.2, 0.0], [-0.0, 1e-9, -1e-9]], requires_grad=True)
    b = binary_codes(h)
    assert b.tolist() == [[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]]
    assert not b.requires_grad and b.dtype == h.dtype


@pytest.mark.parametrize("gamma_c,half_binary", [(0.1, 0.5), (0.0, 0.5), (0.3, 0.0), (0.0, 0.0)])
def test_loss_matches_loops(gamma_c, half_binary):
    f_img, f_txt = features(9)
    h_img, h_txt = codes(9)
    method = DGCPN(gamma_c=gamma_c, half_binary=half_binary)
    t = {"S": method.targets(f_img, f_txt)["S"].double()}
    total, terms = method.loss(h_img, h_txt, t)
    ref_total, ref_terms = ref_loss(h_img.tolist(), h_txt.tolist(), t["S"].tolist(),
                                    gamma_c, half_binary)
    assert total.item() == pytest.approx(ref_total, rel=1e-12)
    assert set(terms) == set(ref_terms)
    for name, value in ref_terms.items():
        assert terms[name].item() == pytest.approx(value, rel=1e-12), name
        assert isinstance(terms[name], torch.Tensor) and not terms[name].requires_grad


def test_loss_pieces_match_loops():
    h_img, h_txt = codes(6, bits=8, seed=3)
    s = 1.5 * dgcpn_graph(pair_graph(*(cosine_graph(x) for x in features(6)), 0.01), 2, 0.3)
    s = s.double()
    _, ref = ref_loss(h_img.tolist(), h_txt.tolist(), s.tolist(), 0.0, 0.0)
    inter, intra = similarity_loss(h_img, h_txt, s)
    assert inter.item() == pytest.approx(ref["inter"], rel=1e-12)
    assert intra.item() == pytest.approx(ref["intra"], rel=1e-12)
    assert consistency_loss(h_img, h_txt).item() == pytest.approx(ref["consistency"], rel=1e-12)
    assert half_binary_loss(h_img, h_txt, s).item() == pytest.approx(ref["half_binary"], rel=1e-12)
    assert consistency_loss(h_img, h_img).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "params", [{}, {"gamma_c": 0.0}, {"half_binary": 0.0}, {"a2": 1.0, "k_fraction": 1.0}],
    ids=repr,
)
def test_gradients_reach_codes_not_targets(params):
    f_img, f_txt = features(16)
    f_img, f_txt = f_img.clone().requires_grad_(), f_txt.clone().requires_grad_()
    g = torch.Generator().manual_seed(4)
    z_img = torch.randn(16, 12, generator=g, requires_grad=True)
    z_txt = torch.randn(16, 12, generator=g, requires_grad=True)
    method = DGCPN(batch_size=16, **params)
    targets = method.targets(f_img, f_txt)
    assert all(not t.requires_grad for t in targets.values())
    total, _ = method.loss(torch.tanh(z_img), torch.tanh(z_txt), targets)
    assert total.requires_grad and total.ndim == 0
    total.backward()
    for z in (z_img, z_txt):
        assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert f_img.grad is None and f_txt.grad is None


def test_half_binary_gradient_reaches_only_the_real_side():
    s = DGCPN().targets(*features(10))["S"].double()
    h_img, h_txt = (h.clone().requires_grad_() for h in codes(10))
    g_img, g_txt = torch.autograd.grad(half_binary_loss(h_img, h_txt, s), (h_img, h_txt))
    # each modality's gradient is that of the half where it is real-valued, the other
    # half (where it is sign(H)) contributing nothing
    (e_img,) = torch.autograd.grad(
        F.mse_loss(code_similarity(h_img, torch.sign(h_txt).detach()), s), h_img
    )
    (e_txt,) = torch.autograd.grad(
        F.mse_loss(code_similarity(torch.sign(h_img).detach(), h_txt), s), h_txt
    )
    assert torch.allclose(g_img, e_img, atol=1e-15) and torch.allclose(g_txt, e_txt, atol=1e-15)


@pytest.mark.parametrize("off", ["gamma_c", "half_binary"])
def test_zero_weight_removes_its_term_exactly(off):
    f_img, f_txt = features(12)
    s = {"S": DGCPN().targets(f_img, f_txt)["S"]}
    h = [x.float().clone().requires_grad_() for x in codes(12)]
    on_terms = DGCPN().loss(*h, s)[1]
    total, terms = DGCPN(**{off: 0.0}).loss(*h, s)
    # the same sum, written out without the switched-off term, in the same order
    inter, intra = similarity_loss(*h, s["S"])
    expected = inter + intra
    if off != "gamma_c":
        expected = expected + 0.1 * consistency_loss(*h)
    if off != "half_binary":
        expected = expected + 0.5 * half_binary_loss(*h, s["S"])
    assert torch.equal(total, expected)
    assert terms == on_terms  # still logged
    g_total = torch.autograd.grad(total, h)
    g_expected = torch.autograd.grad(expected, h)
    assert all(torch.equal(a, b) for a, b in zip(g_total, g_expected))


def test_both_off_is_the_similarity_loss():
    f_img, f_txt = features(12)
    s = DGCPN().targets(f_img, f_txt)["S"]
    h_img, h_txt = codes(12)
    total, _ = DGCPN(gamma_c=0.0, half_binary=0.0).loss(h_img, h_txt, {"S": s.double()})
    inter, intra = similarity_loss(h_img, h_txt, s.double())
    assert torch.equal(total, inter + intra)
    assert not DGCPN(gamma_c=0.0, half_binary=0.0).loss(h_img, h_txt, {"S": s.double()})[
        0
    ].requires_grad  # inputs without grad: nothing is recorded


# --------------------------------------------------------------------------- global graph


def test_sliced_global_targets_differ_from_batch_targets():
    """Why global_graph matters: the graph over all n, sliced to a batch, is not the graph
    of the batch (k is a fraction of n, the coherence sees all neighbours), yet it is a
    well-defined target for that batch."""
    n, f = 60, features(60, seed=5)
    batch = torch.randperm(n, generator=torch.Generator().manual_seed(6))[:16]
    method = DGCPN(batch_size=n)
    full = method.targets(*f)["S"]
    sliced = full[batch][:, batch]
    local = DGCPN(batch_size=16).targets(f[0][batch], f[1][batch])["S"]
    assert (sliced - local).abs().max() > 1e-2
    # well defined: the properties of a target hold for the slice
    assert sym(sliced) and torch.isfinite(sliced).all()
    assert sliced.min() >= -1.5 and sliced.max() <= 1.5
    assert torch.equal(torch.diagonal(sliced), torch.full((16,), 1.5))
    total, _ = method.loss(*(h.float() for h in codes(16)), {"S": sliced})
    assert torch.isfinite(total)
    # the pairwise part slices exactly: only the kNN and the coherence are global
    no_coherence = DGCPN(a2=0.0)
    assert torch.allclose(
        no_coherence.targets(*f)["S"][batch][:, batch],
        no_coherence.targets(f[0][batch], f[1][batch])["S"],
        atol=1e-6,
    )


TRAINED = sorted(set(TABLES) - {"cca_itq"})  # cca_itq is fitted in closed form: no graph
NEEDS_GLOBAL = {"dgcpn", "ucch"}  # global by default; ucch's memory (one code per pair) requires it


def test_global_graph_in_every_trained_family():
    assert all("global_graph" in TABLES[family] for family in TRAINED)
    assert "global_graph" not in TABLES["cca_itq"]
    assert {f: TABLES[f]["global_graph"].default for f in TRAINED} == {f: f in NEEDS_GLOBAL for f in TRAINED}
    assert all(method_class(f).name == f for f in TABLES)


@pytest.mark.parametrize("family", sorted(set(TRAINED) - {"ucch"}))  # ucch refuses false (test_ucch)
def test_global_graph_is_accepted_and_ignored_by_targets(family):
    f_img, f_txt = features(16)
    h_img, h_txt = (h.float() for h in codes(16))
    extra = {"k": 4} if family in ("sgrn", "hnh") else {}
    results = []
    for flag in (False, True):
        method = build_method(family, {"family": family, "global_graph": flag, **extra}, 16)
        assert method.params["global_graph"] is flag
        assert resolve_method_params(family, {"global_graph": flag, **extra}, 16) == method.params
        t = method.targets(f_img, f_txt)
        torch.manual_seed(0)  # a method's own modules (Method.build), the same for both flags
        method.build((f_img.shape[1], f_txt.shape[1]), h_img.shape[1])
        given = {"features": (f_img, f_txt)} if method.uses_features else {}
        results.append((t, method.loss(h_img, h_txt, t, **given)))
    (t0, (l0, terms0)), (t1, (l1, terms1)) = results
    assert t0.keys() == t1.keys() and all(torch.equal(t0[k], t1[k]) for k in t0)
    assert torch.equal(l0, l1) and terms0 == terms1


# --------------------------------------------------------------------------- parameters

BAD = [
    ("k_fraction", 0.0), ("k_fraction", 1.5), ("k_fraction", -0.1), ("a1", -0.1), ("a1", 1.1),
    ("a2", 1.01), ("mu", 0.0), ("gamma_c", -1.0), ("half_binary", -0.5),
    ("global_graph", "yes"), ("global_graph", 1), ("a2", float("nan")), ("k_fraction", True),
]


@pytest.mark.parametrize("key,value", BAD)
def test_bad_value_names_the_key(key, value):
    with pytest.raises(ValueError, match=rf"dgcpn: parameter {key}="):
        DGCPN(batch_size=32, **{key: value})
    with pytest.raises(ValueError, match=rf"dgcpn: parameter {key}="):
        resolve_method_params("dgcpn", {key: value}, 32)


def test_params():
    m = build_method("dgcpn", {"family": "dgcpn", "k_fraction": 0.2}, 32, standardised=(True, False))
    assert isinstance(m, DGCPN) and m.standardised == (True, False)
    assert m.params == {
        "global_graph": True, "lr": 0.005, "k_fraction": 0.2, "a1": 0.01, "a2": 0.3, "mu": 1.5,
        "gamma_c": 0.1, "half_binary": 0.5,
    }
    with pytest.raises(ValueError, match=r"allowed 0 < k_fraction <= 1"):
        DGCPN(k_fraction=0.0)
    with pytest.raises(ValueError, match=r"dgcpn: unknown parameter\(s\) k; known: .*k_fraction"):
        DGCPN(k=2000)
    with pytest.raises(ValueError, match=r"standardised=.*pair of booleans"):
        DGCPN(standardised=True)
    with pytest.raises(ValueError, match="batch_size"):
        DGCPN(batch_size=0)
    DGCPN(batch_size=1, k_fraction=1.0)  # k is a fraction of the rows: any size fits
    assert "DGCPN(global_graph=True, lr=0.005, k_fraction=0.4" in repr(DGCPN())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("m", [32, 2000])
def test_cuda_matches_cpu(m):
    f_img, f_txt = features(m, seed=7)
    h_img, h_txt = (h.float() for h in codes(m, bits=32))
    method = DGCPN(batch_size=m)
    cpu = method.targets(f_img, f_txt)["S"]
    gpu = method.targets(f_img.cuda(), f_txt.cuda())["S"]
    assert gpu.is_cuda and torch.allclose(gpu.cpu(), cpu, atol=1e-4)
    l_cpu, _ = method.loss(h_img, h_txt, {"S": cpu})
    l_gpu, _ = method.loss(h_img.cuda(), h_txt.cuda(), {"S": gpu})
    assert l_gpu.item() == pytest.approx(l_cpu.item(), rel=1e-4)
