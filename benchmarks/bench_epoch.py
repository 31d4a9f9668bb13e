#!/usr/bin/env python
"""One SGRN training epoch: sgrn.training.train.train vs a plain PyTorch loop of the same model and loss.

Both train the same hash networks (sgrn.training.nets) with the same SGRN targets and loss
(sgrn.methods, params.yaml's method_params.sgrn) on the same synthetic MIRFlickr-shaped
features, batch 32, 64 bits, SGD with momentum and weight decay, on the CPU, each in its own
process with the same torch thread count:

- sgrn:  sgrn.training.train.train (fused SGD step, index slicing of on-device features; on this tag bag
         of words, the text net's first layer over its non-zero entries, sgrn/training/sparse_text.py;
         benchmarks/bench_sparse_text.py compares that with the dense layer)
- plain: the textbook loop: DataLoader(TensorDataset, shuffle=True, drop_last=True),
         torch.optim.SGD with its default step, loss.item() every step

The figure is the best epoch time after the first (which pays for warm-up).

    python benchmarks/bench_epoch.py                    # quick: 320 pairs, 3 epochs
    python benchmarks/bench_epoch.py --size full        # 5,000 pairs (MIRFlickr's training set)
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from _bench import ROOT, cpu_line, peak_rss_mb, run_worker

SIZES = {"quick": 320, "full": 5000}


def synthetic(n: int, seed: int = 0):
    """Non-negative 4096-d "fc7" rows, sparse 1,386-d tag bag of words, 24 labels."""
    from sgrn.files.featurefile import Features

    rng = np.random.default_rng(seed)
    image = np.maximum(rng.normal(size=(n, 4096)), 0).astype(np.float32)
    text = (rng.random((n, 1386)) < 0.005).astype(np.float32)
    labels = (rng.random((n, 24)) < 0.15).astype(np.uint8)
    idx = np.arange(n)
    split = {"train": idx, "database": idx, "query": idx[:10], "validation": idx[:50]}
    return Features(image=image, text=text, labels=labels, split=split, dataset="synthetic")


def settings(threads: int, epochs: int):
    from sgrn.settings.hyperparams import method_config
    from sgrn.settings.params import load_params
    from sgrn.training.train import TrainConfig

    params = load_params(str(ROOT / "params.yaml"))
    family, hyper = method_config(params, "sgrn", "synthetic")
    fields = TrainConfig.__dataclass_fields__
    cfg = TrainConfig(**{**{k: v for k, v in params["train"].items() if k in fields},
                         "epochs": epochs, "validate_every": 10**6, "num_threads": threads,
                         "device": "cpu"})
    return family, hyper, cfg


def epochs_sgrn(feats, threads: int, epochs: int) -> list[float]:
    from sgrn.training.train import train

    family, hyper, cfg = settings(threads, epochs)
    times: list[float] = []
    train(feats, family, hyper, 64, 0, cfg, on_epoch=lambda e, rec: times.append(rec["epoch_seconds"]))
    return times


def epochs_plain(feats, threads: int, epochs: int) -> list[float]:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from sgrn.methods import build_method
    from sgrn.training.nets import ImageHashNet, TextHashNet, alpha_at

    family, hyper, cfg = settings(threads, epochs)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    method = build_method(family, hyper, batch_size=cfg.batch_size, standardised=feats.standardised)
    img_net = ImageHashNet(feats.image.shape[1], 64)
    txt_net = TextHashNet(feats.text.shape[1], 64, hidden=cfg.text_hidden)
    opt_img = torch.optim.SGD(img_net.parameters(), lr=cfg.lr_image, momentum=cfg.momentum,
                              weight_decay=cfg.weight_decay)
    opt_txt = torch.optim.SGD(txt_net.parameters(), lr=cfg.lr_text, momentum=cfg.momentum,
                              weight_decay=cfg.weight_decay)
    data = TensorDataset(torch.from_numpy(feats.image), torch.from_numpy(feats.text))
    loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=True, drop_last=True)
    times = []
    for epoch in range(epochs):
        img_net.train(), txt_net.train()
        alpha = alpha_at(cfg.alpha, epoch)
        start = time.perf_counter()
        running = 0.0
        for f_img, f_txt in loader:
            targets = method.targets(f_img, f_txt)
            loss, _ = method.loss(img_net(f_img, alpha), txt_net(f_txt, alpha), targets)
            opt_img.zero_grad()
            opt_txt.zero_grad()
            loss.backward()
            opt_img.step()
            opt_txt.step()
            running += loss.item()
        times.append(time.perf_counter() - start)
    return times


WORKERS = {"sgrn": epochs_sgrn, "plain": epochs_plain}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="quick")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    n = SIZES[args.size]
    if args.worker:
        times = WORKERS[args.worker](synthetic(n), args.threads, args.epochs)
        best = min(times[1:] or times)
        print(json.dumps({"name": args.worker, "epoch_s": best, "epochs": times,
                          "peak_rss_mb": peak_rss_mb()}))
        return 0

    print(f"one SGRN epoch, {n:,} pairs, batch 32, 64 bits, CPU; {cpu_line(args.threads)}")
    common = ["--size", args.size, "--epochs", str(args.epochs), "--threads", str(args.threads)]
    rows = {name: run_worker("bench_epoch.py", name, common, args.threads) for name in ("sgrn", "plain")}
    for name, r in rows.items():
        print(f"  {name:<6}{r['epoch_s']:9.3f} s per epoch   {n / r['epoch_s']:8.0f} pairs/s   "
              f"epochs {', '.join(f'{t:.3f}' for t in r['epochs'])}")
    ratio = rows["plain"]["epoch_s"] / rows["sgrn"]["epoch_s"]
    print(f"  sgrn.training.train is {ratio:.2f}x the speed of the plain loop "
          + ("(no slower)" if ratio >= 1 else "(SLOWER)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
