"""The tiny demo through `dvc repro` and `dvc exp run` in a temporary git repository."""
from __future__ import annotations

import csv
import io
import json
import re

import h5py
import numpy as np
import pytest

from workflow_utils import BIN, read_params, run, tiny_copy, write_params

pytestmark = pytest.mark.slow
DVC = str(BIN / "dvc")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tiny_copy(tmp_path_factory.mktemp("dvc"), git=True)
    run([DVC, "repro"], root)
    return root


def ran_stages(output: str) -> set[str]:
    return {m.split("@")[0] for m in re.findall(r"Running stage '([^']+)'", output)}


def test_repro_produces_the_metrics(project):
    metrics = json.loads((project / "results/metrics.json").read_text())
    assert 0 < metrics["demo"]["sgrn"]["b16"]["t2i_map_all"] <= 1
    assert "Data and pipelines are up to date" in run([DVC, "status"], project).stdout


def test_same_codes_and_metrics_as_snakemake(project, smk_project):
    """Same params and seed: identical codes and metrics from two runs and two drivers."""
    run_dir = "results/demo/sgrn/c0/b16/s0"
    with h5py.File(project / run_dir / "codes.h5") as a, h5py.File(smk_project / run_dir / "codes.h5") as b:
        for side in ("query", "database"):
            for modality in ("image", "text"):
                assert np.array_equal(a[side][modality][()], b[side][modality][()]), (side, modality)
    evaluation = "results/evaluation/demo/sgrn/c0/b16/s0.json"
    assert (project / evaluation).read_text() == (smk_project / evaluation).read_text()


def test_evaluation_change_reruns_evaluate_and_report_only(project):
    params = read_params(project)
    params["evaluate"]["topk"] = [1, 5]
    write_params(project, params)
    assert ran_stages(run([DVC, "repro"], project).stdout) == {"evaluate", "select", "report"}


def test_training_change_leaves_data_steps_alone(project):
    params = read_params(project)
    params["train"]["lr_text"] = 0.02
    write_params(project, params)
    expected = {"train-sgrn", "curves", "encode", "evaluate", "select", "report"}  # one train stage per method
    assert ran_stages(run([DVC, "repro"], project).stdout) == expected


def test_side_by_side_before_any_experiment_says_how_to_run_one(project):
    proc = run([str(BIN / "python"), "-m", "sgrn.workflow.experiments"], project, check=False)
    assert proc.returncode == 1 and not proc.stdout
    assert proc.stderr.startswith("sgrn.workflow.experiments: no DVC experiments to compare yet; run one first")


def test_experiment_shows_map_columns(project):
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-q", "-m", "lock"], project)
    run([DVC, "exp", "run", "-n", "epochs-3", "-S", "train.epochs=3"], project)
    rows = list(csv.DictReader(io.StringIO(run([DVC, "exp", "show", "--csv"], project).stdout)))
    by_name = {row["Experiment"] or row["rev"]: row for row in rows}  # the workspace and main have no name
    assert by_name["epochs-3"]["train.epochs"] == "3" and by_name["main"]["train.epochs"] == "2"
    assert 0 < float(by_name["epochs-3"]["demo.sgrn.b16.i2t_map_all"]) <= 1
    # the README's command: changed params and MAP@all per method and code length, narrow
    side_by_side = run([str(BIN / "python"), "-m", "sgrn.workflow.experiments"], project).stdout.splitlines()
    names = side_by_side[0].split()
    values = {line.split()[0]: dict(zip(names, line.split()[1:])) for line in side_by_side[1:]}
    assert values["train.epochs"]["epochs-3"] == "3" and values["train.epochs"]["main"] == "2"
    assert values["demo.sgrn.b16"]["epochs-3"] != "-"
    assert max(map(len, side_by_side)) <= 160
