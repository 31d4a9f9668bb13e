"""The training loop on small in-memory features: global graphs, mixed precision, selection."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sgrn.files.featurefile import Features
from sgrn.hparams import resolve_method_params
from sgrn.training.train import TargetSource, TrainConfig, train


@pytest.fixture
def feats():
    rng = np.random.default_rng(0)
    labels = (rng.random((160, 5)) < 0.3).astype(np.uint8)
    labels[np.arange(160), rng.integers(0, 5, 160)] = 1
    image = np.maximum(labels @ rng.normal(size=(5, 64)) + 0.3 * rng.normal(size=(160, 64)), 0).astype(np.float32)
    text = ((labels @ rng.random((5, 30)) + rng.random((160, 30))) > 1.0).astype(np.float32)
    idx = np.arange(160)
    split = {"query": idx[:20], "database": idx[20:], "train": idx[20:116], "validation": idx[116:136]}
    return Features(image=image, text=text, labels=labels, split=split, dataset="toy")


def run(feats, family="sgrn", epochs=3, **changes):
    cfg = TrainConfig(epochs=epochs, validate_every=1, text_hidden=32, device="cpu", num_threads=1)
    for key, value in changes.items():
        setattr(cfg, key, value)
    hyper = resolve_method_params(family, {}, batch_size=cfg.batch_size)
    epochs_seen = []
    ckpt = train(feats, family, hyper, 16, 0, cfg, on_epoch=lambda e, r: epochs_seen.append(r))
    return ckpt, epochs_seen


def test_best_validation_epoch_is_kept(feats):
    ckpt, records = run(feats, epochs=4)
    best = max(range(4), key=lambda e: records[e]["val_map_all"])
    assert ckpt["best_epoch"] == best + 1
    assert ckpt["val_map_all"] == records[best]["val_map_all"]


def test_global_graph_slices_one_graph_and_scales_k(feats):
    x_img = torch.from_numpy(feats.image[:96])
    x_txt = torch.from_numpy(feats.text[:96])
    hyper = resolve_method_params("sgrn", {"global_graph": True}, batch_size=32)
    source = TargetSource("sgrn", hyper, x_img, x_txt, 32, (False, False))
    assert source.method.params["k"] == 30  # 10 of 32 -> 30 of 96
    batch = torch.tensor([5, 17, 60])
    sliced = source(batch, x_img[batch], x_txt[batch])
    assert torch.equal(sliced["S"], source.full["S"][batch][:, batch])
    ckpt, records = run(feats, family="dgcpn", epochs=2)  # DGCPN's graph is global by default
    best = max(range(2), key=lambda e: records[e]["val_map_all"])  # the first of equal ones
    assert ckpt["best_epoch"] == best + 1 and ckpt["val_map_all"] == records[best]["val_map_all"]


def test_mixed_precision_trains(feats):
    ckpt, records = run(feats, epochs=2, mixed_precision=True)
    assert all(np.isfinite(r["loss"]) for r in records)
    assert ckpt["model"]["image"]["hash.weight"].dtype == torch.float32
