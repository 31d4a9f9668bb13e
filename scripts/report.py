#!/usr/bin/env python
"""Step 8, report: results/metrics.json (means over seeds), results/summary.json (MAP@all per
method and code length), tables (Markdown, CSV), the readings of each reference method
({dataset}_readings.csv and .md) and plots, of the configurations chosen on validation
(selection.json)."""
import json
from pathlib import Path

from sgrn.cli import parser, run
from sgrn.files.atomic import atomic_path, write_json
from sgrn.settings.hyperparams import run_hyperparams
from sgrn.settings.params import load_params
from sgrn.workflow.evaluations import load_runs
from sgrn.workflow.readings import write_readings
from sgrn.workflow.report import (
    aggregate,
    describe_budget,
    describe_choices,
    followers,
    selected_runs,
    summary,
    write_plots,
    write_tables,
)


def changes(params: dict, selection: dict) -> dict:
    """(dataset, method, bits) -> the values the chosen candidate changes from the block as written."""
    out = {}
    for dataset, methods in selection.items():
        for method, per_bits in methods.items():
            _, written = run_hyperparams(params, method, dataset, 0)
            for key, choice in per_bits.items():
                _, values = run_hyperparams(params, method, dataset, choice["config"])
                out[(dataset, method, int(key[1:]))] = {k: v for k, v in values.items() if written.get(k) != v}
    return out


def main(args, log):
    params = load_params(args.params)
    selection = json.loads(Path(args.selection).read_text())
    runs = selected_runs(load_runs(Path(args.evaluations), params), selection)
    write_json(args.metrics, aggregate(runs))
    digits = params["report"]["digits"]
    write_json(args.summary, summary(runs, digits=digits))
    changed = changes(params, selection)
    choices = {dataset: describe_choices(selection, changed, dataset, digits)
               + describe_budget(selection, runs, params["train"], dataset) for dataset in selection}
    with atomic_path(args.tables) as tmp:
        write_tables(runs, tmp, digits=digits, reference=params["report"]["reference"], choices=choices)
        for dataset in dict.fromkeys(run["dataset"] for run in runs):
            write_readings(tmp, dataset, followers(selection))
    with atomic_path(args.plots) as tmp:
        write_plots(runs, tmp, dashed=followers(selection))
    log.info("report of %d runs -> %s, %s, %s, %s", len(runs), args.metrics, args.summary, args.tables, args.plots)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--evaluations", required=True, help="folder of per-run evaluation JSON files")
    p.add_argument("--selection", required=True, help="selection.json from the select step")
    p.add_argument("--metrics", required=True, help="aggregated metrics JSON to write")
    p.add_argument("--summary", required=True, help="MAP@all per method and code length, JSON to write")
    p.add_argument("--tables", required=True, help="folder of tables to write")
    p.add_argument("--plots", required=True, help="folder of plots to write")
    run(main, p.parse_args())
