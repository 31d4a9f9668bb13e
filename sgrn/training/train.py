"""The training loop: seeded SGD on precomputed features, validation-MAP model selection.

Laid out as torchvision's reference scripts: `train_one_epoch` runs the steps of one epoch,
`validate` measures validation MAP, and `train` is the short main loop around them (model
selection, resume, the checkpoint). One `TrainStep` is one SGD step; on CUDA it can be
captured once as a CUDA graph and replayed (sgrn/training/cudagraph_step.py). Loss terms stay on
the device and are read once per epoch: no step waits for the GPU.
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from sgrn.data.errors import DataError
from sgrn.files.featurefile import Features
from sgrn.methods import build_method, method_class
from sgrn.methods.base import FitError
from sgrn.training.checkpoint import CHECKPOINT_FORMAT
from sgrn.training.device import DeviceError, pick_device, use_cuda_graphs
from sgrn.training.encoding import packed_codes
from sgrn.training.nets import ImageHashNet, TextHashNet, alpha_at
from sgrn.training.sparse_text import LazyRowSGD, sparse_text_layer, use_sparse_text

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
    patience: int | None = None
    checkpoint_every: int = 5
    device: str = "auto"
    mixed_precision: bool = False
    num_threads: int = 1
    cuda_graphs: str | bool = "auto"


def _sgd(params, lr: float, cfg: TrainConfig, device: torch.device) -> torch.optim.SGD:
    # The fused step is several times faster than the default one on CPU and GPU.
    kwargs = dict(lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    try:
        return torch.optim.SGD(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.SGD(params, **kwargs)


def validate(img_net, txt_net, feats: Features, device: torch.device) -> dict[str, float]:
    """MAP@all of validation queries against the database minus them; never the test queries.

    The database is encoded in the order and blocks of the encode step, and measured by
    `sgrn.retrieval.metrics.validation_map`, which the evaluate step calls on the saved codes too."""
    from sgrn.retrieval.metrics import validation_map  # here: numba loads at the first validation, not at start-up

    database = np.sort(feats.split["database"])
    image = packed_codes(img_net, feats, "image", database, device)
    text = packed_codes(txt_net, feats, "text", database, device)
    result = validation_map(image, text, feats.labels[database], np.isin(database, feats.split["validation"]))
    return {"val_i2t_map_all": result["i2t"]["map@all"], "val_t2i_map_all": result["t2i"]["map@all"],
            "val_map_all": result["map@all"]}


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
        # what the targets take from the training set before training (JDSH's tail thresholds)
        self.fitted = self.method.fit_to_training_set(x_img, x_txt, n if self.is_global else batch_size)
        if self.fitted:
            log.info("%s: fitted on the training set: %s", family,
                     ", ".join(f"{k} {v:.4f}" for k, v in self.fitted.items()))
        self.full = self.method.targets(x_img, x_txt) if self.is_global else None

    def __call__(self, batch: torch.Tensor, f_img: torch.Tensor, f_txt: torch.Tensor) -> dict:
        if self.full is None:
            return self.method.targets(f_img, f_txt)
        return {name: graph[batch][:, batch] for name, graph in self.full.items()}


class TrainStep:
    """One SGD step on the training pairs `batch` (indices on the device): targets, forward,
    loss, backward and both optimiser updates (three when the method owns modules:
    `opt_modules` updates their parameters; `uses_features` methods get the batch's features).
    With `sparse_text` (a bag of words, sgrn/training/sparse_text.py) the text net's first weight is
    updated by it, column by column, after the text optimiser's step.

    The loss and its terms are added, in float64, to `sums` on the device; nothing is read
    back to the host, so steps queue on a GPU without waiting. (float64 sums of the float32
    terms, in step order, are the very numbers that float() per step used to add up; one
    stack and one add keep the CPU's cost per step to a few microseconds.)
    """

    def __init__(self, img_net, txt_net, opt_img, opt_txt, x_img, x_txt, targets: TargetSource,
                 mixed_precision: bool, device: torch.device, opt_modules: torch.optim.Optimizer | None = None,
                 sparse_text: LazyRowSGD | None = None):
        self.img_net, self.txt_net, self.opt_img, self.opt_txt = img_net, txt_net, opt_img, opt_txt
        self.opt_modules, self.sparse_text = opt_modules, sparse_text
        self.x_img, self.x_txt, self.targets = x_img, x_txt, targets
        self.mixed_precision, self.device = mixed_precision, device
        # Autocast's weight-cast cache must be off while a CUDA graph is captured.
        self.autocast_cache = True
        self.names: list[str] | None = None
        self.sums: torch.Tensor | None = None

    def __call__(self, batch: torch.Tensor, alpha: float | torch.Tensor) -> None:
        f_img, f_txt = self.x_img[batch], self.x_txt[batch]
        targets = self.targets(batch, f_img, f_txt)
        # bfloat16 autocast for the nets and the loss; the targets stay float32
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.mixed_precision,
                            cache_enabled=self.autocast_cache):
            method = self.targets.method
            extra = {"features": (f_img, f_txt)} if method.uses_features else {}
            loss, terms = method.loss(self.img_net(f_img, alpha), self.txt_net(f_txt, alpha), targets, **extra)
        self.opt_img.zero_grad(set_to_none=True)
        self.opt_txt.zero_grad(set_to_none=True)
        if self.opt_modules is not None:
            self.opt_modules.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_img.step()
        self.opt_txt.step()
        if self.sparse_text is not None:
            self.sparse_text.step()
        if self.opt_modules is not None:
            self.opt_modules.step()
        values = torch.stack([loss.detach(), *terms.values()])
        if self.sums is None:
            self.names = ["loss", *terms]
            self.sums = torch.zeros(len(values), dtype=torch.float64, device=values.device)
        self.sums.add_(values)  # float32 terms added in float64, as Python floats were

    def read_means(self, steps: int) -> dict[str, float]:
        """Mean of each term over the last `steps` steps (the one host sync of an epoch)."""
        sums = self.sums.tolist()
        self.sums.zero_()
        return {name: value / steps for name, value in zip(self.names, sums)}


def cuda_graphs_with_modules(graphed: bool, option: str | bool, family: str, reason: str = "owns trainable modules",
                             ) -> bool:
    """Whether to capture CUDA graphs for a method that owns modules, or whose step is not
    known to be capturable (`Method.graph_safe` false): never.

    The captured step (sgrn/training/cudagraph_step.py) was written and checked for the two hash nets'
    optimisers only; a third one (the method's modules) is not checked on a GPU, nor is a loss
    with, for example, a linear solve in it, so such a method trains with the eager step:
    train.cuda_graphs auto falls back to it, true is refused."""
    if graphed and option is True:
        raise DeviceError(f"train.cuda_graphs: true, but method family {family!r} {reason}, "
                          "which the CUDA-graph step does not capture; use auto (eager for this family) or false")
    if graphed:
        log.info("%s %s: eager steps, not CUDA graphs", family, reason)
    return False


def train_one_epoch(step, order: torch.Tensor, batch_size: int, alpha: float) -> dict[str, float]:
    """Every full batch of the shuffled `order` once (drop_last); mean loss terms and time."""
    steps = len(order) // batch_size
    start = time.perf_counter()
    for i in range(steps):
        step(order[i * batch_size:(i + 1) * batch_size], alpha)
    record = step.read_means(steps)
    record["epoch_seconds"] = time.perf_counter() - start
    return record


def best_so_far(best: dict | None, epoch: int, val_map: float, img_net, txt_net) -> dict:
    """Model selection: the nets of this epoch (copied) when their validation MAP is higher."""
    if best is not None and val_map <= best["val_map_all"]:
        return best
    return {"epoch": epoch, "val_map_all": val_map, "image": copy.deepcopy(img_net.state_dict()),
            "text": copy.deepcopy(txt_net.state_dict())}


def training_state(img_net, txt_net, opt_img, opt_txt, shuffle, best, history,
                   modules=(), opt_modules=None) -> dict:
    """All that an interrupted run needs to continue exactly (live tensors: save it at once).

    The method's own modules (`Method.modules`) are kept under "modules" when it has some, and
    their optimiser under "opt_modules" when they have trainable parameters."""
    state = {"image": img_net.state_dict(), "text": txt_net.state_dict(),
             "opt_img": opt_img.state_dict(), "opt_txt": opt_txt.state_dict(),
             "shuffle": shuffle.get_state(), "torch_rng": torch.get_rng_state(),
             "numpy_rng": np.random.get_state(), "best": best, "history": history}
    if modules:
        state["modules"] = [module.state_dict() for module in modules]
    if opt_modules is not None:
        state["opt_modules"] = opt_modules.state_dict()
    return state


def restore_training_state(state: dict, img_net, txt_net, opt_img, opt_txt, shuffle,
                           modules=(), opt_modules=None) -> tuple[dict, list]:
    """Put a `training_state` back; returns (best, history)."""
    img_net.load_state_dict(state["image"])
    txt_net.load_state_dict(state["text"])
    opt_img.load_state_dict(state["opt_img"])
    opt_txt.load_state_dict(state["opt_txt"])
    for module, saved in zip(modules, state.get("modules", []), strict=True):
        module.load_state_dict(saved)
    if opt_modules is not None:
        opt_modules.load_state_dict(state["opt_modules"])
    shuffle.set_state(state["shuffle"])
    torch.set_rng_state(state["torch_rng"])
    np.random.set_state(state["numpy_rng"])
    return state["best"], list(state["history"])


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
    device = pick_device(cfg.device)
    graphed = use_cuda_graphs(cfg.cuda_graphs, device)
    torch.set_num_threads(cfg.num_threads)
    if method_class(family).closed_form:
        return fit_closed_form(feats, family, method_params, bits, seed, cfg, device, on_epoch)
    train_idx = feats.split["train"]
    if len(train_idx) < cfg.batch_size:
        raise DataError(f"{feats.path}: train.batch_size={cfg.batch_size} is larger than the training set "
                        f"({len(train_idx)} pairs)")
    torch.manual_seed(seed)
    np.random.seed(seed)
    x_img = torch.from_numpy(feats.rows("image", train_idx)).to(device)
    x_txt = torch.from_numpy(feats.rows("text", train_idx)).to(device)
    batch_targets = TargetSource(family, method_params, x_img, x_txt, cfg.batch_size, feats.standardised)
    d_img, d_txt = feats.dims
    img_net = ImageHashNet(d_img, bits).to(device)
    txt_net = TextHashNet(d_txt, bits, hidden=cfg.text_hidden).to(device)
    sparse = cfg.text_hidden > 0 and use_sparse_text(x_txt, device, cfg.mixed_precision, cfg.momentum)
    if sparse:
        text_layer = sparse_text_layer(txt_net)
        log.info("text features are a sparse bag of words: the text net's first layer runs on their non-zero entries")
    lr_image, lr_text = learning_rates(method_params, cfg)
    opt_img = _sgd(img_net.parameters(), lr_image, cfg, device)
    opt_txt = _sgd(txt_net.parameters(), lr_text, cfg, device)
    sparse_text = LazyRowSGD(text_layer, opt_txt) if sparse else None
    # the method's own modules (decoders, ...), made after the nets so that their
    # initialisation is the same with or without them; trained, never saved in model.pt
    method = batch_targets.method
    method.build((d_img, d_txt), bits)
    modules = [module.to(device).train() for module in method.modules()]
    trainable = [q for module in modules for q in module.parameters() if q.requires_grad]
    opt_modules = None
    if trainable:  # state alone (UCCH's memory of codes) needs no optimiser
        lr = lr_image if method.module_lr is None else method.module_lr  # the image net's, by default
        opt_modules = _sgd(trainable, lr, cfg, device)
    if modules:
        graphed = cuda_graphs_with_modules(graphed, cfg.cuda_graphs, family)
    elif not method.graph_safe:
        graphed = cuda_graphs_with_modules(graphed, cfg.cuda_graphs, family, "has a step not checked under CUDA graphs")
    shuffle = torch.Generator().manual_seed(seed)

    best: dict | None = None
    history: list[dict[str, float]] = []
    if resume is not None:
        best, history = restore_training_state(resume, img_net, txt_net, opt_img, opt_txt, shuffle,
                                               modules, opt_modules)
        log.info("resuming after epoch %d of %d", len(history), cfg.epochs)
        for epoch, record in enumerate(history):
            if on_epoch:
                on_epoch(epoch, record)
    step = TrainStep(img_net, txt_net, opt_img, opt_txt, x_img, x_txt, batch_targets,
                     cfg.mixed_precision, device, opt_modules, sparse_text)
    if graphed:
        from sgrn.training.cudagraph_step import GraphedStep

        step = GraphedStep(step, cfg.batch_size, device)
    for epoch in range(len(history), cfg.epochs):
        img_net.train(), txt_net.train()
        order = torch.randperm(len(train_idx), generator=shuffle).to(device)
        record = train_one_epoch(step, order, cfg.batch_size, alpha_at(cfg.alpha, epoch))
        if sparse_text is not None:
            sparse_text.flush()  # every weight current before validation or a saved state reads it
        last = epoch + 1 == cfg.epochs
        if (epoch + 1) % cfg.validate_every == 0 or last:
            record.update(validate(img_net, txt_net, feats, device))
            best = best_so_far(best, epoch + 1, record["val_map_all"], img_net, txt_net)
            log.info("epoch %d/%d loss %.4f val MAP@all %.4f (best %.4f at epoch %d)", epoch + 1,
                     cfg.epochs, record["loss"], record["val_map_all"], best["val_map_all"], best["epoch"])
            if patience_ran_out(best, epoch + 1, cfg.patience):
                log.info("early stop after epoch %d: no better validation MAP for %d epochs", epoch + 1,
                         cfg.patience)
                last = True
        history.append(record)
        if on_epoch:
            on_epoch(epoch, record)
        if last:  # a state saved now would resume into epochs that this run never trains
            break
        if save_state and (epoch + 1) % cfg.checkpoint_every == 0:
            save_state(training_state(img_net, txt_net, opt_img, opt_txt, shuffle, best, history,
                                      modules, opt_modules))

    checkpoint = _checkpoint(family, method_params, bits, seed, (d_img, d_txt), asdict(cfg), best)
    checkpoint.update(epochs_run=len(history), fitted=batch_targets.fitted)
    return checkpoint


def learning_rates(method_params: dict, cfg: TrainConfig) -> tuple[float, float]:
    """(image, text) learning rates: the method block's `lr` for both nets where it sets one
    (e.g. DGCPN's 0.005), else train.lr_image and train.lr_text."""
    lr = method_params.get("lr")
    return (cfg.lr_image, cfg.lr_text) if lr is None else (lr, lr)


def patience_ran_out(best: dict, epoch: int, patience: int | None) -> bool:
    """Early stopping: ``patience`` epochs since the best validation MAP (None: never).

    Only the best epoch and the current one are needed, and the best is in the saved
    training state, so a resumed run stops where the uninterrupted one does."""
    return patience is not None and epoch - best["epoch"] >= patience


def fit_closed_form(feats: Features, family: str, method_params: dict, bits: int, seed: int,
                    cfg: TrainConfig, device: torch.device,
                    on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> dict:
    """The checkpoint of a closed-form method: its affine maps as linear hash nets (epoch 0)."""
    train_idx = feats.split["train"]
    method = build_method(family, method_params, batch_size=None, standardised=feats.standardised)
    start = time.perf_counter()
    try:
        maps = method.fit(feats.rows("image", train_idx), feats.rows("text", train_idx), bits, seed)
    except FitError as err:  # e.g. CCA-ITQ asked for more bits than its features give
        raise DataError(f"{feats.path}: {err}") from None
    d_img, d_txt = feats.dims
    nets = {"image": ImageHashNet(d_img, bits), "text": TextHashNet(d_txt, bits, hidden=0)}
    for name, (w, b) in maps.items():
        nets[name].hash.weight.data = torch.from_numpy(w.T.copy())
        nets[name].hash.bias.data = torch.from_numpy(b)
    record = {"fit_seconds": time.perf_counter() - start,
              **validate(nets["image"].to(device), nets["text"].to(device), feats, device)}
    log.info("%s fitted in %.1f s: val MAP@all %.4f", family, record["fit_seconds"], record["val_map_all"])
    if on_epoch:
        on_epoch(0, record)
    best = {"epoch": 0, "val_map_all": record["val_map_all"],
            "image": nets["image"].state_dict(), "text": nets["text"].state_dict()}
    # the text map is a single linear layer: load_nets reads the hidden size from here
    return _checkpoint(family, method_params, bits, seed, (d_img, d_txt), {**asdict(cfg), "text_hidden": 0}, best)


def _checkpoint(family, method_params, bits, seed, dims, train_cfg, best) -> dict:
    return {
        "format": CHECKPOINT_FORMAT,
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
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}  # the sparse path's weight is transposed
