"""The benchmarks at their quick sizes: each runs, prints its figures and its check passes.

Timings on a shared CI machine say little, so only the correctness checks are asserted
(results identical to the references); the figures themselves are in docs/evaluation.md.
Every script benchmarks/bench_*.py has a test here (the last test checks that).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def bench(script: str, *args: str, timeout: int = 600) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=BENCH.parent)
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


def test_explore_settings_shows_validation_only(tmp_path):
    """The exploration tool prints the validation MAP it selects on and no test-set number."""
    (tmp_path / "settings.json").write_text(json.dumps([["sgrn", "sgrn", {}], ["djsrh-b", "djsrh", {"beta": 0.5}]]))
    out = bench("explore_settings.py", "--synthetic", "200", "--bits", "16", "--epochs", "1",
                "--settings", str(tmp_path / "settings.json"), "--out", str(tmp_path / "e.jsonl"),
                "--params", str(BENCH.parent / "params.yaml"))
    lines = (tmp_path / "e.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["name"] for r in rows] == ["sgrn", "djsrh-b"]
    assert all(0 < r["validation_map_all"] <= 1 for r in rows)
    assert all(set(r) == {"name", "bits", "seed", "validation_map_all", "epoch", "seconds"} for r in rows)
    assert len(re.findall(r"validation MAP@all 0\.\d{4}", out)) == 2, out
    for text in (out, "\n".join(lines)):
        assert not re.search(r"test|i2t|t2i|query", text, re.I), text


def test_explore_settings_refuses_validation_inside_training(tmp_path):
    import h5py
    import numpy as np

    from sgrn.files.h5 import mark_complete, stamp, write_split

    rng, n = np.random.default_rng(0), 60
    with h5py.File(tmp_path / "features.h5", "w") as f:
        f["image"], f["text"] = rng.random((n, 8), dtype=np.float32), (rng.random((n, 5)) < 0.5).astype(np.uint8)
        f["labels"] = (rng.random((n, 3)) < 0.5).astype(np.uint8)
        idx = np.arange(n)
        write_split(f.create_group("split"), {"query": idx[:10], "train": idx[10:], "database": idx[10:],
                                              "validation": idx[10:20]})
        stamp(f, "extract", "x", dataset="demo")
        mark_complete(f)
    (tmp_path / "settings.json").write_text(json.dumps([["sgrn", "sgrn", {}]]))
    proc = subprocess.run([sys.executable, str(BENCH / "explore_settings.py"), "--features",
                           str(tmp_path / "features.h5"), "--settings", str(tmp_path / "settings.json"),
                           "--out", str(tmp_path / "e.jsonl"), "--params", str(BENCH.parent / "params.yaml")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "features.h5: 10 validation queries are training pairs; expected disjoint sets" in proc.stderr


@pytest.mark.slow
def test_channels_last_benchmark_quick():
    out = bench("bench_channels_last.py", "--repeat", "1")
    assert "channels-last is" in out and "features agree" in out


@pytest.mark.slow
def test_epoch_benchmark_quick():
    out = bench("bench_epoch.py", "--size", "quick")
    assert "per epoch" in out and "the speed of the plain loop" in out


def test_sparse_text_benchmark_quick():
    out = bench("bench_sparse_text.py", "--quick")
    assert "dense and sparse records agree" in out


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


def test_startup_benchmark_quick():
    out = bench("bench_startup.py", "--quick")
    assert "python -c pass" in out and "python -c 'import torch'" in out
    for script in sorted((BENCH.parent / "scripts").glob("*.py")):
        assert re.search(rf"^  scripts/{script.name} +[\d.]+ s   target", out, re.M), out


@pytest.mark.slow
def test_search_command_benchmark_quick():
    out = bench("bench_search_command.py", "--quick", timeout=1200)
    for name in ("python -c pass", "tag query", "--code query", "image query", "refused: no known tag",
                 "refused: unknown run"):
        assert f"  {name} " in out, out
    assert "tag query: 10, --code query: 10, image query: 10 results" in out, out


@pytest.mark.slow
def test_serve_benchmark_quick():
    out = bench("bench_serve.py", "--quick", timeout=1200)
    assert "same ids and distances on both: True" in out, out
    assert "first query of the run" in out and "page tag query within 20 ms" in out


@pytest.mark.slow
def test_memory_benchmark_quick():
    out = bench("bench_memory.py", "--quick", timeout=1200)
    for step in ("download", "prepare", "extract", "train", "encode"):
        assert re.search(rf"^\| {step} \| \d+ \| [\d.]+ \| (yes|NO) \|$", out, re.M), out


@pytest.mark.slow
def test_checkpoint_benchmark_quick():
    out = bench("bench_checkpoint.py", "--quick")
    assert "without checkpointing" in out and "cost of one checkpoint" in out


@pytest.mark.slow
def test_extract_benchmark_quick():
    out = bench("bench_extract.py", "--quick")
    assert re.search(r"^\| alexnet \| 1 \|", out, re.M), out


@pytest.mark.slow
def test_train_methods_benchmark_quick():
    out = bench("bench_train_methods.py", "--quick")
    assert "training throughput" in out and re.search(r"^sgrn +[\d.]+", out, re.M), out


@pytest.mark.slow
def test_device_epoch_benchmark_quick():
    """The CPU path (the GPU one runs where there is a GPU); on a GPU machine --quick stays on the CPU."""
    out = bench("bench_device_epoch.py", "--quick")
    assert re.search(r"^cpu +[\d.]+ ms/epoch   validation MAP@all 0\.\d{4}$", out, re.M), out


SMOKE_TESTED = {"bench_search.py", "bench_metrics.py", "bench_channels_last.py", "bench_epoch.py",
                "bench_gpu_table.py", "bench_demo.py", "bench_startup.py", "bench_search_command.py",
                "bench_serve.py", "bench_memory.py", "bench_checkpoint.py", "bench_extract.py",
                "bench_train_methods.py", "bench_device_epoch.py", "bench_sparse_text.py"}


def test_every_benchmark_has_a_smoke_test():
    """A new bench_*.py needs a test above (and its name here), so that none breaks unseen."""
    assert {p.name for p in BENCH.glob("bench_*.py")} == SMOKE_TESTED
