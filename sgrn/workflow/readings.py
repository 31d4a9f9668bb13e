"""The readings of a report: for each reference method (report.reference), dataset, code length
and direction, its rank among the methods by MAP@all and the methods it is above, level with
and below, under the star rule of the differences tables (sgrn/workflow/report.py: `starred`).

They are computed from the report's own CSVs ({dataset}.csv and {dataset}_differences.csv), so
that the same function reads the CSVs of an earlier report, kept in docs/results/, whose
intervals were over the test queries only (no ``interval`` column): there a difference counts
only when that interval and the seed-level paired t interval, recomputed from the CSV's mean,
std and seeds, both exclude 0 (``rule`` says which rule a row was read under).

Print or rewrite the readings of kept tables:
`python -m sgrn.workflow.readings docs/results/lengths demo docs/results/lengths/demo_selection.json`.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from sgrn.data.errors import DataError
from sgrn.workflow.report import DIRECTIONS, INTERVAL_KIND, INTERVAL_LEVEL, followers, t_interval

if TYPE_CHECKING:  # pandas is imported where a table is read or made: the report step starts without it
    import pandas as pd

RULES = {"current": f"{INTERVAL_LEVEL:.0%} over {INTERVAL_KIND} excludes 0",
         "earlier": f"{INTERVAL_LEVEL:.0%} over queries only and {INTERVAL_LEVEL:.0%} t over seeds both exclude 0"}
RELATIONS = ("above", "level", "below", "untested")


def seed_t_excludes_zero(mean: float, std: float, seeds: int, level: float = INTERVAL_LEVEL) -> bool:
    """Whether the paired t interval over ``seeds`` per-seed differences excludes 0, from their
    mean and population std (what the CSVs keep)."""
    if seeds < 2:
        return False
    # sample std / sqrt(n), from the population std
    low, high = t_interval(mean, std / math.sqrt(seeds - 1), seeds, level)
    return not low <= 0 <= high


def relation(row: pd.Series) -> tuple[str, str]:
    """(where the reference stands to row.method: above, level, below or untested; the rule)
    of one MAP@all row of a differences CSV (row.method minus row.reference)."""
    import pandas as pd

    if pd.isna(row["low"]):
        return "untested", "current"
    current = row.get("interval") == INTERVAL_KIND
    excludes = row["seeds"] >= 2 and not row["low"] <= 0 <= row["high"]
    if not current:
        excludes = excludes and seed_t_excludes_zero(row["mean"], row["std"], int(row["seeds"]))
    rule = "current" if current else "earlier"
    if not excludes:
        return "level", rule
    return ("below" if row["mean"] > 0 else "above"), rule


def readings(means: pd.DataFrame, differences: pd.DataFrame, ablations: set[str] = frozenset()) -> pd.DataFrame:
    """One row per dataset, reference, code length and direction: rank (1 = highest mean MAP@all;
    ties share the better rank) among the methods that are not ``ablations``, of how many, and
    the other methods (ablations included) it is above, level with and below, each list in the
    order of their mean, and the rule it was read under."""
    import pandas as pd

    test = differences[(differences["queries"] == "test") & differences["metric"].str.endswith("_map_all")]
    out = []
    for (dataset, reference, bits), rows in test.groupby(["dataset", "reference", "bits"], sort=False):
        for direction in DIRECTIONS:
            metric = f"{direction}_map_all"
            cell = means[(means.dataset == dataset) & (means.bits == bits) & (means.metric == metric)]
            mean_of = dict(zip(cell.method, cell["mean"]))
            if reference not in mean_of:
                raise DataError(f"{dataset}: the differences name {reference} at {bits} bits, "
                                f"the table of means has no {metric} of it")
            ranked = [mean for method, mean in mean_of.items() if method not in ablations]
            lists: dict[str, list[str]] = {name: [] for name in RELATIONS}
            rules = set()
            for _, row in rows[rows.metric == metric].iterrows():
                where, rule = relation(row)
                lists[where].append(row["method"])
                rules.add(rule)
            by_mean = {name: sorted(methods, key=lambda m: -mean_of.get(m, 0)) for name, methods in lists.items()}
            out.append({"dataset": dataset, "method": reference, "bits": int(bits), "direction": direction,
                        "rank": 1 + sum(mean > mean_of[reference] for mean in ranked), "of": len(ranked),
                        **{name: ", ".join(methods) for name, methods in by_mean.items()},
                        "rule": "; ".join(RULES[r] for r in sorted(rules))})
    return pd.DataFrame(out, columns=["dataset", "method", "bits", "direction", "rank", "of", *RELATIONS, "rule"])


def markdown(table: pd.DataFrame, dataset: str) -> str:
    lines = [f"# {dataset}: readings of each reference method", "",
             "Rank by mean MAP@all over seeds among the methods that are not ablations; the other "
             "methods it is above, level with and below under the rule of the differences tables "
             "(rule column).", "",
             "| method | bits | direction | rank | above | level with | below | untested | rule |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        lines.append(f"| {row.method} | {row.bits} | {DIRECTIONS[row.direction]} | {row.rank} of {row.of} | "
                     f"{row.above} | {row.level} | {row.below} | {row.untested} | {row.rule} |")
    return "\n".join(lines) + "\n"


def write_readings(tables: Path, dataset: str, ablations: set[str] = frozenset()) -> bool:
    """{dataset}_readings.csv and .md in ``tables`` from the report's CSVs there; False (nothing
    written) when the report has no differences (no report.reference)."""
    import pandas as pd

    differences = tables / f"{dataset}_differences.csv"
    if not differences.exists():
        return False
    table = readings(pd.read_csv(tables / f"{dataset}.csv"), pd.read_csv(differences).fillna({"low": math.nan}),
                     ablations)
    table.fillna("").to_csv(tables / f"{dataset}_readings.csv", index=False)
    (tables / f"{dataset}_readings.md").write_text(markdown(table.fillna(""), dataset))
    return True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tables", type=Path, help="folder of a report's CSVs")
    p.add_argument("dataset")
    p.add_argument("selection", type=Path, help="the select step's selection.json (names the ablations)")
    args = p.parse_args()
    if not write_readings(args.tables, args.dataset, followers(json.loads(args.selection.read_text()))):
        raise SystemExit(f"{args.tables}: no {args.dataset}_differences.csv")


if __name__ == "__main__":
    main()
