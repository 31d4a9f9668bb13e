"""features.h5 read by blocks: any row order, the same values as in memory, NaN refused."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import sgrn.files.featurefile as ff
from sgrn.data.errors import DataError
from sgrn.files.h5 import mark_complete, stamp, write_split


def write(path, image, text, labels):
    with h5py.File(path, "w") as f:
        f["image"], f["text"], f["labels"] = image, text, labels
        n = len(image)
        write_split(f.create_group("split"), {"train": np.arange(0, n, 2), "query": np.arange(1, n, 2)})
        stamp(f, "extract", "x", dataset="t")
        mark_complete(f)


@pytest.fixture
def small(tmp_path, monkeypatch):
    monkeypatch.setattr(ff, "BLOCK", 7)  # several blocks on a small file
    rng = np.random.default_rng(0)
    image = rng.random((50, 6), dtype=np.float32)
    text = (rng.random((50, 9)) < 0.3).astype(np.uint8)
    labels = (rng.random((50, 4)) < 0.5).astype(np.uint8)
    write(tmp_path / "f.h5", image, text, labels)
    return tmp_path / "f.h5", image, text


def test_rows_in_any_order_match_memory(small):
    path, image, text = small
    idx = np.array([41, 3, 3, 17, 0, 49, 22, 8, 30, 12, 5])
    with ff.open_features(path) as feats:
        assert np.array_equal(feats.rows("image", idx), image[idx])
        assert np.array_equal(feats.rows("text", idx), text[idx].astype(np.float32))
        blocks = list(feats.blocks("image", np.arange(10, 30), size=6))
        assert [len(b) for b in blocks] == [6, 6, 6, 2]
        assert np.array_equal(np.concatenate(blocks), image[10:30])
        # rows read through their span (they fill half of it or more) and one by one (sparse)
        for rows in (np.arange(10, 24, 2), np.array([2, 3, 4, 6]), np.array([1, 9, 20, 48])):
            assert np.array_equal(np.concatenate(list(feats.blocks("image", rows))), image[rows])
    loaded = ff.load_features(path)
    assert np.array_equal(loaded.image, image) and loaded.text.dtype == np.float32


def test_nan_anywhere_is_refused_with_its_row(tmp_path, small):
    _, image, text = small
    image = image.copy()
    image[33, 2] = np.inf
    write(tmp_path / "bad.h5", image, text, np.ones((50, 4), np.uint8))
    with pytest.raises(DataError, match=r"bad.h5: dataset 'image' row 33 holds NaN or inf"):
        with ff.open_features(tmp_path / "bad.h5"):
            pass
