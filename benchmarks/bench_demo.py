#!/usr/bin/env python
"""`make demo`'s workflow, timed: the demo as shipped against one train job on two threads.

Runs `snakemake --cores CORES` in a clean temporary copy of the project (tracked files only,
params.yaml as shipped), then, in the same copy, the reference: `train.num_threads: 2`, the
shipped value before, under which a train job takes two cores and the jobs train one at a time
on 2 cores. The reference reuses the first run's download, prepare and extract outputs, so the
two are compared on the model steps (first train start to the last job's finish). Printed:
wall time of the whole run (the README's target: at most 5 minutes after the install on 2
cores), jobs and time per step kind, and SGRN's MAP@all in both runs.

    python benchmarks/bench_demo.py             # the shipped demo (about 4 + 6 minutes on 2 cores)
    python benchmarks/bench_demo.py --quick     # SGRN and CCA-ITQ, 16 bits, 2 epochs: a smoke test
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml
from _workflow import copy_project, fmt, job_times, run_snakemake, scratch_dir, step_rows

from sgrn.workflow.pipeline import PATHS

REFERENCE_THREADS = 2


def set_params(project: Path, **changes) -> None:
    """Top-level keys replaced; `train`/`extract` given as dicts are merged into their section."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            params[key].update(value)
        else:
            params[key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def model_span(spans: dict[str, list[tuple[float, float]]]) -> float:
    """Seconds from the first train job's start to the last job's finish."""
    first = min(a for a, _ in spans["train"])
    return max(b for jobs in spans.values() for _, b in jobs) - first


def sgrn_map(project: Path) -> str:
    """SGRN's MAP@all per code length, from results/summary.json."""
    by_bits = json.loads((project / PATHS["summary"]).read_text())["demo"]["sgrn"]
    return ", ".join(f"{bits[1:]} bits {value:.3f}" for bits, value in by_bits.items())


def print_run(title: str, project: Path, wall: float, spans: dict) -> None:
    print(f"\n{title}: wall {fmt(wall)}, model steps {fmt(model_span(spans))}")
    print(f"  {'step':<9}{'jobs':>5}   {'summed job time':>15}   {'span':>10}")
    for kind, jobs, summed, span in step_rows(project, spans):
        print(f"  {kind:<9}{jobs:>5}   {fmt(summed):>15}   {fmt(span):>10}")
    print(f"  SGRN MAP@all: {sgrn_map(project)}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cores", type=int, default=os.cpu_count())
    p.add_argument("--quick", action="store_true", help="SGRN and CCA-ITQ at 16 bits, 2 epochs")
    p.add_argument("--keep", action="store_true", help="keep the temporary project (its path is printed)")
    args = p.parse_args(argv)

    with scratch_dir("sgrn-bench-demo-", keep=args.keep) as tmp:
        project = copy_project(tmp / "project")
        shipped = yaml.safe_load((project / "params.yaml").read_text())
        if args.quick:
            set_params(project, methods=["sgrn", "cca_itq"], bits=[16], train={"epochs": 2})
        params = yaml.safe_load((project / "params.yaml").read_text())
        print(f"demo: {', '.join(params['methods'])} x {params['bits']} bits x "
              f"{len(params['seeds'])} seed(s) x {params['train']['epochs']} epochs, "
              f"snakemake --cores {args.cores}; train.num_threads as shipped: "
              f"{shipped['train']['num_threads']}")

        wall, log = run_snakemake(project, "--cores", str(args.cores))
        ours = job_times(log)
        print_run(f"as shipped (train.num_threads {params['train']['num_threads']})", project, wall, ours)

        set_params(project, train={"num_threads": REFERENCE_THREADS})
        ref_wall, ref_log = run_snakemake(project, "--cores", str(args.cores))
        ref = job_times(ref_log)
        print_run(f"reference (train.num_threads {REFERENCE_THREADS}; download, prepare, extract reused)",
                  project, ref_wall, ref)

        ratio = model_span(ours) / model_span(ref)
        print(f"\nmodel steps as shipped / reference: {ratio:.2f}x; whole workflow as shipped "
              f"{fmt(wall).strip()} (target after the install on 2 cores: at most 5 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
