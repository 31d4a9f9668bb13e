"""Outputs appear complete or not at all; HDF5 readers refuse unfinished files."""
from __future__ import annotations

import h5py
import pytest

from sgrn.files.atomic import atomic_path, write_json
from sgrn.files.h5 import IncompleteFileError, mark_complete, open_complete, stamp


def test_failure_keeps_the_previous_result(tmp_path):
    out = tmp_path / "metrics.json"
    write_json(out, {"map": 0.5})
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert out.read_text().strip().endswith("}") and '"map": 0.5' in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_directory_outputs_replace_the_old_one(tmp_path):
    out = tmp_path / "tables"
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "old.md").write_text("old")
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "new.md").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.md"]


def test_unfinished_hdf5_is_refused(tmp_path):
    path = tmp_path / "features.h5"
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2]
        stamp(f, "extract", "abc")
    with pytest.raises(IncompleteFileError, match="attribute 'complete' missing"):
        open_complete(path)
    with h5py.File(path, "a") as f:
        mark_complete(f)
    with open_complete(path, expect_step="extract") as f:
        assert list(f["x"]) == [1, 2]
    with pytest.raises(IncompleteFileError, match="written by step 'extract', expected a 'encode'"):
        open_complete(path, expect_step="encode")


def test_truncated_hdf5_is_refused(tmp_path):
    path = tmp_path / "codes.h5"
    with h5py.File(path, "w") as f:
        f["x"] = list(range(10000))
        mark_complete(f)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(IncompleteFileError, match="not a readable HDF5 file"):
        open_complete(path)
