#!/usr/bin/env python
"""Step 7, report: results/metrics.json (means over seeds), results/summary.json (MAP@all per
method and code length), tables (Markdown, CSV) and plots."""
from pathlib import Path

from sgrn.atomic import atomic_path, write_json
from sgrn.cli import parser, run
from sgrn.params import load_params
from sgrn.report import aggregate, load_runs, summary, write_plots, write_tables


def main(args, log):
    params = load_params(args.params)
    runs = load_runs(Path(args.evaluations), params)
    write_json(args.metrics, aggregate(runs))
    write_json(args.summary, summary(runs, digits=params["report"]["digits"]))
    with atomic_path(args.tables) as tmp:
        write_tables(runs, tmp, digits=params["report"]["digits"], reference=params["report"]["reference"])
    with atomic_path(args.plots) as tmp:
        write_plots(runs, tmp)
    log.info("report of %d runs -> %s, %s, %s, %s", len(runs), args.metrics, args.summary, args.tables, args.plots)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--evaluations", required=True, help="folder of per-run evaluation JSON files")
    p.add_argument("--metrics", required=True, help="aggregated metrics JSON to write")
    p.add_argument("--summary", required=True, help="MAP@all per method and code length, JSON to write")
    p.add_argument("--tables", required=True, help="folder of tables to write")
    p.add_argument("--plots", required=True, help="folder of plots to write")
    run(main, p.parse_args())
