"""HNH baseline: the high-order affinity and the loss against entry-by-entry loops, the common
representation's optimality, training, and k refused when larger than the rows."""

from __future__ import annotations

import pytest
import torch
from toy_data import clustered_features, cos_matrix, mse, train_recorded, unit, validation_prior

from sgrn.hparams import resolve_method_params
from sgrn.methods import build_method
from sgrn.methods.hnh import HNH, common_representation, high_order_affinity, nonlocal_affinity
from sgrn.training.train import TargetSource, TrainConfig, train

M, BITS = 7, 4


def batch(seed=0, m=M):
    g = torch.Generator().manual_seed(seed)
    f_img = torch.rand(m, 5, generator=g, dtype=torch.float64)
    f_txt = (torch.rand(m, 6, generator=g, dtype=torch.float64) > 0.5).double()
    f_txt[torch.arange(m), torch.arange(m) % 6] = 1.0
    h_img, h_txt = torch.tanh(torch.randn(2, m, BITS, generator=g, dtype=torch.float64))
    return f_img, f_txt, h_img, h_txt


# --------------------------------------------------------------------------- plain references


def ref_high_order(a, k, scale):
    """Each row keeps the entries at or above its k-th largest value; j is i's neighbour when
    either keeps the other; Q = cosine of the kept rows; A~ = scale A Q - 1 entry by entry."""
    m = len(a)
    keep = [[a[i][j] >= sorted(a[i], reverse=True)[k - 1] - 1e-6 for j in range(m)] for i in range(m)]
    rows = [[a[i][j] if (keep[i][j] or keep[j][i]) else 0.0 for j in range(m)] for i in range(m)]
    q = cos_matrix(rows, rows)
    return [[scale * a[i][j] * q[i][j] - 1.0 for j in range(m)] for i in range(m)]


@pytest.mark.parametrize("k", [1, 3, M])
def test_high_order_affinity_matches_loops(k):
    f_img = batch()[0]
    a = (f_img / f_img.norm(dim=1, keepdim=True)) @ (f_img / f_img.norm(dim=1, keepdim=True)).T
    got = high_order_affinity(a, k, 2.0)
    ref = torch.tensor(ref_high_order(a.tolist(), k, 2.0), dtype=got.dtype)
    assert torch.allclose(got, ref, atol=1e-12, rtol=0)
    assert torch.allclose(got, got.T, atol=1e-12) and (got >= -1 - 1e-12).all() and (got <= 1 + 1e-12).all()
    assert torch.allclose(torch.diagonal(got), torch.ones(M, dtype=got.dtype))


def test_all_neighbours_is_the_normalised_second_order_product():
    """k = every row: Q is the cosine of the rows of A, i.e. A A^T (= A^T A) normalised."""
    f_img = batch(1)[0]
    a = (f_img / f_img.norm(dim=1, keepdim=True)) @ (f_img / f_img.norm(dim=1, keepdim=True)).T
    second = a.T @ a
    norms = torch.sqrt(torch.diagonal(second))
    assert torch.allclose(nonlocal_affinity(a, M), second / norms[:, None] / norms[None, :], atol=1e-12)


def test_common_representation_minimises_its_objective():
    _, _, h_img, h_txt = batch(2)
    b_img, b_txt = (h / h.norm(dim=1, keepdim=True) for h in (h_img, h_txt))
    s = torch.rand(M, M, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1
    alpha, beta = 40.0, 1.0

    def objective(u):
        return (alpha * (((u - b_img) ** 2).sum() + ((u - b_txt) ** 2).sum())
                + beta * (((s - u @ b_img.T) ** 2).sum() + ((s - u @ b_txt.T) ** 2).sum()))

    u = common_representation(b_img, b_txt, s, alpha, beta).double()
    assert u.shape == (M, BITS) and u.dtype == torch.float64
    # the gradient vanishes there (up to float32) and any step away costs more
    u_var = u.clone().requires_grad_()
    objective(u_var).backward()
    assert u_var.grad.abs().max() < 1e-3
    g = torch.Generator().manual_seed(4)
    for _ in range(5):
        assert objective(u + 1e-2 * torch.randn(M, BITS, generator=g, dtype=torch.float64)) > objective(u)
    # beta = 0: the mean of the two codes
    assert torch.allclose(common_representation(b_img, b_txt, s, alpha, 0.0).double(), (b_img + b_txt) / 2,
                          atol=1e-6)


@pytest.mark.parametrize("params", [{"k": M}, dict(k=2, gamma=0.4, scale_img=1.5, scale_txt=2.5, alpha=5.0,
                                                   beta=2.0, lam=0.5)])
def test_targets_and_loss_match_loops(params):
    f_img, f_txt, h_img, h_txt = batch(5)
    method = HNH(batch_size=M, **params)
    p = method.params
    s = method.targets(f_img, f_txt)["S"]
    a_i, a_t = cos_matrix(f_img.tolist(), f_img.tolist()), cos_matrix(f_txt.tolist(), f_txt.tolist())
    hi, ht = ref_high_order(a_i, p["k"], p["scale_img"]), ref_high_order(a_t, p["k"], p["scale_txt"])
    ref_s = [[p["gamma"] * hi[i][j] + (1 - p["gamma"]) * ht[i][j] for j in range(M)] for i in range(M)]
    assert torch.allclose(s.double(), torch.tensor(ref_s, dtype=torch.float64), atol=1e-6)  # float32 graphs
    s = s.double()
    total, terms = method.loss(h_img, h_txt, {"S": s})
    b_i, b_t = unit(h_img.tolist()), unit(h_txt.tolist())
    u = common_representation(h_img / h_img.norm(dim=1, keepdim=True), h_txt / h_txt.norm(dim=1, keepdim=True),
                              s, p["alpha"], p["beta"]).double().tolist()

    def product(a, b):  # a b^T
        return [[sum(x * y for x, y in zip(ra, rb)) for rb in b] for ra in a]

    s_list = s.tolist()
    common = mse(b_i, u) + mse(b_t, u)
    affinity = mse(product(u, b_i), s_list) + mse(product(u, b_t), s_list)
    inter = mse(product(b_i, b_t), s_list)
    assert terms["common"].item() == pytest.approx(common, abs=1e-9)
    assert terms["affinity"].item() == pytest.approx(affinity, abs=1e-9)
    assert terms["inter"].item() == pytest.approx(inter, abs=1e-12)
    assert total.item() == pytest.approx(p["alpha"] * common + p["beta"] * affinity + p["lam"] * inter, abs=1e-8)


def test_common_representation_is_held_fixed_in_the_nets_step():
    f_img, f_txt, h_img, h_txt = batch(6)
    method = HNH(batch_size=M, k=3, lam=0.0)
    s = method.targets(f_img, f_txt)["S"].double()
    hi = h_img.clone().requires_grad_()
    total, _ = method.loss(hi, h_txt, {"S": s})
    total.backward()
    # the same loss with U given as a constant has the same gradient
    b_t = h_txt / h_txt.norm(dim=1, keepdim=True)
    u = common_representation(h_img / h_img.norm(dim=1, keepdim=True), b_t, s, 40.0, 1.0).double()
    hi2 = h_img.clone().requires_grad_()
    b_i = hi2 / hi2.norm(dim=1, keepdim=True)
    fixed = 40.0 * (((b_i - u) ** 2).mean() + ((b_t - u) ** 2).mean()) + ((u @ b_i.T - s) ** 2).mean() + (
        (u @ b_t.T - s) ** 2).mean()
    fixed.backward()
    assert torch.allclose(hi.grad, hi2.grad, atol=1e-6)


# --------------------------------------------------------------------------- training


def test_training_beats_the_label_prior():
    feats = clustered_features()
    prior = validation_prior(feats)
    ckpt, records = train_recorded(feats, "hnh")
    assert prior == pytest.approx(0.567, abs=0.01)
    assert ckpt["val_map_all"] > prior + 0.1  # measured 0.912
    assert set(records[0]) >= {"common", "affinity", "inter"}
    assert records[-1]["loss"] < records[0]["loss"]


def test_global_graph_scales_k_to_the_training_set():
    feats = clustered_features()
    x_img = torch.from_numpy(feats.image[:96])
    x_txt = torch.from_numpy(feats.text[:96])
    hyper = resolve_method_params("hnh", {"global_graph": True, "k": 16}, batch_size=32)
    source = TargetSource("hnh", hyper, x_img, x_txt, 32, (False, False))
    assert source.method.params["k"] == 48  # 16 of 32 -> 48 of 96
    batch_idx = torch.tensor([3, 40, 77])
    assert torch.equal(source(batch_idx, x_img[batch_idx], x_txt[batch_idx])["S"],
                       source.full["S"][batch_idx][:, batch_idx])


# --------------------------------------------------------------------------- bad input


def test_k_larger_than_the_rows_is_refused_naming_what_fits():
    with pytest.raises(ValueError, match=r"hnh: k=33 is larger than the 32 rows of a graph .*use k <= 32"):
        build_method("hnh", {"k": 33}, 32)
    with pytest.raises(ValueError, match=r"hnh: k=32 is larger than the 16 rows .*use k <= 16"):
        resolve_method_params("hnh", {}, 16)  # the default k = 32 with a batch of 16
    with pytest.raises(ValueError, match=r"hnh: parameter k=0 is out of range"):
        build_method("hnh", {"k": 0}, 32)
    HNH(batch_size=32, k=32)
    HNH(k=500)  # no batch size given: unchecked until targets
    f_img, f_txt, _, _ = batch()
    with pytest.raises(ValueError, match=rf"hnh: k=500 is larger than the {M} rows given: use k <= {M}"):
        HNH(k=500).targets(f_img, f_txt)


def test_refused_before_training_when_k_exceeds_the_batch():
    feats = clustered_features()
    cfg = TrainConfig(epochs=1, batch_size=16, text_hidden=32, device="cpu", num_threads=1)
    with pytest.raises(ValueError, match=r"hnh: k=32 is larger than the 16 rows"):
        train(feats, "hnh", {"k": 32}, 16, 0, cfg)


@pytest.mark.parametrize("key,value", [("gamma", 1.2), ("scale_img", 0.0), ("scale_txt", -1.0), ("alpha", 0.0),
                                       ("beta", -0.5), ("lam", -1.0), ("k", 2.5), ("global_graph", 1)])
def test_bad_value_names_the_key(key, value):
    with pytest.raises(ValueError, match=rf"hnh: parameter {key}="):
        resolve_method_params("hnh", {key: value}, 32)


def test_defaults():
    assert HNH().params == {"global_graph": False, "lr": None, "k": 32, "gamma": 0.9, "scale_img": 2.0,
                            "scale_txt": 2.0, "alpha": 40.0, "beta": 1.0, "lam": 1.0}
    assert not HNH.uses_features and HNH().modules() == []
