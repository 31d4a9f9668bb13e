import numpy as np
import pytest

from sgrn.data.splits import per_label_split


def random_labels(n=3000, n_labels=8, seed=1):
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, n_labels)) < 0.15).astype(np.uint8)
    labels[np.arange(n), rng.integers(n_labels, size=n)] = 1
    return labels


def check_invariants(split, n):
    for name in ("query", "train", "database", "validation"):
        idx = getattr(split, name)
        assert idx.dtype == np.int64, name
        assert np.all(np.diff(idx) > 0), f"{name} must be sorted and unique"
        assert idx.size == 0 or (idx[0] >= 0 and idx[-1] < n), name
    assert np.intersect1d(split.query, split.train).size == 0
    np.testing.assert_array_equal(split.database, np.setdiff1d(np.arange(n), split.query))
    assert np.isin(split.train, split.database).all()
    assert np.intersect1d(split.validation, split.query).size == 0


def test_sizes_and_invariants():
    labels = random_labels()
    split = per_label_split(labels, query_per_label=20, train_per_label=50,
                            first_label_scale=2, n_validation=300, seed=0)
    check_invariants(split, len(labels))
    assert len(split.query) == 20 * 9
    assert len(split.train) == 50 * 9
    assert len(split.database) == 3000 - 180
    assert len(split.validation) == 300
    # Enough rows outside train: validation does not touch it.
    assert np.intersect1d(split.validation, split.train).size == 0


def test_per_label_quota_on_constructed_case():
    # Disjoint blocks: label 0 has exactly its quota (2 * (5 + 10) rows), label 1 exactly
    # 5 + 10, label 2 only 10 (short by 5 training rows); 100 rows have no label.
    blocks = [30, 15, 10, 100]
    labels = np.zeros((sum(blocks), 3), dtype=np.uint8)
    starts = np.cumsum([0] + blocks)
    for col in range(3):
        labels[starts[col]:starts[col + 1], col] = 1
    split = per_label_split(labels, query_per_label=5, train_per_label=10,
                            first_label_scale=2, n_validation=20, seed=3)
    check_invariants(split, len(labels))
    block = np.searchsorted(starts, np.arange(len(labels)), side="right") - 1
    assert np.bincount(block[split.query], minlength=4).tolist() == [10, 5, 5, 0]
    # The 5 training rows label 2 could not give are topped up from the unlabelled rows.
    assert np.bincount(block[split.train], minlength=4).tolist() == [20, 10, 5, 5]


def test_labels_are_served_in_order():
    # Label 0 (rows 0-19) is drawn first and takes all 20 with its doubled quota; label 1
    # (rows 0-29) then finds exactly 10 left. Serving label 1 first would leave label 0
    # short and pull unlabelled rows in through the top-up.
    labels = np.zeros((100, 2), dtype=np.uint8)
    labels[:20, 0] = 1
    labels[:30, 1] = 1
    split = per_label_split(labels, query_per_label=10, train_per_label=0,
                            first_label_scale=2, n_validation=0, seed=0)
    np.testing.assert_array_equal(split.query, np.arange(30))


def test_short_label_then_top_up_queries():
    labels = np.zeros((100, 2), dtype=np.uint8)
    labels[:3, 1] = 1  # label 1 has only 3 rows; label 0 none
    split = per_label_split(labels, query_per_label=4, train_per_label=6,
                            first_label_scale=1, n_validation=0, seed=0)
    check_invariants(split, 100)
    assert len(split.query) == 8 and len(split.train) == 12
    assert set(range(3)) <= set(split.query.tolist())


def test_validation_falls_back_to_train_but_never_query():
    labels = random_labels(n=100, n_labels=2)
    split = per_label_split(labels, query_per_label=5, train_per_label=40,
                            first_label_scale=1, n_validation=20, seed=0)
    check_invariants(split, 100)
    free = np.setdiff1d(split.database, split.train)
    assert len(free) == 10
    assert len(split.validation) == 20
    assert np.isin(free, split.validation).all()
    assert np.intersect1d(split.validation, split.train).size == 10


def test_deterministic_from_seed():
    labels = random_labels()
    args = dict(query_per_label=20, train_per_label=50, first_label_scale=2, n_validation=100)
    a = per_label_split(labels, seed=7, **args)
    b = per_label_split(labels, seed=7, **args)
    c = per_label_split(labels, seed=8, **args)
    for name in ("query", "train", "database", "validation"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.query, c.query)
    assert not np.array_equal(a.train, c.train)


@pytest.mark.parametrize("kwargs, param", [
    (dict(query_per_label=100, train_per_label=300), "query_per_label=100"),
    (dict(query_per_label=10, train_per_label=10, n_validation=2000), "n_validation=2000"),
    (dict(query_per_label=-1, train_per_label=10), "query_per_label"),
    (dict(query_per_label=1, train_per_label=1, first_label_scale=-2), "first_label_scale"),
])
def test_refuses_impossible_requests(kwargs, param):
    labels = random_labels(n=1000, n_labels=3)
    args = dict(first_label_scale=1, n_validation=0, seed=0) | kwargs
    with pytest.raises(ValueError, match=param):
        per_label_split(labels, **args)


def test_random_split_sizes_and_rest():
    from sgrn.data.splits import random_split

    split = random_split(730, n_query=100, n_train=None, n_validation=100, seed=0)
    check_invariants(split, 730)
    assert len(split.query) == 100 and len(split.train) == 630
    np.testing.assert_array_equal(split.train, split.database)
    assert set(split.validation) <= set(split.database)
    split = random_split(1000, n_query=50, n_train=200, n_validation=30, seed=1)
    assert len(split.train) == 200 and len(split.database) == 950
    assert not set(split.validation) & set(split.train)  # drawn from database minus train first
    with pytest.raises(ValueError, match="exceed"):
        random_split(100, n_query=50, n_train=60, n_validation=1, seed=0)


def test_given_split_keeps_the_partition():
    from sgrn.data.splits import given_split

    split = given_split(50, np.arange(40, 50), n_validation=5, seed=0)
    check_invariants(split, 50)
    np.testing.assert_array_equal(split.query, np.arange(40, 50))
    np.testing.assert_array_equal(split.database, np.arange(40))
    np.testing.assert_array_equal(split.train, np.arange(40))
    assert len(split.validation) == 5 and split.validation.max() < 40


@pytest.mark.parametrize("dataset, n, n_labels, sizes", [
    ("mirflickr25k", 20015, 24, (2000, 5000, 18015)),
    ("nuswide_tc10", 186577, 10, (2000, 5000, 184577)),
    ("mscoco", 122218, 80, (5000, 10000, 117218)),
])
def test_standard_splits_of_the_params(dataset, n, n_labels, sizes):
    from sgrn.data.splits import split_from_params
    from sgrn.params import load_params
    from workflow_utils import REPO

    cfg = load_params(REPO / "params.yaml")["prepare"][dataset]["split"]
    split = split_from_params(random_labels(n, n_labels), None, cfg)
    assert (len(split.query), len(split.train), len(split.database)) == sizes
    check_invariants(split, n)


def test_split_from_params_refuses_what_cannot_be_done():
    from sgrn.data.splits import split_from_params

    labels = random_labels(100, 3)
    with pytest.raises(ValueError, match="kind: given, but the data comes with no partition"):
        split_from_params(labels, None, {"kind": "given", "n_validation": 5, "seed": 0})
    with pytest.raises(ValueError, match="n_query: required"):
        split_from_params(labels, None, {"kind": "random", "n_validation": 5, "seed": 0})
    split = split_from_params(labels, np.arange(90, 100), {"kind": "auto", "n_validation": 5, "seed": 0})
    np.testing.assert_array_equal(split.query, np.arange(90, 100))
