"""Per-label query/train split (method.md section 10), drawn once from a seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Sorted int64 row indices.

    database is every non-query row (it contains train); validation is for model selection
    only and never holds a query.
    """

    query: np.ndarray
    train: np.ndarray
    database: np.ndarray
    validation: np.ndarray


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
    queries first, then training. Validation is drawn from database minus train, and from
    train only if that is short.
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
    if n_validation > n - n_query:
        raise ValueError(
            f"n_validation={n_validation} exceeds the {n - n_query} database rows"
        )

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

    is_query = np.zeros(n, dtype=bool)
    is_query[query_idx] = True
    is_train = np.zeros(n, dtype=bool)
    is_train[train_idx] = True
    database = np.flatnonzero(~is_query)
    free = rng.permutation(np.flatnonzero(~is_query & ~is_train))
    validation = free[:n_validation]
    if len(validation) < n_validation:
        extra = rng.permutation(train_idx)[: n_validation - len(validation)]
        validation = np.concatenate([validation, extra])

    return Split(
        query=query_idx.astype(np.int64),
        train=train_idx.astype(np.int64),
        database=database.astype(np.int64),
        validation=np.sort(validation).astype(np.int64),
    )


def random_split(n: int, n_query: int, n_train: int | None, n_validation: int, seed: int) -> Split:
    """Queries and training rows drawn uniformly (the MS-COCO protocol).

    n_train None: every non-query row is a training row (small samples). Validation comes
    from database minus train, and from train when that is short.
    """
    if n_query < 1 or n_query >= n:
        raise ValueError(f"n_query={n_query} must be at least 1 and below the {n} rows")
    rest = n - n_query
    n_train = rest if n_train is None else n_train
    if n_train > rest:
        raise ValueError(f"n_query={n_query} + n_train={n_train} exceed the {n} rows")
    if n_validation > rest:
        raise ValueError(f"n_validation={n_validation} exceeds the {rest} database rows")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    query = np.sort(order[:n_query])
    train = np.sort(order[n_query:n_query + n_train])
    return _with_validation(n, query, train, n_validation, rng)


def given_split(n: int, query: np.ndarray, n_validation: int, seed: int) -> Split:
    """A partition that came with the data: ``query`` rows (the test set), all others are the
    database and the training set."""
    query = np.sort(np.asarray(query, dtype=np.int64))
    rest = n - len(query)
    if n_validation > rest:
        raise ValueError(f"n_validation={n_validation} exceeds the {rest} database rows")
    is_query = np.zeros(n, dtype=bool)
    is_query[query] = True
    return _with_validation(n, query, np.flatnonzero(~is_query), n_validation,
                            np.random.default_rng(seed))


def _with_validation(n, query, train, n_validation, rng) -> Split:
    is_query = np.zeros(n, dtype=bool)
    is_query[query] = True
    is_train = np.zeros(n, dtype=bool)
    is_train[train] = True
    free = rng.permutation(np.flatnonzero(~is_query & ~is_train))
    validation = free[:n_validation]
    if len(validation) < n_validation:
        validation = np.concatenate([validation, rng.permutation(train)[: n_validation - len(validation)]])
    return Split(query=query.astype(np.int64), train=np.asarray(train, np.int64),
                 database=np.flatnonzero(~is_query).astype(np.int64),
                 validation=np.sort(validation).astype(np.int64))


def split_from_params(labels: np.ndarray, given_query: np.ndarray | None, cfg: dict) -> Split:
    """The split that ``prepare.<dataset>.split`` asks for (see the params schema).

    kind auto: the partition that came with the data when there is one (``given_query``),
    else per_label. Raises ValueError naming the missing or impossible setting.
    """
    n, kind = len(labels), cfg.get("kind", "auto")
    if given_query is not None and kind in ("given", "auto"):
        return given_split(n, given_query, cfg["n_validation"], cfg["seed"])
    if kind == "given":
        raise ValueError("kind: given, but the data comes with no partition (only .mat files "
                         "with *_tr and *_te variables have one)")
    if kind in ("per_label", "auto"):
        for key in ("query_per_label", "train_per_label"):
            if key not in cfg:
                raise ValueError(f"{key}: required for a per-label split")
        return per_label_split(labels, query_per_label=cfg["query_per_label"],
                               train_per_label=cfg["train_per_label"],
                               first_label_scale=cfg["first_label_scale"],
                               n_validation=cfg["n_validation"], seed=cfg["seed"])
    if "n_query" not in cfg:
        raise ValueError("n_query: required for a random split")
    n_train = None if cfg.get("n_train", "rest") == "rest" else cfg["n_train"]
    return random_split(n, cfg["n_query"], n_train, cfg["n_validation"], cfg["seed"])
