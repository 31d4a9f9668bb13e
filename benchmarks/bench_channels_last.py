#!/usr/bin/env python
"""AlexNet fc7 extraction: the default (contiguous NCHW) layout vs channels-last.

The extract step runs the backbone channels-last (sgrn/features/extract.py). This times the
forward pass of the same fc7 extractor (load_alexnet_fc7, seeded random weights) on the same
batches of normalised 224x224 inputs in both layouts, each in its own process with the same
torch thread count, and checks that the features agree.

    python benchmarks/bench_channels_last.py                 # quick: 2 batches of 8
    python benchmarks/bench_channels_last.py --size full     # 8 batches of 64
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _bench import cpu_line, peak_rss_mb, run_worker

SIZES = {"quick": (2, 8), "full": (8, 64)}  # batches, batch size


def worker(args) -> None:
    import torch

    from sgrn.features.alexnet import load_alexnet_fc7

    torch.set_num_threads(args.threads)
    n_batches, batch = SIZES[args.size]
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randn(batch, 3, 224, 224, generator=gen) for _ in range(n_batches)]
    model, _ = load_alexnet_fc7("random", 0)
    channels_last = args.worker == "channels-last"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    best = float("inf")
    with torch.inference_mode():
        model(batches[0].contiguous(memory_format=layout))  # warm-up
        for _ in range(args.repeat):
            start = time.perf_counter()
            feats = [model(b.contiguous(memory_format=layout)) for b in batches]
            best = min(best, time.perf_counter() - start)
    np.save(Path(args.out) / f"{args.worker}.npy", torch.cat(feats).numpy())
    print(json.dumps({"name": args.worker, "seconds": best, "images": n_batches * batch,
                      "peak_rss_mb": peak_rss_mb()}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="quick")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3, help="best of this many passes")
    p.add_argument("--worker", choices=["default", "channels-last"], help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    n_batches, batch = SIZES[args.size]
    print(f"AlexNet fc7 forward, {n_batches} batches of {batch}, 224x224; {cpu_line(args.threads)}")
    with tempfile.TemporaryDirectory() as out:
        common = ["--size", args.size, "--threads", str(args.threads), "--repeat", str(args.repeat),
                  "--out", out]
        rows = {n: run_worker("bench_channels_last.py", n, common, args.threads)
                for n in ("default", "channels-last")}
        a, b = (np.load(Path(out) / f"{n}.npy") for n in ("default", "channels-last"))
    for name, r in rows.items():
        print(f"  {name:<14}{r['seconds']:8.3f} s   {r['images'] / r['seconds']:7.1f} images/s")
    ratio = rows["default"]["seconds"] / rows["channels-last"]["seconds"]
    diff = float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-12))
    print(f"  channels-last is {ratio:.2f}x the speed of the default layout; features agree to "
          f"{diff:.1e} (relative to the largest)")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
