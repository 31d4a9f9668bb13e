"""DVC as the ledger of a Snakemake run: `make record`, then `dvc push` and `dvc pull`.

A copy of the session's tiny Snakemake run (conftest `smk_project`) is recorded in DVC with
`make record` (nothing is recomputed), pushed to a local-directory remote, and pulled into a
fresh clone that has no DVC cache: data, features and checkpoints come back byte for byte.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from workflow_utils import BIN, run, snakemake_dry_run

pytestmark = pytest.mark.slow
DVC = str(BIN / "dvc")
# data, features, checkpoint, codes and results of the tiny demo (one model)
TRACKED = ["resources/raw/demo", "resources/demo/pairs.h5", "results/demo/features.h5",
           "results/demo/sgrn/c0/b16/s0/model.pt", "results/demo/sgrn/c0/b16/s0/live",
           "results/demo/sgrn/c0/b16/s0/codes.h5", "results/evaluation", "results/metrics.json",
           "results/tables"]
LOGS = ["logs/download/demo.log", "logs/extract/demo.log", "logs/train/demo/sgrn/c0/b16/s0.log"]


def digest(path: Path) -> str:
    """sha256 of a file, or of a folder's relative names and contents."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path)).encode() if path.is_dir() else b"")
        h.update(f.read_bytes())
    return h.hexdigest()


def digests(root: Path) -> dict[str, str]:
    return {rel: digest(root / rel) for rel in TRACKED}


def record(root: Path) -> None:
    """The README's `make record` (STAMP= : the venv of this test session is already set up)."""
    run(["make", "-s", "record", "STAMP="], root)


def up_to_date(root: Path) -> None:
    assert "Data and pipelines are up to date" in run([DVC, "status"], root).stdout
    assert {job["rule"] for job in snakemake_dry_run(root)} == set()


@pytest.fixture(scope="module")
def recorded(smk_project, tmp_path_factory):
    """A copy of the Snakemake run (mtimes and .snakemake metadata kept), then `make record`."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = tmp_path_factory.mktemp("dvc_remote") / "project"
    shutil.copytree(smk_project, root, symlinks=True)
    before = digests(root)
    log_times = {rel: (root / rel).stat().st_mtime_ns for rel in LOGS}
    record(root)
    return root, before, log_times


def test_record_adopts_outputs_without_recomputing(recorded):
    root, before, log_times = recorded
    assert digests(root) == before
    assert {rel: (root / rel).stat().st_mtime_ns for rel in LOGS} == log_times   # no step ran
    lock = (root / "dvc.lock").read_text()
    assert hashlib.md5((root / "results/demo/features.h5").read_bytes()).hexdigest() in lock
    up_to_date(root)


@pytest.fixture(scope="module")
def pushed(recorded, tmp_path_factory):
    """The recorded run pushed to a local-directory remote; dvc.lock and the remote committed."""
    root, before, _ = recorded
    remote = tmp_path_factory.mktemp("remote")
    run([DVC, "remote", "add", "--default", "storage", str(remote)], root)
    out = run([DVC, "push"], root).stdout
    assert "pushed" in out and any(remote.rglob("*")), out
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-q", "-m", "record the tiny run"], root)
    return root, before


def test_push_then_pull_into_a_fresh_clone(pushed, tmp_path):
    root, before = pushed
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(root), str(clone)], tmp_path)
    assert not (clone / "results").exists() and not (clone / ".dvc/cache").exists()
    run([DVC, "pull"], clone)
    assert digests(clone) == before
    # pulled files carry fresh mtimes: `make record` lets Snakemake accept them as they are
    record(clone)
    up_to_date(clone)
    assert digests(clone) == before


def test_pull_restores_a_lost_cache_and_checkpoint(pushed):
    root, before = pushed
    shutil.rmtree(root / ".dvc/cache")
    (root / "results/demo/sgrn/c0/b16/s0/model.pt").unlink()
    run([DVC, "pull"], root)
    assert digests(root) == before
    assert "Data and pipelines are up to date" in run([DVC, "status"], root).stdout
