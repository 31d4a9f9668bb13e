"""The tiny demo on a real one-node SLURM cluster through `snakemake --cores all --profile slurm`.

The session fixture installs Debian's slurmctld, slurmd, slurm-client and munge when they are
missing, starts a cluster with a `cpu` and a `gpu` partition (one fake GPU) from .ci/slurm/,
and at the end of the session stops, by pid, the daemons it started and removes the packages
it installed. conftest.py runs this module last: while slurm-client is installed and no
controller answers, every `snakemake` start waits about 10 s.

Where that cannot be done (not root, no apt-get, a foreign SLURM configuration) the tests are
skipped with the reason; in CI (CI=true) that is a failure instead.

One project copy is run twice. The first run injects two faults through a `python` probe put
in front of the venv on PATH (the probe also records where each step ran): `train` fails once
and succeeds on its retry, `encode` fails every time. That run must fail after the profile's
retries and show the error; the second run, without faults, must pick up at `encode`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from workflow_utils import BIN, REPO, env, run, snakemake_dry_run, tiny_copy

pytestmark = pytest.mark.slow

CI_SLURM = REPO / ".ci/slurm"
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
# The test cluster has no accounting database (poll with squeue) and answers at once.
TEST_CLUSTER = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1"]
GPU_RULES = {"extract", "train", "encode"}
SLURM_CPU_RULES = {"download", "prepare"}
# steps as the probe names them, by their scripts: the select rule runs scripts/model_selection.py
LOCAL_RULES = {"evaluate", "model_selection", "curves", "report"}
GROUPED = {"train": "gpu_train"}  # profiles/slurm groups: train jobs share a SLURM job and its GPU
# Outputs after the failed run: those of the steps before the failure are kept.
AFTER_FAILURE = {"resources/demo/pairs.h5": True, "results/demo/features.h5": True,
                 "results/demo/sgrn/c0/b16/s0/model.pt": True, "results/demo/sgrn/c0/b16/s0/codes.h5": False,
                 "results/metrics.json": False}

PROBE = """#!/bin/bash
# Test probe in front of the venv's python: records where each step runs, injects faults.
step=$(basename "${1:-}" .py)
echo "$step ${SLURM_JOB_ID:-local} ${SLURM_JOB_PARTITION:-none} ${CUDA_VISIBLE_DEVICES:-none}" >> "$SGRN_PROBE"
fault() {
  msg="injected fault: $step $1"
  while [ $# -gt 0 ]; do [ "$1" = --log ] && echo "ERROR $msg" >> "$2"; shift; done
  echo "$msg" >&2
  exit 1
}
if [ "$step" = "${SGRN_FAIL_ALWAYS:-}" ]; then fault "fails every time" "$@"; fi
if [ "$step" = "${SGRN_FAIL_ONCE:-}" ] && mkdir "$SGRN_PROBE.$step.failed" 2>/dev/null; then
  fault "fails once" "$@"
fi
exec @PYTHON@ "$@"
"""


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"the SLURM test must run in CI but cannot: {reason}")
    pytest.skip(reason)


def _sh(*args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def _installed(package: str) -> bool:
    proc = _sh("dpkg-query", "-W", "-f=${Status}", package)
    return proc.returncode == 0 and "install ok installed" in proc.stdout


def _cluster_partitions() -> set[str] | None:
    """Partitions of a SLURM controller that answers, or None."""
    if shutil.which("sinfo") is None:
        return None
    proc = _sh("sinfo", "-h", "-o", "%P", timeout=30)
    return {p.rstrip("*") for p in proc.stdout.split()} if proc.returncode == 0 else None


@pytest.fixture(scope="session")
def slurm_cluster(request):
    """A one-node cluster with partitions `cpu` and `gpu`, up until the session ends."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        _unavailable("needs root on Linux to install and start a SLURM cluster (Debian packages, daemons)")
    missing = [p for p in PACKAGES if not _installed(p)] if shutil.which("dpkg-query") else PACKAGES
    if missing and shutil.which("apt-get") is None:
        _unavailable(f"SLURM packages missing ({', '.join(missing)}) and no apt-get to install them")
    if missing:
        # Finalizers run last-registered first: stop the daemons, then remove the packages.
        request.addfinalizer(lambda: subprocess.run(
            ["apt-get", "remove", "-y", "-qq", *missing], check=False, timeout=300, capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}))
        proc = _sh(str(CI_SLURM / "install.sh"), timeout=900)
        if proc.returncode != 0:
            _unavailable(f"apt-get could not install {', '.join(missing)}:\n{proc.stdout}{proc.stderr}")
    partitions = _cluster_partitions()
    if partitions is None:   # no controller answers: start ours, and stop what it started
        request.addfinalizer(lambda: subprocess.run([str(CI_SLURM / "stop.sh")], check=False, timeout=60))
        proc = _sh(str(CI_SLURM / "start.sh"), timeout=120)
        if proc.returncode == 3:
            _unavailable(proc.stderr.strip())
        assert proc.returncode == 0, f"start.sh failed:\n{proc.stdout}{proc.stderr}"
        partitions = _cluster_partitions()
    if not {"cpu", "gpu"} <= (partitions or set()):
        _unavailable(f"a SLURM cluster without partitions cpu and gpu is running here: {partitions}")


class Project:
    """A tiny copy of the project (with its root link `slurm -> profiles/slurm`)."""

    def __init__(self, root: Path, scratch: Path):
        self.root = root
        self.runs = 0
        self.probe_log = scratch / "probe.log"
        probe_dir = scratch / "probe"
        probe_dir.mkdir()
        probe = probe_dir / "python"
        probe.write_text(PROBE.replace("@PYTHON@", str(BIN / "python")))
        probe.chmod(0o755)
        # An empty user config: the profile must be found through the root link `slurm`.
        config = scratch / "config"
        (config / "snakemake").mkdir(parents=True)
        self.env = env()
        self.env.update(XDG_CONFIG_HOME=str(config), SGRN_PROBE=str(self.probe_log),
                        PATH=f"{probe_dir}{os.pathsep}{self.env['PATH']}")

    def snakemake(self, *extra: str, **faults: str) -> tuple[subprocess.CompletedProcess, float, list[tuple]]:
        """The README's command plus the test cluster's settings; returns the steps it ran."""
        before = self.probe_records()
        start = time.monotonic()
        proc = subprocess.run([str(BIN / "snakemake"), "--cores", "all", "--profile", "slurm",
                               *TEST_CLUSTER, *extra], cwd=self.root, env={**self.env, **faults},
                              capture_output=True, text=True, timeout=900)
        self.runs += 1   # kept for a look after a failure
        (self.probe_log.parent / f"snakemake-{self.runs}.log").write_text(proc.stdout + proc.stderr)
        return proc, time.monotonic() - start, self.probe_records()[len(before):]

    def probe_records(self) -> list[tuple[str, str, str, str]]:
        if not self.probe_log.exists():
            return []
        return [tuple(line.split()) for line in self.probe_log.read_text().splitlines()]


def _submitted(output: str) -> dict[str, Path]:
    """SLURM job id -> its log, from Snakemake's 'submitted with SLURM jobid' lines."""
    return {m[0]: Path(m[1]) for m in re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", output)}


def _scontrol(job_id: str) -> dict[str, str]:
    out = _sh("scontrol", "show", "job", "-o", job_id).stdout
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


@pytest.fixture(scope="module")
def cluster_runs(slurm_cluster, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("slurm")
    project = Project(tiny_copy(scratch / "project", git=True), scratch)
    failed = project.snakemake(SGRN_FAIL_ONCE="train", SGRN_FAIL_ALWAYS="encode")
    project.after_failure = {rel: (project.root / rel).exists() for rel in AFTER_FAILURE}
    resumed = project.snakemake()
    return project, failed, resumed


def test_profile_is_found_from_the_repo_root(cluster_runs):
    project, (proc, _, _), _ = cluster_runs
    assert "Using profile slurm for setting default command line arguments" in proc.stdout + proc.stderr
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert {rule for rule, res in profile["set-resources"].items() if res.get("slurm_partition") == "gpu"} == GPU_RULES


def test_a_failing_job_is_retried_then_shown_and_the_run_stops(cluster_runs):
    project, (proc, _, steps), _ = cluster_runs
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    retries, mem_mb = profile["retries"], str(profile["set-resources"]["encode"]["mem_mb"])
    attempts = [s for s in steps if s[0] == "encode"]
    assert len(attempts) == retries + 1, steps
    assert len({s[1] for s in attempts}) == retries + 1       # a new SLURM job per attempt
    # sbatch --mem of each attempt, as the profile's expression says (e.g. 16000*attempt)
    assert [_scontrol(s[1])["TRES"].split("mem=")[1].split(",")[0] for s in attempts] == \
        [f"{eval(mem_mb, {'attempt': attempt})}M" for attempt in range(1, retries + 2)]
    assert len([s for s in steps if s[0] == "train"]) == 2   # failed once, then succeeded
    assert "Error in rule encode" in out
    assert "injected fault: encode fails every time" in out  # the failed job's log, printed
    assert project.after_failure == AFTER_FAILURE   # what succeeded is kept
    assert {s[0] for s in steps} == {"download", "prepare", "extract", "train", "curves", "encode"}


def test_the_next_run_picks_up_where_it_stopped(cluster_runs):
    project, _, (proc, _, steps) = cluster_runs
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert [s[0] for s in steps] == ["encode", "evaluate", "model_selection", "report"]
    assert {job["rule"] for job in snakemake_dry_run(project.root)} == set()


def test_jobs_ran_through_sbatch_in_their_partitions(cluster_runs):
    project, failed, resumed = cluster_runs
    steps = failed[2] + resumed[2]
    submitted = {**_submitted(failed[0].stdout + failed[0].stderr),
                 **_submitted(resumed[0].stdout + resumed[0].stderr)}
    for step, job_id, partition, cuda in steps:
        if step in LOCAL_RULES:
            assert (job_id, partition) == ("local", "none"), (step, job_id)
            continue
        assert job_id in submitted, (step, job_id)
        log = submitted[job_id]
        assert log.name == f"{job_id}.log" and log.is_file()
        folders = [folder.name for folder in log.parents]
        if step in GROUPED:  # a SLURM job of the group, its log in group_<group>_<rules>/
            assert any(name.startswith(f"group_{GROUPED[step]}_") for name in folders), log
        else:
            assert log.parent.parent.name == f"rule_{step}"
        info = _scontrol(job_id)
        assert info["Partition"] == partition
        if step in GPU_RULES:
            assert partition == "gpu" and cuda != "none", (step, partition, cuda)
            assert "gpu" in info.get("TresPerJob", "") + info.get("TresPerNode", "")
        else:
            assert step in SLURM_CPU_RULES and partition == "cpu" and cuda == "none", (step, partition, cuda)
    assert {s[0] for s in steps} == GPU_RULES | SLURM_CPU_RULES | LOCAL_RULES


def test_results_equal_a_local_run(cluster_runs, smk_project):
    project = cluster_runs[0]
    assert json.loads((project.root / "results/metrics.json").read_text()) == \
        json.loads((smk_project / "results/metrics.json").read_text())
    codes = "results/demo/sgrn/c0/b16/s0/codes.h5"
    with h5py.File(project.root / codes) as a, h5py.File(smk_project / codes) as b:
        names = []
        a.visit(lambda name: names.append(name) if isinstance(a[name], h5py.Dataset) else None)
        assert names
        for name in names:
            assert np.array_equal(a[name][()], b[name][()]), name


def test_make_record_after_a_cluster_run(cluster_runs):
    project = cluster_runs[0]
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    run(["make", "-s", "record", "STAMP="], project.root)
    assert "Data and pipelines are up to date" in run([str(BIN / "dvc"), "status"], project.root).stdout
    assert {job["rule"] for job in snakemake_dry_run(project.root)} == set()
