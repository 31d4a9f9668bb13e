#!/usr/bin/env python
"""Training throughput per method on precomputed features (pairs per second).

Runs one short training per method on the same synthetic features (non-negative 4096-d
"fc7" rows, sparse 1,386-d tag BOW, MIRFlickr-like sizes; or, with --shape demo, the demo's
1,280-d EfficientNet-Lite0 rows and 99 tags, and its per_dataset values) through
sgrn.training.train.train, and prints the epoch time and pairs/s of each, with the ratio to DJSRH
measured in the same run. Each method runs in its own process so thread pools and caches do
not leak between them. Any name of method_params works, methods that own modules (dsah's
decoders) included.

    python benchmarks/bench_train_methods.py                 # quick: 2,000 pairs, 2 epochs
    python benchmarks/bench_train_methods.py --n 5000 --epochs 3
    python benchmarks/bench_train_methods.py --methods djsrh sgrn sgrn:zeta=0.5,cross=0.4
    python benchmarks/bench_train_methods.py --shape demo --n 1100 --methods djsrh dsah hnh

A method may carry overrides of its params block after a colon (the configuration chosen by
the select step, for example), values read as YAML.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import yaml
from synthetic import synthetic_features


def one(method: str, n: int, epochs: int, threads: int, shape: str = "mirflickr") -> dict:
    from sgrn.settings.hyperparams import method_config
    from sgrn.settings.params import load_params
    from sgrn.training.train import TrainConfig, train

    params = load_params()
    name, _, overrides = method.partition(":")
    family, hyper = method_config(params, name, "demo" if shape == "demo" else "synthetic")
    for item in filter(None, overrides.split(",")):
        key, _, value = item.partition("=")
        if key not in hyper:
            raise SystemExit(f"--methods {method}: {name} has no parameter '{key}'")
        hyper[key] = yaml.safe_load(value)
    cfg = TrainConfig(**{**params["train"], "epochs": epochs, "validate_every": 10**6,
                         "num_threads": threads, "device": "cpu"})
    times, cpu = [], [time.process_time()]

    def on_epoch(epoch: int, record: dict) -> None:
        times.append(record["epoch_seconds"])
        cpu.append(time.process_time())

    train(synthetic_features(n, shape=shape), family, hyper, 64, 0, cfg, on_epoch=on_epoch)
    best = min(times[1:] or times)  # the first epoch pays for warm-up
    # CPU seconds of the process per epoch (one thread: the work itself, steadier than the
    # wall time on a shared machine); the first interval also holds the set-up
    cpu_epochs = [b - a for a, b in zip(cpu, cpu[1:])]
    return {"method": method, "epoch_s": best, "pairs_per_s": n / best, "cpu_s": min(cpu_epochs[1:] or cpu_epochs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training pairs")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--methods", nargs="+", default=["djsrh", "sgrn", "jdsh"])
    p.add_argument("--shape", choices=["mirflickr", "demo"], default="mirflickr",
                   help="feature sizes: MIRFlickr-like, or the demo's (and its per_dataset values)")
    p.add_argument("--quick", action="store_true", help="DJSRH and SGRN, 200 demo-shaped pairs: the smoke test")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.n, args.methods, args.shape = 200, ["djsrh", "sgrn"], "demo"
    if args.one:
        print(json.dumps(one(args.one, args.n, args.epochs, args.threads, args.shape)))
        return
    rows = []
    for method in args.methods:
        out = subprocess.run([sys.executable, __file__, "--one", method, "--n", str(args.n),
                              "--epochs", str(args.epochs), "--threads", str(args.threads),
                              "--shape", args.shape],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    reference = next((r for r in rows if r["method"] == "djsrh"), rows[0])
    print(f"training throughput, {args.shape}-shaped features, {args.n} pairs, batch 32, 64 bits, "
          f"{args.threads} threads, CPU")
    print(f"{'method':<36}{'epoch s':>10}{'pairs/s':>10}{'x djsrh time':>14}{'cpu s':>8}{'x djsrh cpu':>13}")
    for r in rows:
        print(f"{r['method']:<36}{r['epoch_s']:>10.3f}{r['pairs_per_s']:>10.0f}"
              f"{r['epoch_s'] / reference['epoch_s']:>14.2f}{r['cpu_s']:>8.3f}{r['cpu_s'] / reference['cpu_s']:>13.2f}")


if __name__ == "__main__":
    main()
