#!/usr/bin/env python
"""An epoch at MIRFlickr-25K size with the text net's first layer dense vs over the bag of words' non-zeros.

Issue 32, point 4. The same sgrn.training.train.train, nets, batch (32), optimiser (fused SGD, momentum,
weight decay) and data, once with the dense first layer (the path before issue 32, forced here)
and once with the sparse path (sgrn/training/sparse_text.py, which the rule picks for such data); each
path in its own process, one torch thread by default. Synthetic data of MIRFlickr-25K's shape:
5,000 training pairs, 13,677 database items of which 500 are validation queries, 4,096-d
non-negative image rows, a 1,386-d 0/1 tag bag of words with 4.6 non-zero entries per row on
average (each tag drawn independently, so a batch uses more distinct tags than real, Zipf-like
tags would: the harder case for the sparse path). An epoch is its training steps and its
validation (encoding the database, MAP); the figure is the fastest epoch of each path, in wall
seconds and in CPU seconds of the process (one thread: its time on a quiet core; on a machine
shared with other jobs the wall time also holds the time the process waited for a core). The
first epoch's CPU time includes the run's set-up, so only later epochs count where there are.

The records of the two paths (loss terms, validation MAP) are compared: to 1e-4 at the quick
size; at full size to 1e-2, because SGRN's hash-real term uses sign(H), which jumps where an
output within float rounding of zero comes out with the other sign, and the runs then drift
apart by a little (tests/test_sparse_text.py checks the paths step by step).

    python benchmarks/bench_sparse_text.py            # MIRFlickr-25K size, sgrn and djsrh at 64 bits
    python benchmarks/bench_sparse_text.py --quick    # a few hundred rows, one epoch (smoke test)
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from _bench import ROOT, cpu_line, peak_rss_mb, run_worker

SIZES = {"full": (5_000, 13_677, 500), "quick": (320, 800, 50)}  # training pairs, database, validation
FAMILIES = ("sgrn", "djsrh")
TAGS, PER_ROW, BITS = 1386, 4.6, 64


def synthetic(n_train: int, n_database: int, n_validation: int, seed: int = 0):
    from sgrn.files.featurefile import Features

    rng = np.random.default_rng(seed)
    image = np.maximum(rng.normal(size=(n_database, 4096)), 0).astype(np.float32)
    text = (rng.random((n_database, TAGS)) < PER_ROW / TAGS).astype(np.float32)
    labels = (rng.random((n_database, 24)) < 0.15).astype(np.uint8)
    order = rng.permutation(n_database)
    split = {"train": np.sort(order[:n_train]), "database": np.arange(n_database),
             "validation": np.sort(order[n_train:n_train + n_validation]), "query": order[:0]}
    return Features(image=image, text=text, labels=labels, split=split, dataset="synthetic")


def worker(path: str, size: str, epochs: int, threads: int) -> dict:
    import sgrn.training.train
    from sgrn.settings.hyperparams import method_config
    from sgrn.settings.params import load_params
    from sgrn.training.train import TrainConfig, train

    feats = synthetic(*SIZES[size])
    rule_says = sgrn.training.train.use_sparse_text
    sgrn.training.train.use_sparse_text = lambda *args: path == "sparse"
    validate_seconds: list[float] = []
    validate = sgrn.training.train.validate

    def timed_validate(*args):
        start = time.perf_counter()
        result = validate(*args)
        validate_seconds.append(time.perf_counter() - start)
        return result

    sgrn.training.train.validate = timed_validate
    params = load_params(str(ROOT / "params.yaml"))
    fields = TrainConfig.__dataclass_fields__
    cfg = TrainConfig(**{**{k: v for k, v in params["train"].items() if k in fields}, "epochs": epochs,
                         "validate_every": 1, "num_threads": threads, "device": "cpu", "mixed_precision": False})
    out = {"path": path, "families": {}}
    for family in FAMILIES:
        name, hyper = method_config(params, family, "synthetic")
        records: list[dict] = []
        cpu = [time.process_time()]  # one thread: the CPU time of an epoch is its time on a quiet core
        validate_seconds.clear()
        train(feats, name, hyper, BITS, 0, cfg,
              on_epoch=lambda e, r: (records.append(r), cpu.append(time.process_time())))
        out["families"][family] = {
            "train_s": [r["epoch_seconds"] for r in records], "validate_s": list(validate_seconds),
            "cpu_s": np.diff(cpu).tolist(),
            "records": [{k: v for k, v in r.items() if k != "epoch_seconds"} for r in records]}
    import torch

    out["rule_picks_sparse"] = rule_says(torch.from_numpy(feats.rows("text", feats.split["train"])),
                                         torch.device("cpu"), False, cfg.momentum)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def largest_relative_difference(got: list[dict], want: list[dict]) -> tuple[float, str]:
    """The largest relative difference of a record's value between two runs, and its name."""
    return max((abs(x[k] - y[k]) / max(abs(y[k]), 1e-12), k) for x, y in zip(got, want, strict=True) for k in y)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few hundred rows, one epoch (smoke test)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per run (default 3; quick: 1)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--worker", choices=("dense", "sparse"), help=argparse.SUPPRESS)
    p.add_argument("--size", choices=sorted(SIZES), default="full", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    size = "quick" if args.quick else args.size
    epochs = args.epochs or (1 if size == "quick" else 3)
    if args.worker:
        print(json.dumps(worker(args.worker, size, epochs, args.threads)))
        return 0

    n_train, n_database, n_validation = SIZES[size]
    print(f"an epoch (training + validation), {n_train:,} training pairs, {n_database:,} database items, "
          f"{n_validation} validation queries, {TAGS}-d tags with {PER_ROW} per row, batch 32, {BITS} bits, "
          f"{epochs} epoch(s) per run, fastest shown; {cpu_line(args.threads)}")
    common = ["--size", size, "--epochs", str(epochs), "--threads", str(args.threads)]
    runs = {path: run_worker("bench_sparse_text.py", path, common, args.threads) for path in ("dense", "sparse")}
    print(f"  the rule picks the sparse path for this text: {runs['sparse']['rule_picks_sparse']}")
    print(f"  {'method':<8}{'path':<8}{'train s':>9}{'validate s':>12}{'epoch s':>9}{'epoch CPU s':>13}")
    worst = 0.0
    for family in FAMILIES:
        best, best_cpu = {}, {}
        for path, run in runs.items():
            r = run["families"][family]
            epoch = [t + v for t, v in zip(r["train_s"], r["validate_s"], strict=True)]
            i = int(np.argmin(epoch))
            best[path], best_cpu[path] = epoch[i], min(r["cpu_s"][1:] or r["cpu_s"])
            print(f"  {family:<8}{path:<8}{r['train_s'][i]:9.3f}{r['validate_s'][i]:12.3f}{epoch[i]:9.3f}"
                  f"{best_cpu[path]:13.3f}")
        difference, worst_key = largest_relative_difference(runs["sparse"]["families"][family]["records"],
                                                 runs["dense"]["families"][family]["records"])
        worst = max(worst, difference)
        print(f"  {family:<8}sparse is {best['dense'] / best['sparse']:.2f}x the speed of dense in wall time, "
              f"{best_cpu['dense'] / best_cpu['sparse']:.2f}x in CPU time (target: 3x); losses and validation MAP "
              f"differ by at most {difference:.1e} (relative, {worst_key})")
    tolerance = 1e-4 if size == "quick" else 1e-2
    verdict = f"agree to {tolerance:g}" if worst <= tolerance else f"DIFFER by more than {tolerance:g}"
    print(f"  dense and sparse records {verdict}")
    return 0 if worst <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
