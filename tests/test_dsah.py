"""DSAH baseline: its terms against entry-by-entry loops, the decoders, training, parameters."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from toy_data import clustered_features, cos_matrix, mse, train_recorded, unit, validation_prior

from sgrn.graphs import cosine_graph, signed
from sgrn.hparams import resolve_method_params
from sgrn.methods import build_method
from sgrn.methods.dsah import DSAH, alignment_terms, reconstruction_loss, semantic_target
from sgrn.training.train import TrainConfig, train

M, D_IMG, D_TXT, BITS = 6, 5, 4, 3


def batch(seed=0, m=M):
    g = torch.Generator().manual_seed(seed)
    f_img = torch.rand(m, D_IMG, generator=g, dtype=torch.float64)
    f_txt = (torch.rand(m, D_TXT, generator=g, dtype=torch.float64) > 0.5).double()
    f_txt[torch.arange(m), torch.arange(m) % D_TXT] = 1.0  # no empty tag row
    h_img, h_txt = torch.tanh(torch.randn(2, m, BITS, generator=g, dtype=torch.float64))
    return f_img, f_txt, h_img, h_txt


# --------------------------------------------------------------------------- plain references


def ref_terms(h_img, h_txt, f_img, f_txt, alpha, mu):
    m = len(h_img)
    s_i = [[2 * x - 1 for x in r] for r in cos_matrix(f_img, f_img)]
    s_t = [[2 * x - 1 for x in r] for r in cos_matrix(f_txt, f_txt)]
    s = [[mu * (alpha * s_i[i][j] + (1 - alpha) * s_t[i][j]) for j in range(m)] for i in range(m)]
    it, ii, tt = cos_matrix(h_img, h_txt), cos_matrix(h_img, h_img), cos_matrix(h_txt, h_txt)
    ti = [[it[j][i] for j in range(m)] for i in range(m)]
    return s, {
        "align": mse(tt, s) + mse(it, s) + mse(ii, s),
        "intra": mse(ii, [[mu * x for x in r] for r in s_i]) + mse(tt, [[mu * x for x in r] for r in s_t]),
        "pair": sum((it[i][i] - mu) ** 2 for i in range(m)) / m,
        "sym": mse(it, ti),
    }


def ref_reconstruction(w_img, b_img, w_txt, b_txt, x_img, x_txt, f_img, f_txt):
    """dec_img (reads image codes) rebuilds text features, dec_txt rebuilds image features."""
    def linear(w, b, x):
        return [sum(w[o][i] * x[i] for i in range(len(x))) + b[o] for o in range(len(b))]

    rebuilt_txt = [linear(w_img, b_img, x) for x in x_img]
    rebuilt_img = [linear(w_txt, b_txt, x) for x in x_txt]
    return mse(rebuilt_img, unit(f_img)) + mse(rebuilt_txt, unit(f_txt))


@pytest.mark.parametrize("alpha,mu", [(0.9, 1.5), (0.3, 1.0)])
def test_alignment_terms_match_loops(alpha, mu):
    f_img, f_txt, h_img, h_txt = batch()
    s_img, s_txt = signed(cosine_graph(f_img)), signed(cosine_graph(f_txt))
    s = semantic_target(s_img, s_txt, alpha, mu)
    ref_s, ref = ref_terms(h_img.tolist(), h_txt.tolist(), f_img.tolist(), f_txt.tolist(), alpha, mu)
    assert torch.allclose(s, torch.tensor(ref_s, dtype=s.dtype), atol=1e-12, rtol=0)
    got = alignment_terms(h_img, h_txt, s, s_img, s_txt, mu)
    assert got.keys() == ref.keys()
    for name in ref:
        assert got[name].item() == pytest.approx(ref[name], abs=1e-12), name


@pytest.mark.parametrize("from_codes", [True, False])
def test_reconstruction_matches_loops(from_codes):
    f_img, f_txt, h_img, h_txt = batch(1)
    torch.manual_seed(0)
    dec_img, dec_txt = nn.Linear(BITS, D_TXT).double(), nn.Linear(BITS, D_IMG).double()
    got = reconstruction_loss(dec_img, dec_txt, h_img, h_txt, f_img, f_txt, from_codes)
    sign = (lambda h: [[1.0 if x >= 0 else -1.0 for x in r] for r in h.tolist()]) if from_codes else (  # noqa: E731
        lambda h: h.tolist())
    ref = ref_reconstruction(dec_img.weight.tolist(), dec_img.bias.tolist(), dec_txt.weight.tolist(),
                             dec_txt.bias.tolist(), sign(h_img), sign(h_txt), f_img.tolist(), f_txt.tolist())
    assert got.item() == pytest.approx(ref, abs=1e-12)


def built(m=M, **params):
    method = DSAH(batch_size=m, **params)
    torch.manual_seed(0)
    method.build((D_IMG, D_TXT), BITS)
    for module in method.modules():
        module.double()
    return method


@pytest.mark.parametrize("params", [{}, dict(eta=0.5, pair=0.0, rec=2.0, sym=0.0, alpha=0.4, mu=1.2)])
def test_loss_is_the_weighted_sum_of_its_terms(params):
    f_img, f_txt, h_img, h_txt = batch(2)
    method = built(**params)
    p = method.params
    targets = method.targets(f_img, f_txt)
    total, terms = method.loss(h_img, h_txt, targets, features=(f_img, f_txt))
    _, ref = ref_terms(h_img.tolist(), h_txt.tolist(), f_img.tolist(), f_txt.tolist(), p["alpha"], p["mu"])
    expected = ref["align"] + p["eta"] * ref["intra"] + p["pair"] * ref["pair"] + p["sym"] * ref["sym"]
    expected += p["rec"] * terms["rec"].item()
    assert total.item() == pytest.approx(expected, rel=1e-6)  # the cosine graphs are float32
    assert set(terms) == {"align", "intra", "pair", "rec", "sym"}
    assert not any(t.requires_grad for t in terms.values())


def test_decoding_codes_trains_only_the_decoders_and_outputs_reach_the_nets():
    f_img, f_txt, h_img, h_txt = batch(3)
    grads = {}
    for decode_from in ("codes", "outputs"):
        method = built(decode_from=decode_from, eta=0.0, pair=0.0, sym=0.0)
        targets = method.targets(f_img, f_txt)
        hi, ht = h_img.clone().requires_grad_(), h_txt.clone().requires_grad_()
        total, _ = method.loss(hi, ht, targets, features=(f_img, f_txt))
        total.backward()
        align_only = built(decode_from=decode_from, eta=0.0, pair=0.0, sym=0.0, rec=0.0)
        hi0, ht0 = h_img.clone().requires_grad_(), h_txt.clone().requires_grad_()
        align_only.loss(hi0, ht0, targets, features=(f_img, f_txt))[0].backward()
        grads[decode_from] = (hi.grad - hi0.grad).abs().max().item()
        assert all(m.weight.grad is not None and m.weight.grad.abs().max() > 0 for m in method.modules())
        assert all(m.weight.grad is None for m in align_only.modules()), "rec = 0 leaves the decoders alone"
    assert grads["codes"] == 0.0  # sign(H) passes no gradient: the nets see only the alignment
    assert grads["outputs"] > 1e-6


def test_decoders_shapes_and_standardised_flags():
    method = build_method("dsah", {"family": "dsah"}, 32, standardised=(True, False))
    assert method.modules() == []
    method.build((40, 25), 16)
    dec_img, dec_txt = method.modules()
    assert (dec_img.in_features, dec_img.out_features) == (16, 25)  # image codes -> text features
    assert (dec_txt.in_features, dec_txt.out_features) == (16, 40)
    g = torch.Generator().manual_seed(4)
    f_img = torch.randn(8, 40, generator=g)
    f_txt = (torch.rand(8, 25, generator=g) > 0.7).float()
    t = method.targets(f_img, f_txt)
    assert torch.equal(t["S_img"], signed(cosine_graph(f_img, standardised=True)))
    assert torch.equal(t["S_txt"], signed(cosine_graph(f_txt)))


def test_loss_without_features_or_decoders_is_refused():
    f_img, f_txt, h_img, h_txt = batch(5)
    method = DSAH(batch_size=M)
    targets = method.targets(f_img, f_txt)
    with pytest.raises(ValueError, match=r"dsah: the loss needs the batch's features"):
        method.loss(h_img, h_txt, targets)
    with pytest.raises(ValueError, match=r"dsah: build\(dims, bits\)"):
        method.loss(h_img, h_txt, targets, features=(f_img, f_txt))


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize("decode_from", ["codes", "outputs"])
def test_training_beats_the_label_prior(decode_from):
    feats = clustered_features()
    prior = validation_prior(feats)
    ckpt, records = train_recorded(feats, "dsah", {"decode_from": decode_from})
    assert prior == pytest.approx(0.567, abs=0.01)
    assert ckpt["val_map_all"] > prior + 0.1
    assert records[-1]["rec"] < records[0]["rec"]  # the decoders learn
    assert set(ckpt["model"]) == {"image", "text"}  # the decoders are not part of the model


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("key,value", [("alpha", 1.5), ("alpha", -0.1), ("mu", 0.0), ("eta", -1.0), ("pair", -0.1),
                                       ("rec", -1.0), ("sym", -2.0), ("decode_from", "hidden"),
                                       ("global_graph", "no")])
def test_bad_value_names_the_key(key, value):
    with pytest.raises(ValueError, match=rf"dsah: parameter {key}="):
        resolve_method_params("dsah", {key: value}, 32)


def test_defaults_and_unknown_keys():
    assert DSAH().params == {"global_graph": False, "lr": None, "alpha": 0.9, "mu": 1.5, "eta": 0.1, "pair": 1.0,
                             "rec": 1.0, "sym": 2.0, "decode_from": "codes"}
    with pytest.raises(ValueError, match=r"dsah: unknown parameter\(s\) k; known: "):
        DSAH(k=5)
    with pytest.raises(ValueError, match=r"decode_from='hidden' is not allowed: decode_from is one of codes, outputs"):
        DSAH(decode_from="hidden")


def test_resumed_training_is_bit_identical():
    """The decoders and their optimiser come back from the training state (method.md 9, DSAH)."""
    import io

    feats = clustered_features()
    cfg = TrainConfig(epochs=4, checkpoint_every=2, text_hidden=32, device="cpu", num_threads=1)
    hyper = resolve_method_params("dsah", {"decode_from": "outputs"}, cfg.batch_size)

    def run(resume=None):
        states, records = [], []

        def save_state(state):
            buffer = io.BytesIO()
            torch.save(state, buffer)
            states.append(buffer.getvalue())

        ckpt = train(feats, "dsah", hyper, 16, 3, cfg, on_epoch=lambda e, r: records.append(r), resume=resume,
                     save_state=save_state)
        untimed = [{k: v for k, v in r.items() if k != "epoch_seconds"} for r in records]
        return ckpt, untimed, [torch.load(io.BytesIO(b), weights_only=False) for b in states]

    whole, records, states = run()
    state = states[0]
    assert [tuple(s["weight"].shape) for s in state["modules"]] == [(30, 16), (64, 16)]
    resumed, resumed_records, _ = run(resume=state)
    assert resumed_records == records
    for net in ("image", "text"):
        for key, tensor in whole["model"][net].items():
            assert torch.equal(tensor, resumed["model"][net][key]), f"{net}.{key}"
    for saved in state["modules"]:  # the test can fail: other decoders give other records
        saved["weight"].mul_(0.5)
    _, tampered_records, _ = run(resume=state)
    assert tampered_records[2:] != records[2:]
