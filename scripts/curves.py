#!/usr/bin/env python
"""Beside step 4, curves: one run's learning curves (the per-epoch files of dvclive) drawn as a PNG."""
from sgrn.cli import parser, run
from sgrn.files.atomic import atomic_path
from sgrn.workflow.curves import learning_curves


def main(args, log):
    title = f"{args.dataset} {args.method} c{args.config} {args.bits} bits seed {args.seed}"
    fig = learning_curves(args.live_plots, title)
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    log.info("%s: learning curves -> %s", title, args.out)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--config", required=True, type=int, help="candidate configuration")
    p.add_argument("--bits", required=True, type=int)
    p.add_argument("--seed", required=True, type=int)
    p.add_argument("--live-plots", required=True, help="dvclive's per-epoch TSV folder of the train step")
    p.add_argument("--out", required=True, help="PNG to write")
    run(main, p.parse_args())
