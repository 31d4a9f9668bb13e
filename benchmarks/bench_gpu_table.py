#!/usr/bin/env python
"""The whole MIRFlickr-size table through the workflow on one machine, with its GPU shared.

A synthetic dataset of MIRFlickr-25K's shape: 20,015 pairs of 224x224 JPEGs (so extraction,
AlexNet fc7 4,096-d with random weights, is part of the run), a 1,386-tag vocabulary, 24
labels; MIRFlickr's split (2,000 queries, 5,000 training pairs). SGRN, DJSRH, JDSH and DGCPN
x 16/32/64/128 bits x 3 seeds x 80 epochs run through Snakemake in a temporary copy of the
project with its own params.yaml, `--resources gpu_slots=SLOTS` (README "Several runs on one
GPU"). Printed:

- wall time of the whole run, and per step kind: jobs, summed job time (Snakemake's
  benchmark TSVs for extract and train, its log's start/finish lines for the others) and the
  span from the first start to the last finish;
- GPU utilisation (nvidia-smi sampled every 0.5 s: mean over the run and over training);
- beside it, the same table estimated from one CPU epoch per method (2 threads, the same
  features): epochs x bits x seeds x epoch time, serial and spread over this machine's cores;
- the epoch at batch 32 (demo-shaped: 1,100 training pairs, SGRN 64 bits) on the GPU, eager
  and with CUDA graphs, against this machine's CPU with 2 threads;
- the graphed-vs-eager check: per-epoch losses of the same runs with train.cuda_graphs true
  and false, per method, must agree.

    python benchmarks/bench_gpu_table.py --slots 8      # the table (on a GPU machine)
    python benchmarks/bench_gpu_table.py --tiny         # smoke test on the CPU, under a minute
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import yaml
from _bench import run_worker
from _workflow import copy_project, fmt, job_times, run_snakemake, scratch_dir, step_rows

METHODS = ["sgrn", "djsrh", "jdsh", "dgcpn"]
DATASET = "synth"
SHAPES = {
    "mirflickr": dict(pairs=20_015, size=224, bits=[16, 32, 64, 128], seeds=[0, 1, 2], epochs=80,
                      methods=METHODS, query_per_label=80, train_per_label=200, n_validation=500),
    "tiny": dict(pairs=240, size=64, bits=[16], seeds=[0], epochs=1, methods=["sgrn"],
                 query_per_label=2, train_per_label=6, n_validation=20),
}
N_LABELS, N_TAGS = 24, 1386
STEP_KINDS = ["download", "prepare", "extract", "train", "encode", "evaluate", "report"]


# --------------------------------------------------------------------------- the dataset
def _write_images(args: tuple[Path, int, int, int]) -> None:
    from PIL import Image

    folder, start, stop, size = args
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        coarse = rng.integers(0, 256, size=(7, 7, 3), dtype=np.uint8)  # smooth blobs, JPEG-like
        img = Image.fromarray(coarse).resize((size, size), Image.BILINEAR)
        img.save(folder / f"im{i + 1}.jpg", format="JPEG", quality=90)


def write_dataset(out: Path, n: int, size: int, workers: int) -> None:
    """A list-format folder (README "Real datasets"): images/, all_*.txt, vocab.txt."""
    rng = np.random.default_rng(0)
    labels = (rng.random((n, N_LABELS)) < 0.12).astype(np.uint8)
    labels[np.arange(n), rng.integers(0, N_LABELS, n)] = 1          # every pair has a label
    vocab = [f"tag{j:04d}" for j in range(N_TAGS)]
    label_words = rng.integers(0, N_TAGS, size=(N_LABELS, 20))      # each label's usual tags
    rows = []
    for i in range(n):
        words = {int(w) for k in np.flatnonzero(labels[i]) for w in rng.choice(label_words[k], 3)}
        words |= {int(w) for w in rng.integers(0, N_TAGS, rng.integers(1, 6))}
        rows.append(",".join(vocab[w] for w in sorted(words)))
    (out / "images").mkdir(parents=True)
    (out / "all_imgs.txt").write_text("".join(f"images/im{i + 1}.jpg\n" for i in range(n)))
    (out / "all_tags.txt").write_text("\n".join(rows) + "\n")
    (out / "all_labels.txt").write_text("".join(" ".join(map(str, r)) + "\n" for r in labels))
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n")
    chunks = [(out / "images", s, min(n, s + 500), size) for s in range(0, n, 500)]
    with ProcessPoolExecutor(max(1, workers)) as pool:
        list(pool.map(_write_images, chunks))


# --------------------------------------------------------------------------- the project
def table_params(project: Path, data: Path, shape: dict, workers: int) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params.update(datasets=[DATASET], methods=shape["methods"], bits=shape["bits"], seeds=shape["seeds"])
    # the other datasets' entries stay: per_dataset keys name them
    params["download"][DATASET] = {"source": "local", "path": str(data)}
    params["prepare"][DATASET] = {"missing_images": "error", "split": {
        "kind": "per_label", "seed": 0, "query_per_label": shape["query_per_label"],
        "train_per_label": shape["train_per_label"], "first_label_scale": 2,
        "n_validation": shape["n_validation"]}}
    params["extract"].update(backbone="alexnet", weights="random", batch_size=128, workers=workers)
    params["train"].update(epochs=shape["epochs"])
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


# --------------------------------------------------------------------------- measuring the run
class GpuSampler:
    """nvidia-smi's utilisation.gpu every 0.5 s, with the time of each sample."""

    def __init__(self):
        self.samples: list[tuple[float, float]] = []
        self.proc = None
        if shutil.which("nvidia-smi"):
            self.proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                 "-lms", "500"], stdout=subprocess.PIPE, text=True)
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.samples.append((time.time(), float(line.split(",")[0])))
            except ValueError:
                pass

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()

    def mean(self, start: float = 0.0, stop: float = float("inf")) -> float | None:
        values = [u for t, u in self.samples if start <= t <= stop]
        return statistics.fmean(values) if values else None


def run_table(project: Path, cores: int, slots: int) -> tuple[float, dict, GpuSampler]:
    sampler = GpuSampler()
    try:
        wall, log = run_snakemake(project, "--cores", str(cores), "--resources", f"gpu_slots={slots}")
    finally:
        sampler.stop()
    return wall, job_times(log), sampler


# --------------------------------------------------------------------------- epoch workers
def _features(args):
    if args.features:
        from sgrn.files.featurefile import load_features

        return load_features(args.features)
    from synthetic import synthetic_features

    return synthetic_features(1100)


def worker_epoch(args) -> dict:
    """Epoch times of one method on one device (the first epoch, warm-up, left out)."""
    from sgrn.hparams import resolve_method_params
    from sgrn.training.train import TrainConfig, train

    feats = _features(args)
    cfg = TrainConfig(epochs=args.epochs, device=args.device, num_threads=args.threads,
                      validate_every=10**6, cuda_graphs=args.graphs == "on")
    hyper = resolve_method_params(args.method, {}, batch_size=cfg.batch_size)
    records = []
    train(feats, args.method, hyper, args.bits, 0, cfg, on_epoch=lambda e, r: records.append(r))
    times = [r["epoch_seconds"] for r in records]
    return {"epoch_s": statistics.median(times[1:] or times), "losses": [r["loss"] for r in records]}


def epoch(method, device, graphs, epochs, bits=64, features=None, threads=2) -> dict:
    extra = ["--method", method, "--device", device, "--graphs", graphs, "--epochs", str(epochs),
             "--bits", str(bits), "--threads", str(threads)] + (["--features", str(features)] if features else [])
    return run_worker("bench_gpu_table.py", "epoch", extra, threads)


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="a few hundred pairs, 1 epoch: a CPU smoke test")
    p.add_argument("--slots", type=int, default=8, help="train jobs sharing the GPU (--resources gpu_slots)")
    p.add_argument("--cores", type=int, default=os.cpu_count())
    p.add_argument("--keep", action="store_true", help="keep the temporary project (its path is printed)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    for name, default in (("method", "sgrn"), ("device", "cpu"), ("graphs", "off"), ("features", None)):
        p.add_argument(f"--{name}", default=default, help=argparse.SUPPRESS)
    for name, default in (("epochs", 3), ("bits", 64), ("threads", 2)):
        p.add_argument(f"--{name}", type=int, default=default, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker_epoch(args)))
        return 0
    if args.slots <= 0:
        p.error(f"--slots {args.slots}: the GPU needs at least one slot")

    import torch

    shape = SHAPES["tiny" if args.tiny else "mirflickr"]
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    with scratch_dir("sgrn-gpu-table-", keep=args.keep) as tmp:
        print(f"device: {gpu or 'no CUDA device (CPU only)'}; {args.cores} cores; "
              f"{args.slots} train jobs per GPU")
        t0 = time.time()
        write_dataset(tmp / "data", shape["pairs"], shape["size"], args.cores)
        print(f"synthetic data: {shape['pairs']:,} pairs, {shape['size']}x{shape['size']} JPEGs, "
              f"{N_TAGS} tags, {N_LABELS} labels, written in {time.time() - t0:.1f} s (not timed below)")
        project = copy_project(tmp / "project")
        table_params(project, tmp / "data", shape, workers=min(8, max(1, args.cores // 2)))
        n_jobs = len(shape["methods"]) * len(shape["bits"]) * len(shape["seeds"])
        print(f"table: {', '.join(shape['methods'])} x {shape['bits']} bits x {len(shape['seeds'])} "
              f"seeds x {shape['epochs']} epochs = {n_jobs} train jobs")
        wall, spans, sampler = run_table(project, args.cores, args.slots)

        print(f"\nwall time of the whole table: {fmt(wall)}  (extraction included)")
        print(f"  {'step':<9}{'jobs':>5}   {'summed job time':>15}   {'span':>10}")
        for kind, jobs, summed, span in step_rows(project, spans, STEP_KINDS):
            print(f"  {kind:<9}{jobs:>5}   {fmt(summed):>15}   {fmt(span):>10}")
        train_spans = spans.get("train", [])
        if sampler.samples:
            first = min(a for a, _ in train_spans) if train_spans else 0
            last = max(b for _, b in train_spans) if train_spans else float("inf")
            print(f"GPU utilisation (nvidia-smi): {sampler.mean():.0f}% over the run, "
                  f"{sampler.mean(first, last) or 0:.0f}% while training")
        else:
            print("GPU utilisation: n/a (no nvidia-smi)")

        features = project / "results" / DATASET / "features.h5"
        cpu = {m: epoch(m, "cpu", "off", 2, features=features)["epoch_s"] for m in shape["methods"]}
        per_model = {m: cpu[m] * shape["epochs"] for m in shape["methods"]}
        serial = sum(per_model.values()) * len(shape["bits"]) * len(shape["seeds"])
        print(f"\nestimate from one CPU epoch (2 threads, {', '.join(f'{m} {s:.2f} s' for m, s in cpu.items())}):"
              f" training alone {fmt(serial)} serial, {fmt(serial / max(1, args.cores // 2))} on "
              f"{args.cores // 2} x 2 threads; measured train span above: "
              f"{fmt(max(b for _, b in train_spans) - min(a for a, _ in train_spans)) if train_spans else 'n/a'}")

        demo_cpu = epoch("sgrn", "cpu", "off", 2 if args.tiny else 4)["epoch_s"]
        print(f"\nepoch at batch 32, 1,100 pairs, SGRN 64 bits: CPU (2 threads) {demo_cpu * 1000:8.1f} ms")
        if gpu:
            eager = epoch("sgrn", "cuda", "off", 6)["epoch_s"]
            graphed = epoch("sgrn", "cuda", "on", 6)["epoch_s"]
            print(f"  {gpu}: eager {eager * 1000:8.1f} ms ({eager / demo_cpu:.2f}x the CPU), "
                  f"CUDA graphs {graphed * 1000:8.1f} ms ({graphed / demo_cpu:.2f}x the CPU; target <= 0.25x)")
            print("graphed vs eager, per-epoch losses (3 epochs, 1,100 pairs, 64 bits):")
            for m in METHODS:
                a = epoch(m, "cuda", "on", 3)["losses"]
                b = epoch(m, "cuda", "off", 3)["losses"]
                worst = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b))
                print(f"  {m:<6} largest relative difference {worst:.1e}  "
                      + ("agree" if worst <= 1e-4 else "DIFFER"))
        else:
            print("  no CUDA device: GPU epoch and graphed-vs-eager check not run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
