"""MIRFlickr-25K from archives in the exact official layout (a tiny fixture) to the cleaned
list format, through the download, prepare and extract steps; and the shared sample."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from PIL import Image
from test_download import serve

from sgrn.data.errors import DataError
from sgrn.data.listformat import read_list_dataset
from sgrn.data.mirflickr import CONCEPTS, clean, convert, read_official
from workflow_utils import REPO, env

N = 50


def fixture_tags(i: int) -> list[str]:
    """Image i (1-based): 'sky' on 30 images, 'dog' on 20, 'rare' on 19 (below 20)."""
    tags = []
    if i <= 30:
        tags.append("Sky")
    if 21 <= i <= 40:
        tags.append("dog")
    if 31 <= i <= 49:
        tags.append("rare")
    return tags


def fixture_labels() -> dict[str, list[int]]:
    """Every image has a label except 5 and 45 (45 also has a tag); _r1 lists differ."""
    lists = {c: [] for c in CONCEPTS}
    for i in range(1, N + 1):
        if i in (5, 45):
            continue
        lists["animals" if i % 2 else "sky"].append(i)
        if i % 7 == 0:
            lists["water"].append(i)
    return lists


def make_official(folder: Path, crlf_tags=False, extra_tag_bytes=None) -> Path:
    """mirflickr25k.zip and mirflickr25k_annotations_v080.zip as published, tiny."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    eol = "\r\n" if crlf_tags else "\n"
    with zipfile.ZipFile(folder / "mirflickr25k.zip", "w") as zf:
        for i in range(1, N + 1):
            buf = folder / "tmp.jpg"
            Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(buf)
            zf.write(buf, f"mirflickr/im{i}.jpg")
            data = "".join(t + eol for t in fixture_tags(i)).encode()
            if extra_tag_bytes and i == 7:
                data += extra_tag_bytes
            zf.writestr(f"mirflickr/meta/tags/tags{i}.txt", data)
            zf.writestr(f"mirflickr/meta/tags_raw/tags{i}.txt", "Raw Tag\n")
        zf.writestr("mirflickr/doc/common_tags.txt", "sky 30\ndog 20\n")
        buf.unlink()
    with zipfile.ZipFile(folder / "mirflickr25k_annotations_v080.zip", "w") as zf:
        zf.writestr("README.txt", "annotations")
        for concept, numbers in fixture_labels().items():
            zf.writestr(f"{concept}.txt", "".join(f"{n}\r\n" for n in numbers))
            zf.writestr(f"{concept}_r1.txt", "".join(f"{n}\n" for n in range(1, N + 1)))
    return folder


def expected_rows() -> list[int]:
    """Images kept: a label and a vocabulary tag (sky or dog); 'rare' is not in the vocabulary."""
    return [i for i in range(1, N + 1) if i not in (5, 45) and i <= 40]


def unpack(folder: Path) -> Path:
    for name in ("mirflickr25k.zip", "mirflickr25k_annotations_v080.zip"):
        with zipfile.ZipFile(folder / name) as zf:
            zf.extractall(folder / name.removesuffix(".zip"))
    return folder


def test_cleaning_rules(tmp_path):
    folder = unpack(make_official(tmp_path, crlf_tags=True))
    official = read_official(folder / "mirflickr25k", folder / "mirflickr25k_annotations_v080")
    assert official.tags[0] == ["sky"] and official.labels.shape == (N, 24)
    cleaned = clean(official)
    assert cleaned.vocab == ["sky", "dog"]  # by frequency; 'rare' (19 images) left out
    assert cleaned.image_numbers.tolist() == expected_rows()
    assert cleaned.dropped_without_label == 2 and cleaned.dropped_without_tag == 48 - len(expected_rows())
    # the plain lists, not the *_r1 ones (which list every image)
    sky = CONCEPTS.index("sky")
    assert cleaned.labels[:, sky].tolist() == [int(i % 2 == 0) for i in expected_rows()]


def test_convert_writes_the_list_format(tmp_path):
    folder = unpack(make_official(tmp_path / "in"))
    counts = convert(folder / "mirflickr25k", folder / "mirflickr25k_annotations_v080", tmp_path / "out")
    assert counts["pairs"] == len(expected_rows()) and counts["vocabulary"] == 2
    data = read_list_dataset(tmp_path / "out", image_root=counts["image_root"])
    assert data.image_paths[:3] == ["mirflickr/im1.jpg", "mirflickr/im2.jpg", "mirflickr/im3.jpg"]
    assert data.vocab == ["sky", "dog"] and data.tags[-1] == ["dog"] and data.tags[0] == ["sky"]
    assert (tmp_path / "out" / "concepts.txt").read_text().split() == list(CONCEPTS)


def test_non_utf8_tag_is_refused_or_skipped(tmp_path):
    folder = unpack(make_official(tmp_path, extra_tag_bytes=b"caf\xe9\n"))
    args = (folder / "mirflickr25k", folder / "mirflickr25k_annotations_v080")
    with pytest.raises(DataError, match=r"tags7\.txt line 2: expected a UTF-8 tag, got byte 0xe9") as info:
        read_official(*args)
    assert info.value.line == 2
    assert read_official(*args, bad_tags="skip").skipped_bad_tags == 1


def test_bad_annotation_and_missing_tag_file(tmp_path):
    folder = unpack(make_official(tmp_path))
    ann = folder / "mirflickr25k_annotations_v080"
    (ann / "dog.txt").write_text("3\n99\n")
    with pytest.raises(DataError, match=r"dog\.txt line 2: expected an image number in 1\.\.50, got '99'"):
        read_official(folder / "mirflickr25k", ann)
    (ann / "dog.txt").write_text("3\n")
    (folder / "mirflickr25k" / "mirflickr" / "meta" / "tags" / "tags9.txt").unlink()
    with pytest.raises(DataError, match="tags9.txt is missing"):
        read_official(folder / "mirflickr25k", ann)
    (folder / "mirflickr25k" / "mirflickr" / "meta" / "tags" / "tags9.txt").write_text("sky\n")
    (ann / "tree.txt").unlink()
    with pytest.raises(DataError, match="tree.txt: concept list not found"):
        read_official(folder / "mirflickr25k", ann)


# --- through the step scripts -----------------------------------------------------------------

def params_for(tmp_path: Path, dataset: str, download: dict, prepare: dict, **extract) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["download"][dataset] = download  # the others stay: per_dataset keys name them
    params["prepare"][dataset] = prepare
    params["datasets"] = [dataset]
    # AlexNet's ImageNet file cannot be downloaded here: seeded random weights stand in
    params["extract"].update({"workers": 0, "batch_size": 16, "weights": "random", **extract})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def step(name: str, params: Path, cwd: Path, *args: str, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / f"{name}.py"), "--params", str(params),
                           *args], cwd=cwd, env=env(), capture_output=True, text=True, timeout=300)
    if check and proc.returncode:
        raise AssertionError(proc.stderr[-3000:])
    return proc


SPLIT = {"kind": "random", "n_query": 5, "n_validation": 5}


def test_download_prepare_extract_from_local_archives(tmp_path):
    folder = make_official(tmp_path / "archives")
    params = params_for(tmp_path, "mf", {"source": "mirflickr25k", "path": str(folder)},
                        {"split": SPLIT}, standardise=False)
    step("download", params, tmp_path, "--dataset", "mf", "--out", "raw")
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [
        "all_imgs.txt", "all_labels.txt", "all_tags.txt", "concepts.txt", "dataset.yaml", "vocab.txt"]
    store = tmp_path / "resources" / "downloads" / "mf"
    assert (store / "mirflickr25k.extracted" / "mirflickr" / "im1.jpg").is_file()
    step("prepare", params, tmp_path, "--dataset", "mf", "--raw", "raw", "--out", "pairs.h5")
    step("extract", params, tmp_path, "--dataset", "mf", "--raw", "raw", "--pairs", "pairs.h5",
         "--out", "features.h5")
    with h5py.File(tmp_path / "features.h5") as f:
        assert f["image"].shape == (len(expected_rows()), 4096) and f["text"].shape[1] == 2
        assert f.attrs["complete"] and f.attrs["backbone"] == "alexnet"
    # A second download reuses the extractions; deleting the raw folder loses nothing.
    marks = [store / f"{name}.extracted" / ".extracted" for name in ("mirflickr25k", "mirflickr25k_annotations_v080")]
    extracted_at = [mark.stat().st_mtime_ns for mark in marks]
    raw = {p.name: p.read_bytes() for p in (tmp_path / "raw").iterdir()}
    shutil.rmtree(tmp_path / "raw")
    proc = step("download", params, tmp_path, "--dataset", "mf", "--out", "raw")
    for mark in marks:
        archive, folder = mark.parent.name.replace(".extracted", ".zip"), mark.parent.relative_to(tmp_path)
        assert f"{archive}: already extracted in {folder}" in proc.stderr
    assert [mark.stat().st_mtime_ns for mark in marks] == extracted_at
    assert {p.name: p.read_bytes() for p in (tmp_path / "raw").iterdir()} == raw


def test_download_over_http_resumes_and_verifies(tmp_path):
    folder = make_official(tmp_path / "archives")
    blobs = {n: (folder / n).read_bytes() for n in ("mirflickr25k.zip", "mirflickr25k_annotations_v080.zip")}
    with serve(**{"drop" + n: b for n, b in blobs.items()}) as server:
        files = [{"url": f"{server.url}/drop{n}", "name": n, "size": len(b),
                  "sha256": hashlib.sha256(b).hexdigest()} for n, b in blobs.items()]
        params = params_for(tmp_path, "mf", {"source": "mirflickr25k", "files": files[::-1], "backoff": 0.01},
                            {"split": SPLIT})
        proc = step("download", params, tmp_path, "--dataset", "mf", "--out", "raw")
        assert "retry 1/5" in proc.stderr
        ranges = [r for _, r in server.requests if r]
        assert len(ranges) == 2
    assert (tmp_path / "raw" / "all_imgs.txt").read_text().count("\n") == len(expected_rows())


def test_a_wrong_checksum_stops_the_step_and_keeps_the_bytes(tmp_path):
    folder = make_official(tmp_path / "archives")
    data = (folder / "mirflickr25k.zip").read_bytes()
    with serve(**{"mirflickr25k.zip": data}) as server:
        files = [{"url": f"{server.url}/mirflickr25k.zip", "sha256": "0" * 64},
                 {"url": (folder / "mirflickr25k_annotations_v080.zip").as_uri()}]
        params = params_for(tmp_path, "mf", {"source": "mirflickr25k", "files": files}, {"split": SPLIT})
        proc = step("download", params, tmp_path, "--dataset", "mf", "--out", "raw", check=False)
    assert proc.returncode == 2
    assert "mirflickr25k.zip: the downloaded file does not match" in proc.stderr
    assert (tmp_path / "resources" / "downloads" / "mf" / "mirflickr25k.zip.corrupt").stat().st_size == len(data)
    assert not (tmp_path / "raw").exists()


def test_shared_sample_as_an_on_disk_dataset(tmp_path, mirflickr_sample):
    params = params_for(tmp_path, "mfs", {"source": "local", "path": str(mirflickr_sample)},
                        {"missing_images": "skip",
                         "split": {"kind": "random", "n_query": 100, "n_validation": 100}})
    proc = step("download", params, tmp_path, "--dataset", "mfs", "--out", "raw")
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["dataset.yaml"]
    proc = step("prepare", params, tmp_path, "--dataset", "mfs", "--raw", "raw", "--out", "pairs.h5")
    assert "'skipped_missing_images': 19285" in proc.stderr
    with h5py.File(tmp_path / "pairs.h5") as f:
        assert f["text"].shape == (730, 1386) and f["labels"].shape == (730, 24)
        assert len(f["split/query"]) == 100 and len(f["split/validation"]) == 100
        assert len(f["split/train"]) == 530  # the other 630 minus the validation queries
        assert f.attrs["skipped_missing_images"] == 19285
    assert "100 queries, 530 training pairs, 100 validation queries" in proc.stderr


def test_archive_source_with_a_list_format_folder_inside(tmp_path):
    import io
    import tarfile

    lists = {"all_imgs.txt": "a.jpg\nb.jpg\nc.jpg\n", "all_tags.txt": "sky\nsky,sea\nsea\n",
             "all_labels.txt": "1 0\n0 1\n1 1\n", "vocab.txt": "sky\nsea\n"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in lists.items():
            info = tarfile.TarInfo(f"set/{name}")
            info.size = len(text.encode())
            tf.addfile(info, io.BytesIO(text.encode()))
        for name in ("a.jpg", "b.jpg", "c.jpg"):
            img = io.BytesIO()
            Image.new("RGB", (30, 20), "green").save(img, "JPEG")
            info = tarfile.TarInfo(f"set/{name}")
            info.size = img.tell()
            img.seek(0)
            tf.addfile(info, img)
    data = buf.getvalue()
    with serve(**{"set.tar.gz": data}) as server:
        files = [{"url": f"{server.url}/set.tar.gz", "sha256": hashlib.sha256(data).hexdigest()}]
        params = params_for(tmp_path, "ar", {"source": "archive", "files": files, "subdir": "set"},
                            {"split": {"kind": "random", "n_query": 1, "n_validation": 1}})
        step("download", params, tmp_path, "--dataset", "ar", "--out", "raw")
    pointer = yaml.safe_load((tmp_path / "raw" / "dataset.yaml").read_text())
    assert pointer["root"].endswith("resources/downloads/ar/set.extracted/set")
    step("prepare", params, tmp_path, "--dataset", "ar", "--raw", "raw", "--out", "pairs.h5")
    with h5py.File(tmp_path / "pairs.h5") as f:
        assert f["text"][()].tolist() == [[1, 0], [1, 1], [0, 1]]
