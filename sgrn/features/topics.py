"""Tag bags of words reduced to dense topic vectors (extract.text: lda | svd).

Older cross-modal benchmarks ship text as dense topic vectors rather than bags of words;
these reductions give the same kind of feature from our own tags. The reducer is fitted on
the training rows only (never on query or validation rows), seeded, and then maps every row:

- lda: scikit-learn's LatentDirichletAllocation (batch variational Bayes); a row's vector is
  its topic proportions (non-negative, summing to 1).
- svd: scikit-learn's TruncatedSVD (randomized, latent semantic analysis of the 0/1 matrix);
  a row's vector holds its signed coordinates on the leading components.

Either crowds the cosines together (proportions) or makes them signed (coordinates): method.md
section 3 standardises such features (extract.standardise_text: true).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

KINDS = ("lda", "svd")
LDA_MAX_ITER = 50  # passes over the training rows (scikit-learn's default 10 stops early on tags)


def check_topic_dim(dim: int, vocab_size: int, n_train: int) -> None:
    """Refuse a topic count above the vocabulary or the training-set size (ValueError, the reason)."""
    if dim > vocab_size:
        raise ValueError(f"{dim} topics asked for, but the bag of words has {vocab_size} columns; "
                         f"expected at most {vocab_size}")
    if dim > n_train:
        raise ValueError(f"{dim} topics asked for, but the reducer is fitted on {n_train} training "
                         f"rows; expected at most {n_train}")


def reducer_name(kind: str) -> str:
    """What fits the vectors, with the library version: recorded in features.h5."""
    import sklearn

    model = {"lda": f"LatentDirichletAllocation(learning_method=batch, max_iter={LDA_MAX_ITER})",
             "svd": "TruncatedSVD(algorithm=randomized)"}[kind]
    return f"scikit-learn {sklearn.__version__} {model}"


def topic_vectors(bow: np.ndarray, train_rows: np.ndarray, kind: str, dim: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) float32 vectors of every row of ``bow`` and the (dim, vocabulary) float32 components.

    The reducer sees only ``bow[train_rows]``; the same seed gives the same vectors.
    """
    from sklearn.decomposition import LatentDirichletAllocation, TruncatedSVD

    if kind not in KINDS:
        raise ValueError(f"unknown topic reducer '{kind}'; expected one of {', '.join(KINDS)}")
    check_topic_dim(dim, bow.shape[1], len(train_rows))
    x = sp.csr_matrix(bow, dtype=np.float64)
    if kind == "lda":
        model = LatentDirichletAllocation(n_components=dim, learning_method="batch", max_iter=LDA_MAX_ITER,
                                          random_state=seed)
    else:
        model = TruncatedSVD(n_components=dim, algorithm="randomized", random_state=seed)
    model.fit(x[np.sort(train_rows)])
    vectors = model.transform(x).astype(np.float32)
    return vectors, model.components_.astype(np.float32)
