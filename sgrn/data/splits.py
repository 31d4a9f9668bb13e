"""Query / training / validation splits (method.md section 10), drawn once from a seed.

The three sets are disjoint: a validation query is never a training pair nor a test query,
so model selection is measured out of sample. `check_split_config` refuses, naming the
params key, a split that cannot give three disjoint sets; it runs when params.yaml is read
(with the sizes the file itself states) and again in prepare (with the data's sizes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Sorted int64 row indices.

    query, train and validation are disjoint; database is every non-query row (it contains
    train and validation). validation is for model selection only.
    """

    query: np.ndarray
    train: np.ndarray
    database: np.ndarray
    validation: np.ndarray


def _overlap(n: int, n_query: int, n_train: int | None, n_validation: int) -> str | None:
    """Why the sizes cannot be disjoint in n rows (n_train None: the rest, at least one), or None."""
    if n_query + (1 if n_train is None else n_train) + n_validation <= n:
        return None
    asked = "the rest (at least 1)" if n_train is None else str(n_train)
    return (f"{n_query} queries + {asked} training pairs + {n_validation} validation queries "
            f"do not fit in the {n} rows; expected at most {n} in all, because a validation "
            "query must be neither a training pair nor a query")


def _check_total(n: int, n_query: int, n_train: int | None, n_validation: int) -> None:
    problem = _overlap(n, n_query, n_train, n_validation)
    if problem:
        raise ValueError(f"n_validation={n_validation}: {problem}")


def per_label_split(
    labels: np.ndarray,
    query_per_label: int,
    train_per_label: int,
    first_label_scale: int,
    n_validation: int,
    seed: int,
) -> Split:
    """Draw queries and training rows label by label, then top both up at random.

    For each label l in order, from the rows not yet drawn that have label l: q_l queries,
    then t_l training rows (fewer if short), where label 0 gets ``first_label_scale`` times
    the per-label counts. The totals are then filled at random from rows not yet drawn:
    queries first, then training. Validation is drawn from the rows left (never train).
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-d (n, L) array, got shape {labels.shape}")
    for name, value in (("query_per_label", query_per_label), ("train_per_label", train_per_label),
                        ("first_label_scale", first_label_scale), ("n_validation", n_validation)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    n, n_labels = labels.shape
    scales = [first_label_scale] + [1] * (n_labels - 1) if n_labels else []
    n_query = query_per_label * sum(scales)
    n_train = train_per_label * sum(scales)
    if n_query + n_train > n:
        raise ValueError(
            f"query_per_label={query_per_label}, train_per_label={train_per_label} and "
            f"first_label_scale={first_label_scale} ask for {n_query} queries + {n_train} "
            f"training rows, more than the {n} rows available"
        )
    _check_total(n, n_query, n_train, n_validation)

    rng = np.random.default_rng(seed)
    has = labels.astype(bool)
    drawn = np.zeros(n, dtype=bool)
    query: list[np.ndarray] = []
    train: list[np.ndarray] = []
    for col, scale in enumerate(scales):
        pool = rng.permutation(np.flatnonzero(has[:, col] & ~drawn))
        q = pool[: query_per_label * scale]
        t = pool[len(q): len(q) + train_per_label * scale]
        drawn[q] = drawn[t] = True
        query.append(q)
        train.append(t)

    rest = rng.permutation(np.flatnonzero(~drawn))
    need_q = n_query - sum(map(len, query))
    need_t = n_train - sum(map(len, train))
    query.append(rest[:need_q])
    train.append(rest[need_q: need_q + need_t])
    query_idx = np.sort(np.concatenate(query))
    train_idx = np.sort(np.concatenate(train))
    drawn[query_idx] = drawn[train_idx] = True
    validation = rng.permutation(np.flatnonzero(~drawn))[:n_validation]
    return _split(n, query_idx, train_idx, validation)


def random_split(n: int, n_query: int, n_train: int | None, n_validation: int, seed: int) -> Split:
    """Queries, then validation queries, then training rows, drawn uniformly (the MS-COCO protocol).

    n_train None: every row that is neither a query nor a validation query trains (small
    samples): validation is carved first, so the training set is the smaller for it.
    """
    if n_query < 1 or n_query >= n:
        raise ValueError(f"n_query={n_query} must be at least 1 and below the {n} rows")
    if n_train is not None and n_query + n_train > n:
        raise ValueError(f"n_query={n_query} + n_train={n_train} exceed the {n} rows")
    _check_total(n, n_query, n_train, n_validation)
    order = np.random.default_rng(seed).permutation(n)
    validation = order[n_query:n_query + n_validation]
    rest = order[n_query + n_validation:]
    return _split(n, order[:n_query], rest if n_train is None else rest[:n_train], validation)


def given_split(n: int, query: np.ndarray, n_validation: int, seed: int) -> Split:
    """A partition that came with the data: ``query`` rows (the test set); of the others,
    ``n_validation`` random rows are validation queries and the rest is the training set (all
    of them are the database)."""
    query = np.sort(np.asarray(query, dtype=np.int64))
    is_query = np.zeros(n, dtype=bool)
    is_query[query] = True
    _check_total(n, len(query), None, n_validation)
    rest = np.random.default_rng(seed).permutation(np.flatnonzero(~is_query))
    return _split(n, query, rest[n_validation:], rest[:n_validation])


def _split(n: int, query, train, validation) -> Split:
    is_query = np.zeros(n, dtype=bool)
    is_query[query] = True
    return Split(query=np.sort(query).astype(np.int64), train=np.sort(train).astype(np.int64),
                 database=np.flatnonzero(~is_query).astype(np.int64),
                 validation=np.sort(validation).astype(np.int64))


def describe_split(split: Split) -> str:
    """One log line with the counts, saying when the training set gave way to validation."""
    n_q, n_t, n_v, n_db = (len(split.query), len(split.train), len(split.validation), len(split.database))
    line = (f"{n_q} queries, {n_t} training pairs, {n_v} validation queries (disjoint from both), "
            f"{n_db} database items")
    if n_v and n_t + n_v == n_db:
        line += (f"; training = the {n_db} non-query rows minus the {n_v} validation queries "
                 "(validation is carved first, so training is that much smaller)")
    return line


def check_split_config(cfg: dict, where: str, n_rows: int | None = None,
                       n_labels: int | None = None) -> None:
    """Refuse a split config that cannot give disjoint query, training and validation sets.

    ``where`` is the key of the split block (``prepare.<dataset>.split``); messages name
    ``<where>.<key>``. Without ``n_rows`` only the keys are checked; without ``n_labels`` a
    per-label split is counted as if it had one label (a lower bound on its sizes).
    """
    kind = cfg.get("kind", "auto")
    required = {"per_label": ("query_per_label", "train_per_label"), "random": ("n_query",)}.get(kind, ())
    for key in required:
        if key not in cfg:
            raise ValueError(f"{where}.{key}: required for a split of kind {kind}")
    per_label = kind == "per_label" or kind == "auto" and {"query_per_label", "train_per_label"} <= set(cfg)
    if n_rows is None or not (per_label or kind == "random"):
        return
    if kind == "random":
        n_query, n_train = cfg["n_query"], None if cfg.get("n_train", "rest") == "rest" else cfg["n_train"]
        too_many = "n_train" if n_train is not None and n_query + n_train > n_rows else None
    else:
        scale = cfg.get("first_label_scale", 2) + max((n_labels or 1) - 1, 0)
        n_query, n_train = cfg["query_per_label"] * scale, cfg["train_per_label"] * scale
        too_many = "train_per_label" if n_query + n_train > n_rows else None
    if too_many:
        raise ValueError(f"{where}.{too_many}: {n_query} queries + {n_train} training pairs; expected "
                         f"at most the {n_rows} rows in all")
    problem = _overlap(n_rows, n_query, n_train, cfg.get("n_validation", 100))
    if problem:
        raise ValueError(f"{where}.n_validation: {problem}")


def check_split_settings(params: dict, source: str, error: type[Exception] = ValueError) -> None:
    """`check_split_config` on every prepare entry of params.yaml, before any job runs.

    The row count is known here only where params.yaml states it (download.<dataset>.n_pairs
    of a generated dataset); prepare checks again with the data's own counts. Raises
    ``error`` (params.py passes its ParamsError) naming the file and the key.
    """
    for dataset, entry in params["prepare"].items():
        download = params["download"].get(dataset, {})
        n_rows = download.get("n_pairs") if download.get("source") == "demo" else None
        try:
            check_split_config(entry.get("split", {}), f"prepare.{dataset}.split", n_rows)
        except ValueError as err:
            raise error(f"{source}: {err}") from None


def split_from_params(labels: np.ndarray, given_query: np.ndarray | None, cfg: dict,
                      where: str = "split") -> Split:
    """The split that ``prepare.<dataset>.split`` asks for (see the params schema).

    kind auto: the partition that came with the data when there is one (``given_query``),
    else per_label. Raises ValueError naming ``<where>.<key>`` that is missing or impossible.
    """
    n, kind = len(labels), cfg.get("kind", "auto")
    try:
        if given_query is not None and kind in ("given", "auto"):
            return given_split(n, given_query, cfg["n_validation"], cfg["seed"])
        if kind == "given":
            raise ValueError("kind: given, but the data comes with no partition (only .mat files "
                             "with *_tr and *_te variables have one)")
        if kind == "auto":
            kind, cfg = "per_label", {**cfg, "kind": "per_label"}
        check_split_config(cfg, where, n_rows=n, n_labels=labels.shape[1])
        if kind == "per_label":
            return per_label_split(labels, query_per_label=cfg["query_per_label"],
                                   train_per_label=cfg["train_per_label"],
                                   first_label_scale=cfg["first_label_scale"],
                                   n_validation=cfg["n_validation"], seed=cfg["seed"])
        n_train = None if cfg.get("n_train", "rest") == "rest" else cfg["n_train"]
        return random_split(n, cfg["n_query"], n_train, cfg["n_validation"], cfg["seed"])
    except ValueError as err:
        if str(err).startswith(where):
            raise
        raise ValueError(f"{where}: {err}") from None
