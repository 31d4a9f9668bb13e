"""DVC experiments side by side in a terminal: one column per experiment, one row per value.

    python -m sgrn.workflow.experiments        # the workspace, HEAD and HEAD's experiments
    python -m sgrn.workflow.experiments -A     # any option of `dvc exp show` passes through (-A: all commits)

Rows: the params that differ between the experiments shown, and MAP@all per dataset, method
and code length (results/summary.json, written by the report step; shown even where equal).
`dvc exp show` itself gives one row per experiment and one column per value, which with every
method and code length is far wider than a terminal.
"""
from __future__ import annotations

import io
import re
import subprocess
import sys

import pandas as pd

SUMMARY_KEY = re.compile(r"[^.]+\.[^.]+\.b[0-9]+$")  # results/summary.json: dataset.method.b{bits}
NO_DVC = ("sgrn.workflow.experiments: no `dvc` command on PATH; activate the project's environment first "
          "(source .venv/bin/activate), or install it with `make install`")
NO_EXPERIMENTS = ("sgrn.workflow.experiments: no DVC experiments to compare yet; run one first, e.g. "
                  "`dvc exp run -S train.epochs=3` (README.md, \"Comparing experiments\")")
SHOW = [
    "dvc", "exp", "show", "--csv", "--only-changed",
    # timestamps and tree columns, dependency hashes (paths), results/metrics.json's detailed metrics
    "--drop", r"(Created|typ|parent)$|.*/|.*_map",
    # results/summary.json's keys: kept although --only-changed would hide them
    "--keep", SUMMARY_KEY.pattern,
]


class NoExperiments(Exception):
    """`dvc exp show` listed no experiment, only the workspace and commits."""


def side_by_side(csv_text: str) -> pd.DataFrame:
    """`dvc exp show --csv` output transposed: values as rows, experiments as columns."""
    table = pd.read_csv(io.StringIO(csv_text), dtype=str)
    if "Experiment" not in table or table["Experiment"].isna().all():
        raise NoExperiments  # --only-changed drops the column when no row has a name
    names = table["Experiment"].fillna(table["rev"])  # workspace and branch rows have no name
    table = table.drop(columns=["Experiment", "rev"]).set_axis(names, axis=0).T
    params_first = sorted(table.index, key=lambda row: SUMMARY_KEY.match(row) is not None)  # a stable sort
    return table.loc[params_first].rename_axis(index=None, columns=None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        done = subprocess.run([*SHOW, *argv], capture_output=True, text=True)
    except FileNotFoundError:
        print(NO_DVC, file=sys.stderr)
        return 2
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    try:
        table = side_by_side(done.stdout)
    except NoExperiments:
        print(NO_EXPERIMENTS, file=sys.stderr)
        return 1
    print(table.to_string(na_rep="-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
