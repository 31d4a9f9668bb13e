"""Synthetic precomputed features of MIRFlickr-like shape, shared by the benchmarks."""
from __future__ import annotations

import numpy as np


def synthetic_features(n: int, seed: int = 0):
    """Non-negative 4096-d "fc7" rows, sparse 1,386-d tag BOW, 24 random labels."""
    from sgrn.featurefile import Features

    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 24)) < 0.15).astype(np.uint8)
    image = np.maximum(rng.normal(size=(n, 4096)), 0).astype(np.float32)
    text = (rng.random((n, 1386)) < 0.005).astype(np.float32)
    idx = np.arange(n)
    split = {"train": idx, "database": idx, "query": idx[:10], "validation": idx[:100]}
    return Features(image=image, text=text, labels=labels, split=split, dataset="synthetic")
