#!/usr/bin/env python
"""Epoch time of the demo's training step on the CPU and, when there is one, on the GPU.

Trains SGRN (64 bits, method defaults) for a few epochs on the demo's extracted features
(results/demo/features.h5, from `make demo`) with the project's own training loop, once per
device, and prints the median epoch time of each beside the other.

    python benchmarks/bench_device_epoch.py [--features results/demo/features.h5] [--epochs 6]
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
    from sgrn.files.featurefile import load_features

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", default="results/demo/features.h5")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    feats = load_features(args.features)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"SGRN 64 bits, {len(feats.split['train'])} training pairs, batch 32; median epoch of "
          f"{args.epochs - 1} after the first; CPU with {args.threads} threads")
    for device in devices:
        name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
        seconds, val = epoch_seconds(feats, device, args.epochs, args.threads)
        print(f"{name:<28} {seconds * 1000:8.1f} ms/epoch   validation MAP@all {val:.4f}")


if __name__ == "__main__":
    main()
