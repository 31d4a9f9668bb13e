"""The training loop: seeded SGD on precomputed features, validation-MAP model selection."""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from sgrn.encoding import packed_codes
from sgrn.featurefile import Features
from sgrn.methods import build_method
from sgrn.metrics import map_at_r
from sgrn.nets import ImageHashNet, TextHashNet, alpha_at

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """The `train` section of params.yaml (defaults in workflow/schemas/params.schema.yaml)."""
    epochs: int = 40
    batch_size: int = 32
    lr_image: float = 0.01
    lr_text: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    alpha: str = "sqrt_epoch"
    text_hidden: int = 4096
    validate_every: int = 5
    checkpoint_every: int = 5
    device: str = "auto"
    mixed_precision: bool = False
    num_threads: int = 2


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _sgd(params, lr: float, cfg: TrainConfig, device: torch.device) -> torch.optim.SGD:
    # The fused step is several times faster than the default one on CPU and GPU.
    kwargs = dict(lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    try:
        return torch.optim.SGD(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.SGD(params, **kwargs)


def validation_map(img_net, txt_net, feats: Features, device: torch.device) -> dict[str, float]:
    """MAP@all of validation queries against the database minus them; never the test queries."""
    val = np.sort(feats.split["validation"])
    retrieval = np.setdiff1d(feats.split["database"], val)
    qi, qt = packed_codes(img_net, feats, "image", val, device), packed_codes(txt_net, feats, "text", val, device)
    di = packed_codes(img_net, feats, "image", retrieval, device)
    dt = packed_codes(txt_net, feats, "text", retrieval, device)
    ql, dl = feats.labels[val], feats.labels[retrieval]
    i2t = map_at_r(qi, dt, ql, dl, r=None)
    t2i = map_at_r(qt, di, ql, dl, r=None)
    return {"val_i2t_map_all": i2t, "val_t2i_map_all": t2i, "val_map_all": (i2t + t2i) / 2}


class TargetSource:
    """Target graphs of a batch: from the batch itself, or sliced from one global graph.

    With `global_graph` (DGCPN style, any method), the targets are computed once over all n
    training pairs and each batch takes its rows and columns; a neighbourhood size `k` is
    then scaled to the same fraction of n as k is of the batch (method.md section 4).
    """

    def __init__(self, family, method_params, x_img, x_txt, batch_size, standardised):
        params = dict(method_params)
        self.is_global = bool(params.get("global_graph", False))
        n = len(x_img)
        if self.is_global and "k" in params:
            params["k"] = max(1, min(n - 1, round(params["k"] * n / batch_size)))
        self.method = build_method(family, params, batch_size=n if self.is_global else batch_size,
                                   standardised=standardised)
        self.full = self.method.targets(x_img, x_txt) if self.is_global else None

    def __call__(self, batch: torch.Tensor, f_img: torch.Tensor, f_txt: torch.Tensor) -> dict:
        if self.full is None:
            return self.method.targets(f_img, f_txt)
        return {name: graph[batch][:, batch] for name, graph in self.full.items()}


def train(feats: Features, family: str, method_params: dict, bits: int, seed: int, cfg: TrainConfig,
          on_epoch: Callable[[int, dict[str, float]], None] | None = None,
          resume: dict | None = None, save_state: Callable[[dict], None] | None = None) -> dict:
    """Train one model; returns the checkpoint dict of the best epoch on validation MAP.

    Every `cfg.checkpoint_every` epochs the whole training state (nets, optimisers, epoch,
    RNG states, best model so far, per-epoch records) goes to `save_state`; passing such a
    state back as `resume` continues exactly where it stopped, so an interrupted run ends
    with the same model as an uninterrupted one. `on_epoch` is called for every epoch, the
    resumed ones included (replayed from the state), so curves are always complete.
    """
    torch.set_num_threads(cfg.num_threads)
    device = pick_device(cfg.device)
    if family in CLOSED_FORM:
        return fit_closed_form(feats, family, method_params, bits, seed, cfg, device, on_epoch)
    torch.manual_seed(seed)
    np.random.seed(seed)
    train_idx = feats.split["train"]
    if len(train_idx) < cfg.batch_size:
        raise ValueError(f"train.batch_size={cfg.batch_size} is larger than the training set "
                         f"({len(train_idx)} pairs)")
    x_img = torch.from_numpy(feats.rows("image", train_idx)).to(device)
    x_txt = torch.from_numpy(feats.rows("text", train_idx)).to(device)
    batch_targets = TargetSource(family, method_params, x_img, x_txt, cfg.batch_size, feats.standardised)
    d_img, d_txt = feats.dims
    img_net = ImageHashNet(d_img, bits).to(device)
    txt_net = TextHashNet(d_txt, bits, hidden=cfg.text_hidden).to(device)
    opt_img = _sgd(img_net.parameters(), cfg.lr_image, cfg, device)
    opt_txt = _sgd(txt_net.parameters(), cfg.lr_text, cfg, device)
    shuffle = torch.Generator().manual_seed(seed)

    best: dict | None = None
    history: list[dict[str, float]] = []
    if resume is not None:
        img_net.load_state_dict(resume["image"])
        txt_net.load_state_dict(resume["text"])
        opt_img.load_state_dict(resume["opt_img"])
        opt_txt.load_state_dict(resume["opt_txt"])
        shuffle.set_state(resume["shuffle"])
        torch.set_rng_state(resume["torch_rng"])
        np.random.set_state(resume["numpy_rng"])
        best, history = resume["best"], list(resume["history"])
        log.info("resuming after epoch %d of %d", len(history), cfg.epochs)
        for epoch, record in enumerate(history):
            if on_epoch:
                on_epoch(epoch, record)
    steps_per_epoch = len(train_idx) // cfg.batch_size  # drop_last
    for epoch in range(len(history), cfg.epochs):
        img_net.train(), txt_net.train()
        alpha = alpha_at(cfg.alpha, epoch)
        order = torch.randperm(len(train_idx), generator=shuffle).to(device)
        totals: dict[str, float] = {}
        start = time.perf_counter()
        for step in range(steps_per_epoch):
            batch = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            f_img, f_txt = x_img[batch], x_txt[batch]
            targets = batch_targets(batch, f_img, f_txt)
            # bfloat16 autocast for the nets and the loss; the targets stay float32
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.mixed_precision):
                loss, terms = batch_targets.method.loss(img_net(f_img, alpha), txt_net(f_txt, alpha), targets)
            opt_img.zero_grad(set_to_none=True)
            opt_txt.zero_grad(set_to_none=True)
            loss.backward()
            opt_img.step()
            opt_txt.step()
            totals["loss"] = totals.get("loss", 0.0) + float(loss.detach())
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + float(value)
        record = {name: value / steps_per_epoch for name, value in totals.items()}
        record["epoch_seconds"] = time.perf_counter() - start
        last = epoch + 1 == cfg.epochs
        if (epoch + 1) % cfg.validate_every == 0 or last:
            record.update(validation_map(img_net, txt_net, feats, device))
            if best is None or record["val_map_all"] > best["val_map_all"]:
                best = {"epoch": epoch + 1, "val_map_all": record["val_map_all"],
                        "image": copy.deepcopy(img_net.state_dict()),
                        "text": copy.deepcopy(txt_net.state_dict())}
            log.info("epoch %d/%d loss %.4f val MAP@all %.4f (best %.4f at epoch %d)", epoch + 1,
                     cfg.epochs, record["loss"], record["val_map_all"], best["val_map_all"], best["epoch"])
        history.append(record)
        if on_epoch:
            on_epoch(epoch, record)
        if save_state and (epoch + 1) % cfg.checkpoint_every == 0 and not last:
            save_state({"image": img_net.state_dict(), "text": txt_net.state_dict(),
                        "opt_img": opt_img.state_dict(), "opt_txt": opt_txt.state_dict(),
                        "shuffle": shuffle.get_state(), "torch_rng": torch.get_rng_state(),
                        "numpy_rng": np.random.get_state(), "best": best, "history": history})

    return _checkpoint(family, method_params, bits, seed, (d_img, d_txt), asdict(cfg), best)


CLOSED_FORM = ("cca_itq",)
"""Families fitted in closed form on the training pairs (`fit`), not trained by SGD."""


def fit_closed_form(feats: Features, family: str, method_params: dict, bits: int, seed: int,
                    cfg: TrainConfig, device: torch.device,
                    on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> dict:
    """The checkpoint of a closed-form method: its affine maps as linear hash nets (epoch 0)."""
    train_idx = feats.split["train"]
    method = build_method(family, method_params, batch_size=None, standardised=feats.standardised)
    start = time.perf_counter()
    maps = method.fit(feats.rows("image", train_idx), feats.rows("text", train_idx), bits, seed)
    d_img, d_txt = feats.dims
    nets = {"image": ImageHashNet(d_img, bits), "text": TextHashNet(d_txt, bits, hidden=0)}
    for name, (w, b) in maps.items():
        nets[name].hash.weight.data = torch.from_numpy(w.T.copy())
        nets[name].hash.bias.data = torch.from_numpy(b)
    record = {"fit_seconds": time.perf_counter() - start,
              **validation_map(nets["image"].to(device), nets["text"].to(device), feats, device)}
    log.info("%s fitted in %.1f s: val MAP@all %.4f", family, record["fit_seconds"], record["val_map_all"])
    if on_epoch:
        on_epoch(0, record)
    best = {"epoch": 0, "val_map_all": record["val_map_all"],
            "image": nets["image"].state_dict(), "text": nets["text"].state_dict()}
    # the text map is a single linear layer: load_nets reads the hidden size from here
    return _checkpoint(family, method_params, bits, seed, (d_img, d_txt), {**asdict(cfg), "text_hidden": 0}, best)


def _checkpoint(family, method_params, bits, seed, dims, train_cfg, best) -> dict:
    return {
        "format": "sgrn-checkpoint-1",
        "family": family,
        "method_params": method_params,
        "bits": bits,
        "seed": seed,
        "dims": {"image": dims[0], "text": dims[1]},
        "train": train_cfg,
        "best_epoch": best["epoch"],
        "val_map_all": best["val_map_all"],
        "model": {"image": _to_cpu(best["image"]), "text": _to_cpu(best["text"])},
    }


def _to_cpu(state: dict) -> dict:
    return {k: v.detach().cpu() for k, v in state.items()}


def load_nets(checkpoint: dict, device: torch.device) -> tuple[ImageHashNet, TextHashNet]:
    dims, bits = checkpoint["dims"], checkpoint["bits"]
    img_net = ImageHashNet(dims["image"], bits)
    txt_net = TextHashNet(dims["text"], bits, hidden=checkpoint["train"]["text_hidden"])
    img_net.load_state_dict(checkpoint["model"]["image"])
    txt_net.load_state_dict(checkpoint["model"]["text"])
    return img_net.to(device).eval(), txt_net.to(device).eval()


def save_checkpoint(checkpoint: dict, path: str | Path) -> None:
    from sgrn.atomic import atomic_path

    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def load_train_state(path: Path, identity: str) -> dict | None:
    """The saved training state at `path` if it belongs to this exact run, else None."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a state file cut short by a crash: start again
        log.warning("%s: unreadable training state (%s); starting from scratch", path, err)
        return None
    if saved.get("identity") != identity:
        log.warning("%s: training state of other params or features; starting from scratch", path)
        return None
    return saved["state"]


def save_train_state(path: Path, identity: str, state: dict) -> None:
    save_checkpoint({"identity": identity, "state": state}, path)
