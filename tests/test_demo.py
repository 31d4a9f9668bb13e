from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sgrn.data.bow import bag_of_words, build_vocab, rows_with_tags
from sgrn.data.demo import KIND_WORDS, KINDS, NOISE_TAGS, generate_demo
from sgrn.data.listformat import read_list_dataset

N = 400
LIST_FILES = ("all_imgs.txt", "all_tags.txt", "all_labels.txt", "vocab.txt")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    counts = generate_demo(root, n_pairs=N, seed=0, image_size=64)
    return root, counts, read_list_dataset(root)


def all_bytes(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_same_seed_byte_identical_other_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_demo(a, n_pairs=40, seed=5, image_size=48)
    generate_demo(b, n_pairs=40, seed=5, image_size=48)
    generate_demo(c, n_pairs=40, seed=6, image_size=48)
    files_a, files_c = all_bytes(a), all_bytes(c)
    assert len(files_a) == 40 + len(LIST_FILES)
    assert files_a == all_bytes(b)
    assert files_a.keys() == files_c.keys()
    for name in ("all_tags.txt", "all_labels.txt", "images/im1.jpg"):
        assert files_a[name] != files_c[name], name


def test_counts_and_files(demo):
    root, counts, ds = demo
    assert counts["pairs"] == len(ds) == N
    assert counts["labels"] == len(KINDS) == ds.labels.shape[1] == 10
    assert counts["vocab"] == len(ds.vocab)
    assert counts["tag_tokens"] == sum(map(len, ds.tags))
    assert list(counts["positives"].values()) == ds.labels.sum(axis=0).tolist()
    assert ds.image_paths == [f"images/im{i}.jpg" for i in range(1, N + 1)]
    for i in (0, N - 1):
        with Image.open(ds.image_file(i)) as im:
            assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (64, 64))


def test_list_format(demo):
    root, _, ds = demo
    for name in LIST_FILES:
        data = (root / name).read_bytes()
        assert b"\r" not in data and data.endswith(b"\n"), name
    assert ds.vocab == build_vocab(ds.tags, 5)
    # Written tags are already normalised: reading changes nothing.
    raw = (root / "all_tags.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split(",") for line in raw] == ds.tags
    assert all(len(set(row)) == len(row) for row in ds.tags)


def test_label_statistics(demo):
    _, _, ds = demo
    per_row = ds.labels.sum(axis=1)
    assert per_row.min() == 1 and per_row.max() == 3
    assert set(np.unique(per_row)) == {1, 2, 3}
    assert (ds.labels.mean(axis=0) >= 0.05).all()


def test_every_pair_has_a_vocabulary_tag(demo):
    _, _, ds = demo
    assert rows_with_tags(bag_of_words(ds.tags, ds.vocab)).all()


def test_tags_are_informative_but_noisy(demo):
    _, _, ds = demo
    mentions = np.array([[any(w in row for w in KIND_WORDS[k]) for k in KINDS] for row in ds.tags])
    positives = ds.labels.astype(bool)
    recall = mentions[positives].mean()
    precision = positives[mentions].mean()
    assert 0.6 <= recall < 1.0, recall
    assert 0.85 <= precision < 1.0, precision
    # Every row carries generic noise tags unrelated to the labels.
    assert all(set(row) & set(NOISE_TAGS) for row in ds.tags)


def test_images_differ(demo):
    _, _, ds = demo
    pixels = [np.asarray(Image.open(ds.image_file(i)), dtype=np.float32) for i in range(20)]
    assert len({p.tobytes() for p in pixels}) == 20
    assert all(p.std() > 5 for p in pixels)


def test_tiny_demo_still_has_a_vocabulary_tag_per_row(tmp_path):
    generate_demo(tmp_path, n_pairs=5, seed=1, image_size=32)
    ds = read_list_dataset(tmp_path)
    assert ds.vocab
    assert all(len(set(row)) == len(row) for row in ds.tags)
    assert rows_with_tags(bag_of_words(ds.tags, ds.vocab)).all()


def test_refuses_fewer_pairs_than_min_tag_count(tmp_path):
    with pytest.raises(ValueError, match="n_pairs"):
        generate_demo(tmp_path, n_pairs=3)
