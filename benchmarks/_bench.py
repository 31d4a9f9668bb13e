"""Shared plumbing of the benchmarks: one process per contender, explicit thread counts.

numpy (BLAS), torch, faiss and numba each start their own thread pool; two pools in one
process slow each other down, so every contender of a comparison runs in its own process
(`run_worker`), with the same thread count given to every library it may load
(`thread_env`). Workers print one JSON line; the parent prints the figures side by side.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# queries x database items
SIZES = {
    "quick": (200, 5_000),        # CI smoke check
    "mirflickr": (2_000, 18_015),
    "nuswide": (2_000, 190_000),  # NUS-WIDE top-10 concepts, 186,577 pairs
    "large": (10_000, 1_000_000),
}


def thread_env(threads: int) -> dict[str, str]:
    """The environment of a worker: every thread pool it may start capped at ``threads``."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(HERE), env.get("PYTHONPATH")]))
    return env


def run_worker(script: str, name: str, args: list[str], threads: int, timeout: float = 3600) -> dict:
    """Run ``script --worker name ARGS`` in a fresh process; returns its JSON line."""
    cmd = [sys.executable, str(HERE / script), "--worker", name, *args]
    proc = subprocess.run(cmd, env=thread_env(threads), capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"worker {name} printed no result:\n{proc.stdout[-2000:]}")
    return json.loads(lines[-1])


def best_of(fn, repeat: int):
    """(last result, best wall time in seconds) of ``repeat`` calls."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_labels(n: int, n_labels: int, p: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, n_labels)) < p).astype(np.uint8)


def cpu_line(threads: int) -> str:
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{model or platform.processor()}, {os.cpu_count()} CPUs, {threads} threads per "
            f"contender, load average {load:.2f}, numpy {np.__version__}")
