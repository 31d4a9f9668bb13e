"""What the tests of the newer method families share: a small clustered dataset, its label
prior, a short recorded training run, and plain-Python references (lists of rows)."""
from __future__ import annotations

import math

import numpy as np

from sgrn.files.featurefile import Features
from sgrn.hparams import resolve_method_params
from sgrn.retrieval.metrics import label_prior_map
from sgrn.training.train import TrainConfig, train


def clustered_features(n=400, seed=0, d_img=64):
    """Five labels; image and tag rows that depend on them, with noise; 256 training pairs."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 5)) < 0.2).astype(np.uint8)
    labels[np.arange(n), rng.integers(0, 5, n)] = 1
    image = labels @ rng.normal(size=(5, d_img)) + 0.5 * rng.normal(size=(n, d_img))
    image = np.maximum(image, 0).astype(np.float32)
    text = ((labels @ rng.random((5, 30)) + rng.random((n, 30))) > 1.0).astype(np.float32)
    idx = np.arange(n)
    split = {"query": idx[:50], "database": idx[50:], "train": idx[50:306], "validation": idx[306:356]}
    return Features(image=image, text=text, labels=labels, split=split, dataset="toy")


def validation_prior(feats: Features) -> float:
    """MAP@all of a ranking that knows nothing: the validation queries against the database minus them."""
    val = np.sort(feats.split["validation"])
    return label_prior_map(feats.labels[val], feats.labels[np.setdiff1d(feats.split["database"], val)])


def train_recorded(feats: Features, family: str, params: dict | None = None, epochs: int = 10,
                   bits: int = 16) -> tuple[dict, list[dict]]:
    """A short CPU run validated every epoch: (checkpoint, per-epoch records)."""
    cfg = TrainConfig(epochs=epochs, validate_every=1, text_hidden=32, device="cpu", num_threads=1)
    records: list[dict] = []
    ckpt = train(feats, family, resolve_method_params(family, params or {}, cfg.batch_size), bits, 0, cfg,
                 on_epoch=lambda e, r: records.append(r))
    return ckpt, records


def unit(rows):
    return [[x / math.sqrt(sum(y * y for y in r)) for x in r] for r in rows]


def cos_matrix(a, b):
    a, b = unit(a), unit(b)
    return [[sum(x * y for x, y in zip(ra, rb)) for rb in b] for ra in a]


def mse(a, b):
    flat = [(x - y) ** 2 for ra, rb in zip(a, b) for x, y in zip(ra, rb)]
    return sum(flat) / len(flat)
