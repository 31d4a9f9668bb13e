"""Synthetic precomputed features of MIRFlickr-like (or demo-like) shape, shared by the benchmarks."""
from __future__ import annotations

import numpy as np

SHAPES = {"mirflickr": (4096, 1386, 0.005), "demo": (1280, 99, 0.05)}
"""(image dimension, tag vocabulary, tag density): AlexNet fc7 and MIRFlickr's tags, or the
demo's EfficientNet-Lite0 pooled features and its 99 tags."""


def synthetic_features(n: int, seed: int = 0, shape: str = "mirflickr"):
    """Non-negative image rows, a sparse tag BOW (sizes from `SHAPES`), 24 random labels."""
    from sgrn.files.featurefile import Features

    d_img, d_txt, density = SHAPES[shape]
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, 24)) < 0.15).astype(np.uint8)
    image = np.maximum(rng.normal(size=(n, d_img)), 0).astype(np.float32)
    text = (rng.random((n, d_txt)) < density).astype(np.float32)
    idx = np.arange(n)
    split = {"train": idx, "database": idx, "query": idx[:10], "validation": idx[:100]}
    return Features(image=image, text=text, labels=labels, split=split, dataset="synthetic")
