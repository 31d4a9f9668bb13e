"""The text net's first layer over a bag of words' non-zero entries (sgrn/training/sparse_text.py) gives
the dense path's losses, weights, optimiser state and codes to float tolerance, and the rule
that picks it takes sparse bags of words only."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import sgrn.training.train
from sgrn.files.featurefile import Features
from sgrn.hparams import resolve_method_params
from sgrn.training.nets import TextHashNet, encode
from sgrn.training.sparse_text import LazyRowSGD, is_sparse_bag_of_words, sparse_text_layer, use_sparse_text
from sgrn.training.train import TrainConfig, train

CPU = torch.device("cpu")


def bow_features(n=240, d_txt=400, per_row=4.0, counts=False, seed=0) -> Features:
    """Clustered image rows and a sparse tag bag of words (some tags never in training)."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 5)) < 0.2).astype(np.uint8)
    labels[np.arange(n), rng.integers(0, 5, n)] = 1
    image = np.maximum(labels @ rng.normal(size=(5, 48)) + 0.5 * rng.normal(size=(n, 48)), 0).astype(np.float32)
    tag_prob = (labels @ rng.random((5, d_txt)) + 0.2) / d_txt
    tag_prob *= per_row / tag_prob.sum(1, keepdims=True)
    text = (rng.random((n, d_txt)) < tag_prob).astype(np.float32)
    if counts:
        text *= rng.integers(1, 4, size=text.shape)
    idx = np.arange(n)
    split = {"query": idx[:20], "database": idx[20:], "train": idx[20:180], "validation": idx[180:210]}
    return Features(image=image, text=text, labels=labels, split=split, dataset="toy-bow")


def test_the_rule_takes_sparse_bags_of_words_only():
    rng = np.random.default_rng(0)
    bow = torch.from_numpy((rng.random((500, 1386)) < 4.6 / 1386).astype(np.float32))
    assert is_sparse_bag_of_words(bow)
    assert is_sparse_bag_of_words(bow * 3)                            # counts
    topics = torch.from_numpy(rng.dirichlet(np.ones(50), 500).astype(np.float32))
    assert not is_sparse_bag_of_words(topics)                         # LDA topics
    assert not is_sparse_bag_of_words(bow * 0.37)                     # tf-idf style weights
    assert not is_sparse_bag_of_words(bow - bow.mean(0))              # z-scored
    assert not is_sparse_bag_of_words((torch.rand(500, 30) < 0.3).float())  # small vocabulary, dense
    assert not is_sparse_bag_of_words(torch.zeros(0, 1386))
    edge = torch.zeros(100, 100)
    edge.view(-1)[:200] = 1                                           # exactly 2 % non-zero
    assert is_sparse_bag_of_words(edge)
    edge.view(-1)[200] = 1
    assert not is_sparse_bag_of_words(edge)
    assert use_sparse_text(bow, CPU, False, 0.9)
    assert not use_sparse_text(bow, torch.device("cuda"), False, 0.9)
    assert not use_sparse_text(bow, CPU, True, 0.9)                   # bfloat16 autocast
    assert not use_sparse_text(bow, CPU, False, 0.0)


def test_the_trainer_picks_the_path_by_the_rule(monkeypatch):
    picked = []
    monkeypatch.setattr(sgrn.training.train, "sparse_text_layer",
                        lambda net: picked.append(True) or sparse_text_layer(net))
    cfg = TrainConfig(epochs=1, validate_every=1, text_hidden=16, device="cpu", num_threads=1)
    hyper = resolve_method_params("sgrn", {}, batch_size=cfg.batch_size)
    train(bow_features(), "sgrn", hyper, 16, 0, cfg)
    assert picked == [True]
    dense = bow_features()
    dense.text = dense.text + 0.5  # dense features
    train(dense, "sgrn", hyper, 16, 0, cfg)
    assert picked == [True]


@pytest.mark.parametrize("counts", [False, True], ids=["binary", "counts"])
def test_sparse_layer_encodes_as_the_dense_one(counts):
    torch.manual_seed(0)
    feats = bow_features(counts=counts)
    net = TextHashNet(feats.text.shape[1], 32, hidden=64)
    x = torch.from_numpy(feats.text)
    want = encode(net, x)
    sparse = copy.deepcopy(net)
    sparse_text_layer(sparse)
    got = encode(sparse, x, batch_size=50)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert torch.equal(torch.sign(got), torch.sign(want))
    for key, tensor in net.state_dict().items():
        assert torch.equal(sparse.state_dict()[key], tensor), key


def two_paths(family: str, feats: Features, steps: int, lr: float = 0.05):
    """Per-step losses and the final (net, optimiser) of the dense and of the sparse text net."""
    from sgrn.training.train import TargetSource, TrainStep, _sgd

    cfg = TrainConfig(text_hidden=64, lr_image=lr, lr_text=lr)
    x_img = torch.from_numpy(feats.rows("image", feats.split["train"]))
    x_txt = torch.from_numpy(feats.rows("text", feats.split["train"]))
    out = {}
    for path in ("dense", "sparse"):
        torch.manual_seed(1)
        source = TargetSource(family, resolve_method_params(family, {}, batch_size=32), x_img, x_txt, 32,
                              feats.standardised)
        from sgrn.training.nets import ImageHashNet

        img_net, txt_net = ImageHashNet(x_img.shape[1], 16), TextHashNet(x_txt.shape[1], 16, hidden=64)
        initial = txt_net.body[0].weight.detach().clone()
        layer = sparse_text_layer(txt_net) if path == "sparse" else None
        opt_img, opt_txt = _sgd(img_net.parameters(), lr, cfg, CPU), _sgd(txt_net.parameters(), lr, cfg, CPU)
        lazy = LazyRowSGD(layer, opt_txt) if layer is not None else None
        step = TrainStep(img_net, txt_net, opt_img, opt_txt, x_img, x_txt, source, False, CPU, None, lazy)
        order = torch.randperm(len(x_img), generator=torch.Generator().manual_seed(2))
        losses = []
        for i in range(steps):
            j = i % (len(order) // 32)
            step(order[j * 32:(j + 1) * 32], 1.0 + 0.1 * i)
            losses.append(step.read_means(1)["loss"])
        if lazy is not None:
            lazy.flush()
        out[path] = losses, txt_net, opt_txt, initial
    return out


@pytest.mark.parametrize("family", ["sgrn", "djsrh"])
def test_sparse_steps_equal_dense_steps(family):
    feats = bow_features()
    out = two_paths(family, feats, steps=25)
    dense_losses, dense_net, dense_opt, initial = out["dense"]
    sparse_losses, sparse_net, sparse_opt, _ = out["sparse"]
    np.testing.assert_allclose(sparse_losses, dense_losses, rtol=1e-5)
    assert dense_losses[0] != dense_losses[-1]  # it trained
    unused = np.flatnonzero(feats.rows("text", feats.split["train"]).sum(0) == 0)
    assert len(unused) > 10  # columns that only decay: the lazy steps must move them as SGD does
    assert not torch.allclose(dense_net.body[0].weight[:, unused], initial[:, unused], rtol=1e-4, atol=0)
    for got, want in zip(sparse_net.parameters(), dense_net.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
    got_state, want_state = sparse_opt.state_dict()["state"], dense_opt.state_dict()["state"]
    assert got_state.keys() == want_state.keys() == {0, 1, 2, 3}
    for i, want in want_state.items():
        torch.testing.assert_close(got_state[i]["momentum_buffer"], want["momentum_buffer"], rtol=1e-4, atol=1e-7)


def run_path(feats, path: str, monkeypatch, epochs=3, **changes):
    monkeypatch.setattr(sgrn.training.train, "use_sparse_text", lambda *args: path == "sparse")
    cfg = TrainConfig(epochs=epochs, validate_every=1, text_hidden=64, device="cpu", num_threads=1, **changes)
    hyper = resolve_method_params("sgrn", {}, batch_size=cfg.batch_size)
    records, states = [], []
    ckpt = train(feats, "sgrn", hyper, 16, 3, cfg, on_epoch=lambda e, r: records.append(r),
                 save_state=lambda s: states.append(copy.deepcopy(s)))
    return ckpt, records, states


def test_sparse_training_equals_dense_training(monkeypatch):
    """Whole runs: per-epoch loss terms and validation MAP, the model, and its codes."""
    feats = bow_features()
    dense, dense_records, _ = run_path(feats, "dense", monkeypatch)
    sparse, sparse_records, _ = run_path(feats, "sparse", monkeypatch)
    for got, want in zip(sparse_records, dense_records, strict=True):
        for key in want:
            if key != "epoch_seconds":
                assert got[key] == pytest.approx(want[key], rel=1e-5), key
    assert sparse["best_epoch"] == dense["best_epoch"]
    for key, want in dense["model"]["text"].items():
        got = sparse["model"]["text"][key]
        assert got.is_contiguous()
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
    nets = []
    for ckpt in (dense, sparse):
        net = TextHashNet(feats.text.shape[1], 16, hidden=64)
        net.load_state_dict(ckpt["model"]["text"])
        nets.append(encode(net, torch.from_numpy(feats.text)))
    torch.testing.assert_close(nets[1], nets[0], rtol=1e-5, atol=1e-6)
    assert torch.equal(torch.sign(nets[1]), torch.sign(nets[0]))


def test_sparse_training_resumes_exactly(monkeypatch):
    feats = bow_features()
    whole, _, states = run_path(feats, "sparse", monkeypatch, epochs=4, checkpoint_every=2)
    monkeypatch.setattr(sgrn.training.train, "use_sparse_text", lambda *args: True)
    cfg = TrainConfig(epochs=4, validate_every=1, checkpoint_every=2, text_hidden=64, device="cpu", num_threads=1)
    hyper = resolve_method_params("sgrn", {}, batch_size=cfg.batch_size)
    resumed = train(feats, "sgrn", hyper, 16, 3, cfg, resume=states[0])
    for net in ("image", "text"):
        for key, tensor in whole["model"][net].items():
            assert torch.equal(resumed["model"][net][key], tensor), f"{net}.{key}"
