"""The benchmarks at their quick sizes: each runs, prints its figures and its check passes.

Timings on a shared CI machine say little, so only the correctness checks are asserted
(results identical to the references); the figures themselves are in docs/evaluation.md.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def bench(script: str, *args: str, timeout: int = 600) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_search_benchmark_quick():
    out = bench("bench_search.py", "--repeat", "1")
    assert "results agree" in out
    for name in ("ours", "faiss", "argsort"):
        assert f"  {name} " in out


def test_metrics_benchmark_quick():
    out = bench("bench_metrics.py", "--repeat", "1")
    assert "agree to 1e-9" in out and "speed-up of ours over the argsort reference" in out


def test_neighbour_precision_quick():
    """Mutual neighbourhoods are a subset of the union: never more edges per row."""
    out = bench("neighbour_precision.py", "--synthetic", "300", "--batches", "5")
    for modality in ("image", "text"):
        cells = re.search(rf"^\| {modality} \| (.+) \|$", out, re.M).group(1).split(" | ")
        edges = [float(re.search(r"\(([\d.]+)\)", cell).group(1)) for cell in cells]
        assert edges[0] == 31.0 and edges[2] <= edges[1] <= edges[0], out


@pytest.mark.slow
def test_channels_last_benchmark_quick():
    out = bench("bench_channels_last.py", "--repeat", "1")
    assert "channels-last is" in out and "features agree" in out


@pytest.mark.slow
def test_epoch_benchmark_quick():
    out = bench("bench_epoch.py", "--epochs", "2")
    assert "per epoch" in out and "the speed of the plain loop" in out


@pytest.mark.slow
def test_gpu_table_benchmark_tiny():
    out = bench("bench_gpu_table.py", "--tiny", "--cores", "2", "--slots", "2", timeout=1200)
    assert "wall time of the whole table" in out and "estimate from one CPU epoch" in out
    for kind in ("extract", "train", "encode", "report"):
        assert re.search(rf"^  {kind} +1 ", out, re.M), out
    assert "epoch at batch 32, 1,100 pairs, SGRN 64 bits: CPU (2 threads)" in out


@pytest.mark.slow
def test_demo_benchmark_quick():
    out = bench("bench_demo.py", "--quick", "--cores", "2", timeout=1200)
    assert "as shipped (train.num_threads 1)" in out and "reference (train.num_threads 2" in out
    # both runs train both methods; the reference reuses download, prepare and extract
    assert len(re.findall(r"^  train +2 ", out, re.M)) == 2, out
    assert len(re.findall(r"^  extract +1 ", out, re.M)) == 1, out
    assert "model steps as shipped / reference" in out
