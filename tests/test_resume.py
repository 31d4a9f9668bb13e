"""A training run killed with SIGKILL resumes from its last state and ends bit-identical."""
from __future__ import annotations

import signal
import subprocess
import time

import pytest
import torch
import yaml

from workflow_utils import BIN, env, run

pytestmark = pytest.mark.slow


def train_cmd(project, params, out):
    return [str(BIN / "python"), "scripts/train.py", "--params", str(params), "--dataset", "demo",
            "--method", "sgrn", "--config", "0", "--bits", "16", "--seed", "3",
            "--features", "results/demo/features.h5",
            "--out", str(out / "model.pt"), "--live", str(out / "live")]


def test_killed_training_resumes_to_the_same_model(smk_project, tmp_path):
    params = yaml.safe_load((smk_project / "params.yaml").read_text())
    params["train"].update(epochs=40, validate_every=1, checkpoint_every=3)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))

    whole = tmp_path / "whole"
    run(train_cmd(smk_project, params_file, whole), smk_project)
    assert not (whole / "train_state.pt").exists(), "the state file is removed after success"

    broken = tmp_path / "broken"
    proc = subprocess.Popen(train_cmd(smk_project, params_file, broken), cwd=smk_project, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = broken / "train_state.pt"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert state.exists() and not (broken / "model.pt").exists()

    resumed = run(train_cmd(smk_project, params_file, broken), smk_project)
    assert "resuming after epoch" in resumed.stderr

    a = torch.load(whole / "model.pt", weights_only=False)
    b = torch.load(broken / "model.pt", weights_only=False)
    assert a["best_epoch"] == b["best_epoch"] and a["val_map_all"] == b["val_map_all"]
    for net in ("image", "text"):
        for key, tensor in a["model"][net].items():
            assert torch.equal(tensor, b["model"][net][key]), f"{net}.{key} differs after resume"
    curve = (broken / "live/plots/metrics/loss.tsv").read_text().splitlines()
    whole_curve = (whole / "live/plots/metrics/loss.tsv").read_text().splitlines()
    # every epoch once; with train.patience both runs stop at the same epoch, at most 40
    assert len(curve) == len(whole_curve) == 1 + a["epochs_run"] == 1 + b["epochs_run"] <= 1 + 40, \
        "the resumed run's curves hold every epoch once"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_step_exits_cleanly_and_the_next_run_continues(smk_project, tmp_path, stop):
    params = yaml.safe_load((smk_project / "params.yaml").read_text())
    params["train"].update(epochs=40, validate_every=1, checkpoint_every=3)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    out = tmp_path / "run"
    # A shell's background job starts with SIGINT ignored (as CI may run us); a terminal's
    # Ctrl-C reaches a process that has the default handler, so give it back.
    proc = subprocess.Popen(train_cmd(smk_project, params_file, out), cwd=smk_project, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (out / "train_state.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: partial outputs removed" in err and "Traceback" not in err
    assert not (out / "model.pt").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [], "no temporary files left"
    assert "resuming after epoch" in run(train_cmd(smk_project, params_file, out), smk_project).stderr
    assert (out / "model.pt").exists()
