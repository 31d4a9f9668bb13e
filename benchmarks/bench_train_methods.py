#!/usr/bin/env python
"""Training throughput per method on precomputed features (pairs per second).

Runs one short training per method on the same synthetic features (non-negative 4096-d
"fc7" rows, sparse 1,386-d tag BOW, MIRFlickr-like sizes) through sgrn.train.train, and
prints the epoch time and pairs/s of each, with the ratio to DJSRH measured in the same run.
Each method runs in its own process so thread pools and caches do not leak between them.

    python benchmarks/bench_train_methods.py                 # quick: 2,000 pairs, 2 epochs
    python benchmarks/bench_train_methods.py --n 5000 --epochs 3
    python benchmarks/bench_train_methods.py --methods djsrh sgrn sgrn:zeta=0.5,cross=0.4

A method may carry overrides of its params block after a colon (the configuration chosen by
the select step, for example), values read as YAML.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import yaml
from synthetic import synthetic_features


def one(method: str, n: int, epochs: int, threads: int) -> dict:
    from sgrn.params import load_params, method_config
    from sgrn.train import TrainConfig, train

    params = load_params()
    name, _, overrides = method.partition(":")
    family, hyper = method_config(params, name, "synthetic")
    for item in filter(None, overrides.split(",")):
        key, _, value = item.partition("=")
        if key not in hyper:
            raise SystemExit(f"--methods {method}: {name} has no parameter '{key}'")
        hyper[key] = yaml.safe_load(value)
    cfg = TrainConfig(**{**params["train"], "epochs": epochs, "validate_every": 10**6,
                         "num_threads": threads, "device": "cpu"})
    times = []
    train(synthetic_features(n), family, hyper, 64, 0, cfg,
          on_epoch=lambda epoch, record: times.append(record["epoch_seconds"]))
    best = min(times[1:] or times)  # the first epoch pays for warm-up
    return {"method": method, "epoch_s": best, "pairs_per_s": n / best}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training pairs")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--methods", nargs="+", default=["djsrh", "sgrn", "jdsh"])
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.n, args.epochs, args.threads)))
        return
    rows = []
    for method in args.methods:
        out = subprocess.run([sys.executable, __file__, "--one", method, "--n", str(args.n),
                              "--epochs", str(args.epochs), "--threads", str(args.threads)],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    reference = next((r for r in rows if r["method"] == "djsrh"), rows[0])
    print(f"training throughput, {args.n} pairs, batch 32, 64 bits, {args.threads} threads, CPU")
    print(f"{'method':<36}{'epoch s':>10}{'pairs/s':>10}{'x djsrh time':>14}")
    for r in rows:
        print(f"{r['method']:<36}{r['epoch_s']:>10.3f}{r['pairs_per_s']:>10.0f}"
              f"{r['epoch_s'] / reference['epoch_s']:>14.2f}")


if __name__ == "__main__":
    main()
