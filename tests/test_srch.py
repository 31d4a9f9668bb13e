"""SRCH baseline: its graphs and loss against plain-loop references, training, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from toy_data import clustered_features, train_recorded, validation_prior

from sgrn.graphs import cosine_graph
from sgrn.hparams import resolve_method_params
from sgrn.methods import build_method
from sgrn.methods.srch import (
    SRCH,
    code_distances,
    code_graph,
    decorrelation_loss,
    degree_weights,
    edge_set,
    rebase_graph,
    rebased_weights,
    semantic_loss,
    set_graph,
    sparsity_loss,
)
from sgrn.training.train import TrainConfig, train

# --------------------------------------------------------------------------- references
# Written from method.md section 9 with loops over lists, sharing no code with sgrn.


def ref_knn(c, k, tol=1e-6):
    m = len(c)
    n = [[0.0] * m for _ in range(m)]
    for i, row in enumerate(c):
        tau = sorted(row, reverse=True)[k - 1]
        for j in range(m):
            if row[j] >= tau - tol:
                n[i][j] = n[j][i] = 1.0
    return n


def ref_cos(a, b):
    def unit(r):
        norm = max(math.sqrt(sum(x * x for x in r)), 1e-12)
        return [x / norm for x in r]

    return [[sum(x * y for x, y in zip(unit(u), unit(v))) for v in b] for u in a]


def ref_sign(rows):
    return [[1.0 if x >= 0 else -1.0 for x in r] for r in rows]


def ref_set(c_i, c_t, k):
    n_i, n_t = ref_knn(c_i, k), ref_knn(c_t, k)
    return [[(a + b) / 2 for a, b in zip(ri, rt)] for ri, rt in zip(n_i, n_t)]


def ref_rebase(a0, h_i, h_t, k, rho):
    b = ref_sign([[x + y for x, y in zip(ri, rt)] for ri, rt in zip(h_i, h_t)])
    n_b = ref_knn([[(1 + x) / 2 for x in row] for row in ref_cos(b, b)], k)
    return [[(1 - rho) * a + rho * nb for a, nb in zip(ra, rb)] for ra, rb in zip(a0, n_b)]


def ref_loss(h_i, h_t, f_i, f_t, a0, p, dec):
    m = len(h_i)
    s = [[p["mu"] * x for x in row] for row in ref_rebase(a0, h_i, h_t, p["k"], p["rho"])]

    def mse(sim):
        return sum((sim[i][j] - s[i][j]) ** 2 for i in range(m) for j in range(m)) / (m * m)

    inter = mse(ref_cos(h_i, h_t))
    intra = mse(ref_cos(h_i, h_i)) + mse(ref_cos(h_t, h_t))
    quant = sum((abs(x) - 1) ** 2 for r in h_i for x in r) / (m * len(h_i[0])) + sum(
        (abs(x) - 1) ** 2 for r in h_t for x in r) / (m * len(h_t[0]))
    rec = 0.0
    for (w, bias), f in ((dec["image"], f_i), (dec["text"], f_t)):
        for h in (h_i, h_t):
            err = 0.0
            for i in range(m):
                norm = max(math.sqrt(sum(x * x for x in f[i])), 1e-12)  # a zero row stays 0
                for d in range(len(w)):
                    out = bias[d] + sum(w[d][c] * h[i][c] for c in range(len(h[i])))
                    err += (out - f[i][d] / norm) ** 2
            rec += err / m
    total = inter + p["intra"] * intra + p["gamma"] * quant + p["delta"] * rec
    return total, {"inter": inter, "intra": intra, "quantisation": quant, "reconstruction": rec}


@pytest.fixture
def tiny():
    g = torch.Generator().manual_seed(3)
    f_img = torch.relu(torch.randn(7, 5, generator=g, dtype=torch.float64))
    f_txt = (torch.rand(7, 6, generator=g) > 0.5).double()
    f_txt[2] = 0.0  # an empty tag row: its cosines are 0, a tie with every other item
    f_txt[2, 0] = 1.0
    h_img, h_txt = torch.tanh(torch.randn(2, 7, 4, generator=g, dtype=torch.float64))
    return f_img, f_txt, h_img, h_txt


# --------------------------------------------------------------------------- graphs, loss


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_set_graph_matches_loops(tiny, k):
    f_img, f_txt, _, _ = tiny
    c_i, c_t = cosine_graph(f_img), cosine_graph(f_txt)
    out = set_graph(c_i, c_t, k)
    ref = torch.tensor(ref_set(c_i.tolist(), c_t.tolist(), k), dtype=out.dtype)
    assert torch.equal(out, ref)
    assert torch.equal(out, out.T) and (out.diagonal() == 1).all()


@pytest.mark.parametrize("k,rho", [(2, 0.5), (3, 0.0), (3, 1.0), (1, 0.25)])
def test_rebase_matches_loops(tiny, k, rho):
    f_img, f_txt, h_img, h_txt = tiny
    a0 = set_graph(cosine_graph(f_img), cosine_graph(f_txt), 3)
    b = torch.where(h_img + h_txt >= 0, 1.0, -1.0).double()
    out = rebase_graph(a0, b, k, rho)
    ref = ref_rebase(a0.tolist(), h_img.tolist(), h_txt.tolist(), k, rho)
    assert torch.allclose(out, torch.tensor(ref, dtype=out.dtype), atol=1e-12, rtol=0)
    if rho == 0:
        assert torch.equal(out, a0)
    assert torch.equal(code_graph(b, 7), torch.ones(7, 7, dtype=b.dtype))  # k = m: all neighbours


@pytest.mark.parametrize("params", [{}, dict(k=2, rho=0.3, mu=1.4, intra=0.5, gamma=0.2, delta=0.7),
                                    dict(rho=0.0, gamma=0.0, delta=0.0)])
def test_loss_matches_loops(tiny, params):
    f_img, f_txt, h_img, h_txt = tiny
    method = SRCH(batch_size=7, **{"k": 3, "form": "dense", "decode_from": "each", **params})
    method.build((5, 6), 4)
    method.decoders.double()
    assert all((q == 0).all() for q in method.decoders.parameters())  # decoders start at zero
    g = torch.Generator().manual_seed(8)
    for q in method.decoders.parameters():  # a trained state, so that the loops see a real decoder
        q.data = torch.randn(q.shape, generator=g, dtype=q.dtype)
    targets = method.targets(f_img, f_txt)
    total, terms = method.loss(h_img, h_txt, targets, features=(f_img, f_txt))
    dec = {name: (getattr(method.decoders, name).weight.tolist(), getattr(method.decoders, name).bias.tolist())
           for name in ("image", "text")}
    p = method.params
    ref_total, ref_terms = ref_loss(h_img.tolist(), h_txt.tolist(), f_img.tolist(), f_txt.tolist(),
                                    targets["A0"].tolist(), p, dec)
    assert total.item() == pytest.approx(ref_total, rel=1e-10)
    for name, value in ref_terms.items():
        assert terms[name].item() == pytest.approx(value, rel=1e-10, abs=1e-12), name
    assert not any(t.requires_grad for t in terms.values())


def test_gradients_reach_codes_and_decoders_not_targets(tiny):
    f_img, f_txt, h_img, h_txt = tiny
    h_img, h_txt = h_img.clone().requires_grad_(), h_txt.clone().requires_grad_()
    method = SRCH(batch_size=7, k=3, form="dense")
    method.build((5, 6), 4)
    method.decoders.double()
    method.decoders.image.weight.data.fill_(0.1)  # past the zero start: the codes feel the decoders
    targets = method.targets(f_img, f_txt)
    assert not targets["A0"].requires_grad
    total, _ = method.loss(h_img, h_txt, targets, features=(f_img, f_txt))
    total.backward()
    assert h_img.grad.abs().sum() > 0 and h_txt.grad.abs().sum() > 0
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in method.modules()[0].parameters())
    # delta = 0: the decoders are outside the loss
    method = SRCH(batch_size=7, k=3, form="dense", delta=0.0)
    method.build((5, 6), 4)
    total, terms = method.loss(h_img.float(), h_txt.float(), method.targets(f_img.float(), f_txt.float()),
                               features=(f_img.float(), f_txt.float()))
    total.backward()
    assert all(q.grad is None for q in method.modules()[0].parameters())
    assert terms["reconstruction"] > 0  # still logged
    _, terms = method.loss(h_img.float(), h_txt.float(), method.targets(f_img.float(), f_txt.float()))
    assert terms["reconstruction"] == 0  # no features: nothing to reconstruct


# --------------------------------------------------------------------------- form edges


def ref_edges(c, k):
    e = ref_knn(c, k)
    for i in range(len(e)):
        e[i][i] = 0.0
    return e


def ref_degree_weights(e):
    a = [sum(row) for row in e]
    mean = sum(a) / len(a)
    return [[e[i][j] * mean / math.sqrt(a[i] * a[j]) if e[i][j] else 0.0 for j in range(len(e))]
            for i in range(len(e))]


def ref_distances(z):
    return [[sum((x - y) ** 2 for x, y in zip(zi, zj)) / len(zi) for zj in z] for zi in z]


def ref_edge_sums(weights, value):
    """sum over the graphs and their edges of C value(i, j), divided by the number of edges."""
    total, count = 0.0, 0
    for w in weights:
        for i, row in enumerate(w):
            for j, c in enumerate(row):
                if c > 0:
                    total += c * value(i, j)
                    count += 1
    return total / max(count, 1)


def ref_edges_loss(h_i, h_t, f_i, f_t, w_i, w_t, p, dec):
    m, c = len(h_i), len(h_i[0])
    z = [[(x + y) / 2 for x, y in zip(ri, rt)] for ri, rt in zip(h_i, h_t)]
    b = ref_sign(z)
    d = ref_distances(z)
    s = [[p["sparsity"] / (p["sparsity"] + x) for x in row] for row in d]
    semantic = ref_edge_sums((w_i, w_t), lambda i, j: s[i][j] ** 2 * d[i][j])
    sparsity = ref_edge_sums((w_i, w_t), lambda i, j: (s[i][j] - 1) ** 2)

    def mean_sq(x, y):
        return sum((u - v) ** 2 for rx, ry in zip(x, y) for u, v in zip(rx, ry)) / (m * c)

    quant = 0.5 * mean_sq(z, b)
    encoder = mean_sq(h_i, b) + mean_sq(h_t, b)
    decor = 0.0
    for u in range(c):
        for v in range(c):
            g = sum(z[i][u] * z[i][v] for i in range(m)) / m
            decor += (g - (1.0 if u == v else 0.0)) ** 2
    decor /= c
    rec = 0.0
    for (w, bias), f in ((dec["image"], f_i), (dec["text"], f_t)):
        err = 0.0
        for i in range(m):
            norm = max(math.sqrt(sum(x * x for x in f[i])), 1e-12)
            for r in range(len(w)):
                out = bias[r] + sum(w[r][q] * z[i][q] for q in range(c))
                err += (out - f[i][r] / norm) ** 2
        rec += err / m
    total = semantic + p["gamma"] * quant + p["autoencoder"] * (encoder + rec) + p["beta"] * decor
    return total, {"semantic": semantic, "sparsity": sparsity, "quantisation": quant, "encoder": encoder,
                   "decorrelation": decor, "reconstruction": rec}


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_edge_sets_and_degree_weights_match_loops(tiny, k):
    f_img, f_txt, _, _ = tiny
    for f in (f_img, f_txt):
        c = cosine_graph(f)
        e = edge_set(c, k)
        ref_e = ref_edges(c.tolist(), k)
        assert torch.equal(e, torch.tensor(ref_e, dtype=e.dtype))
        assert (e.diagonal() == 0).all() and torch.equal(e, e.T)
        w = degree_weights(e)
        if k == 1 and e.sum() == 0:  # no edges: nothing to weigh
            assert (w == 0).all()
            continue
        assert torch.allclose(w, torch.tensor(ref_degree_weights(ref_e), dtype=w.dtype), atol=1e-12, rtol=0)
        assert torch.equal(w > 0, e > 0)  # weights on the edges only


def test_degree_weights_of_an_isolated_item_are_zero():
    e = torch.tensor([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.float64)
    w = degree_weights(e)
    assert torch.isfinite(w).all() and (w[2] == 0).all() and (w[:, 2] == 0).all()
    assert w[0, 1].item() == pytest.approx((2 / 3) / 1.0)  # mean degree 2/3, degrees 1 and 1


def test_rebased_weights_match_loops_and_minimise_the_edge_terms(tiny):
    _, _, h_img, h_txt = tiny
    z = (h_img + h_txt) / 2
    d = code_distances(z)
    assert torch.allclose(d, torch.tensor(ref_distances(z.tolist()), dtype=d.dtype), atol=1e-12, rtol=0)
    assert (d.diagonal() == 0).all() and torch.equal(d, d.T)
    for lam in (0.3, 1.0, 4.0):
        s = rebased_weights(d, lam)
        ref = [[lam / (lam + x) for x in row] for row in ref_distances(z.tolist())]
        assert torch.allclose(s, torch.tensor(ref, dtype=s.dtype), atol=1e-12, rtol=0)
        assert ((s > 0) & (s <= 1)).all() and (s.diagonal() == 1).all()
        # the closed form of the rebasing: moving S off it raises semantic + lam sparsity
        w = degree_weights(edge_set(cosine_graph(h_img.abs()), 3))

        def objective(weights_s):
            return (semantic_loss(d, weights_s, (w,)) + lam * sparsity_loss(weights_s, (w,))).item()

        best = objective(s)
        for step in (1e-3, -1e-3):
            assert objective(s + step) > best


@pytest.mark.parametrize("params", [{}, dict(k=2, sparsity=0.4, beta=0.3, gamma=0.5, autoencoder=0.7)])
def test_edges_loss_matches_loops(tiny, params):
    f_img, f_txt, h_img, h_txt = tiny
    method = SRCH(batch_size=7, **{"k": 3, **params})
    assert method.params["form"] == "edges" and method.params["decode_from"] == "shared"  # the defaults
    method.build((5, 6), 4)
    method.decoders.double()
    g = torch.Generator().manual_seed(8)
    for q in method.decoders.parameters():
        q.data = torch.randn(q.shape, generator=g, dtype=q.dtype)
    targets = method.targets(f_img, f_txt)
    assert set(targets) == {"C_I", "C_T"}
    total, terms = method.loss(h_img, h_txt, targets, features=(f_img, f_txt))
    dec = {name: (getattr(method.decoders, name).weight.tolist(), getattr(method.decoders, name).bias.tolist())
           for name in ("image", "text")}
    ref_total, ref_terms = ref_edges_loss(h_img.tolist(), h_txt.tolist(), f_img.tolist(), f_txt.tolist(),
                                          targets["C_I"].tolist(), targets["C_T"].tolist(), method.params, dec)
    assert total.item() == pytest.approx(ref_total, rel=1e-10)
    assert set(terms) == set(ref_terms)
    for name, value in ref_terms.items():
        assert terms[name].item() == pytest.approx(value, rel=1e-10, abs=1e-12), name


def test_edges_gradients_skip_the_rebased_weights(tiny):
    """The rebasing is the graph step: S is held fixed in the nets' step (its gradient is not taken)."""
    f_img, f_txt, h_img, h_txt = tiny
    h_img, h_txt = h_img.clone().requires_grad_(), h_txt.clone().requires_grad_()
    method = SRCH(batch_size=7, k=3, gamma=0.0, beta=0.0, autoencoder=0.0)
    targets = method.targets(f_img, f_txt)
    total, _ = method.loss(h_img, h_txt, targets)
    total.backward()
    z = ((h_img + h_txt) / 2).detach().requires_grad_()
    s = rebased_weights(code_distances(z.detach()), 1.0)
    semantic_loss(code_distances(z), s, (targets["C_I"], targets["C_T"])).backward()
    assert torch.allclose(h_img.grad, z.grad / 2, atol=1e-12, rtol=0)
    assert h_img.grad.abs().sum() > 0


def test_decorrelation_is_zero_for_orthogonal_bits():
    z = torch.tensor([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=torch.float64)
    assert decorrelation_loss(z).item() == 0
    assert decorrelation_loss(torch.ones(4, 2, dtype=torch.float64)).item() == pytest.approx(1.0)  # (1 + 1) / 2


# --------------------------------------------------------------------------- training


def test_training_beats_the_label_prior():
    feats = clustered_features()
    prior = validation_prior(feats)
    ckpt, records = train_recorded(feats, "srch")
    assert prior == pytest.approx(0.567, abs=0.01)
    assert ckpt["val_map_all"] > prior + 0.1  # measured 0.813 (form dense: 0.790; prior 0.567)
    assert records[-1]["val_map_all"] > records[0]["val_map_all"]
    assert set(records[0]) >= {"semantic", "sparsity", "quantisation", "encoder", "decorrelation", "reconstruction"}
    assert records[-1]["reconstruction"] < records[0]["reconstruction"]  # the decoders learn
    assert set(ckpt["model"]) == {"image", "text"}  # the decoders are not part of the model


def test_wide_features_do_not_freeze_the_codes():
    """Decoders to 1,280-d image features (the demo's width): randomly initialised, their error
    saturated every tanh in the first steps and froze the codes at one MAP (0.254 on the demo,
    below its label prior); they start at zero instead."""
    feats = clustered_features(d_img=1280)
    cfg = TrainConfig(epochs=4, validate_every=1, text_hidden=32, device="cpu", num_threads=1)
    records = []
    ckpt = train(feats, "srch", resolve_method_params("srch", {}, cfg.batch_size), 16, 0, cfg,
                 on_epoch=lambda e, r: records.append(r))
    assert len({r["val_map_all"] for r in records}) == 4  # the codes move every epoch
    assert min(r["quantisation"] for r in records) > 0.01  # not saturated
    # the decoders cost the codes little: measured 0.734 (form edges, with them), 0.755 for form
    # dense without them (random initial decoders in form dense: 0.616)
    plain = train(feats, "srch", resolve_method_params("srch", {"form": "dense", "delta": 0.0}, cfg.batch_size),
                  16, 0, cfg)
    assert ckpt["val_map_all"] > 0.65 and ckpt["val_map_all"] > plain["val_map_all"] - 0.05


def test_global_set_graph_keeps_the_code_graph_per_batch():
    """With global_graph the trainer scales k to n for the set graph; the code graph of a
    batch takes the same fraction of the batch."""
    method = SRCH(batch_size=256, global_graph=True, k=40)
    assert [method.code_neighbours(m) for m in (32, 256, 4, 2)] == [5, 40, 1, 1]
    assert SRCH(batch_size=32, k=5).code_neighbours(32) == 5
    feats = clustered_features()
    cfg = TrainConfig(epochs=2, validate_every=1, text_hidden=32, device="cpu", num_threads=1)
    records = []
    ckpt = train(feats, "srch", resolve_method_params("srch", {"global_graph": True}, cfg.batch_size), 16, 0, cfg,
                 on_epoch=lambda e, r: records.append(r))
    maps = [r["val_map_all"] for r in records]
    assert len(maps) == 2 and ckpt["val_map_all"] == max(maps) and ckpt["best_epoch"] == 1 + maps.index(max(maps))
    per_batch = train(feats, "srch", resolve_method_params("srch", {}, cfg.batch_size), 16, 0, cfg)
    assert any(not torch.equal(tensor, per_batch["model"]["image"][key])  # the global graph was used
               for key, tensor in ckpt["model"]["image"].items())


# --------------------------------------------------------------------------- bad input


def test_k_must_be_smaller_than_the_rows():
    with pytest.raises(ValueError, match=r"srch: k=32 must be smaller than the batch size 32 .*use k <= 31"):
        build_method("srch", {"k": 32}, 32)
    with pytest.raises(ValueError, match=r"srch: parameter k=0 is out of range: allowed k >= 1"):
        build_method("srch", {"k": 0}, 32)
    SRCH(batch_size=32, k=31)
    # with global_graph the rows are the n training pairs (the trainer scales k to n)
    resolve_method_params("srch", {"global_graph": True, "k": 40}, 96)
    with pytest.raises(ValueError, match=r"k=96 must be smaller than the batch size 96"):
        resolve_method_params("srch", {"global_graph": True, "k": 96}, 96)


def test_k_larger_than_the_batch_is_refused_before_training():
    feats = clustered_features()
    cfg = TrainConfig(epochs=1, text_hidden=32, device="cpu", num_threads=1, batch_size=16)
    seen = []
    with pytest.raises(ValueError, match=r"k=20 must be smaller than the batch size 16 .*use k <= 15"):
        train(feats, "srch", {"k": 20}, 16, 0, cfg, on_epoch=lambda e, r: seen.append(r))
    assert seen == []


@pytest.mark.parametrize("key,value", [("rho", 1.5), ("rho", -0.1), ("mu", 0.0), ("gamma", -1.0),
                                       ("delta", -0.5), ("intra", "a"), ("k", 2.5)])
def test_bad_value_names_the_key(key, value):
    with pytest.raises(ValueError, match=rf"srch: parameter {key}="):
        SRCH(**{key: value})
