"""Compiled kernels over 64-bit word planes of packed codes (sgrn.retrieval.codes.WordPlanes): popcount,
Hamming distances of a block, and the top-k pass of :func:`sgrn.retrieval.codes.hamming_topk`.

numba compiles them (cached on disk); this module is imported only where a search or an
evaluation runs, so that steps which only pack codes do not load numba.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of a uint64, as int64 (one POPCNT / VPOPCNTQ instruction)."""
    if not isinstance(x, types.Integer) or x.bitwidth != 64:
        return None
    sig = types.int64(x)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@njit(nogil=True, cache=True)
def block_distances(qw, i, dw, start, stop, out):
    """out[:stop-start] = Hamming distances of query column i to database columns start..stop.

    Loops run over slices with a plain range index, which LLVM vectorises (an index that
    might be negative would not be).
    """
    n = stop - start
    row = dw[0, start:stop]
    q = qw[0, i]
    for j in range(n):
        out[j] = popcount(q ^ row[j])
    for w in range(1, dw.shape[0]):
        row = dw[w, start:stop]
        q = qw[w, i]
        for j in range(n):
            out[j] += popcount(q ^ row[j])


@njit(nogil=True, cache=True)
def _any_below(dist, tau):
    """Whether any distance in the slice is below tau (a branch-free count, vectorised)."""
    n = 0
    for j in range(dist.shape[0]):
        n += dist[j] < tau
    return n > 0


@njit(nogil=True, cache=True)
def _compact(cand_idx, cand_d, nc, tau, keep_at_tau):
    """Keep candidates with d < tau and the first ``keep_at_tau`` with d == tau, in order."""
    out = 0
    at_tau = 0
    for t in range(nc):
        d = cand_d[t]
        if d < tau or (d == tau and at_tau < keep_at_tau):
            if d == tau:
                at_tau += 1
            cand_idx[out] = cand_idx[t]
            cand_d[out] = d
            out += 1
    return out


@njit(nogil=True, cache=True)
def topk_rows(qw, dw, k, q_start, q_stop, out_idx, out_dist, dist):
    """Top k of queries q_start..q_stop by (distance, database index) into out rows 0...

    One pass over the database per query. A threshold tau (the smallest distance whose
    cumulative count of candidates reaches k) rejects almost every item with one compare
    after the vectorised distance block; kept candidates are compacted when their buffer
    fills, and sorted by distance (stably, so by index within a distance) at the end.
    """
    ndb = dw.shape[1]
    n_bins = 64 * dw.shape[0] + 2
    cap = 2 * k + 1024
    cand_idx = np.empty(cap, np.int64)
    cand_d = np.empty(cap, np.int64)
    hist = np.zeros(n_bins, np.int64)
    slot = np.zeros(n_bins, np.int64)
    block = dist.shape[0]
    for i in range(q_start, q_stop):
        hist[:] = 0
        tau = n_bins - 1  # sentinel: accept everything until k candidates are in
        below = 0         # candidates with d < tau
        nc = 0
        for start in range(0, ndb, block):
            stop = min(ndb, start + block)
            block_distances(qw, i, dw, start, stop, dist)
            n = stop - start
            for lo in range(0, n, 64):
                hi = min(n, lo + 64)
                if not _any_below(dist[lo:hi], tau):  # the usual case, vectorised
                    continue
                for j in range(lo, hi):
                    d = np.int64(dist[j])
                    if d < tau:
                        hist[d] += 1
                        below += 1
                        cand_idx[nc] = start + j
                        cand_d[nc] = d
                        nc += 1
                        while below >= k:
                            tau -= 1
                            below -= hist[tau]
                        if nc == cap:
                            nc = _compact(cand_idx, cand_d, nc, tau, k - below)
        nc = _compact(cand_idx, cand_d, nc, tau, k - below)
        # Counting sort by distance; stable, so ties stay in database order.
        slot[:] = 0
        for t in range(nc):
            slot[cand_d[t] + 1] += 1
        for d in range(1, n_bins):
            slot[d] += slot[d - 1]
        r = i - q_start
        for t in range(nc):
            d = cand_d[t]
            p = slot[d]
            slot[d] = p + 1
            out_idx[r, p] = cand_idx[t]
            out_dist[r, p] = d
