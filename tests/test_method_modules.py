"""The trainer's hook for methods that own trainable modules and read the batch's features.

`Method.build` / `Method.modules` / `Method.uses_features` (sgrn/methods/base.py): the modules
are trained by an optimiser of their own, kept in the training state (a resumed run is
bit-identical), never saved in model.pt, and trained eagerly rather than as a CUDA graph.
"""
from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from test_train import feats  # noqa: F401  (fixture)
from torch import nn

import sgrn.training.train
from sgrn.hparams import resolve_method_params
from sgrn.methods.djsrh import DJSRH
from sgrn.training.device import DeviceError
from sgrn.training.train import TrainConfig, cuda_graphs_with_modules, train


class Decoding(DJSRH):
    """DJSRH plus `weight` x a linear decoder's reconstruction error of each modality's features."""

    uses_features = True
    weight = 0.5
    built: list[Decoding] = []

    def build(self, dims, bits):
        self.decoders = [nn.Linear(bits, dims[0]), nn.Linear(bits, dims[1])]
        self.initial = [{k: v.clone() for k, v in d.state_dict().items()} for d in self.decoders]
        self.dims_seen, self.bits_seen = dims, bits
        Decoding.built.append(self)

    def modules(self):
        return list(self.decoders)

    def loss(self, h_img, h_txt, targets, features=None):
        total, terms = super().loss(h_img, h_txt, targets)
        f_img, f_txt = features
        rec = F.mse_loss(self.decoders[0](h_img), f_img) + F.mse_loss(self.decoders[1](h_txt), f_txt)
        return total + self.weight * rec, {**terms, "rec": rec.detach()}


@pytest.fixture
def decoding(monkeypatch):
    """Make the trainer build `Decoding` for family djsrh; returns the list of built ones."""
    Decoding.built = []

    def build(family, params, batch_size, standardised=(False, False)):
        return Decoding(batch_size=batch_size, standardised=standardised, **dict(params))

    monkeypatch.setattr(sgrn.training.train, "build_method", build)
    return Decoding.built


def config(**changes):
    cfg = TrainConfig(epochs=4, text_hidden=32, device="cpu", num_threads=1, checkpoint_every=2)
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def run(feats, cfg, resume=None, params=None):  # noqa: F811
    hyper = resolve_method_params("djsrh", params or {}, batch_size=cfg.batch_size)
    states, records = [], []

    def save_state(state):  # serialised at once, as the pipeline does (live tensors)
        buffer = io.BytesIO()
        torch.save(state, buffer)
        states.append(buffer.getvalue())

    ckpt = train(feats, "djsrh", hyper, 16, 7, cfg, on_epoch=lambda e, r: records.append(r),
                 resume=resume, save_state=save_state)
    return ckpt, records, [torch.load(io.BytesIO(b), weights_only=False) for b in states]


def assert_same_model(a, b):
    assert a["best_epoch"] == b["best_epoch"] and a["val_map_all"] == b["val_map_all"]
    for net in ("image", "text"):
        assert a["model"][net].keys() == b["model"][net].keys()
        for key, tensor in a["model"][net].items():
            assert torch.equal(tensor, b["model"][net][key]), f"{net}.{key}"


def models_differ(a, b):
    return any(not torch.equal(t, b["model"][net][k]) for net in ("image", "text") for k, t in a["model"][net].items())


def test_modules_are_built_trained_with_features_and_not_saved(feats, decoding):  # noqa: F811
    ckpt, records, _ = run(feats, config())
    (method,) = decoding
    assert method.dims_seen == feats.dims and method.bits_seen == 16
    for decoder, initial in zip(method.decoders, method.initial):
        assert not torch.equal(decoder.weight, initial["weight"]), "the decoders were not trained"
        assert decoder.training
    assert all("rec" in r for r in records)
    assert records[-1]["rec"] < records[0]["rec"], "the reconstruction error did not fall"
    # model.pt holds the two hash nets only, as for a method without modules
    assert set(ckpt["model"]) == {"image", "text"}
    plain, _, _ = run(feats, config(), params={})
    assert ckpt["model"]["image"].keys() == plain["model"]["image"].keys()


def test_zero_weight_modules_leave_the_nets_as_without_them(feats, decoding, monkeypatch):  # noqa: F811
    """build runs after the nets (same initialisation) and a third optimiser changes nothing else."""
    monkeypatch.setattr(Decoding, "weight", 0.0)
    with_modules, _, _ = run(feats, config())
    monkeypatch.undo()  # the trainer's own build_method: DJSRH without modules
    without, _, _ = run(feats, config())
    assert_same_model(with_modules, without)
    monkeypatch.setattr(sgrn.training.train, "build_method", lambda f, p, batch_size, standardised: Decoding(
        batch_size=batch_size, standardised=standardised, **dict(p)))
    with_weight, _, _ = run(feats, config())  # weight 0.5: the features' term moves the nets
    assert models_differ(with_weight, without)


def test_module_lr_is_used(feats, decoding, monkeypatch):  # noqa: F811
    monkeypatch.setattr(Decoding, "module_lr", 0.0)
    run(feats, config(weight_decay=0.0))
    (method,) = decoding
    for decoder, initial in zip(method.decoders, method.initial):
        assert torch.equal(decoder.weight, initial["weight"]), "lr 0 must leave the decoders unchanged"


def test_modules_take_the_image_nets_learning_rate(feats, decoding, monkeypatch):  # noqa: F811
    seen, real = [], sgrn.training.train._sgd
    monkeypatch.setattr(sgrn.training.train, "_sgd",
                        lambda params, lr, cfg, device: seen.append(lr) or real(params, lr, cfg, device))
    run(feats, config(epochs=1), params={"lr": 0.003})  # the method's lr: both nets and the modules
    assert seen == [0.003, 0.003, 0.003]
    seen.clear()
    run(feats, config(epochs=1, lr_image=0.02, lr_text=0.05))
    assert seen == [0.02, 0.05, 0.02]  # image net, text net, modules


@pytest.mark.parametrize("global_graph", [False, True])
def test_resumed_run_with_modules_is_bit_identical(feats, decoding, global_graph):  # noqa: F811
    cfg = config(epochs=5)
    params = {"global_graph": global_graph}
    whole, records, states = run(feats, cfg, params=params)
    assert len(states) == 2  # after epochs 2 and 4
    state = states[0]
    assert len(state["modules"]) == 2 and "momentum_buffer" in str(state["opt_modules"])
    resumed, resumed_records, _ = run(feats, cfg, resume=state, params=params)
    assert_same_model(whole, resumed)
    untimed = lambda rs: [{k: v for k, v in r.items() if k != "epoch_seconds"} for r in rs]  # noqa: E731
    assert untimed(resumed_records) == untimed(records)
    # the test can fail: a state whose decoders are not the saved ones ends elsewhere
    for saved in state["modules"]:
        saved["weight"].mul_(0.5)
    tampered, _, _ = run(feats, cfg, resume=state, params=params)
    assert models_differ(whole, tampered)


def test_state_without_modules_has_no_module_keys(feats):  # noqa: F811
    _, _, states = run(feats, config())
    assert states and not {"modules", "opt_modules"} & set(states[0])


def test_cuda_graphs_fall_back_for_modules():
    assert cuda_graphs_with_modules(True, "auto", "dsah") is False
    assert cuda_graphs_with_modules(False, "auto", "dsah") is False
    assert cuda_graphs_with_modules(False, False, "dsah") is False
    with pytest.raises(DeviceError, match=r"train\.cuda_graphs: true.*'dsah' owns trainable modules.*use auto"):
        cuda_graphs_with_modules(True, True, "dsah")


@pytest.mark.parametrize("family", ["dsah", "hnh", "djsrh"])
def test_trainer_keeps_module_owning_and_graph_unsafe_methods_eager(feats, monkeypatch, family):  # noqa: F811
    """As if on CUDA (graphs on): dsah (decoders) and hnh (graph_safe false) train eagerly
    under auto and are refused under true before any step; djsrh is captured."""
    import sgrn.training.cudagraph_step

    captured = []

    class Graphed:  # stands in for the CUDA-graph step on this CPU machine
        def __init__(self, step, batch_size, device):
            captured.append(family)
            self.step = step

        def __call__(self, batch, alpha):
            self.step(batch, alpha)

        def read_means(self, steps):
            return self.step.read_means(steps)

    monkeypatch.setattr(sgrn.training.train, "use_cuda_graphs", lambda option, device: True)
    monkeypatch.setattr(sgrn.training.cudagraph_step, "GraphedStep", Graphed)
    hyper = resolve_method_params(family, {"k": 8} if family == "hnh" else {}, batch_size=32)
    train(feats, family, hyper, 16, 0, config(epochs=1, cuda_graphs="auto"))
    assert captured == ([] if family in ("dsah", "hnh") else ["djsrh"])
    if family != "djsrh":
        reason = "owns trainable modules" if family == "dsah" else "has a step not checked under CUDA graphs"
        with pytest.raises(DeviceError, match=rf"train\.cuda_graphs: true, but method family '{family}' {reason}"):
            train(feats, family, hyper, 16, 0, config(epochs=1, cuda_graphs=True))


def test_default_method_owns_nothing():
    method = DJSRH()
    assert method.build((4, 3), 8) is None and method.modules() == [] and not method.uses_features
