"""Snakemake and DVC describe the same jobs: same commands, outputs and inputs (default params)."""
from __future__ import annotations

import pytest

from workflow_utils import REPO, snakemake_dry_run

pytestmark = pytest.mark.slow

# Outputs only Snakemake has a notion of: per-job benchmark tables and logs are not products.
SNAKEMAKE_ONLY = ("benchmarks/runs/", "logs/")


def _expand(path: str) -> set[str]:
    """A code folder dependency of DVC stands for its .py files, as `code()` does in common.smk."""
    p = REPO / path
    if p.is_dir() and path.startswith(("sgrn", "scripts")):
        return {str(f.relative_to(REPO)) for f in sorted(p.glob("*.py"))}
    return {path}


def dvc_jobs() -> dict[str, dict]:
    from dvc.repo import Repo

    jobs = {}
    with Repo(str(REPO)) as repo:
        for stage in repo.index.stages:
            files = [d for d in stage.deps if type(d).__name__ != "ParamsDependency"]
            deps = set().union(*(_expand(d.def_path) for d in files))
            jobs[stage.cmd] = {"name": stage.addressing, "outputs": {o.def_path for o in stage.outs},
                               "inputs": deps}
    return jobs


def test_snakemake_and_dvc_describe_the_same_jobs():
    smk = {job["cmd"]: job for job in snakemake_dry_run(REPO, "--forceall") if job["rule"] != "all"}
    dvc = dvc_jobs()
    assert set(smk) == set(dvc), (f"only in Snakemake: {sorted(set(smk) - set(dvc))}\n"
                                  f"only in DVC: {sorted(set(dvc) - set(smk))}")
    assert len(dvc) >= 7
    for cmd, job in smk.items():
        outputs = {o for o in job["outputs"] if not o.startswith(SNAKEMAKE_ONLY)}
        assert outputs == dvc[cmd]["outputs"], f"outputs differ for {dvc[cmd]['name']}"
        if job["rule"] in ("select", "report"):
            # Snakemake lists each evaluation file; DVC depends on their folder.
            assert dvc[cmd]["inputs"] - job["inputs"] == {"results/evaluation"}
            assert all(i.startswith("results/evaluation/") for i in job["inputs"] - dvc[cmd]["inputs"])
        else:
            assert job["inputs"] == dvc[cmd]["inputs"], f"inputs differ for {dvc[cmd]['name']}"
