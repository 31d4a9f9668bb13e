"""DSAH, HNH, SRCH and UCCH through the step scripts (train, encode, evaluate), run with the
command lines the drivers run (sgrn.workflow.pipeline.STEPS), on the tiny demo's features: as the
Snakemake tests take sgrn and djsrh through them. Only the scripts' interface is used: the
files each step writes and what they say, not the methods' internals."""
from __future__ import annotations

import json
import shlex

import h5py
import pytest
import torch

from sgrn.workflow.pipeline import STEPS, path
from workflow_utils import BIN, read_params, run

pytestmark = pytest.mark.slow
BITS = 16


def run_step(project, name: str, wildcards: dict, out_root) -> None:
    """One step as the drivers run it: inputs from the tiny project, outputs under ``out_root``."""
    step = STEPS[name]

    def fill(key: str) -> str:
        if key in wildcards:
            return str(wildcards[key])
        if key in step.inputs and key == "features":
            return path(key, **wildcards)  # extract's output in the project, relative to it
        return str(out_root / path(key, **wildcards))

    args = shlex.split(step.command(fill, log=str(out_root / "logs" / f"{name}.log")))
    assert args[0] == "python"
    run([str(BIN / "python"), *args[1:]], project)


@pytest.mark.parametrize("method", ["dsah", "hnh", "srch", "ucch"])
def test_train_encode_evaluate(smk_project, tmp_path, method):
    params = read_params(smk_project)
    assert params["method_params"][method]["family"] == method
    run_ = dict(dataset="demo", method=method, config=0, bits=BITS, seed=0)
    for name in ("train", "encode", "evaluate"):
        run_step(smk_project, name, run_, tmp_path)

    ckpt = torch.load(tmp_path / path("model", **run_), weights_only=False)
    assert (ckpt["method"], ckpt["bits"], ckpt["dataset"]) == (method, BITS, "demo")
    epochs = params["train"]["epochs"]
    assert 1 <= ckpt["best_epoch"] <= ckpt["epochs_run"] <= epochs
    loss_rows = (tmp_path / path("live_plots", **run_) / "loss.tsv").read_text().splitlines()
    assert len(loss_rows) == 1 + ckpt["epochs_run"]  # a header, then one row per epoch

    with h5py.File(tmp_path / path("codes", **run_)) as f, h5py.File(smk_project / path("features", **run_)) as feats:
        assert (f.attrs["method"], f.attrs["bits"]) == (method, BITS)
        for side in ("query", "database"):
            n = len(feats[f"split/{side}"])
            for modality in ("image", "text"):
                assert f[f"{side}/{modality}"].shape == (n, BITS // 8)  # packed bits

    evaluation = json.loads((tmp_path / path("evaluation", **run_)).read_text())
    assert evaluation["method"] == method and evaluation["bits"] == BITS
    for direction in ("i2t", "t2i"):
        assert 0 < evaluation[direction]["map@all"] <= 1
    # the validation MAP measured again from the encoded codes is the one the trainer selected by
    validation = evaluation["validation"]
    assert (validation["i2t"]["map@all"] + validation["t2i"]["map@all"]) / 2 == pytest.approx(
        ckpt["val_map_all"], abs=1e-12)
