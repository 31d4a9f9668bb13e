"""Topic vectors from the tag bag of words (extract.text: lda | svd): fitted on training rows only,
seeded, recorded in features.h5, refused with the key when they cannot be fitted."""
from __future__ import annotations

import time

import h5py
import numpy as np
import pytest
import yaml
from PIL import Image
from test_listformat import make
from test_mirflickr import params_for, step

from sgrn.features.topics import check_topic_dim, topic_vectors
from workflow_utils import REPO


def tag_bow(n=120, vocab=40, seed=0):
    """Rows with a few tags each, drawn from two tag communities (so topics have something to find)."""
    rng = np.random.default_rng(seed)
    bow = np.zeros((n, vocab), dtype=np.uint8)
    for i in range(n):
        half = (i % 2) * (vocab // 2)
        bow[i, half + rng.choice(vocab // 2, size=rng.integers(2, 6), replace=False)] = 1
    return bow


TRAIN = np.arange(20, 120)
QUERY = np.arange(0, 10)
VALIDATION = np.arange(10, 20)


@pytest.mark.parametrize("kind", ["lda", "svd"])
def test_only_training_rows_shape_the_vectors(kind):
    bow = tag_bow()
    vectors, components = topic_vectors(bow, TRAIN, kind, 8, seed=0)
    other = bow.copy()
    other[QUERY] = 1 - other[QUERY]            # every query and validation row's tags changed
    other[VALIDATION] = np.roll(other[VALIDATION], 7, axis=1)
    again, again_components = topic_vectors(other, TRAIN, kind, 8, seed=0)
    np.testing.assert_array_equal(again[TRAIN], vectors[TRAIN])
    np.testing.assert_array_equal(again_components, components)
    assert not np.allclose(again[QUERY], vectors[QUERY])  # those rows are mapped, not fitted on
    # and the check can fail: a changed training row changes the fit
    moved = bow.copy()
    moved[TRAIN[:10]] = 1 - moved[TRAIN[:10]]
    assert not np.allclose(topic_vectors(moved, TRAIN, kind, 8, seed=0)[0][TRAIN[10:]], vectors[TRAIN[10:]])


def test_shapes_dtypes_and_what_each_reducer_gives():
    bow = tag_bow()
    lda, lda_components = topic_vectors(bow, TRAIN, "lda", 6, seed=0)
    svd, svd_components = topic_vectors(bow, TRAIN, "svd", 6, seed=0)
    for vectors, components in ((lda, lda_components), (svd, svd_components)):
        assert vectors.shape == (120, 6) and vectors.dtype == np.float32
        assert components.shape == (6, 40) and components.dtype == np.float32
        assert np.isfinite(vectors).all()
    assert (lda >= 0).all()
    np.testing.assert_allclose(lda.sum(axis=1), 1.0, atol=1e-5)  # topic proportions
    assert (svd < 0).any()  # signed coordinates: the reason to standardise (method.md 3)


@pytest.mark.parametrize("kind", ["lda", "svd"])
def test_deterministic_by_seed(kind):
    bow = tag_bow()
    a, _ = topic_vectors(bow, TRAIN, kind, 8, seed=3)
    b, _ = topic_vectors(bow, TRAIN, kind, 8, seed=3)
    np.testing.assert_array_equal(a, b)
    if kind == "lda":  # the SVD of a small matrix converges to the same subspace from any start
        c, _ = topic_vectors(bow, TRAIN, kind, 8, seed=4)
        assert not np.allclose(a, c)


def test_topic_count_above_vocabulary_or_training_rows_refused():
    with pytest.raises(ValueError, match="41 topics asked for, but the bag of words has 40 columns; "
                                         "expected at most 40"):
        check_topic_dim(41, 40, 100)
    with pytest.raises(ValueError, match="expected at most 30"):
        topic_vectors(tag_bow(), np.arange(30), "svd", 32, seed=0)
    check_topic_dim(40, 40, 40)


@pytest.mark.parametrize("where, value, message", [
    ("extract", {"text": "topics"}, r"extract.text: 'topics' is not one of \['bow', 'lda', 'svd'\]"),
    ("extract", {"text_dim": 1}, r"extract.text_dim: 1 is less than the minimum of 2"),
    ("per_dataset", {"text_dim": 5000}, r"extract.per_dataset.demo.text_dim: 5000 is greater than the maximum of 1024"),
    ("per_dataset", {"text_seed": -1}, r"extract.per_dataset.demo.text_seed: -1 is less than the minimum"),
])
def test_schema_refuses_bad_text_settings(where, value, message):
    from sgrn.settings.paramfile import ParamsError, validate_params

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    (raw["extract"] if where == "extract" else raw["extract"]["per_dataset"]["demo"]).update(value)
    with pytest.raises(ParamsError, match=message):
        validate_params(raw)


def test_shipped_topics_dataset_is_defined_but_not_run():
    from sgrn.settings.paramfile import extract_config, load_params

    params = load_params(REPO / "params.yaml")
    assert "mirflickr25k_sample_topics" not in params["datasets"]
    name = "mirflickr25k_sample_topics"
    assert params["download"][name] == params["download"]["mirflickr25k_sample"]
    assert params["prepare"][name] == params["prepare"]["mirflickr25k_sample"]
    cfg = extract_config(params, name)
    assert cfg["text"] in ("lda", "svd") and cfg["backbone"] == "efficientnet_lite0"


# --- through the extract step -------------------------------------------------------------------

def tiny_list_dataset(root, n=24):
    rng = np.random.default_rng(0)
    words = ["sky", "sea", "dog", "cat", "tree", "car"]
    imgs = [f"img/{i}.jpg" for i in range(n)]
    tags = [",".join(rng.choice(words, size=2, replace=False)) for _ in range(n)]
    labels = [" ".join(str(int(b)) for b in rng.random(3) < 0.6) for _ in range(n)]
    labels = [lab if "1" in lab else "1 0 0" for lab in labels]
    make(root, imgs=imgs, tags=tags, labels=labels, images=False)
    for p in imgs:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (24, 24), tuple(int(v) for v in rng.integers(0, 255, 3))).save(root / p)
    (root / "vocab.txt").write_text("\n".join(words) + "\n")
    return root


def run_steps(tmp_path, per_dataset: dict, check=True):
    root = tiny_list_dataset(tmp_path / "data")
    params = params_for(tmp_path, "t", {"source": "local", "path": str(root)},
                        {"split": {"kind": "random", "n_query": 4, "n_validation": 4}},
                        backbone="efficientnet_lite0", input_size=64)
    raw = yaml.safe_load(params.read_text())
    raw["extract"]["per_dataset"]["t"] = per_dataset
    params.write_text(yaml.safe_dump(raw))
    step("download", params, tmp_path, "--dataset", "t", "--out", "raw")
    step("prepare", params, tmp_path, "--dataset", "t", "--raw", "raw", "--out", "pairs.h5")
    return step("extract", params, tmp_path, "--dataset", "t", "--raw", "raw", "--pairs", "pairs.h5",
                "--out", "features.h5", check=check)


def test_extract_writes_topic_vectors_and_records_them(tmp_path):
    run_steps(tmp_path, {"text": "lda", "text_dim": 3, "standardise_text": True})
    with h5py.File(tmp_path / "features.h5") as f, h5py.File(tmp_path / "pairs.h5") as p:
        assert f["text"].shape == (24, 3) and f["text"].dtype == np.float32
        assert f["text_components"].shape == (3, 6)
        attrs = dict(f.attrs)
        n_train = len(p["split/train"])
        train = p["split/train"][()]
        expected, _ = topic_vectors(p["text"][()], train, "lda", 3, seed=0)
        mean, std = f["text_mean"][()], f["text_std"][()]
        np.testing.assert_allclose(f["text"][()] * std + mean, expected, atol=1e-5)
    assert attrs["text_features"] == "lda" and attrs["text_dim"] == 3 and attrs["text_seed"] == 0
    assert attrs["text_fitted_on"] == f"train ({n_train} rows)" and n_train == 16
    assert "LatentDirichletAllocation" in attrs["text_reducer"] and attrs["text_standardised"]


def test_extract_refuses_more_topics_than_tags_naming_the_key(tmp_path):
    proc = run_steps(tmp_path, {"text": "svd", "text_dim": 9}, check=False)
    assert proc.returncode == 2
    assert ("extract.per_dataset.t.text_dim: 9 topics asked for, but the bag of words has 6 columns; "
            "expected at most 6") in proc.stderr
    assert not (tmp_path / "features.h5").exists()


# --- the real MIRFlickr lists ---------------------------------------------------------------------

def test_topic_vectors_of_the_mirflickr_sample(mirflickr_sample):
    """The 730 pairs with images, split as params.yaml says: topics in seconds, carrying label signal."""
    from sgrn.data.bow import bag_of_words
    from sgrn.data.listformat import read_list_dataset
    from sgrn.data.splits import split_from_params
    from sgrn.settings.paramfile import load_params

    data = read_list_dataset(mirflickr_sample, image_root=mirflickr_sample, missing_images="skip",
                             rows_without_label="error", text="tags")
    bow = bag_of_words(data.tags, data.vocab)
    assert bow.shape == (730, 1386)
    cfg = load_params(REPO / "params.yaml")["prepare"]["mirflickr25k_sample_topics"]["split"]
    split = split_from_params(data.labels, None, cfg)
    start = time.perf_counter()
    lda, _ = topic_vectors(bow, split.train, "lda", 32, seed=0)
    svd, _ = topic_vectors(bow, split.train, "svd", 32, seed=0)
    seconds = time.perf_counter() - start
    assert lda.shape == svd.shape == (730, 32) and seconds < 120, seconds
    np.testing.assert_allclose(lda.sum(axis=1), 1.0, atol=1e-5)
    # the SVD coordinates keep tag similarity: a training row's nearest neighbour (cosine) shares
    # a label far more often than a random pair does
    x = svd[split.train] / np.linalg.norm(svd[split.train], axis=1, keepdims=True)
    cos = x @ x.T
    np.fill_diagonal(cos, -np.inf)
    labels = data.labels[split.train].astype(bool)
    nearest = (labels & labels[cos.argmax(axis=1)]).any(axis=1).mean()
    shares = (labels.astype(np.int64) @ labels.T.astype(np.int64) > 0).mean()
    assert nearest > shares + 0.1, (nearest, shares)
