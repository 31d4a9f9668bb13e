#!/usr/bin/env python
"""Step 1, download: put a dataset's raw list-format folder under resources/raw/{dataset}.

The demo dataset is generated from a seed; real datasets arrive in a later issue.
"""
from sgrn.atomic import atomic_path
from sgrn.cli import parser, run
from sgrn.params import load_params


def main(args, log):
    cfg = load_params(args.params)["download"][args.dataset]
    if cfg["source"] == "demo":
        from sgrn.data.demo import generate_demo

        with atomic_path(args.out) as tmp:
            counts = generate_demo(tmp, n_pairs=cfg["n_pairs"], seed=cfg["seed"], image_size=cfg["image_size"])
        log.info("generated demo dataset in %s: %s", args.out, counts)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="raw dataset folder to create")
    run(main, p.parse_args())
