"""Reading features.h5: image features, text features, labels and the saved split.

`open_features` keeps the two feature matrices on disk and reads the rows a step asks for in
blocks, so a 190,000 x 4,096 file never has to fit in memory; `load_features` reads them all
(small datasets, benchmarks).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sgrn.data.errors import DataError
from sgrn.files.h5 import open_complete, read_split

BLOCK = 8192  # rows per read: 128 MiB of 4,096-d float32


@dataclass
class Features:
    image: np.ndarray   # (n, d_image): an array, or an h5py dataset read by blocks
    text: np.ndarray    # (n, d_text): bag of words (uint8) or dense features
    labels: np.ndarray  # (n, n_labels) uint8, evaluation only
    split: dict[str, np.ndarray]
    dataset: str
    standardised: tuple[bool, bool] = (False, False)  # (image, text) z-scored at extraction
    source: str = ""  # provenance of the file (step and params hash), for resume checks
    path: str = "<memory>"

    @property
    def dims(self) -> tuple[int, int]:
        return self.image.shape[1], self.text.shape[1]

    def rows(self, modality: str, idx: np.ndarray) -> np.ndarray:
        """float32 rows `idx` (any order, repeats allowed) of 'image' or 'text', refusing NaN and inf."""
        unique, inverse = np.unique(np.asarray(idx, dtype=np.int64), return_inverse=True)
        return np.concatenate(list(self.blocks(modality, unique)) or
                              [np.zeros((0, getattr(self, modality).shape[1]), np.float32)])[inverse]

    def blocks(self, modality: str, idx: np.ndarray, size: int = BLOCK) -> Iterator[np.ndarray]:
        """float32 rows `idx` (ascending) of 'image' or 'text', `size` at a time."""
        for start in range(0, len(idx), size):
            yield self._read(modality, np.asarray(idx[start:start + size], dtype=np.int64))

    def _read(self, modality: str, ascending: np.ndarray) -> np.ndarray:
        matrix = getattr(self, modality)
        if not len(ascending):
            block = matrix[:0]
        elif ascending[-1] - ascending[0] < 2 * len(ascending):
            # h5py selects a list of rows point by point, several times slower than reading
            # the span that holds them; rows that fill at least half their span come that way
            block = matrix[ascending[0]:ascending[-1] + 1][ascending - ascending[0]]
        else:
            block = matrix[ascending]
        block = np.asarray(block, dtype=np.float32)
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            raise DataError(f"{self.path}: dataset '{modality}' row {int(ascending[np.argmax(bad)])} holds "
                            f"NaN or inf; expected finite features")
        return block


@contextmanager
def open_features(path: str | Path) -> Iterator[Features]:
    """A checked features.h5 whose feature matrices stay on disk while the block runs."""
    with open_complete(path, expect_step="extract") as f:
        feats = Features(
            image=f["image"], text=f["text"], labels=f["labels"][()], split=read_split(f["split"]),
            dataset=str(f.attrs["dataset"]),
            standardised=(bool(f.attrs.get("image_standardised", False)),
                          bool(f.attrs.get("text_standardised", False))),
            source=f"{f.attrs.get('step')}:{f.attrs.get('params_hash')}:{f['image'].shape}",
            path=str(path),
        )
        check_features(feats)
        yield feats


def load_features(path: str | Path) -> Features:
    """A checked features.h5 with every row in memory."""
    with open_features(path) as feats:
        everything = np.arange(len(feats.labels))
        return replace(feats, image=feats.rows("image", everything), text=feats.rows("text", everything))


def check_features(feats: Features) -> None:
    """Refuse inconsistent shapes, split indices out of range, and NaN or inf anywhere."""
    n = len(feats.image)
    for key, matrix in (("image", feats.image), ("text", feats.text), ("labels", feats.labels)):
        if len(matrix.shape) != 2 or matrix.shape[0] != n:
            raise DataError(f"{feats.path}: dataset '{key}' has shape {tuple(matrix.shape)}; expected "
                            f"{n} rows like 'image' {tuple(feats.image.shape)}")
    for name, idx in feats.split.items():
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise DataError(f"{feats.path}: split '{name}' indexes rows outside 0..{n - 1}")
    everything = np.arange(n)
    for modality in ("image", "text"):
        for _ in feats.blocks(modality, everything):
            pass  # _read raises on the first row with NaN or inf
