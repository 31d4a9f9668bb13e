#!/usr/bin/env python
"""Epoch time of the demo's training step on the CPU and, when there is one, on the GPU.

Trains SGRN (64 bits, method defaults) for a few epochs on the demo's extracted features
(results/demo/features.h5, from `make demo`) with the project's own training loop, once per
device, and prints the median epoch time of each beside the other.

    python benchmarks/bench_device_epoch.py [--features results/demo/features.h5] [--epochs 6]
    python benchmarks/bench_device_epoch.py --quick   # 300 synthetic demo-shaped pairs, 2 epochs, CPU only
"""
from __future__ import annotations

import argparse
import statistics

import torch


def epoch_seconds(feats, device: str, epochs: int, threads: int) -> tuple[float, float]:
    from sgrn.hparams import resolve_method_params
    from sgrn.training.train import TrainConfig, train

    cfg = TrainConfig(epochs=epochs, device=device, num_threads=threads, validate_every=epochs)
    hyper = resolve_method_params("sgrn", {}, batch_size=cfg.batch_size)
    times: list[float] = []
    ckpt = train(feats, "sgrn", hyper, 64, 0, cfg, on_epoch=lambda e, r: times.append(r["epoch_seconds"]))
    return statistics.median(times[1:]), ckpt["val_map_all"]


def main() -> None:
    from synthetic import synthetic_features

    from sgrn.files.featurefile import load_features

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", default="results/demo/features.h5")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--synthetic", type=int, default=None, metavar="N",
                   help="N synthetic demo-shaped pairs instead of --features")
    p.add_argument("--cpu-only", action="store_true", help="skip the GPU even when there is one")
    p.add_argument("--quick", action="store_true", help="--synthetic 300 --epochs 2 --cpu-only: the smoke test")
    args = p.parse_args()
    if args.quick:
        args.synthetic, args.epochs, args.cpu_only = 300, 2, True
    feats = (synthetic_features(args.synthetic, shape="demo") if args.synthetic
             else load_features(args.features))
    gpu = torch.cuda.is_available() and not args.cpu_only
    devices = ["cpu"] + (["cuda"] if gpu else [])
    print(f"SGRN 64 bits, {len(feats.split['train'])} training pairs, batch 32; median epoch of "
          f"{args.epochs - 1} after the first; CPU with {args.threads} threads")
    for device in devices:
        name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
        seconds, val = epoch_seconds(feats, device, args.epochs, args.threads)
        print(f"{name:<28} {seconds * 1000:8.1f} ms/epoch   validation MAP@all {val:.4f}")


if __name__ == "__main__":
    main()
