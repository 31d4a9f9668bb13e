"""`python -m sgrn.workflow.experiments`: `dvc exp show` turned on its side, params first."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sgrn.workflow.experiments import NO_DVC, NO_EXPERIMENTS, NoExperiments, main, side_by_side
from workflow_utils import BIN, REPO, env, run

# What `dvc exp show --csv` with sgrn.workflow.experiments.SHOW's filters printed on a real project
CSV = """Experiment,rev,demo.dgcpn.b16,demo.sgrn-no-lrgr.b64,method_params.djsrh.beta
,workspace,0.349,0.354,0.7
,main,0.349,0.351,0.9
beta-07,d0cb6fe,0.349,0.354,0.7
beta-08,e91f039,0.35,0.353,0.8
"""


def test_one_column_per_experiment_changed_params_first():
    table = side_by_side(CSV)
    assert list(table.columns) == ["workspace", "main", "beta-07", "beta-08"]
    assert list(table.index) == ["method_params.djsrh.beta", "demo.dgcpn.b16", "demo.sgrn-no-lrgr.b64"]
    assert list(table.loc["demo.sgrn-no-lrgr.b64"]) == ["0.354", "0.351", "0.354", "0.353"]
    text = table.to_string()
    assert max(len(line) for line in text.splitlines()) < 80


def git_dvc_repo(root: Path) -> Path:
    """A git repository with `dvc init`, one commit and no experiment (as after `make demo`)."""
    for args in (["git", "init", "-q", "-b", "main"], [str(BIN / "dvc"), "init", "-q"],
                 ["git", "commit", "-q", "-m", "dvc init"]):
        run(args, root)
    return root


def test_no_experiments_yet_is_one_line_saying_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(git_dvc_repo(tmp_path))
    monkeypatch.setenv("PATH", env()["PATH"])  # the venv's dvc, activated or not
    assert main([]) == 1
    out, err = capsys.readouterr()
    assert err == NO_EXPERIMENTS + "\n" and not out
    assert "`dvc exp run -S train.epochs=3`" in err


def test_dvc_exp_shows_no_experiment_column_without_experiments():
    """What `dvc exp show` with SHOW's filters prints then: --only-changed drops the empty column."""
    with pytest.raises(NoExperiments):
        side_by_side("rev\nworkspace\nmain\n")
    with pytest.raises(NoExperiments):
        side_by_side("Experiment,rev,train.epochs\n,workspace,2\n,main,3\n")


def test_without_dvc_on_path_it_says_to_activate_the_environment(tmp_path):
    """`python -m sgrn.workflow.experiments` with the venv's python but a PATH that has no dvc."""
    (tmp_path / "bin").mkdir()
    assert shutil.which("dvc", path=str(tmp_path / "bin")) is None
    proc = subprocess.run([sys.executable, "-m", "sgrn.workflow.experiments"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PATH": str(tmp_path / "bin")}, timeout=120)
    assert proc.returncode == 2 and not proc.stdout
    assert proc.stderr == NO_DVC + "\n"
    assert "source .venv/bin/activate" in proc.stderr
