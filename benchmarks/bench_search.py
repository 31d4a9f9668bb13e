#!/usr/bin/env python
"""Top-K Hamming search: sgrn.retrieval.codes.hamming_topk vs faiss IndexBinaryFlat vs per-query argsort.

Each contender runs in its own process with the same thread count and searches the same
random packed codes (seeded) for the k nearest database items of every query:

- ours:    hamming_topk (compiled XOR + popcount, one pass per query, threshold select)
- faiss:   faiss.IndexBinaryFlat(bits).search (faiss-cpu, omp_set_num_threads)
- argsort: per query, distances by a float matmul of +-1 codes, then a stable argsort
           (the DJSRH-style reference, with one BLAS thread, its best; skipped at --size
           large, where it would take hours)

Ties in distance: ours and the argsort reference order them by database index, so their
results must be identical; faiss orders ties its own way, so only its distances must match.

    python benchmarks/bench_search.py                     # quick: 200 x 5,000
    python benchmarks/bench_search.py --size nuswide      # 2,000 x 190,000, k=100
    python benchmarks/bench_search.py --size large        # 10,000 x 1,000,000 (ours, faiss)
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from _bench import SIZES, best_of, cpu_line, peak_rss_mb, run_worker


def make_codes(nq: int, ndb: int, bits: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Packed codes with uniformly random bits: (nq, bits/8) and (ndb, bits/8) uint8."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (nq, bits // 8), dtype=np.uint8),
            rng.integers(0, 256, (ndb, bits // 8), dtype=np.uint8))


def search_ours(pq, pd, k, threads, repeat):
    from sgrn.retrieval.codes import hamming_topk, word_planes

    q, db = word_planes(pq), word_planes(pd)  # the index layout, built once like an index
    hamming_topk(q, db, k, threads=threads)   # compile / load the kernel
    return best_of(lambda: hamming_topk(q, db, k, threads=threads), repeat)


def search_faiss(pq, pd, k, threads, repeat):
    import faiss

    faiss.omp_set_num_threads(threads)
    index = faiss.IndexBinaryFlat(pq.shape[1] * 8)
    index.add(pd)
    index.search(pq[:8], k)
    (dist, idx), seconds = best_of(lambda: index.search(pq, k), repeat)
    return (idx.astype(np.int64), dist.astype(np.int32)), seconds


def search_argsort(pq, pd, k, threads, repeat):
    bits = pq.shape[1] * 8
    bq = np.unpackbits(pq, axis=1).astype(np.float32) * 2 - 1
    bd = np.unpackbits(pd, axis=1).astype(np.float32) * 2 - 1

    def run():
        idx = np.empty((len(bq), k), dtype=np.int64)
        dist = np.empty((len(bq), k), dtype=np.int32)
        for i in range(len(bq)):
            hamm = 0.5 * (bits - bd @ bq[i])
            order = np.argsort(hamm, kind="stable")[:k]
            idx[i], dist[i] = order, hamm[order]
        return idx, dist

    return best_of(run, repeat)


WORKERS = {"ours": search_ours, "faiss": search_faiss, "argsort": search_argsort}


def worker(args) -> None:
    nq, ndb = SIZES[args.size]
    pq, pd = make_codes(nq, ndb, args.bits, args.seed)
    repeat = args.ref_repeat if args.worker == "argsort" else args.repeat
    (idx, dist), seconds = WORKERS[args.worker](pq, pd, min(args.k, ndb), args.threads, repeat)
    np.save(Path(args.out) / f"{args.worker}_idx.npy", idx)
    np.save(Path(args.out) / f"{args.worker}_dist.npy", dist)
    print(json.dumps({"name": args.worker, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="quick")
    p.add_argument("-k", type=int, default=100)
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    p.add_argument("--ref-repeat", type=int, default=1,
                   help="best of this many runs of the slow argsort reference")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    nq, ndb = SIZES[args.size]
    names = ["ours", "faiss"] + ([] if args.size == "large" else ["argsort"])
    print(f"top-{args.k} search, {nq:,} queries x {ndb:,} items, {args.bits} bits; {cpu_line(args.threads)}")
    with tempfile.TemporaryDirectory() as out:
        common = ["--size", args.size, "-k", str(args.k), "--bits", str(args.bits), "--threads",
                  str(args.threads), "--repeat", str(args.repeat), "--ref-repeat",
                  str(args.ref_repeat), "--seed", str(args.seed),
                  "--out", out]
        # The reference gets one BLAS thread: its per-query matvecs are too small to gain
        # from more, and a second OpenBLAS thread on a busy machine slowed it down.
        rows = {name: run_worker("bench_search.py", name, common,
                                 1 if name == "argsort" else args.threads) for name in names}
        res = {name: (np.load(Path(out) / f"{name}_idx.npy"), np.load(Path(out) / f"{name}_dist.npy"))
               for name in names}
    for name in names:
        r = rows[name]
        print(f"  {name:<8} {r['seconds']:9.3f} s   {nq * ndb / r['seconds'] / 1e9:7.2f} G pairs/s"
              f"   peak RSS {r['peak_rss_mb']:7.0f} MiB")
    ok = True
    for name in names[1:]:
        print(f"  ours vs {name:<8} {rows[name]['seconds'] / rows['ours']['seconds']:6.1f}x faster")
        same_dist = np.array_equal(res["ours"][1], res[name][1])
        same_idx = np.array_equal(res["ours"][0], res[name][0])
        share = float((res["ours"][0] == res[name][0]).mean())
        print(f"    distances identical: {same_dist}; indices identical: {same_idx} "
              f"({share:.4%} of positions{', faiss orders ties its own way' if name == 'faiss' else ''})")
        ok &= same_dist and (same_idx or name == "faiss")
    print("results agree" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
