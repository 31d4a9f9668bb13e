"""The trainer gives bit-identical models and loss records to a plain eager loop.

The reference below is the training loop as it was before loss terms stayed on the device
(issue 13): every term read back to the host with float() after every step. The trainer
must not change a single bit of the model or of the per-epoch records, with CUDA graphs
auto (off on a CPU) or off.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from test_train import feats  # noqa: F401  (fixture)

from sgrn.hparams import resolve_method_params
from sgrn.training.nets import ImageHashNet, TextHashNet, alpha_at
from sgrn.training.train import TargetSource, TrainConfig, train


def reference_train(feats, family, hyper, bits, seed, cfg):  # noqa: F811
    """(image state, text state, per-epoch records) of the plain per-step-sync loop."""
    torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    train_idx = feats.split["train"]
    x_img = torch.from_numpy(feats.rows("image", train_idx))
    x_txt = torch.from_numpy(feats.rows("text", train_idx))
    source = TargetSource(family, hyper, x_img, x_txt, cfg.batch_size, feats.standardised)
    img_net = ImageHashNet(x_img.shape[1], bits)
    txt_net = TextHashNet(x_txt.shape[1], bits, hidden=cfg.text_hidden)
    sgd = dict(momentum=cfg.momentum, weight_decay=cfg.weight_decay, fused=True)
    # a method's own lr (DGCPN's 0.005) replaces train.lr_image and train.lr_text
    own_lr = hyper.get("lr")
    opt_img = torch.optim.SGD(img_net.parameters(), lr=cfg.lr_image if own_lr is None else own_lr, **sgd)
    opt_txt = torch.optim.SGD(txt_net.parameters(), lr=cfg.lr_text if own_lr is None else own_lr, **sgd)
    shuffle = torch.Generator().manual_seed(seed)
    steps = len(train_idx) // cfg.batch_size
    records = []
    for epoch in range(cfg.epochs):
        alpha = alpha_at(cfg.alpha, epoch)
        order = torch.randperm(len(train_idx), generator=shuffle)
        totals: dict[str, float] = {}
        for step in range(steps):
            batch = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            f_img, f_txt = x_img[batch], x_txt[batch]
            targets = source(batch, f_img, f_txt)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.mixed_precision):
                loss, terms = source.method.loss(img_net(f_img, alpha), txt_net(f_txt, alpha), targets)
            opt_img.zero_grad(set_to_none=True)
            opt_txt.zero_grad(set_to_none=True)
            loss.backward()
            opt_img.step()
            opt_txt.step()
            totals["loss"] = totals.get("loss", 0.0) + float(loss.detach())
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + float(value)
        records.append({name: value / steps for name, value in totals.items()})
    return img_net.state_dict(), txt_net.state_dict(), records


CASES = [("sgrn", False, "auto"), ("sgrn", False, False), ("djsrh", False, "auto"),
         ("jdsh", False, "auto"), ("dgcpn", False, "auto"), ("sgrn", True, "auto")]


@pytest.mark.parametrize("family,mixed,cuda_graphs", CASES,
                         ids=[f"{f}{'-bf16' if m else ''}-graphs-{g}" for f, m, g in CASES])
def test_trainer_equals_the_per_step_sync_loop(feats, family, mixed, cuda_graphs):  # noqa: F811
    # Validation only after the last epoch: the checkpoint is the final model.
    cfg = TrainConfig(epochs=3, validate_every=3, text_hidden=32, device="cpu", num_threads=1,
                      mixed_precision=mixed, cuda_graphs=cuda_graphs)
    hyper = resolve_method_params(family, {}, batch_size=cfg.batch_size)
    records = []
    ckpt = train(feats, family, hyper, 16, 5, cfg, on_epoch=lambda e, r: records.append(r))
    ref_img, ref_txt, ref_records = reference_train(feats, family, hyper, 16, 5, cfg)
    assert ckpt["best_epoch"] == 3
    for got, want in ((ckpt["model"]["image"], ref_img), (ckpt["model"]["text"], ref_txt)):
        assert got.keys() == want.keys()
        for key in want:
            assert torch.equal(got[key], want[key]), key
    for got, want in zip(records, ref_records, strict=True):
        assert {k: got[k] for k in want} == want  # the same floats, to the last bit


def test_resumed_training_equals_the_whole_run(feats):  # noqa: F811
    cfg = TrainConfig(epochs=4, validate_every=1, checkpoint_every=2, text_hidden=32, device="cpu",
                      num_threads=1)
    hyper = resolve_method_params("sgrn", {}, batch_size=cfg.batch_size)
    states = []  # copied: a state holds the live tensors (scripts/train.py saves it at once)
    whole = train(feats, "sgrn", hyper, 16, 5, cfg, save_state=lambda s: states.append(copy.deepcopy(s)))
    records = []
    resumed = train(feats, "sgrn", hyper, 16, 5, cfg, resume=states[0],
                    on_epoch=lambda e, r: records.append(r))
    assert len(records) == 4 and resumed["best_epoch"] == whole["best_epoch"]
    for net in ("image", "text"):
        for key, tensor in whole["model"][net].items():
            assert torch.equal(resumed["model"][net][key], tensor), f"{net}.{key}"
