#!/usr/bin/env python
"""Start-up of each step script: the wall time of `python scripts/STEP.py --help`, beside
`python -c pass` and `python -c "import torch"` in the same run.

A step's module-level imports all run before its argument parser, and its first line of work
(main) comes right after the parser, so `--help` times how long a step takes to reach its
work. Targets (issue 32): at most 1 s, or torch's own import time plus 0.5 s for the steps that
run a network (extract, train, encode). Also printed: which heavy libraries each step loads
before its work (from `python -X importtime`): dvclive, matplotlib, numba and pandas belong
to the code that uses them and should not appear here.

    python benchmarks/bench_startup.py              # median of 5 runs each
    python benchmarks/bench_startup.py --quick      # one run each: the smoke test
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _bench import ROOT, cpu_line, thread_env

NETWORK_STEPS = {"extract", "train", "encode"}
HEAVY = ("torch", "torchvision", "dvclive", "matplotlib", "numba", "pandas", "sklearn", "scipy", "jsonschema",
         "h5py")
LAZY = ("dvclive", "matplotlib", "numba", "pandas")


def wall(cmd: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=thread_env(1), capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return times


def loaded(script: str) -> list[str]:
    """The HEAVY libraries imported before the step's work."""
    proc = subprocess.run([sys.executable, "-X", "importtime", script, "--help"], cwd=ROOT,
                          env=thread_env(1), capture_output=True, text=True)
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
             if line.startswith("import time:")}
    return [lib for lib in HEAVY if lib in names]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="runs of each command (the median is shown)")
    p.add_argument("--quick", action="store_true", help="one run of each command")
    args = p.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    py = sys.executable
    ref_pass = statistics.median(wall([py, "-c", "pass"], repeat))
    ref_torch = statistics.median(wall([py, "-c", "import torch"], repeat))
    print(f"step start-up (`--help`), median of {repeat}; {cpu_line(1)}")
    for name, seconds in (("python -c pass", ref_pass), ("python -c 'import torch'", ref_torch)):
        print(f"  {name:<28} {seconds:6.2f} s")
    ok = True
    for script in sorted((ROOT / "scripts").glob("*.py")):
        step = script.stem
        median = statistics.median(wall([py, str(script), "--help"], repeat))
        target = ref_torch + 0.5 if step in NETWORK_STEPS else 1.0
        libs = loaded(str(script))
        early = [lib for lib in LAZY if lib in libs]
        ok &= median <= target and not early
        print(f"  scripts/{step + '.py':<20} {median:6.2f} s   target {target:5.2f} s: "
              f"{'yes' if median <= target else 'NO'}   loads {', '.join(libs) or '-'}"
              + (f"   (should not load {', '.join(early)} before its work)" if early else ""))
    print("all within target" if ok else "SOME OVER TARGET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
