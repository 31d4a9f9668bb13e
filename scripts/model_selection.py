#!/usr/bin/env python
"""Step 7, select: per dataset, method and code length, the candidate configuration with the
best mean validation MAP@all over seeds -> selection.json (test queries never take part).
Methods in search.follow (the ablations) take the choice of the method they follow. With
search.select_bits the choice is made at that length and kept at the others; `--bits` makes
it at that length alone (results/choice.json, from which Snakemake learns which candidate to
train at the other lengths).

(Not scripts/select.py: a script there would shadow the standard library's `select` module
for every step script, which Python runs with scripts/ first on its path.)
"""
from pathlib import Path

from sgrn.cli import parser, run
from sgrn.files.atomic import write_json
from sgrn.settings.paramfile import load_params
from sgrn.workflow.evaluations import load_runs
from sgrn.workflow.selection import select


def main(args, log):
    params = load_params(args.params)
    runs = load_runs(Path(args.evaluations), params, None if args.bits is None else [args.bits])
    selection = select(runs, params["search"]["follow"], params["search"]["select_bits"])
    write_json(args.out, selection)
    for dataset, methods in selection.items():
        for method, per_bits in methods.items():
            chosen = ", ".join(f"{key}: c{c['config']} ({c['val_map_all']:.4f})"
                               + (f" as {c['follows']}" if "follows" in c else "") for key, c in per_bits.items())
            log.info("%s %s: %s", dataset, method, chosen)
    log.info("selection over %d runs -> %s", len(runs), args.out)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--evaluations", required=True, help="folder of per-run evaluation JSON files")
    p.add_argument("--out", required=True, help="selection JSON to write")
    p.add_argument("--bits", type=int, help="choose among the runs of this code length only")
    run(main, p.parse_args())
