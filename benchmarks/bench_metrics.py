"""Time sgrn.metrics.evaluate_retrieval against a per-query argsort reference.

The reference follows DJSRH's loop: per query, Hamming distances from +-1 codes by a dot
product, argsort, cumulative sums. It uses a stable argsort so that ties are ordered the
same way as in sgrn.metrics; the unstable default is also run to show what tie order does.

    python benchmarks/bench_metrics.py                   # 500 queries x 5,000 items
    python benchmarks/bench_metrics.py --size mirflickr  # 2,000 x 18,015
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sgrn.codes import pack_codes
from sgrn.metrics import evaluate_retrieval

SIZES = {"quick": (500, 5_000), "mirflickr": (2_000, 18_015)}


def reference_map(bq, bd, lq, ld, topk, kind="stable"):
    """MAP@topk (None: all) with one argsort per query; zero-relevance queries give 0."""
    bits = bq.shape[1]
    bd = bd.astype(np.float32)
    ld = ld.astype(np.float32)
    n = bd.shape[0] if topk is None else min(topk, bd.shape[0])
    total = 0.0
    for i in range(bq.shape[0]):
        gnd = (ld @ lq[i].astype(np.float32)) > 0
        hamm = 0.5 * (bits - bd @ bq[i].astype(np.float32))
        gnd = gnd[np.argsort(hamm, kind=kind)][:n]
        hits = np.cumsum(gnd)
        if hits[-1] == 0:
            continue
        total += float(np.mean(hits[gnd] / (np.flatnonzero(gnd) + 1.0)))
    return total / bq.shape[0]


def make_data(nq, ndb, bits, n_labels, seed):
    rng = np.random.default_rng(seed)
    bq = rng.choice(np.array([-1, 1], dtype=np.int8), size=(nq, bits))
    bd = rng.choice(np.array([-1, 1], dtype=np.int8), size=(ndb, bits))
    lq = (rng.random((nq, n_labels)) < 0.15).astype(np.uint8)
    ld = (rng.random((ndb, n_labels)) < 0.15).astype(np.uint8)
    return bq, bd, lq, ld


def _timed(fn, repeat):
    """Result and best wall time of ``repeat`` calls."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="quick")
    parser.add_argument("--bits", type=int, default=64)
    parser.add_argument("--labels", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)

    nq, ndb = SIZES[args.size]
    bq, bd, lq, ld = make_data(nq, ndb, args.bits, args.labels, args.seed)
    pq, pd = pack_codes(bq), pack_codes(bd)
    print(f"{nq} queries x {ndb} items, {args.bits} bits, {args.labels} labels, "
          f"seed {args.seed}, numpy {np.__version__}, best of {args.repeat}")

    # Warm-up: first calls pay for BLAS and allocator start-up.
    evaluate_retrieval(pq[:8], pd, lq[:8], ld, chunk=args.chunk)
    reference_map(bq[:8], bd, lq[:8], ld, None)
    res, t_ours = _timed(lambda: evaluate_retrieval(
        pq, pd, lq, ld, map_r=(50, None), topk=(), chunk=args.chunk), args.repeat)
    full, t_full = _timed(
        lambda: evaluate_retrieval(pq, pd, lq, ld, chunk=args.chunk), args.repeat)
    (ref_all, ref_50), t_ref = _timed(lambda: (
        reference_map(bq, bd, lq, ld, None), reference_map(bq, bd, lq, ld, 50)), args.repeat)
    unstable_all = reference_map(bq, bd, lq, ld, None, kind="quicksort")
    unstable_50 = reference_map(bq, bd, lq, ld, 50, kind="quicksort")

    print(f"evaluate_retrieval MAP@all + MAP@50   {t_ours:8.3f} s   "
          f"MAP@all={res['map@all']:.6f}  MAP@50={res['map@50']:.6f}")
    print(f"  (with P@K and PR as well)           {t_full:8.3f} s")
    print(f"per-query argsort reference (stable)  {t_ref:8.3f} s   "
          f"MAP@all={ref_all:.6f}  MAP@50={ref_50:.6f}")
    print(f"speed-up                              {t_ref / t_ours:8.1f} x")
    print(f"reference with unstable argsort:  MAP@all={unstable_all:.6f} "
          f"(diff {unstable_all - ref_all:+.2e})  MAP@50={unstable_50:.6f} "
          f"(diff {unstable_50 - ref_50:+.2e})")
    agree = (abs(res["map@all"] - ref_all) <= 1e-9 and abs(res["map@50"] - ref_50) <= 1e-9
             and abs(full["map@all"] - ref_all) <= 1e-9)
    print("MAPs agree to 1e-9" if agree else "MISMATCH: MAPs differ by more than 1e-9")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
