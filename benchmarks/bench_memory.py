#!/usr/bin/env python
"""Peak memory of the data and model steps on a NUS-WIDE-sized synthetic dataset.

Writes a MATLAB v7.3 file with 190,000 pairs (4,096-d float32 image features, 3.1 GB;
1,000-d tag bag of words; 10 labels), then runs the steps as the drivers do (command lines
taken from dvc.yaml) in a scratch project folder: download (mat source) -> prepare ->
extract (streaming copy plus train-split standardisation of the 3.1 GB matrix) -> train
(1 epoch) -> encode. For each step: wall time and the peak resident memory of its whole
process tree (sampled every 0.1 s). Target: every step under 4 GB.

    python benchmarks/bench_memory.py [--n 190000] [--dir /tmp/sgrn-bench-memory] [--keep]
    python benchmarks/bench_memory.py --quick     # 2,000 pairs: the smoke test

Needs about 7 GB of free disk in --dir.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
DATASET, METHOD, BITS, SEED = "synth", "djsrh", 64, 0
LIMIT_GB = 4.0


def write_mat(path: Path, n: int, d_image=4096, d_text=1000, n_labels=10, block=8192) -> None:
    """A v7.3 .mat file as MATLAB writes an (n, d) matrix: HDF5 dataset of shape (d, n)."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w", userblock_size=512) as f:
        img = f.create_dataset("IAll", shape=(d_image, n), dtype="float32", chunks=(d_image, min(64, n)))
        txt = f.create_dataset("YAll", shape=(d_text, n), dtype="uint8", chunks=(d_text, min(1024, n)))
        lab = f.create_dataset("LAll", shape=(n_labels, n), dtype="uint8", chunks=(n_labels, min(4096, n)))
        for s in range(0, n, block):
            e = min(n, s + block)
            x = rng.standard_normal((e - s, d_image), dtype=np.float32)
            np.maximum(x, 0, out=x)
            img[:, s:e] = x.T
            t = (rng.random((e - s, d_text)) < 0.006).astype(np.uint8)
            t[np.arange(e - s), rng.integers(0, d_text, e - s)] = 1
            txt[:, s:e] = t.T
            lab_block = (rng.random((e - s, n_labels)) < 0.2).astype(np.uint8)
            lab_block[np.arange(e - s), rng.integers(0, n_labels, e - s)] = 1
            lab[:, s:e] = lab_block.T
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: bench HDF5 schema 1.00 .")


def write_params(root: Path, mat: Path, scale: float = 1.0) -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params.update(datasets=[DATASET], methods=[METHOD], bits=[BITS], seeds=[SEED])
    params["download"][DATASET] = {"source": "mat", "path": str(mat)}  # the others stay: per_dataset names them
    params["prepare"][DATASET] = {"split": {"kind": "per_label", "query_per_label": round(200 * scale),
                                            "train_per_label": round(500 * scale), "first_label_scale": 1,
                                            "n_validation": round(500 * scale)}}
    params["extract"].update(standardise=True)
    params["train"].update(epochs=1, validate_every=1)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def commands() -> list[tuple[str, str]]:
    """The step command lines of dvc.yaml for one dataset/method/bits/seed (candidate config 0)."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    subst = {"${item}": DATASET, "${item.dataset}": DATASET, "${item.method}": METHOD,
             "${item.config}": "0", "${item.bits}": str(BITS), "${item.seed}": str(SEED)}
    out = []
    for name in ("download", "prepare", "extract", "train", "encode"):
        stage = stages[name if name in stages else f"{name}-{METHOD}"]  # train stages are per method
        cmd = stage.get("do", stage)["cmd"]
        for key, value in subst.items():
            cmd = cmd.replace(key, value)
        out.append((name, cmd.replace("python scripts/", f"{sys.executable} {REPO}/scripts/")))
    return out


def peak_rss(cmd: str, cwd: Path) -> tuple[int, float, float]:
    """Exit status, wall seconds and peak RSS (GB) summed over the process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=True, cwd=cwd)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [root] + root.children(recursive=True)
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, total)
        except psutil.Error:
            pass
        time.sleep(0.1)
    return proc.returncode, time.perf_counter() - start, peak / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=190_000)
    p.add_argument("--quick", action="store_true",
                   help="2,000 pairs and a split a tenth as large: a smoke test of the steps' command lines")
    p.add_argument("--dir", default=None, help="scratch folder (default: a new temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--steps", default="download,prepare,extract,train,encode",
                   help="comma-separated steps to measure (each needs the ones before it)")
    args = p.parse_args()
    scale = 1.0
    if args.quick:
        args.n, scale = 2000, 0.1
    root = Path(args.dir or tempfile.mkdtemp(prefix="sgrn-bench-memory-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        mat = root / "synth.mat"
        t = time.perf_counter()
        if not mat.exists():
            write_mat(mat, args.n)
        print(f"{args.n} pairs, {mat.stat().st_size / 1e9:.2f} GB .mat written in "
              f"{time.perf_counter() - t:.0f} s ({root})", flush=True)
        write_params(root, mat, scale)
        print("| step | wall (s) | peak RSS of the process tree (GB) | under 4 GB |")
        print("|---|---|---|---|")
        wanted = args.steps.split(",")
        for name, cmd in commands():
            if name not in wanted:
                continue
            rc, wall, peak = peak_rss(cmd, root)
            print(f"| {name} | {wall:.0f} | {peak:.2f} | {'yes' if peak < LIMIT_GB else 'NO'}"
                  f"{'' if rc == 0 else f' (exit {rc})'} |", flush=True)
            if rc != 0:
                print(f"{name} failed; log in {root}/logs", flush=True)
                return 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
