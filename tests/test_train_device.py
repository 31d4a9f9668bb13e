"""train.device and train.cuda_graphs: refused before any epoch when the machine cannot honour
them; CUDA graphs off on the CPU under auto. The CUDA-only tests run where a GPU is present."""
from __future__ import annotations

import copy

import pytest
import torch
import yaml
from test_train import feats  # noqa: F401  (fixture)

import sgrn.training.cudagraph_step
from sgrn.hparams import resolve_method_params
from sgrn.training.device import DeviceError, pick_device, use_cuda_graphs
from sgrn.training.train import TrainConfig, train
from workflow_utils import BIN, REPO
from workflow_utils import run as run_cmd

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def run(feats, epochs=2, **changes):  # noqa: F811
    cfg = TrainConfig(epochs=epochs, validate_every=1, text_hidden=32, num_threads=1, **changes)
    hyper = resolve_method_params("sgrn", {}, batch_size=cfg.batch_size)
    records = []
    ckpt = train(feats, "sgrn", hyper, 16, 0, cfg, on_epoch=lambda e, r: records.append(r))
    return ckpt, records


def test_auto_is_on_for_cuda_and_off_elsewhere():
    assert use_cuda_graphs("auto", torch.device("cuda")) is True
    assert use_cuda_graphs("auto", torch.device("cpu")) is False
    assert use_cuda_graphs(False, torch.device("cuda")) is False


def test_auto_on_the_cpu_trains_without_a_graph(feats, monkeypatch):  # noqa: F811
    def refuse(*args, **kwargs):
        raise AssertionError("GraphedStep built on the CPU")

    monkeypatch.setattr(sgrn.training.cudagraph_step, "GraphedStep", refuse)
    ckpt, records = run(feats, device="cpu", cuda_graphs="auto")
    assert len(records) == 2 and ckpt["train"]["cuda_graphs"] == "auto"


def test_graphs_forced_on_for_a_cpu_device_are_refused_before_any_epoch(feats):  # noqa: F811
    epochs = []
    cfg = TrainConfig(epochs=1, device="cpu", cuda_graphs=True, text_hidden=32)
    with pytest.raises(DeviceError, match=r"train\.cuda_graphs: true, but training runs on cpu"):
        train(feats, "sgrn", resolve_method_params("sgrn", {}, batch_size=32), 16, 0, cfg,
              on_epoch=lambda e, r: epochs.append(e))
    assert epochs == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_refused_before_any_epoch(feats, name):  # noqa: F811
    epochs = []
    cfg = TrainConfig(epochs=1, device=name, text_hidden=32)
    with pytest.raises(DeviceError, match=rf"train\.device: '{name}' but this machine has no CUDA device"):
        train(feats, "sgrn", resolve_method_params("sgrn", {}, batch_size=32), 16, 0, cfg,
              on_epoch=lambda e, r: epochs.append(e))
    assert epochs == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_the_train_step_refuses_cuda_without_cuda_before_reading_anything(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"]["device"] = "cuda"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = run_cmd([str(BIN / "python"), "scripts/train.py", "--params", str(tmp_path / "params.yaml"),
                "--dataset", "demo", "--method", "sgrn", "--config", "0", "--bits", "16", "--seed", "0",
                "--features", str(tmp_path / "features.h5"), "--out", str(tmp_path / "model.pt"),
                "--live", str(tmp_path / "live")], REPO, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "train.device: 'cuda' but this machine has no CUDA device" in out and "Traceback" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # features never opened


def test_a_cuda_device_that_does_not_exist_is_refused():
    name = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(DeviceError, match=r"train\.device: 'cuda:"):
        pick_device(name)


@needs_cuda
def test_graphed_training_follows_the_eager_one(feats):  # noqa: F811
    graphed, g_records = run(feats, epochs=4, device="cuda", cuda_graphs=True)
    eager, e_records = run(feats, epochs=4, device="cuda", cuda_graphs=False)
    for g, e in zip(g_records, e_records, strict=True):
        assert g["loss"] == pytest.approx(e["loss"], rel=1e-4, abs=1e-6)
    for net in ("image", "text"):
        for key, tensor in eager["model"][net].items():
            torch.testing.assert_close(graphed["model"][net][key], tensor, rtol=1e-3, atol=1e-5)


@needs_cuda
def test_graphed_training_resumes_to_the_same_model(feats):  # noqa: F811
    cfg = TrainConfig(epochs=4, validate_every=1, checkpoint_every=2, text_hidden=32,
                      device="cuda", cuda_graphs=True)
    hyper = resolve_method_params("sgrn", {}, batch_size=cfg.batch_size)
    whole = train(feats, "sgrn", hyper, 16, 0, cfg)
    states = []  # copied: a state holds the live tensors, as scripts/train.py saves it at once
    train(feats, "sgrn", hyper, 16, 0, cfg, save_state=lambda state: states.append(copy.deepcopy(state)))
    resumed = train(feats, "sgrn", hyper, 16, 0, cfg, resume=states[0])
    assert resumed["best_epoch"] == whole["best_epoch"]
    for net in ("image", "text"):
        for key, tensor in whole["model"][net].items():
            torch.testing.assert_close(resumed["model"][net][key], tensor, rtol=1e-4, atol=1e-6)
