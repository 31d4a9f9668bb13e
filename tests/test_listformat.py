import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from sgrn.data.errors import DataError
from sgrn.data.listformat import read_list_dataset

IMGS = ["img/a.jpg", "img/b.jpg", "img/c.jpg"]
TAGS = [" Sky , ,NIKON", "sea", "dog,sky"]
LABELS = ["1 0 1", "0 1 0", "1 1 1"]


def write(path: Path, lines, eol="\n", bom=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line + eol for line in lines).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def make(root: Path, imgs=IMGS, tags=TAGS, labels=LABELS, images=True, **kw):
    write(root / "all_imgs.txt", imgs, **kw)
    write(root / "all_tags.txt", tags, **kw)
    write(root / "all_labels.txt", labels, **kw)
    if images:
        for p in imgs:
            f = root / p
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(b"jpg")
    return root


@contextmanager
def raises_at(message, file, line=None):
    """Expect a DataError that starts with ``file``, contains ``message`` and carries file/line."""
    with pytest.raises(DataError, match=re.escape(message)) as info:
        yield info
    assert str(info.value).startswith(file)
    assert (info.value.file, info.value.line) == (file, line)


def test_reads_crlf_bom_and_normalises_tags(tmp_path):
    root = make(tmp_path, eol="\r\n", bom=True)
    write(tmp_path / "vocab.txt", ["sky", "Sea", "nikon"], eol="\r\n", bom=True)
    ds = read_list_dataset(root)
    assert ds.image_paths == IMGS
    assert ds.tags == [["sky", "nikon"], ["sea"], ["dog", "sky"]]
    assert ds.labels.dtype == np.uint8
    np.testing.assert_array_equal(ds.labels, [[1, 0, 1], [0, 1, 0], [1, 1, 1]])
    assert ds.vocab == ["sky", "sea", "nikon"]
    np.testing.assert_array_equal(ds.rows, [0, 1, 2])
    assert len(ds) == 3 and ds.image_file(1) == root / "img/b.jpg"
    assert ds.skipped_missing_images == ds.skipped_without_label == 0


def test_vocab_from_concepts_taglist_or_none(tmp_path):
    root = make(tmp_path)
    assert read_list_dataset(root).vocab is None
    write(root / "Concepts" / "TagList.txt", ["sea", "sky"])
    assert read_list_dataset(root).vocab == ["sea", "sky"]


def test_falls_back_to_all_txts(tmp_path):
    root = make(tmp_path)
    (root / "all_tags.txt").rename(root / "all_txts.txt")
    assert read_list_dataset(root).tags[1] == ["sea"]


def test_unicode_tags(tmp_path):
    root = make(tmp_path, tags=["España,Céu", "ایران", "360°"])
    assert read_list_dataset(root).tags == [["españa", "céu"], ["ایران"], ["360°"]]


@pytest.mark.parametrize("name", ["all_imgs.txt", "all_tags.txt", "all_labels.txt"])
def test_missing_file(tmp_path, name):
    root = make(tmp_path)
    (root / name).unlink()
    with raises_at(f"{name}: file not found", name):
        read_list_dataset(root)


def test_empty_file(tmp_path):
    root = make(tmp_path)
    (root / "all_labels.txt").write_bytes(b"")
    with raises_at("all_labels.txt: the file is empty", "all_labels.txt"):
        read_list_dataset(root)


def test_line_count_mismatch_names_both_counts(tmp_path):
    root = make(tmp_path, labels=LABELS[:2])
    with raises_at("all_labels.txt: expected one line per pair, as many as all_imgs.txt "
                   "(3 lines), got 2 lines", "all_labels.txt"):
        read_list_dataset(root)


def test_label_row_of_wrong_width(tmp_path):
    root = make(tmp_path, labels=["1 0 1", "0 1", "1 1 1"])
    with raises_at("all_labels.txt line 2: expected 3 labels of 0/1, got 2 values",
                   "all_labels.txt", 2):
        read_list_dataset(root)


def test_label_width_can_be_imposed(tmp_path):
    root = make(tmp_path)
    with raises_at("all_labels.txt line 1: expected 4 labels of 0/1, got 3 values",
                   "all_labels.txt", 1):
        read_list_dataset(root, n_labels=4)


def test_label_value_not_zero_one(tmp_path):
    root = make(tmp_path, labels=["1 0 1", "0 1 0", "1 2 1"])
    with raises_at("all_labels.txt line 3: expected 3 labels of 0/1, got '2' in field 2",
                   "all_labels.txt", 3):
        read_list_dataset(root)


@pytest.mark.parametrize("bad", ["/abs/c.jpg", "../c.jpg", "img/../../c.jpg", "C:\\c.jpg"])
def test_image_path_outside_root(tmp_path, bad):
    root = make(tmp_path / "ds", imgs=["img/a.jpg", "img/b.jpg", bad], images=False)
    with raises_at("all_imgs.txt line 3: expected a path", "all_imgs.txt", 3):
        read_list_dataset(root, missing_images="ignore")


def test_dotdot_inside_root_is_fine(tmp_path):
    root = make(tmp_path, imgs=["img/a.jpg", "img/../img/b.jpg", "./img/c.jpg"])
    assert len(read_list_dataset(root)) == 3


def test_invalid_utf8_names_file_and_line(tmp_path):
    root = make(tmp_path)
    (root / "all_tags.txt").write_bytes(b"sky\r\nsea\r\ncaf\xe9\r\n")
    with raises_at("all_tags.txt line 3: expected UTF-8 text", "all_tags.txt", 3):
        read_list_dataset(root)


def test_missing_images_error_skip_ignore(tmp_path):
    root = make(tmp_path)
    (root / "img/b.jpg").unlink()
    with raises_at("all_imgs.txt line 2: expected an image file, 'img/b.jpg' does not exist",
                   "all_imgs.txt", 2):
        read_list_dataset(root)
    ds = read_list_dataset(root, missing_images="skip")
    assert ds.image_paths == ["img/a.jpg", "img/c.jpg"]
    assert ds.skipped_missing_images == 1
    np.testing.assert_array_equal(ds.rows, [0, 2])
    np.testing.assert_array_equal(ds.labels, [[1, 0, 1], [1, 1, 1]])
    assert ds.tags == [["sky", "nikon"], ["dog", "sky"]]
    assert len(read_list_dataset(root, missing_images="ignore")) == 3


def test_no_image_at_all_is_an_error_even_when_skipping(tmp_path):
    root = make(tmp_path, images=False)
    with raises_at("all_imgs.txt: none of the listed image files exist", "all_imgs.txt"):
        read_list_dataset(root, missing_images="skip")


def test_rows_without_label(tmp_path):
    root = make(tmp_path, labels=["1 0 1", "0 0 0", "1 1 1"])
    with raises_at("all_labels.txt line 2: expected at least one label", "all_labels.txt", 2):
        read_list_dataset(root)
    ds = read_list_dataset(root, rows_without_label="skip")
    assert ds.skipped_without_label == 1
    assert ds.image_paths == ["img/a.jpg", "img/c.jpg"]


def test_empty_image_line(tmp_path):
    root = make(tmp_path, imgs=["img/a.jpg", "", "img/c.jpg"], images=False)
    with raises_at("all_imgs.txt line 2: expected an image path", "all_imgs.txt", 2):
        read_list_dataset(root, missing_images="ignore")


def test_bad_vocab(tmp_path):
    root = make(tmp_path)
    write(root / "vocab.txt", ["sky", "sea", "Sky"])
    with raises_at("vocab.txt line 3: expected unique tags", "vocab.txt", 3):
        read_list_dataset(root)
    write(root / "vocab.txt", ["sky", "", "sea"])
    with raises_at("vocab.txt line 2: expected one tag per line", "vocab.txt", 2):
        read_list_dataset(root)


def test_bad_option_values(tmp_path):
    root = make(tmp_path)
    with pytest.raises(ValueError, match="missing_images"):
        read_list_dataset(root, missing_images="drop")
    with pytest.raises(ValueError, match="rows_without_label"):
        read_list_dataset(root, rows_without_label="ignore")


def test_real_mirflickr_lists(mirflickr_sample):
    ds = read_list_dataset(mirflickr_sample, missing_images="ignore")
    assert len(ds) == 20015
    assert ds.labels.shape == (20015, 24)
    assert ds.labels.any(axis=1).all()
    assert len(ds.vocab) == 1386
    assert ds.image_paths[0] == "mirflickr/im1.jpg"
    assert ds.tags[0] == ["cigarette", "tattoos", "smoke", "red", "dress", "sunglasses"]
    assert {t for row in ds.tags for t in row} <= set(ds.vocab)


def test_real_mirflickr_images(mirflickr_sample):
    ds = read_list_dataset(mirflickr_sample, missing_images="skip")
    assert len(ds) == 730
    assert ds.skipped_missing_images == 20015 - 730
    assert all(ds.image_file(i).is_file() for i in range(len(ds)))
    with pytest.raises(DataError, match=r"all_imgs\.txt line \d+: expected an image file"):
        read_list_dataset(mirflickr_sample)


def test_images_under_a_separate_root(tmp_path):
    root = make(tmp_path / "lists", images=False)
    for p in IMGS:
        (tmp_path / "pics" / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pics" / p).write_bytes(b"jpg")
    ds = read_list_dataset(root, image_root=tmp_path / "pics")
    assert ds.image_file(2) == tmp_path / "pics" / "img/c.jpg"
    with pytest.raises(DataError, match="does not exist under"):
        read_list_dataset(root)


def test_free_text_is_split_into_words(tmp_path):
    root = make(tmp_path, tags=["A man riding a horse, on a beach.", "Dogs' toys", "É 2 CATS, cats"])
    ds = read_list_dataset(root, text="words")
    assert ds.tags == [["a", "man", "riding", "horse", "on", "beach"], ["dogs", "toys"], ["é", "2", "cats"]]
    with pytest.raises(ValueError, match="text must be one of"):
        read_list_dataset(root, text="sentences")


def test_check_image_reports_corrupt_files(tmp_path):
    from PIL import Image

    from sgrn.data.listformat import check_image

    Image.new("RGB", (64, 48), "red").save(tmp_path / "ok.jpg")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "ok.jpg").read_bytes()[:100])
    (tmp_path / "txt.jpg").write_text("not an image")
    assert check_image(tmp_path / "ok.jpg") == ""
    assert check_image(tmp_path / "cut.jpg").startswith("cannot be decoded")
    assert check_image(tmp_path / "txt.jpg").startswith("cannot be decoded")
    assert check_image(tmp_path / "none.jpg") == "not found"


def test_prepare_skips_and_counts_or_refuses(tmp_path):
    import h5py
    from PIL import Image
    from test_mirflickr import params_for, step

    imgs = [f"img/{i}.jpg" for i in range(7)]
    root = make(tmp_path / "data", imgs=imgs, images=False,
                tags=["sky", "sky,sea", "sky", "sky", "nikon", "sea", "sea"],
                labels=["1 0", "0 1", "1 1", "0 0", "1 0", "0 1", "1 0"])
    write(root / "vocab.txt", ["sky", "sea"])
    for i, p in enumerate(imgs):
        if i != 1:  # row 2: image missing
            (root / p).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (32, 32), "blue").save(root / p)
    (root / imgs[2]).write_bytes(b"\xff\xd8 broken")  # row 3: corrupt; row 4: no label; row 5: no vocab tag
    prepare = {"missing_images": "skip", "bad_images": "skip", "rows_without_label": "skip",
               "rows_without_tags": "skip", "split": {"kind": "random", "n_query": 1, "n_validation": 1}}
    params = params_for(tmp_path, "t", {"source": "local", "path": str(root)}, prepare)
    step("download", params, tmp_path, "--dataset", "t", "--out", "raw")
    proc = step("prepare", params, tmp_path, "--dataset", "t", "--raw", "raw", "--out", "pairs.h5")
    assert "all_imgs.txt line 3: img/2.jpg: cannot be decoded" in proc.stderr
    with h5py.File(tmp_path / "pairs.h5") as f:
        assert list(f["source_rows"][()]) == [0, 5, 6]
        counts = {k: int(f.attrs[k]) for k in ("skipped_missing_images", "skipped_bad_images",
                                                "skipped_without_label", "skipped_without_tags")}
    assert counts == {"skipped_missing_images": 1, "skipped_bad_images": 1,
                      "skipped_without_label": 1, "skipped_without_tags": 1}

    prepare["rows_without_tags"] = "error"
    params = params_for(tmp_path, "t", {"source": "local", "path": str(root)}, prepare)
    proc = step("prepare", params, tmp_path, "--dataset", "t", "--raw", "raw", "--out", "pairs.h5",
                check=False)
    assert proc.returncode == 2 and "all_tags.txt line 5: expected at least one tag of the vocabulary" in proc.stderr
