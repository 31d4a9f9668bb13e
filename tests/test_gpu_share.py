"""Several train jobs on one GPU, with Snakemake's own mechanisms (README "Several runs on one
GPU"): the train rule's `gpu_slots` resource against `--resources gpu_slots=N` locally, and
the job group gpu_train of profiles/slurm (N train jobs in one SLURM job, one GPU). The GPU
is a fake one here: the slots are only counted, training runs on the CPU."""
from __future__ import annotations

import re
import shutil

import pytest
import yaml

from workflow_utils import BIN, REPO, read_params, run, tiny_copy, write_params

pytestmark = pytest.mark.slow
SEEDS = [0, 1, 2, 3, 4]


EVENT = re.compile(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)$"
                   r"|^Finished jobid: (\d+) \(Rule: (\w+)\)", re.M)


def most_at_once(output: str, rule: str) -> int:
    """The largest number of `rule` jobs running at once, from Snakemake's start/finish lines."""
    running, most = set(), 0
    for m in EVENT.finditer(output):
        if m[1] == rule:
            running.add(m[2])
        elif m[4] == rule:
            running.discard(m[3])
        most = max(most, len(running))
    return most


def test_local_run_puts_as_many_train_jobs_on_the_gpu_as_it_has_slots(smk_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(smk_project, project, symlinks=True)
    params = read_params(project)
    params["seeds"] = [0, 1, 2, 3]  # seed 0 is trained already: three new train jobs
    write_params(project, params)
    models = [f"results/demo/sgrn/c0/b16/s{seed}/model.pt" for seed in (1, 2, 3)]
    # 8 cores would run all three train jobs at once; the GPU's 2 slots allow two.
    proc = run([str(BIN / "snakemake"), *models, "--cores", "8", "--resources", "gpu_slots=2"], project)
    out = proc.stdout + proc.stderr
    assert all((project / model).is_file() for model in models)
    assert most_at_once(out, "train") == 2, out


def test_slurm_profile_packs_train_jobs_into_groups_of_group_components(tmp_path):
    project = tiny_copy(tmp_path / "project", seeds=SEEDS)
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    per_job = profile["group-components"][profile["groups"]["train"]]
    assert per_job > 1
    out = run([str(BIN / "snakemake"), "-n", "--profile", "profiles/slurm"], project).stdout
    groups = re.split(r"^\[[^\]]+\] Group job ", out, flags=re.M)[1:]
    sizes = sorted(block.split("\n[")[0].count("rule train:") for block in groups)
    full, rest = divmod(len(SEEDS), per_job)
    assert sizes == sorted([per_job] * full + ([rest] if rest else [])), out
    assert profile["set-resources"]["train"]["gres"] == "gpu:1"  # one GPU per group, not a sum
    assert "gpu" not in profile["set-resources"]["train"]


@pytest.mark.parametrize("args, key", [
    (["--resources", "gpu_slots=0"], "--resources gpu_slots=0"),
    (["--set-resources", "train:gpu_slots=0"], "--set-resources train:gpu_slots=0"),
    (["--resources", "gpu_slots=-1"], "gpu_slots"),
    (["--group-components", "gpu_train=0"], "group components"),
])
def test_a_gpu_share_of_zero_or_below_is_refused_before_any_job(tmp_path, args, key):
    project = tiny_copy(tmp_path / "project")
    proc = run([str(BIN / "snakemake"), "--cores", "2", *args], project, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert key in out, out
    assert not (project / "resources").exists() and not (project / "results").exists()
