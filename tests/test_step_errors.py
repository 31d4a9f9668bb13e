"""Step scripts refuse bad input with one clear line, exit status 2, and change nothing."""
from __future__ import annotations

import shutil

import h5py
import pytest

from workflow_utils import BIN, run

pytestmark = pytest.mark.slow
PY = str(BIN / "python")


def step(project, script, *args):
    return run([PY, f"scripts/{script}.py", *args], project, check=False)


def assert_refused(proc, *fragments):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    for fragment in fragments:
        assert fragment in out, out
    assert "Traceback" not in out


def test_checkpoint_of_another_code_length(smk_project, tmp_path):
    out = tmp_path / "codes.h5"
    proc = step(smk_project, "encode", "--dataset", "demo", "--method", "sgrn", "--bits", "32",
                "--features", "results/demo/features.h5", "--model", "results/demo/sgrn/c0/b16/s0/model.pt",
                "--out", str(out))
    assert_refused(proc, "results/demo/sgrn/c0/b16/s0/model.pt: field 'bits' is 16, expected 32")
    assert not out.exists()


def test_checkpoint_of_another_method(smk_project, tmp_path):
    proc = step(smk_project, "encode", "--dataset", "demo", "--method", "djsrh", "--bits", "16",
                "--features", "results/demo/features.h5", "--model", "results/demo/sgrn/c0/b16/s0/model.pt",
                "--out", str(tmp_path / "codes.h5"))
    assert_refused(proc, "field 'method' is 'sgrn', expected 'djsrh'")


def test_cca_itq_with_more_bits_than_the_features_give(smk_project, tmp_path):
    out = tmp_path / "model.pt"
    proc = step(smk_project, "train", "--dataset", "demo", "--method", "cca_itq", "--config", "0",
                "--bits", "256", "--seed", "0", "--features", "results/demo/features.h5",
                "--out", str(out), "--live", str(tmp_path / "live"))
    assert_refused(proc, "results/demo/features.h5: cca_itq: the image features (1280-d, 110 training pairs) "
                   "give 109 PCA dimensions; 256 bits need at least 256", "use at most 109 bits")
    assert not out.exists()


def test_truncated_codes_file_keeps_the_previous_metrics(smk_project, tmp_path):
    codes = tmp_path / "codes.h5"
    codes.write_bytes((smk_project / "results/demo/sgrn/c0/b16/s0/codes.h5").read_bytes()[:500])
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"previous": true}\n')
    proc = step(smk_project, "evaluate", "--codes", str(codes), "--out", str(metrics))
    assert_refused(proc, f"{codes}: not a readable HDF5 file")
    assert metrics.read_text() == '{"previous": true}\n'


def test_validation_rows_outside_the_database_keep_the_previous_metrics(smk_project, tmp_path):
    codes = tmp_path / "codes.h5"
    shutil.copy(smk_project / "results/demo/sgrn/c0/b16/s0/codes.h5", codes)
    with h5py.File(codes, "a") as f:
        query_rows = f["query/index"][:2]
        index = f["validation/index"][()]
        del f["validation/index"]
        f["validation/index"] = sorted({*index[:-2], *query_rows})
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"previous": true}\n')
    proc = step(smk_project, "evaluate", "--codes", str(codes), "--out", str(metrics))
    assert_refused(proc, f"{codes}: validation/index names 2 rows that are not in database/index")
    assert metrics.read_text() == '{"previous": true}\n'


def test_features_given_where_codes_are_expected(smk_project, tmp_path):
    proc = step(smk_project, "evaluate", "--codes", "results/demo/features.h5", "--out", str(tmp_path / "m.json"))
    assert_refused(proc, "written by step 'extract', expected a 'encode' output")


def test_list_files_of_different_lengths(smk_project, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(smk_project / "resources/raw/demo", raw)
    lines = (raw / "all_labels.txt").read_text().splitlines(keepends=True)
    (raw / "all_labels.txt").write_text("".join(lines[:-1]))
    proc = step(smk_project, "prepare", "--dataset", "demo", "--raw", str(raw), "--out", str(tmp_path / "p.h5"))
    assert_refused(proc, "all_labels.txt", "299", "300")
    assert not (tmp_path / "p.h5").exists()


def test_corrupt_jpeg(smk_project, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(smk_project / "resources/raw/demo", raw)
    (raw / "images/im7.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    proc = step(smk_project, "extract", "--dataset", "demo", "--raw", str(raw),
                "--pairs", "resources/demo/pairs.h5", "--out", str(tmp_path / "f.h5"))
    assert_refused(proc, "images/im7.jpg: image of row 7 cannot be decoded")
    assert list(tmp_path.glob("*f.h5*")) == []
