#!/usr/bin/env python
"""`sgrn search` timed as a person runs it: one process per query, beside `python -c pass` and
`python -c "import torch"` in the same run.

A scratch copy of the project trains one run of the demo as shipped (SGRN, 64 bits, seed 0:
download, prepare, extract, train, encode through Snakemake), unless --root names a project
that has it. Each query is run --repeat times as `python -m sgrn search ...`; the median wall
time is printed beside its target (issue 32): a tag query and a --code query at most 1.5 s,
an image query at most 2.5 s, a refused query (no known tag, unknown run) at most 1 s.

    python benchmarks/bench_search_command.py                  # builds the demo run (a few minutes)
    python benchmarks/bench_search_command.py --root .         # the run of `make demo`
    python benchmarks/bench_search_command.py --quick          # the tiny demo at 16 bits, 2 runs each
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml
from _bench import cpu_line, thread_env
from _workflow import copy_project, run_snakemake, scratch_dir

from sgrn.workflow.pipeline import path, run_folder

TINY = {"download": {"n_pairs": 300, "image_size": 64},  # the tiny demo of the tests (tests/workflow_utils.py)
        "prepare": {"min_tag_count": 3, "split": {"seed": 0, "query_per_label": 3, "train_per_label": 10,
                                                  "first_label_scale": 2, "n_validation": 20}},
        "train": {"epochs": 2, "text_hidden": 256}}


def build_demo(project: Path, bits: int, quick: bool) -> None:
    """One SGRN run of the demo in a scratch copy, through Snakemake."""
    copy_project(project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params.update(methods=["sgrn"], bits=[bits], seeds=[0], configs=[0])
    if quick:
        params["download"]["demo"].update(TINY["download"])
        params["prepare"]["demo"].update(TINY["prepare"])
        params["train"].update(TINY["train"])
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    target = path("codes", dataset="demo", method="sgrn", config=0, bits=bits, seed=0)
    run_snakemake(project, "--cores", "2", target)


def timed(cmd: list[str], cwd: Path, repeat: int, expect_rc: int, threads: int) -> tuple[list[float], str]:
    times, out = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=thread_env(threads), capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != expect_rc:
            raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}, expected {expect_rc}\n"
                             f"{proc.stderr[-3000:]}")
        out = proc.stdout
    return times, out


def queries(root: Path, run: Path, bits: int) -> list[tuple[str, list[str], int, float | None]]:
    """(name, sgrn search arguments, exit status, target seconds) of each timed query."""
    import h5py

    with h5py.File(root / run / "codes.h5") as f:
        code = f["database/image"][0].tobytes().hex()
    with h5py.File(root / path("pairs", dataset="demo")) as p:
        vocab = [v.decode() for v in p["vocab"][()]]
        image = p["image_paths"][0].decode()
        image_root = root / p.attrs["image_root"]
    tags = " ".join(vocab[:2])
    return [
        ("tag query", ["--run", str(run), "--tags", tags], 0, 1.5),
        ("--code query", ["--run", str(run), "--code", code, "--target", "image"], 0, 1.5),
        ("image query", ["--run", str(run), "--image", str(image_root / image)], 0, 2.5),
        ("refused: no known tag", ["--run", str(run), "--tags", "nosuchtag"], 2, 1.0),
        ("refused: unknown run", ["--run", str(run.parent / "s99"), "--tags", tags], 2, 1.0),
    ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", help="project folder holding the demo run (default: build one)")
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--repeat", type=int, default=5, help="runs of each command (the median is shown)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="the tiny demo at 16 bits, 2 runs each")
    p.add_argument("--keep", action="store_true", help="keep the scratch project")
    args = p.parse_args(argv)
    if args.quick:
        args.bits, args.repeat = 16, min(args.repeat, 2)
    with scratch_dir("sgrn-bench-search-", args.keep) as tmp:
        root = Path(args.root).resolve() if args.root else tmp / "project"
        run = run_folder("demo", "sgrn", 0, args.bits, 0)
        if not (root / run / "codes.h5").is_file():
            start = time.perf_counter()
            build_demo(root, args.bits, args.quick)
            print(f"demo run {run} built in {time.perf_counter() - start:.0f} s", flush=True)
        py = [sys.executable]
        rows = [("python -c pass", *timed(py + ["-c", "pass"], root, args.repeat, 0, args.threads), None),
                ("python -c 'import torch'",
                 *timed(py + ["-c", "import torch"], root, args.repeat, 0, args.threads), None)]
        results = {}
        for name, q, rc, target in queries(root, run, args.bits):
            cmd = py + ["-m", "sgrn", "search", *q, "--json", "--threads", str(args.threads)]
            times, out = timed(cmd, root, args.repeat, rc, args.threads)
            rows.append((name, times, out, target))
            if rc == 0:
                results[name] = [(r["id"], r["distance"]) for r in json.loads(out)["results"]]
    print(f"`sgrn search` as a command, {run}, median of {args.repeat}; {cpu_line(args.threads)}")
    ok = True
    for name, times, _, target in rows:
        median = statistics.median(times)
        verdict = ""
        if target is not None:
            verdict = f"   target {target:.1f} s: {'yes' if median <= target else 'NO'}"
            ok &= median <= target
        print(f"  {name:<26} median {median:6.2f} s   min {min(times):6.2f} s{verdict}")
    print(f"  each answered query returned {', '.join(f'{n}: {len(r)}' for n, r in results.items())} results")
    print("all within target" if ok else "SOME OVER TARGET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
