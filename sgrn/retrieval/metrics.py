"""Retrieval metrics over packed binary codes: the project's one evaluation module.

Protocol (method.md section 10; the conventions in full: docs/evaluation.md):

- Relevance: a query and a database item are relevant when they share at least one label.
- Ranking: Hamming distance ascending. Ties in distance follow ``ties``:
  ``"stable"`` orders them by database index (what a stable sort gives);
  ``"expected"`` gives the exact expectation of each metric over a uniformly random order
  within every tie, in closed form.
- MAP@R: AP over the top R of the ranking, averaged over *all* queries; R=None means the
  whole database, and R larger than the database also means the whole database.
- P@K and precision-recall over Hamming radius use the same distances and ranking.

Nothing sorts the database. Distances lie in 0..c, so one pass over the database per
query (compiled, vectorised XOR + popcount) yields the number of items and of relevant
items at each distance; under the stable rule the same pass also records, for each relevant
item, its rank among the items at its distance. Every metric follows from these counts.
Queries are processed ``chunk`` at a time on ``threads`` threads: memory is
O(chunk x c + threads x database size) besides the inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from sgrn.retrieval.codes import BLOCK, check_threads, label_planes, parallel_blocks, word_planes
from sgrn.retrieval.hamming import block_distances, popcount

TIES = ("stable", "expected")
DEFAULT_MAP_R: tuple[int | None, ...] = (50, None)
DEFAULT_TOPK: tuple[int, ...] = (1, 100, 200, 500, 1000, 1500, 2000, 2500, 3000, 3500,
                                 4000, 4500, 5000)


def relevance(q_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    """bool (nq, ndb): True where query and item share at least one label (0/1 matrices).

    Dense: for small inputs and tests. The metrics compute relevance inside their kernels.
    """
    q, db = _check_labels(q_labels, db_labels)
    # float32 products of 0/1 labels are exact counts and use BLAS.
    return (q.astype(np.float32) @ db.astype(np.float32).T) > 0


def _check_labels(q_labels, db_labels) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(q_labels)
    db = np.asarray(db_labels)
    if q.ndim != 2 or db.ndim != 2 or q.shape[1] != db.shape[1]:
        raise ValueError(
            f"label matrices must be 2-D with the same number of labels, got {q.shape} "
            f"and {db.shape}"
        )
    return q, db


def _check(q_packed, db_packed, q_labels, db_labels, chunk: int, ties: str):
    if ties not in TIES:
        raise ValueError(f"ties={ties!r} is not implemented; allowed values: {TIES}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    q_packed = np.asarray(q_packed)
    db_packed = np.asarray(db_packed)
    q_labels, db_labels = _check_labels(q_labels, db_labels)
    if q_packed.ndim != 2 or db_packed.ndim != 2:
        raise ValueError("packed codes must be 2-D (n, c/8)")
    if q_packed.shape[0] != q_labels.shape[0] or db_packed.shape[0] != db_labels.shape[0]:
        raise ValueError(
            f"codes and labels disagree on counts: queries {q_packed.shape[0]} codes vs "
            f"{q_labels.shape[0]} labels, database {db_packed.shape[0]} codes vs "
            f"{db_labels.shape[0]} labels"
        )
    if q_packed.shape[0] == 0 or db_packed.shape[0] == 0:
        raise ValueError("need at least one query and one database item")
    if q_packed.shape[1] != db_packed.shape[1]:
        raise ValueError(
            "query and database codes differ in length: "
            f"{q_packed.shape[1] * 8} bits vs {db_packed.shape[1] * 8} bits"
        )
    return q_packed, db_packed, q_labels, db_labels


def _check_cutoff(name: str, value: int | None, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} cut-off must be a positive integer, got {value!r}")


# --------------------------------------------------------------------------------------
# Kernels: one pass over the database per query


@njit(nogil=True, cache=True)
def _stable_rows(qw, dw, ql, dl, cuts, q_start, q_stop, hist, relhist, ap, hits):
    """Counts per distance and, under the stable rule, AP and hits at each cut-off.

    For query i (rows r = i - q_start of the outputs): hist[r, d] items and relhist[r, d]
    relevant items at distance d; ap[r, t] the AP over the top cuts[t] and hits[r, t] the
    relevant items in the top cuts[t] (cuts ascending). The pass records, for every
    relevant item in database order, its distance and its rank among the items at that
    distance so far; its position in the stable ranking is then the number of items at
    smaller distances plus that rank, and the relevant items, bucketed by distance, come
    out in ranking order.
    """
    n_words, ndb = dw.shape
    n_lab = dl.shape[0]
    n_bins = hist.shape[1]
    n_cuts = cuts.shape[0]
    count = np.zeros(n_bins, np.int64)
    rel_count = np.zeros(n_bins, np.int64)
    first = np.zeros(n_bins, np.int64)
    slot = np.zeros(n_bins, np.int64)
    rec = np.empty(ndb + 1, np.int64)  # distance << 32 | rank among the items at that distance
    pos = np.empty(ndb, np.int64)      # 1-based ranking positions of relevant items, ascending
    word0 = dw[0]
    lab0 = dl[0]
    for i in range(q_start, q_stop):
        r = i - q_start
        count[:] = 0
        n_rel = 0
        if n_words == 1 and n_lab == 1:
            q = qw[0, i]
            lq = ql[0, i]
            for j in range(ndb):
                d = popcount(q ^ word0[j])
                c = count[d]
                count[d] = c + 1
                rec[n_rel] = (d << 32) | c  # written always, kept only for relevant items
                n_rel += (lq & lab0[j]) != 0
        else:
            for j in range(ndb):
                d = np.int64(0)
                for w in range(n_words):
                    d += popcount(qw[w, i] ^ dw[w, j])
                is_rel = False
                for w in range(n_lab):
                    is_rel = is_rel or (ql[w, i] & dl[w, j]) != 0
                c = count[d]
                count[d] = c + 1
                rec[n_rel] = (d << 32) | c
                n_rel += is_rel
        rel_count[:] = 0
        for t in range(n_rel):
            rel_count[rec[t] >> 32] += 1
        below = 0
        rel_below = 0
        for d in range(n_bins):
            first[d] = below
            slot[d] = rel_below
            below += count[d]
            rel_below += rel_count[d]
            hist[r, d] = count[d]
            relhist[r, d] = rel_count[d]
        # Ties reached by a cut-off short of the whole ranking: up to distance `reach`.
        reach = -1
        for k in range(n_cuts):
            if cuts[k] < below:
                while reach + 1 < n_bins and first[reach + 1] < cuts[k]:
                    reach += 1
        ranked = slot[reach + 1] if reach + 1 < n_bins else n_rel  # relevant items within reach
        total_all = _precision_sum(rec, n_rel, first, slot, reach, pos)
        done = 0
        total = 0.0
        for k in range(n_cuts):
            if cuts[k] >= below:
                ap[r, k] = total_all / n_rel if n_rel > 0 else 0.0
                hits[r, k] = n_rel
                continue
            upto = np.searchsorted(pos[done:ranked], cuts[k], side="right") + done
            for t in range(done, upto):  # in ranking order, as a sort-based reference adds
                total += (t + 1) / pos[t]
            done = upto
            ap[r, k] = total / done if done > 0 else 0.0
            hits[r, k] = done


@njit(nogil=True, cache=True)
def _precision_sum(rec, n_rel, first, slot, reach, pos):
    """Sum of precision (rank / position) over the relevant items ``rec[:n_rel]``.

    ``rec`` holds distance << 32 | rank within the tie, in database order; ``first[d]`` is
    the number of items at distances below d and ``slot[d]`` that of relevant items.
    Bucketing the relevant items by distance puts them in ranking order, so an item's
    slot is its rank among the relevant items (minus 1). Positions of the items at
    distances up to ``reach`` are stored at their slot in ``pos`` (ascending). Two
    accumulators halve the chain of dependent additions.
    """
    acc0 = 0.0
    acc1 = 0.0
    t = 0
    while t + 2 <= n_rel:
        d = rec[t] >> 32
        s = slot[d]
        slot[d] = s + 1
        p = first[d] + (rec[t] & 0xFFFFFFFF) + 1
        acc0 += (s + 1) / p
        if d <= reach:
            pos[s] = p
        d = rec[t + 1] >> 32
        s = slot[d]
        slot[d] = s + 1
        p = first[d] + (rec[t + 1] & 0xFFFFFFFF) + 1
        acc1 += (s + 1) / p
        if d <= reach:
            pos[s] = p
        t += 2
    if t < n_rel:
        d = rec[t] >> 32
        s = slot[d]
        slot[d] = s + 1
        p = first[d] + (rec[t] & 0xFFFFFFFF) + 1
        acc0 += (s + 1) / p
        if d <= reach:
            pos[s] = p
    return acc0 + acc1


@njit(nogil=True, cache=True)
def _count_rows(qw, dw, ql, dl, q_start, q_stop, hist, relhist, key):
    """hist[r, d] items and relhist[r, d] relevant items at distance d, for queries i.

    The distances of a block are computed vectorised into ``key`` (2 d + relevant), then
    counted into four interleaved histograms, which keeps consecutive increments of the
    same bin off each other's critical path.
    """
    n_words, ndb = dw.shape
    n_lab = dl.shape[0]
    n_bins = hist.shape[1]
    block = key.shape[0]
    sub = np.zeros((4, 2 * n_bins), np.int64)
    for i in range(q_start, q_stop):
        r = i - q_start
        sub[:] = 0
        for start in range(0, ndb, block):
            stop = min(ndb, start + block)
            n = stop - start
            block_distances(qw, i, dw, start, stop, key)
            for w in range(n_lab):
                lq = ql[w, i]
                lab = dl[w, start:stop]
                if w == 0:
                    for j in range(n):
                        key[j] = 2 * key[j] + ((lq & lab[j]) != 0)
                else:
                    for j in range(n):
                        key[j] |= (lq & lab[j]) != 0
            j = 0
            while j + 4 <= n:
                sub[0, key[j]] += 1
                sub[1, key[j + 1]] += 1
                sub[2, key[j + 2]] += 1
                sub[3, key[j + 3]] += 1
                j += 4
            while j < n:
                sub[0, key[j]] += 1
                j += 1
        for d in range(n_bins):
            non = sub[0, 2 * d] + sub[1, 2 * d] + sub[2, 2 * d] + sub[3, 2 * d]
            rel = sub[0, 2 * d + 1] + sub[1, 2 * d + 1] + sub[2, 2 * d + 1] + sub[3, 2 * d + 1]
            hist[r, d] = non + rel
            relhist[r, d] = rel


# --------------------------------------------------------------------------------------
# The expected rule: closed forms over a random order within ties

# B_2k / 2k for k = 1..5: psi(z) ~ ln z - 1/(2z) - sum_k B_2k / (2k z^2k)
_PSI_COEF = np.array([1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132])


@njit(nogil=True, cache=True)
def _harmonic_span(before, n):
    """sum_{p=1..n} 1 / (before + p), accurate to a few ulps for any sizes.

    Short sums are added directly; long ones as psi(before + n + 1) - psi(x), with the
    first terms added directly until x = before + 1 reaches 64, where the asymptotic series
    (log1p form, five Bernoulli terms) is exact to double precision.
    """
    if n <= 0:
        return 0.0
    if n <= 64:
        s = 0.0
        for p in range(n, 0, -1):  # smallest terms first
            s += 1.0 / (before + p)
        return s
    s = 0.0
    x = before + 1
    while x < 64 and n > 0:
        s += 1.0 / x
        x += 1
        n -= 1
    if n == 0:
        return s
    xf = float(x)
    yf = float(x + n)
    tail = math.log1p(n / xf) + n / (2.0 * xf * yf)
    xi2 = 1.0 / (xf * xf)
    yi2 = 1.0 / (yf * yf)
    xp = xi2
    yp = yi2
    for c in _PSI_COEF:
        tail += c * (xp - yp)
        xp *= xi2
        yp *= yi2
    return s + tail


@njit(nogil=True, cache=True)
def _expected_prefix_sum(before, rel_before, m, x):
    """E[sum of hits/position over the relevant items among the first m of a tie], given x.

    The tie starts after ``before`` items, ``rel_before`` of them relevant; x of its first m
    positions hold relevant items, placed uniformly at random. A relevant item at position
    p (1..m) then has on average 1 + (p - 1)(x - 1)/(m - 1) relevant items up to it within
    the tie, so the sum is (x/m) sum_p (rel_before + 1 + (p - 1) u) / (before + p) with
    u = (x - 1)/(m - 1); writing the numerator as u (before + p) + (rel_before + 1 -
    u (before + 1)) gives (x/m) [u m + (rel_before + 1 - u (before + 1)) H], H the
    harmonic span.
    """
    if x <= 0:
        return 0.0
    u = (x - 1) / (m - 1) if m > 1 else 0.0
    h = _harmonic_span(before, m)
    return (x / m) * (u * m + (rel_before + 1 - u * (before + 1)) * h)


@njit(nogil=True, cache=True)
def _expected_cut(before, rel_before, n, rel, m, prior):
    """E[AP over a cut-off that takes m of the n items of a tie], the tie holding rel relevant.

    ``prior`` is the expected hits/position sum of the ties before it (independent of this
    one). The number X of relevant items among the m taken is hypergeometric; given X = x
    the AP is (prior + E[sum | x]) / (rel_before + x). The weights of x are built by the
    ratio recurrence from the mode outwards and normalised, which stays finite for any n.
    """
    lo = max(0, m - (n - rel))
    hi = min(m, rel)
    mode = ((m + 1) * (rel + 1)) // (n + 2)
    mode = min(max(mode, lo), hi)
    num = 0.0
    z = 0.0
    w = 1.0
    x = mode
    while x <= hi and w > 0.0:
        if rel_before + x > 0:
            num += w * (prior + _expected_prefix_sum(before, rel_before, m, x)) / (rel_before + x)
        z += w
        w *= (rel - x) * (m - x) / ((x + 1.0) * (n - rel - m + x + 1.0))
        x += 1
    w = 1.0
    x = mode
    while x > lo:
        w *= x * (n - rel - m + x) / ((rel - x + 1.0) * (m - x + 1.0))
        x -= 1
        if w == 0.0:
            break
        if rel_before + x > 0:
            num += w * (prior + _expected_prefix_sum(before, rel_before, m, x)) / (rel_before + x)
        z += w
    return num / z


@njit(nogil=True, cache=True)
def _expected_rows(hist, relhist, cuts, ap, hits):
    """AP and expected hits at each cut-off under a uniformly random order within ties."""
    n_q, n_bins = hist.shape
    n_cuts = cuts.shape[0]
    for r in range(n_q):
        total_rel = 0
        for d in range(n_bins):
            total_rel += relhist[r, d]
        prior = 0.0    # expected hits/position sum of the ties wholly above the cut
        before = 0
        rel_before = 0
        d = 0
        for k in range(n_cuts):
            cut = cuts[k]
            # advance over the ties that lie wholly within the cut-off
            while d < n_bins and before + hist[r, d] <= cut:
                n = hist[r, d]
                prior += _expected_prefix_sum(before, rel_before, n, relhist[r, d])
                before += n
                rel_before += relhist[r, d]
                d += 1
            if d == n_bins or before == cut:
                ap[r, k] = prior / rel_before if rel_before > 0 else 0.0
                hits[r, k] = rel_before
            else:
                n = hist[r, d]
                rel = relhist[r, d]
                m = cut - before
                if total_rel == 0:
                    ap[r, k] = 0.0
                else:
                    ap[r, k] = _expected_cut(before, rel_before, n, rel, m, prior)
                hits[r, k] = rel_before + m * rel / n


# --------------------------------------------------------------------------------------
# Driver


def _per_query(q_packed, db_packed, q_labels, db_labels, cuts, chunk, ties, threads
               ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (hist, relhist, ap, hits) for each chunk of queries; cuts ascending, <= ndb."""
    q = word_planes(q_packed)
    db = word_planes(db_packed)
    ql = label_planes(q_labels)
    dl = label_planes(db_labels)
    n_bins = q.bits + 1
    cuts = np.asarray(cuts, dtype=np.int64)
    nq = len(q)
    key_dtype = np.uint8 if 2 * q.bits + 1 <= 255 else np.uint16
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sgrn-metrics") as pool:
        for c0 in range(0, nq, chunk):
            m = min(nq, c0 + chunk) - c0
            hist = np.zeros((m, n_bins), dtype=np.int64)
            relhist = np.zeros((m, n_bins), dtype=np.int64)
            ap = np.zeros((m, len(cuts)), dtype=np.float64)
            hits = np.zeros((m, len(cuts)), dtype=np.float64)

            def run(a, b, c0=c0, hist=hist, relhist=relhist, ap=ap, hits=hits):
                if ties == "stable":
                    _stable_rows(q.words, db.words, ql, dl, cuts, c0 + a, c0 + b,
                                 hist[a:b], relhist[a:b], ap[a:b], hits[a:b])
                else:
                    key = np.empty(BLOCK, dtype=key_dtype)
                    _count_rows(q.words, db.words, ql, dl, c0 + a, c0 + b, hist[a:b],
                                relhist[a:b], key)
                    _expected_rows(hist[a:b], relhist[a:b], cuts, ap[a:b], hits[a:b])

            parallel_blocks(run, m, threads, pool)
            yield hist, relhist, ap, hits


def _cut_positions(values: list[int]) -> tuple[np.ndarray, list[int]]:
    """Sorted unique cut-offs and, for each value asked, its column."""
    cuts = sorted(set(values))
    col = {v: i for i, v in enumerate(cuts)}
    return np.array(cuts, dtype=np.int64), [col[v] for v in values]


def map_at_r(
    q_packed: np.ndarray,
    db_packed: np.ndarray,
    q_labels: np.ndarray,
    db_labels: np.ndarray,
    r: int | None,
    chunk: int = 256,
    ties: str = "stable",
    threads: int | None = None,
) -> float:
    """Mean average precision over the top ``r`` of each query's ranking.

    AP@R of a query = (1 / relevant items in the top R) x sum of precision@k over the
    relevant positions k <= R. A query with no relevant item in the top R has AP = 0 and
    still counts in the mean (DJSRH's convention: divide by the number of queries).
    ``r=None``, or ``r`` larger than the database, means the whole ranking. Ties in Hamming
    distance: ``ties="stable"`` orders them by database index, ``ties="expected"`` gives the
    expectation over a random order within ties (see the module docstring).
    """
    q_packed, db_packed, q_labels, db_labels = _check(
        q_packed, db_packed, q_labels, db_labels, chunk, ties
    )
    _check_cutoff("r", r, allow_none=True)
    threads = check_threads(threads)
    ndb = db_packed.shape[0]
    n = ndb if r is None else min(int(r), ndb)
    total = 0.0
    for _, _, ap, _ in _per_query(q_packed, db_packed, q_labels, db_labels, [n], int(chunk),
                                  ties, threads):
        total += float(ap[:, 0].sum())
    return total / q_packed.shape[0]


def _map_key(r: int | None) -> str:
    return "map@all" if r is None else f"map@{int(r)}"


def evaluate_retrieval(
    q_packed: np.ndarray,
    db_packed: np.ndarray,
    q_labels: np.ndarray,
    db_labels: np.ndarray,
    map_r: Iterable[int | None] = DEFAULT_MAP_R,
    topk: Iterable[int] = DEFAULT_TOPK,
    chunk: int = 256,
    ties: str = "stable",
    threads: int | None = None,
) -> dict:
    """MAP@R, precision@K and precision-recall over Hamming radius, from one ranking.

    Returns ``{"map@50": ..., "map@all": ..., "p@k": {K: ...}, "pr": {"radius": [0..c],
    "precision": [...], "recall": [...]}, "protocol": {...}}`` (one ``map@R`` key per
    entry of ``map_r``; None gives ``map@all``), and with ``map@all``, ``"ap@all"``: each
    query's AP over the whole ranking, in query order (their mean is ``map@all``), for
    comparisons paired by query. Conventions:

    - MAP@R: as :func:`map_at_r`; queries with no relevant item in the top R give AP = 0
      and count in the mean. R larger than the database means the whole ranking.
    - P@K: mean over all queries of (relevant in top K) / K, with K clipped to the
      database size (the key stays the K asked for).
    - Recall(r): mean, over queries with at least one relevant item in the database, of
      (relevant within Hamming radius r) / (relevant in the database); NaN if no query has
      any relevant item.
    - Precision(r): mean, over queries that retrieve at least one item within radius r, of
      (relevant within r) / (retrieved within r); NaN where no query retrieves anything.
    - Ties in Hamming distance: ``"stable"`` (by database index) or ``"expected"`` (the
      exact expectation over a random order within ties); the PR curve does not depend on
      tie order.

    ``chunk`` queries are processed at a time, on ``threads`` threads (None: every CPU of
    the process's affinity mask).
    """
    q_packed, db_packed, q_labels, db_labels = _check(
        q_packed, db_packed, q_labels, db_labels, chunk, ties
    )
    threads = check_threads(threads)
    map_r = [map_r] if map_r is None or isinstance(map_r, (int, np.integer)) else list(map_r)
    topk = [topk] if isinstance(topk, (int, np.integer)) else list(topk)
    for r in map_r:
        _check_cutoff("map_r", r, allow_none=True)
    for k in topk:
        _check_cutoff("topk", k, allow_none=False)
    topk = [int(k) for k in topk]
    nq, ndb = q_packed.shape[0], db_packed.shape[0]
    bits = q_packed.shape[1] * 8
    nbins = bits + 1
    map_n = [ndb if r is None else min(int(r), ndb) for r in map_r]
    k_n = [min(k, ndb) for k in topk]
    cuts, cols = _cut_positions(map_n + k_n)
    map_cols, k_cols = cols[:len(map_n)], cols[len(map_n):]

    map_sums = np.zeros(len(map_r))
    all_col = map_cols[map_r.index(None)] if None in map_r else None
    query_ap = []
    hit_sums = np.zeros(len(topk))
    recall_sum = np.zeros(nbins)
    recall_count = 0
    prec_sum = np.zeros(nbins)
    prec_count = np.zeros(nbins, dtype=np.int64)
    for hist, relhist, ap, hits in _per_query(q_packed, db_packed, q_labels, db_labels, cuts,
                                              int(chunk), ties, threads):
        map_sums += ap[:, map_cols].sum(axis=0)
        if all_col is not None:
            query_ap.append(ap[:, all_col].copy())
        hit_sums += hits[:, k_cols].sum(axis=0)
        retrieved = hist.cumsum(axis=1)
        relevant = relhist.cumsum(axis=1)
        n_rel = relevant[:, -1]
        has_rel = n_rel > 0
        recall_sum += (relevant[has_rel] / n_rel[has_rel, None]).sum(axis=0)
        recall_count += int(has_rel.sum())
        has_ret = retrieved > 0
        prec_sum += np.divide(
            relevant, retrieved, out=np.zeros(relevant.shape), where=has_ret
        ).sum(axis=0)
        prec_count += has_ret.sum(axis=0)

    with np.errstate(invalid="ignore", divide="ignore"):
        recall = recall_sum / recall_count if recall_count else np.full(nbins, np.nan)
        precision = np.where(prec_count > 0, prec_sum / np.maximum(prec_count, 1), np.nan)

    result: dict = {_map_key(r): float(s / nq) for r, s in zip(map_r, map_sums)}
    if all_col is not None:
        result["ap@all"] = np.concatenate(query_ap).tolist()
    result["p@k"] = {k: float(s / n / nq) for k, n, s in zip(topk, k_n, hit_sums)}
    result["pr"] = {
        "radius": list(range(nbins)),
        "precision": [float(x) for x in precision],
        "recall": [float(x) for x in recall],
    }
    result["protocol"] = {
        "relevance": "share at least one label",
        "ties": ties,
        "zero_relevant_queries": "AP = 0, counted in the mean",
        "bits": bits,
        "n_queries": nq,
        "n_database": ndb,
    }
    return result


def label_prior_map(q_labels: np.ndarray, db_labels: np.ndarray, chunk: int = 1024) -> float:
    """Expected MAP@all of a uniformly random ranking: the floor any hash code must beat.

    For a query with R relevant among N items, a relevant item at position p has on average
    1 + (R - 1)(p - 1)/(N - 1) relevant items up to it, so
    E[AP] = (H_N + (R - 1)(N - H_N)/(N - 1)) / N, with H_N the N-th harmonic number.
    Queries with R = 0 count as 0, as in `map_at_r`. (It is MAP@all under
    ``ties="expected"`` when every code is the same.) Relevant counts are taken against the
    distinct label rows of the database, ``chunk`` queries at a time.
    """
    q, db = _check_labels(q_labels, db_labels)
    n = db.shape[0]
    distinct, counts = np.unique(db != 0, axis=0, return_counts=True)
    distinct = distinct.astype(np.float32)
    counts = counts.astype(np.float64)
    rel_counts = np.empty(q.shape[0], dtype=np.float64)
    for start in range(0, q.shape[0], chunk):
        shares = ((q[start:start + chunk] != 0).astype(np.float32) @ distinct.T) > 0
        rel_counts[start:start + chunk] = shares @ counts
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    if n == 1:
        expected = np.where(rel_counts > 0, 1.0, 0.0)
    else:
        expected = (harmonic + (rel_counts - 1) * (n - harmonic) / (n - 1)) / n
    return float(np.mean(np.where(rel_counts > 0, expected, 0.0)))


def validation_map(image: np.ndarray, text: np.ndarray, labels: np.ndarray, is_validation: np.ndarray,
                   chunk: int = 256, threads: int | None = None) -> dict:
    """Model selection's number: MAP@all of the validation queries against the other rows.

    ``image``, ``text``: packed codes of the database rows (both modalities, one row per item,
    in database order); ``labels`` their labels; ``is_validation`` a boolean mask of the rows
    that are validation queries (they come from the database side). Each validation row
    queries the rows outside the mask, ties in Hamming distance by database index. Returns
    ``{"i2t": {"map@all", "ap@all"}, "t2i": {...}, "map@all": mean of the two directions}``.

    The one definition that the trainer (best epoch, early stopping, `sgrn.training.train.validate`)
    and the evaluate step (the validation tables, from the saved codes) both call.
    """
    is_validation = np.asarray(is_validation, dtype=bool)
    if is_validation.shape != (image.shape[0],) or text.shape[0] != image.shape[0]:
        raise ValueError(f"validation mask of shape {is_validation.shape} for {image.shape[0]} image and "
                         f"{text.shape[0]} text rows: one flag per database row")
    val, rest = np.flatnonzero(is_validation), np.flatnonzero(~is_validation)
    if len(val) == 0 or len(rest) == 0:
        raise ValueError(f"{len(val)} validation rows of {len(is_validation)}: validation needs queries "
                         "and rows to retrieve")
    out: dict = {}
    for name, (query_side, db_side) in {"i2t": (image, text), "t2i": (text, image)}.items():
        result = evaluate_retrieval(query_side[val], db_side[rest], labels[val], labels[rest], map_r=(None,),
                                    topk=(1,), chunk=chunk, ties="stable", threads=threads)
        out[name] = {"map@all": result["map@all"], "ap@all": result["ap@all"]}
    out["map@all"] = (out["i2t"]["map@all"] + out["t2i"]["map@all"]) / 2
    return out
