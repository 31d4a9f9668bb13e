#!/usr/bin/env python
"""The cost of saving the training state: epoch time with and without checkpointing.

Trains SGRN on synthetic MIRFlickr-like features twice in one process, once saving the whole
training state (to a temporary file, as scripts/train.py does) after every epoch and once
never, and prints the mean epoch time of each.

    python benchmarks/bench_checkpoint.py            # 2,000 pairs, 3 x 4 epochs each
    python benchmarks/bench_checkpoint.py --quick    # 300 pairs, 2 epochs: the smoke test
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from synthetic import synthetic_features


def epoch_times(feats, save_every: int | None, epochs: int, threads: int) -> list[float]:
    from sgrn.settings.hyperparams import method_config
    from sgrn.settings.params import load_params
    from sgrn.training.checkpoint import save_train_state
    from sgrn.training.train import TrainConfig, train

    params = load_params()
    family, hyper = method_config(params, "sgrn", "synthetic")
    cfg = TrainConfig(**{**params["train"], "epochs": epochs + 1, "validate_every": 10**6,
                         "num_threads": threads, "device": "cpu", "checkpoint_every": save_every or 1})
    # on_epoch runs before the state is saved, so the gaps between calls include the save.
    stamps = [time.perf_counter()]
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "train_state.pt"
        train(feats, family, hyper, 64, 0, cfg,
              on_epoch=lambda epoch, record: stamps.append(time.perf_counter()),
              save_state=(lambda s: save_train_state(state, "bench", s)) if save_every else None)
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return gaps[1:-1]  # the first epoch pays for warm-up; the last one validates and saves nothing


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="300 pairs, 2 epochs, once: the smoke test")
    args = p.parse_args()
    if args.quick:
        args.n, args.epochs, args.repeat = 300, 2, 1
    feats = synthetic_features(args.n)
    without, with_ckpt = [], []
    for _ in range(args.repeat):  # interleaved, so that background load hits both alike
        without += epoch_times(feats, None, args.epochs, args.threads)
        with_ckpt += epoch_times(feats, 1, args.epochs, args.threads)
    print(f"SGRN, {args.n} pairs, 64 bits, {args.threads} threads, CPU; "
          f"{len(without)} epochs each, interleaved; min and median epoch seconds")
    for name, times in (("without checkpointing", without), ("checkpoint after every epoch", with_ckpt)):
        print(f"{name:<30} min {min(times):.3f}  median {statistics.median(times):.3f}")
    cost = statistics.median(with_ckpt) - statistics.median(without)
    print(f"cost of one checkpoint: {cost:+.3f} s per epoch "
          f"({100 * cost / statistics.median(without):+.1f} % of a median epoch)")


if __name__ == "__main__":
    main()
