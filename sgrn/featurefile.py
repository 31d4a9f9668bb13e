"""Reading features.h5: image features, text bag of words, labels and the saved split."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sgrn.data.errors import DataError
from sgrn.h5 import open_complete, read_split


@dataclass
class Features:
    image: np.ndarray   # (n, d_image) float32
    text: np.ndarray    # (n, d_text) float32 (bag of words)
    labels: np.ndarray  # (n, n_labels) uint8, evaluation only
    split: dict[str, np.ndarray]
    dataset: str
    standardised: tuple[bool, bool] = (False, False)  # (image, text) z-scored at extraction
    source: str = ""  # provenance of the file (step and params hash), for resume checks

    @property
    def dims(self) -> tuple[int, int]:
        return self.image.shape[1], self.text.shape[1]


def load_features(path: str | Path) -> Features:
    """Read and check a features.h5 (all rows in memory)."""
    with open_complete(path, expect_step="extract") as f:
        feats = Features(
            image=f["image"][()].astype(np.float32, copy=False),
            text=f["text"][()].astype(np.float32),
            labels=f["labels"][()],
            split=read_split(f["split"]),
            dataset=str(f.attrs["dataset"]),
            standardised=(bool(f.attrs.get("image_standardised", False)),
                          bool(f.attrs.get("text_standardised", False))),
            source=f"{f.attrs.get('step')}:{f.attrs.get('params_hash')}:{f['image'].shape}",
        )
    check_features(feats, path)
    return feats


def check_features(feats: Features, path: str | Path) -> None:
    """Refuse matrices of inconsistent shapes, non-finite values and split indices out of range."""
    n = len(feats.image)
    for key, matrix in (("image", feats.image), ("text", feats.text), ("labels", feats.labels)):
        if matrix.ndim != 2 or len(matrix) != n:
            raise DataError(f"{path}: dataset '{key}' has shape {matrix.shape}; expected {n} rows "
                            f"like 'image' {feats.image.shape}")
    for key, matrix in (("image", feats.image), ("text", feats.text)):
        bad = ~np.isfinite(matrix).all(axis=1)
        if bad.any():
            raise DataError(f"{path}: dataset '{key}' row {int(np.argmax(bad))} holds NaN or inf "
                            f"({int(bad.sum())} such rows); expected finite features")
    for name, idx in feats.split.items():
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise DataError(f"{path}: split '{name}' indexes rows outside 0..{n - 1}")
