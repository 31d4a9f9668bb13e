"""Binary bag-of-words text features over a tag vocabulary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def tag_counts(tags: Sequence[Sequence[str]]) -> Counter[str]:
    """For each tag, the number of rows it occurs in (repeats within a row count once)."""
    counts: Counter[str] = Counter()
    for row in tags:
        counts.update(set(row))
    return counts


def build_vocab(tags: Sequence[Sequence[str]], min_count: int) -> list[str]:
    """The tags that occur in at least ``min_count`` rows, sorted."""
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    return sorted(t for t, c in tag_counts(tags).items() if c >= min_count)


def bag_of_words(tags: Sequence[Sequence[str]], vocab: Sequence[str]) -> np.ndarray:
    """The (n, V) uint8 matrix: 1 where row i has tag vocab[j]; tags outside vocab are ignored."""
    index = {t: j for j, t in enumerate(vocab)}
    if len(index) != len(vocab):
        raise ValueError("vocab has repeated tags")
    bow = np.zeros((len(tags), len(vocab)), dtype=np.uint8)
    for i, row in enumerate(tags):
        cols = [index[t] for t in row if t in index]
        bow[i, cols] = 1
    return bow


def rows_with_tags(bow: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows with at least one vocabulary tag.

    Rows without any have an all-zero text feature; callers decide whether to drop them
    (``bow[mask]``, ``labels[mask]``, ...) before splitting.
    """
    return np.asarray(bow).any(axis=1)
