#!/usr/bin/env python
"""Settings explored before the workflow's model selection (docs/results.md, "Exploration").

Not a speed benchmark: it trains several settings of methods in one process on an existing
features.h5 (from `snakemake results/<dataset>/features.h5`) and prints, per setting, code
length and seed, the validation MAP@all the trainer selects on and the test MAP@all (I->T,
T->I), one JSON line each appended to --out. Settings are a JSON list of
[name, method of params.yaml, {overrides}], e.g.

    [["sgrn-pair1", "sgrn", {"pair": 1.0}], ["jdsh-nopair", "jdsh", {"pair": 0.0}]]

    python benchmarks/explore_settings.py --features results/demo/features.h5 --bits 16 64 \
        --settings settings.json --out explore.jsonl

Choices made from its output must be made on the validation column only.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from sgrn.checkpoint import load_nets
from sgrn.encoding import packed_codes
from sgrn.featurefile import load_features
from sgrn.metrics import map_at_r
from sgrn.params import load_params, method_config
from sgrn.train import TrainConfig, train


def test_map(checkpoint: dict, feats) -> tuple[float, float]:
    """Test MAP@all, I->T and T->I, of a checkpoint (queries against the database)."""
    cpu = torch.device("cpu")
    img, txt = load_nets(checkpoint, cpu)
    q, db = np.sort(feats.split["query"]), np.sort(feats.split["database"])
    qi, qt = packed_codes(img, feats, "image", q, cpu), packed_codes(txt, feats, "text", q, cpu)
    di, dt = packed_codes(img, feats, "image", db, cpu), packed_codes(txt, feats, "text", db, cpu)
    ql, dl = feats.labels[q], feats.labels[db]
    return map_at_r(qi, dt, ql, dl, r=None), map_at_r(qt, di, ql, dl, r=None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", required=True)
    p.add_argument("--settings", required=True, help="JSON list of [name, method, overrides]")
    p.add_argument("--bits", type=int, nargs="+", default=[16, 64])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--out", required=True, help="JSON lines to append to")
    args = p.parse_args()
    params = load_params(args.params)
    feats = load_features(args.features)
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
                    i2t, t2i = test_map(ckpt, feats)
                    row = dict(name=name, bits=bits, seed=seed, val=ckpt["val_map_all"],
                               epoch=ckpt["best_epoch"], i2t=i2t, t2i=t2i, seconds=time.time() - start)
                    print(json.dumps(row), file=out, flush=True)
                    print(f"{name:32s} {bits:4d} bits seed {seed}: validation {row['val']:.4f} "
                          f"(epoch {row['epoch']}), test {i2t:.4f} / {t2i:.4f}", flush=True)


if __name__ == "__main__":
    main()
