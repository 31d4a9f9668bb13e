"""Shared plumbing of the benchmarks that time the workflow itself: a clean copy of the
project, one timed Snakemake run, and the time of each step kind from its log."""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from _bench import ROOT

STEP_KINDS = ["download", "prepare", "extract", "train", "encode", "evaluate", "curves", "select",
              "report"]


@contextmanager
def scratch_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temporary folder for a benchmark's project copy: removed at the end unless `keep`
    (then its path is printed)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        if keep:
            print(f"\nkept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def copy_project(dest: Path) -> Path:
    """Tracked and untracked-but-not-ignored files of this checkout (no results, no caches)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for rel in files:
        src = ROOT / rel
        if not (src.is_file() or src.is_symlink()):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            (dest / rel).symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dest / rel)
    return dest


def run_snakemake(project: Path, *args: str) -> tuple[float, str]:
    """(wall seconds, log) of `snakemake ARGS` in `project`, with this venv first on PATH.

    Exits with the log's tail when the workflow fails; the whole log is kept in the project."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    snakemake = str(Path(sys.executable).parent / "snakemake")
    start = time.time()
    proc = subprocess.run([snakemake, *args], cwd=project, env=env, capture_output=True, text=True)
    wall = time.time() - start
    log = proc.stdout + proc.stderr
    (project / "bench_snakemake.log").write_text(log)
    if proc.returncode != 0:
        sys.exit(f"the workflow failed ({proc.returncode}); log: {project / 'bench_snakemake.log'}\n"
                 + proc.stderr[-3000:])
    return wall, log


EVENT = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]\n(?:local)?rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)$"
                   r"|^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]\nFinished jobid: (\d+) \(Rule: (\w+)\)", re.M)


def job_times(log: str) -> dict[str, list[tuple[float, float]]]:
    """rule -> [(start, finish)] in epoch seconds, from Snakemake's output (1 s resolution)."""
    def stamp(text):
        return datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y").timestamp()

    started, spans = {}, {}
    for m in EVENT.finditer(log):
        if m[1]:
            started[m[3]] = (m[2], stamp(m[1]))
        elif m[5] in started:
            rule, start = started.pop(m[5])
            spans.setdefault(rule, []).append((start, stamp(m[4])))
    return spans


def benchmark_seconds(project: Path, rule: str) -> list[float]:
    """The s column of Snakemake's benchmark TSVs of `rule` (benchmarks/runs/<rule>/...)."""
    out = []
    for tsv in sorted((project / "benchmarks/runs" / rule).rglob("*.tsv")):
        with tsv.open() as f:
            out += [float(row["s"]) for row in csv.DictReader(f, delimiter="\t")]
    return out


def fmt(seconds: float) -> str:
    return f"{seconds / 60:6.1f} min" if seconds >= 120 else f"{seconds:6.1f} s  "


def step_rows(project: Path, spans: dict[str, list[tuple[float, float]]],
              kinds: list[str] = STEP_KINDS) -> list[tuple[str, int, float, float]]:
    """(step, jobs, summed job time, span from its first start to its last finish) per step
    kind that ran: job time from the benchmark TSVs where the rule writes them (extract,
    train), else from the log's start and finish lines."""
    rows = []
    for kind in kinds:
        jobs = spans.get(kind, [])
        if not jobs:
            continue
        measured = benchmark_seconds(project, kind) or [b - a for a, b in jobs]
        span = max(b for _, b in jobs) - min(a for a, _ in jobs)
        rows.append((kind, len(jobs), sum(measured), span))
    return rows
