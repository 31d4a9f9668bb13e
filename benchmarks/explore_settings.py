#!/usr/bin/env python
"""Settings explored before the workflow's model selection (docs/results-superseded.md, "Exploration").

Not a speed benchmark: it trains several settings of methods in one process on an existing
features.h5 (from `snakemake results/<dataset>/features.h5`) and prints, per setting, code
length and seed, the validation MAP@all the trainer selects on, one JSON line each appended
to --out. Settings are a JSON list of [name, method of params.yaml, {overrides}], e.g.

    [["sgrn-pair1", "sgrn", {"pair": 1.0}], ["jdsh-nopair", "jdsh", {"pair": 0.0}]]

    python benchmarks/explore_settings.py --features results/demo/features.h5 --bits 16 64 \
        --settings settings.json --out explore.jsonl

It shows validation numbers only, never the test queries': a setting worth keeping goes into
params.yaml (or search.space), and its test MAP is measured by the workflow's evaluate step
on what the select step chose. Features whose validation queries are training pairs (a
features.h5 made before splits kept them apart) are refused.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sgrn.settings.hyperparams import method_config
from sgrn.settings.params import load_params
from sgrn.training.train import TrainConfig, train


def load(args):
    """The features to explore on: a features.h5, or N synthetic pairs (a quick check)."""
    if args.synthetic:
        from dataclasses import replace

        from synthetic import synthetic_features

        from sgrn.data.splits import random_split

        n = args.synthetic
        split = random_split(n, n_query=n // 10, n_train=None, n_validation=n // 5, seed=0)
        return replace(synthetic_features(n), split={k: getattr(split, k) for k in
                                                     ("query", "train", "database", "validation")})
    from sgrn.files.featurefile import load_features

    feats = load_features(args.features)
    overlap = np.intersect1d(feats.split["validation"], feats.split["train"])
    if len(overlap):
        raise SystemExit(f"{args.features}: {len(overlap)} validation queries are training pairs; expected "
                         "disjoint sets (rerun prepare and extract, sgrn/data/splits.py keeps them apart)")
    return feats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--features", help="features.h5 of the workflow's extract step")
    source.add_argument("--synthetic", type=int, metavar="N", help="N synthetic pairs instead (a quick check)")
    p.add_argument("--settings", required=True, help="JSON list of [name, method, overrides]")
    p.add_argument("--bits", type=int, nargs="+", default=[16, 64])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--out", required=True, help="JSON lines to append to")
    args = p.parse_args()
    params = load_params(args.params)
    feats = load(args)
    cfg = TrainConfig(**{**params["train"], "epochs": args.epochs, "num_threads": 1,
                         "checkpoint_every": 10**6})
    with open(args.settings) as f:
        settings = json.load(f)
    with open(args.out, "a") as out:
        for name, method, overrides in settings:
            family, hyper = method_config(params, method, feats.dataset)
            for bits in args.bits:
                for seed in args.seeds:
                    start = time.time()
                    ckpt = train(feats, family, {**hyper, **overrides}, bits, seed, cfg)
                    row = dict(name=name, bits=bits, seed=seed, validation_map_all=ckpt["val_map_all"],
                               epoch=ckpt["best_epoch"], seconds=time.time() - start)
                    print(json.dumps(row), file=out, flush=True)
                    print(f"{name:32s} {bits:4d} bits seed {seed}: validation MAP@all "
                          f"{row['validation_map_all']:.4f} (epoch {row['epoch']})", flush=True)


if __name__ == "__main__":
    main()
