"""Retrieval metrics over packed binary codes: the project's one evaluation module.

Protocol (method.md section 10):

- Relevance: a query and a database item are relevant when they share at least one label.
- Ranking: Hamming distance ascending; ties are ordered by database index (``ties="stable"``).
- MAP@R: AP over the top R of the ranking, averaged over *all* queries; R=None means the
  whole database, and R larger than the database also means the whole database.
- P@K and precision-recall over Hamming radius use the same distances and ranking.

Everything is computed in chunks of queries, so memory is bounded by ``chunk x ndb``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from sgrn.codes import hamming_distances

TIES = ("stable",)
DEFAULT_MAP_R: tuple[int | None, ...] = (50, None)
DEFAULT_TOPK: tuple[int, ...] = (1, 100, 200, 500, 1000, 1500, 2000, 2500, 3000, 3500,
                                 4000, 4500, 5000)


def relevance(q_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    """bool (nq, ndb): True where query and item share at least one label (0/1 matrices)."""
    q = np.asarray(q_labels)
    db = np.asarray(db_labels)
    if q.ndim != 2 or db.ndim != 2 or q.shape[1] != db.shape[1]:
        raise ValueError(
            f"label matrices must be 2-D with the same number of labels, got {q.shape} "
            f"and {db.shape}"
        )
    # float32 products of 0/1 labels are exact counts and use BLAS.
    return (q.astype(np.float32) @ db.astype(np.float32).T) > 0


def _check(q_packed, db_packed, q_labels, db_labels, chunk: int, ties: str):
    if ties not in TIES:
        raise ValueError(f"ties={ties!r} is not implemented; allowed values: {TIES}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    q_packed = np.asarray(q_packed)
    db_packed = np.asarray(db_packed)
    q_labels = np.asarray(q_labels)
    db_labels = np.asarray(db_labels)
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
    return q_packed, db_packed, q_labels, db_labels


def _check_cutoff(name: str, value: int | None, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} cut-off must be a positive integer, got {value!r}")


def _ranked(q_packed, db_packed, q_labels, db_labels, chunk: int) -> Iterator[tuple]:
    """Yield (distances, relevance, relevance in ranked order) per chunk of queries."""
    for start in range(0, q_packed.shape[0], chunk):
        stop = start + chunk
        dist = hamming_distances(q_packed[start:stop], db_packed)
        rel = relevance(q_labels[start:stop], db_labels)
        # Stable sort of uint16 keys: ties keep database order (and numpy uses radix sort).
        order = np.argsort(dist, axis=1, kind="stable")
        yield dist, rel, np.take_along_axis(rel, order, axis=1)


def _ranked_hits(rel_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, 0-based ranks and precision at each relevant position of a ranked chunk.

    Working on the relevant positions only avoids (chunk, ndb) float temporaries: the j-th
    hit of a row at rank p has precision j / (p + 1).
    """
    rows, ranks = np.nonzero(rel_sorted)  # row-major, so ranks ascend within a row
    counts = np.bincount(rows, minlength=rel_sorted.shape[0])
    first = np.cumsum(counts) - counts
    j = np.arange(1, rows.size + 1) - first[rows]
    return rows, ranks, j / (ranks + 1.0)


def _ap_sum(rows, ranks, precision, n: int, m: int) -> float:
    """Sum over the chunk's m queries of AP over the top n (0 for queries with no hit)."""
    keep = ranks < n
    n_hits = np.bincount(rows[keep], minlength=m)
    total = np.bincount(rows[keep], weights=precision[keep], minlength=m)
    ap = np.divide(total, n_hits, out=np.zeros(m), where=n_hits > 0)
    return float(ap.sum())


def map_at_r(
    q_packed: np.ndarray,
    db_packed: np.ndarray,
    q_labels: np.ndarray,
    db_labels: np.ndarray,
    r: int | None,
    chunk: int = 256,
    ties: str = "stable",
) -> float:
    """Mean average precision over the top ``r`` of each query's ranking.

    AP@R of a query = (1 / relevant items in the top R) x sum of precision@k over the
    relevant positions k <= R. A query with no relevant item in the top R has AP = 0 and
    still counts in the mean (DJSRH's convention: divide by the number of queries).
    ``r=None``, or ``r`` larger than the database, means the whole ranking. Ties in Hamming
    distance are ordered by database index (``ties="stable"``, the only value implemented).
    """
    q_packed, db_packed, q_labels, db_labels = _check(
        q_packed, db_packed, q_labels, db_labels, chunk, ties
    )
    _check_cutoff("r", r, allow_none=True)
    ndb = db_packed.shape[0]
    n = ndb if r is None else min(int(r), ndb)
    total = 0.0
    for _, _, rel_sorted in _ranked(q_packed, db_packed, q_labels, db_labels, chunk):
        total += _ap_sum(*_ranked_hits(rel_sorted), n, rel_sorted.shape[0])
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
) -> dict:
    """MAP@R, precision@K and precision-recall over Hamming radius, from one ranking.

    Returns ``{"map@50": ..., "map@all": ..., "p@k": {K: ...}, "pr": {"radius": [0..c],
    "precision": [...], "recall": [...]}, "protocol": {...}}`` (one ``map@R`` key per
    entry of ``map_r``; None gives ``map@all``). Conventions:

    - MAP@R: as :func:`map_at_r`; queries with no relevant item in the top R give AP = 0
      and count in the mean. R larger than the database means the whole ranking.
    - P@K: mean over all queries of (relevant in top K) / K, with K clipped to the
      database size (the key stays the K asked for).
    - Recall(r): mean, over queries with at least one relevant item in the database, of
      (relevant within Hamming radius r) / (relevant in the database); NaN if no query has
      any relevant item.
    - Precision(r): mean, over queries that retrieve at least one item within radius r, of
      (relevant within r) / (retrieved within r); NaN where no query retrieves anything.
    - Ties in Hamming distance are ordered by database index (``ties="stable"``); the PR
      curve does not depend on tie order.
    """
    q_packed, db_packed, q_labels, db_labels = _check(
        q_packed, db_packed, q_labels, db_labels, chunk, ties
    )
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

    map_sums = np.zeros(len(map_r))
    pk_sums = np.zeros(len(topk))
    recall_sum = np.zeros(nbins)
    recall_count = 0
    prec_sum = np.zeros(nbins)
    prec_count = np.zeros(nbins, dtype=np.int64)
    for dist, rel, rel_sorted in _ranked(q_packed, db_packed, q_labels, db_labels, chunk):
        m = dist.shape[0]
        rows, ranks, precision = _ranked_hits(rel_sorted)
        for i, n in enumerate(map_n):
            map_sums[i] += _ap_sum(rows, ranks, precision, n, m)
        for i, n in enumerate(k_n):
            pk_sums[i] += np.count_nonzero(ranks < n) / n

        # Per-query histograms over distance 0..c: retrieved and relevant counts.
        flat = (dist.astype(np.int64) + nbins * np.arange(m)[:, None]).ravel()
        retrieved = np.bincount(flat, minlength=m * nbins).reshape(m, nbins).cumsum(axis=1)
        relevant = (
            np.bincount(flat[rel.ravel()], minlength=m * nbins).reshape(m, nbins).cumsum(axis=1)
        )
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
    result["p@k"] = {k: float(s / nq) for k, s in zip(topk, pk_sums)}
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


def label_prior_map(q_labels: np.ndarray, db_labels: np.ndarray) -> float:
    """Expected MAP@all of a uniformly random ranking: the floor any hash code must beat.

    For a query with R relevant among N items, a relevant item at position p has on average
    1 + (R - 1)(p - 1)/(N - 1) relevant items up to it, so
    E[AP] = (H_N + (R - 1)(N - H_N)/(N - 1)) / N, with H_N the N-th harmonic number.
    Queries with R = 0 count as 0, as in `map_at_r`.
    """
    rel_counts = relevance(q_labels, db_labels).sum(axis=1).astype(np.float64)
    n = db_labels.shape[0]
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    if n == 1:
        expected = np.where(rel_counts > 0, 1.0, 0.0)
    else:
        expected = (harmonic + (rel_counts - 1) * (n - harmonic) / (n - 1)) / n
    return float(np.mean(np.where(rel_counts > 0, expected, 0.0)))
