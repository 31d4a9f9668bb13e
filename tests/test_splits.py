import numpy as np
import pytest
import yaml

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
    assert np.intersect1d(split.validation, split.train).size == 0, "validation must be out of sample"
    assert np.isin(split.validation, split.database).all()


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


def test_per_label_validation_never_takes_training_rows():
    labels = random_labels(n=100, n_labels=2)
    # 5 + 40 per label: 90 of the 100 rows are queries or training pairs, 10 are left
    split = per_label_split(labels, query_per_label=5, train_per_label=40,
                            first_label_scale=1, n_validation=10, seed=0)
    check_invariants(split, 100)
    np.testing.assert_array_equal(split.validation, np.setdiff1d(split.database, split.train))
    with pytest.raises(ValueError, match="n_validation=11: 10 queries \\+ 80 training pairs \\+ 11 "
                                         "validation queries do not fit in the 100 rows"):
        per_label_split(labels, query_per_label=5, train_per_label=40, first_label_scale=1,
                        n_validation=11, seed=0)


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
    # rest: validation is carved first, the training set is the other 530 non-query rows
    assert (len(split.query), len(split.train), len(split.validation), len(split.database)) == (100, 530, 100, 630)
    np.testing.assert_array_equal(np.union1d(split.train, split.validation), split.database)
    split = random_split(1000, n_query=50, n_train=200, n_validation=30, seed=1)
    check_invariants(split, 1000)
    assert len(split.train) == 200 and len(split.database) == 950 and len(split.validation) == 30
    with pytest.raises(ValueError, match="exceed"):
        random_split(100, n_query=50, n_train=60, n_validation=1, seed=0)
    with pytest.raises(ValueError, match="n_validation=11: 50 queries \\+ 40 training pairs \\+ 11 validation"):
        random_split(100, n_query=50, n_train=40, n_validation=11, seed=0)
    with pytest.raises(ValueError, match="n_validation=50: 50 queries \\+ the rest \\(at least 1\\)"):
        random_split(100, n_query=50, n_train=None, n_validation=50, seed=0)


def test_random_split_keeps_its_queries_when_validation_is_carved_first():
    """The test queries of a seed do not depend on n_validation (only training gives way)."""
    from sgrn.data.splits import random_split

    a = random_split(730, n_query=100, n_train=None, n_validation=0, seed=0)
    b = random_split(730, n_query=100, n_train=None, n_validation=100, seed=0)
    np.testing.assert_array_equal(a.query, b.query)
    np.testing.assert_array_equal(np.union1d(b.train, b.validation), a.train)


def test_given_split_keeps_the_partition():
    from sgrn.data.splits import given_split

    split = given_split(50, np.arange(40, 50), n_validation=5, seed=0)
    check_invariants(split, 50)
    np.testing.assert_array_equal(split.query, np.arange(40, 50))
    np.testing.assert_array_equal(split.database, np.arange(40))
    assert len(split.validation) == 5 and split.validation.max() < 40
    np.testing.assert_array_equal(split.train, np.setdiff1d(np.arange(40), split.validation))
    with pytest.raises(ValueError, match="n_validation=40"):
        given_split(50, np.arange(40, 50), n_validation=40, seed=0)


@pytest.mark.parametrize("dataset, n, n_labels, sizes", [
    ("mirflickr25k", 20015, 24, (2000, 5000, 18015)),
    ("nuswide_tc10", 186577, 10, (2000, 5000, 184577)),
    ("mscoco", 122218, 80, (5000, 10000, 117218)),
])
def test_standard_splits_of_the_params(dataset, n, n_labels, sizes):
    from sgrn.data.splits import split_from_params
    from sgrn.settings.params import load_params
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


# Rows and labels of the datasets named in params.yaml (entries added later get the fallback).
SIZES = {"demo": (2400, 10), "mirflickr25k_sample": (730, 24), "mirflickr25k_sample_topics": (730, 24),
         "mirflickr25k_128": (15677, 24),
         "nuswide_tc10": (186577, 10), "mscoco": (122218, 80)}


def test_every_split_of_the_params_keeps_validation_out_of_sample():
    from sgrn.data.splits import split_from_params
    from sgrn.settings.params import load_params
    from workflow_utils import REPO

    prepare = load_params(REPO / "params.yaml")["prepare"]
    kinds = set()
    for dataset, entry in prepare.items():
        n, n_labels = SIZES.get(dataset, (20015, 24))
        labels = random_labels(n, n_labels)
        split = split_from_params(labels, None, entry["split"], where=f"prepare.{dataset}.split")
        check_invariants(split, n)
        assert len(split.validation) == entry["split"]["n_validation"], dataset
        kinds.add(entry["split"]["kind"])
        # the same settings on data that comes with a partition (kind auto takes it)
        if entry["split"]["kind"] == "auto":
            given = split_from_params(labels, np.arange(n - n // 10, n), entry["split"])
            check_invariants(given, n)
    assert {"random", "per_label"} <= kinds


def test_params_refuse_a_split_whose_validation_would_overlap_training():
    from sgrn.settings.params import ParamsError, validate_params
    from workflow_utils import REPO

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["download"]["demo"]["n_pairs"] = 400
    raw["prepare"]["demo"]["split"] = {"kind": "random", "seed": 0, "n_query": 100, "n_train": 250,
                                       "n_validation": 100}
    with pytest.raises(ParamsError, match=r"params.yaml: prepare.demo.split.n_validation: 100 queries "
                                          r"\+ 250 training pairs \+ 100 validation queries do not fit "
                                          r"in the 400 rows"):
        validate_params(raw)
    raw["prepare"]["demo"]["split"] = {"kind": "per_label", "query_per_label": 20, "train_per_label": 150,
                                       "n_validation": 61}
    with pytest.raises(ParamsError, match=r"prepare.demo.split.n_validation: 40 queries \+ 300 training"):
        validate_params(raw)  # label 0 alone (first_label_scale 2) asks for 340 + 61 > 400
    raw["prepare"]["demo"]["split"] = {"kind": "per_label", "query_per_label": 20}
    with pytest.raises(ParamsError, match=r"prepare.demo.split.train_per_label: required"):
        validate_params(raw)


def test_prepare_names_the_key_when_the_data_is_too_small():
    from sgrn.data.splits import split_from_params

    cfg = {"kind": "random", "seed": 0, "n_query": 100, "n_train": "rest", "n_validation": 100}
    with pytest.raises(ValueError, match=r"^prepare.s.split.n_validation: 100 queries \+ the rest"):
        split_from_params(random_labels(150, 3), None, cfg, where="prepare.s.split")


def test_describe_split_says_when_training_gave_way():
    from sgrn.data.splits import describe_split, random_split

    line = describe_split(random_split(730, n_query=100, n_train=None, n_validation=100, seed=0))
    assert line.startswith("100 queries, 530 training pairs, 100 validation queries")
    assert "the 630 non-query rows minus the 100 validation queries" in line
    assert "minus" not in describe_split(random_split(1000, n_query=50, n_train=200, n_validation=30, seed=1))
