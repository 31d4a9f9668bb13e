#!/usr/bin/env python
"""How often LRGR's neighbourhoods join items that share a label (docs/results-superseded.md, "mutual
neighbourhoods").

Not a speed benchmark: on random training batches of a features.h5 it measures, per
modality, the share of off-diagonal edges whose two items share a label, over all edges, over
the edges of LRGR's kNN mask as shipped (the union: j is i's neighbour when either is among
the other's k nearest, `sgrn.graphs.knn_mask`), and over mutual neighbourhoods (both among
the other's k nearest), with the edges per row of each.

    python benchmarks/neighbour_precision.py --features results/demo/features.h5 --k 5
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from sgrn.graphs import TIE_TOL, cosine_graph, knn_mask, kth_largest


def neighbourhoods(c: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """The union kNN mask (as LRGR builds it) and the mutual one, diagonal excluded."""
    own = (c >= kth_largest(c, k)[:, None] - TIE_TOL).to(c.dtype)
    off = 1.0 - torch.eye(len(c), dtype=c.dtype)
    return {"union": knn_mask(c, k) * off, "mutual": torch.minimum(own, own.T) * off, "all": off}


def label_precision(feats, k: int, batches: int, batch_size: int, seed: int) -> dict:
    """(modality, rule) -> (share of edges whose items share a label, edges per row)."""
    train = np.sort(feats.split["train"])
    x = {m: torch.from_numpy(feats.rows(m, train)).float() for m in ("image", "text")}
    labels = torch.from_numpy(np.asarray(feats.labels[train])).float()
    rng = np.random.default_rng(seed)
    sums: dict = {}
    for _ in range(batches):
        idx = torch.from_numpy(rng.choice(len(train), batch_size, replace=False))
        related = ((labels[idx] @ labels[idx].T) > 0).float()
        for modality, rows in x.items():
            for rule, mask in neighbourhoods(cosine_graph(rows[idx]), k).items():
                hits, edges = sums.get((modality, rule), (0.0, 0.0))
                sums[(modality, rule)] = (hits + float((mask * related).sum()), edges + float(mask.sum()))
    return {key: (hits / max(edges, 1.0), edges / (batches * batch_size)) for key, (hits, edges) in sums.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--features", help="features.h5 of the workflow's extract step")
    source.add_argument("--synthetic", type=int, metavar="N", help="N synthetic pairs instead (a quick check)")
    p.add_argument("--k", type=int, default=10, help="neighbours per row, self included (method k)")
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.features:
        from sgrn.files.featurefile import load_features

        feats = load_features(args.features)
    else:
        from synthetic import synthetic_features

        feats = synthetic_features(args.synthetic)
    result = label_precision(feats, args.k, args.batches, args.batch_size, args.seed)
    print(f"{args.batches} batches of {args.batch_size}, k {args.k}: share of edges whose items share a label "
          "(edges per row)")
    print("| modality | all edges | union kNN (as shipped) | mutual kNN |")
    print("|---|---|---|---|")
    for modality in ("image", "text"):
        cells = [f"{result[(modality, rule)][0]:.3f} ({result[(modality, rule)][1]:.1f})"
                 for rule in ("all", "union", "mutual")]
        print(f"| {modality} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
