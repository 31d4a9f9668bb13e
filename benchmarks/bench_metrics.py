#!/usr/bin/env python
"""MAP@all (and MAP@50): sgrn.retrieval.metrics vs a per-query argsort reference, each in its own process.

The reference follows DJSRH's loop: per query, relevance by a label product, Hamming
distances of +-1 codes by a float matmul, an argsort, cumulative sums (both cut-offs from
the one argsort). It uses a stable
argsort, so that ties are ordered by database index as under ``ties="stable"``; the two
must agree to 1e-9. Contenders (same random codes and labels, same thread count):

- ours:          evaluate_retrieval(map_r=(50, None), topk=()), ties="stable"
- ours-expected: the same under ties="expected" (not comparable to the reference: another rule)
- ours-full:     evaluate_retrieval with P@K (K = 1 ... 5000) and the PR curve as well
- argsort:       the per-query reference (stable argsort), with one BLAS thread (its best)

    python benchmarks/bench_metrics.py                    # quick: 200 x 5,000
    python benchmarks/bench_metrics.py --size mirflickr   # 2,000 x 18,015
    python benchmarks/bench_metrics.py --size nuswide     # 2,000 x 190,000
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from _bench import SIZES, best_of, cpu_line, peak_rss_mb, random_labels, run_worker


def make_data(nq, ndb, bits, n_labels, p_label, seed):
    """Packed random codes and random 0/1 labels (seeded)."""
    rng = np.random.default_rng(seed)
    pq = rng.integers(0, 256, (nq, bits // 8), dtype=np.uint8)
    pd = rng.integers(0, 256, (ndb, bits // 8), dtype=np.uint8)
    lq = random_labels(nq, n_labels, p_label, seed + 1)
    ld = random_labels(ndb, n_labels, p_label, seed + 2)
    return pq, pd, lq, ld


def reference_map(pq, pd, lq, ld, cutoffs=(None,), kind="stable"):
    """MAP at each cut-off (None: all) with one argsort per query; zero-relevance queries
    give 0. Returns a list, one MAP per cut-off."""
    bits = pq.shape[1] * 8
    bq = np.unpackbits(pq, axis=1).astype(np.float32) * 2 - 1
    bd = np.unpackbits(pd, axis=1).astype(np.float32) * 2 - 1
    ld = ld.astype(np.float32)
    sizes = [bd.shape[0] if c is None else min(c, bd.shape[0]) for c in cutoffs]
    totals = [0.0] * len(sizes)
    for i in range(bq.shape[0]):
        gnd = (ld @ lq[i].astype(np.float32)) > 0
        hamm = 0.5 * (bits - bd @ bq[i])
        ranked = gnd[np.argsort(hamm, kind=kind)]
        for t, n in enumerate(sizes):
            top = ranked[:n]
            hits = np.cumsum(top)
            if hits[-1] == 0:
                continue
            totals[t] += float(np.mean(hits[top] / (np.flatnonzero(top) + 1.0)))
    return [x / bq.shape[0] for x in totals]


def worker(args) -> None:
    nq, ndb = SIZES[args.size]
    pq, pd, lq, ld = make_data(nq, ndb, args.bits, args.labels, args.p_label, args.seed)
    if args.worker == "argsort":
        reference_map(pq[:4], pd, lq[:4], ld)
        (m_all, m_50), seconds = best_of(lambda: reference_map(pq, pd, lq, ld, (None, 50)),
                                         args.ref_repeat)
        out = {"map@all": m_all, "map@50": m_50}
    else:
        from sgrn.retrieval.metrics import DEFAULT_TOPK, evaluate_retrieval

        ties = "expected" if args.worker == "ours-expected" else "stable"
        topk = DEFAULT_TOPK if args.worker == "ours-full" else ()
        evaluate_retrieval(pq[:4], pd, lq[:4], ld, topk=topk, ties=ties, threads=args.threads)
        res, seconds = best_of(lambda: evaluate_retrieval(
            pq, pd, lq, ld, map_r=(50, None), topk=topk, chunk=args.chunk, ties=ties,
            threads=args.threads), args.repeat)
        out = {"map@all": res["map@all"], "map@50": res["map@50"]}
    print(json.dumps({"name": args.worker, "seconds": seconds, "peak_rss_mb": peak_rss_mb(), **out}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=[s for s in SIZES if s != "large"], default="quick")
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--labels", type=int, default=24)
    p.add_argument("--p-label", type=float, default=0.15, help="probability of each label")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--chunk", type=int, default=256)
    p.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    p.add_argument("--ref-repeat", type=int, default=1,
                   help="best of this many runs of the slow argsort reference")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    nq, ndb = SIZES[args.size]
    print(f"MAP@all + MAP@50, {nq:,} queries x {ndb:,} items, {args.bits} bits, {args.labels} "
          f"labels (p={args.p_label}); {cpu_line(args.threads)}")
    common = ["--size", args.size, "--bits", str(args.bits), "--labels", str(args.labels),
              "--p-label", str(args.p_label), "--threads", str(args.threads), "--chunk",
              str(args.chunk), "--repeat", str(args.repeat), "--ref-repeat", str(args.ref_repeat),
              "--seed", str(args.seed)]
    names = ["ours", "ours-expected", "ours-full", "argsort"]
    # The reference gets one BLAS thread: its per-query matvecs are too small to gain from
    # more, and a second OpenBLAS thread on a busy machine made it up to 12x slower.
    rows = {n: run_worker("bench_metrics.py", n, common, 1 if n == "argsort" else args.threads)
            for n in names}
    for n in names:
        r = rows[n]
        print(f"  {n:<14}{r['seconds']:9.3f} s   MAP@all={r['map@all']:.10f}  "
              f"MAP@50={r['map@50']:.10f}   peak RSS {r['peak_rss_mb']:6.0f} MiB")
    ours, ref = rows["ours"], rows["argsort"]
    print(f"  speed-up of ours over the argsort reference: {ref['seconds'] / ours['seconds']:.1f}x "
          f"(with P@K and PR: {ref['seconds'] / rows['ours-full']['seconds']:.1f}x)")
    diff = max(abs(ours[k] - ref[k]) for k in ("map@all", "map@50"))
    diff_full = max(abs(rows["ours-full"][k] - ref[k]) for k in ("map@all", "map@50"))
    agree = diff <= 1e-9 and diff_full <= 1e-9
    print(f"  largest difference to the reference: {max(diff, diff_full):.1e} "
          + ("(agree to 1e-9)" if agree else "MISMATCH: more than 1e-9"))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
