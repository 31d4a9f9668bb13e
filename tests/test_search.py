"""`sgrn search` over a trained run of the tiny demo (the session's Snakemake run)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from sgrn.__main__ import main
from sgrn.retrieval.codes import hamming_distances

pytestmark = pytest.mark.slow  # needs the demo run of the smk_project fixture

RUN = Path("results/demo/sgrn/c0/b16/s0")


def search(root: Path, *args: str, capsys) -> tuple[int, str, str]:
    code = main(["search", "--run", str(root / RUN), *args])
    out, err = capsys.readouterr()
    return code, out, err


def search_json(root: Path, *args: str, capsys) -> dict:
    code, out, err = search(root, *args, "--json", capsys=capsys)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def demo(smk_project):
    """The run's database (ids, codes of both modalities) and the dataset's tags and images."""
    with h5py.File(smk_project / RUN / "codes.h5") as f:
        db = {k: f["database"][k][()] for k in ("image", "text", "index")}
    with h5py.File(smk_project / "resources/demo/pairs.h5") as p:
        vocab = [v.decode() for v in p["vocab"][()]]
        paths = [v.decode() for v in p["image_paths"][()]]
        text = p["text"][()]
    return {"root": smk_project, "db": db, "vocab": vocab, "paths": paths, "text": text}


def _ranking(db_codes: np.ndarray, query_hex: str) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: distances to every database code, stable sort (ties by index)."""
    q = np.frombuffer(bytes.fromhex(query_hex), dtype=np.uint8).reshape(1, -1)
    dist = hamming_distances(q, db_codes)[0].astype(np.int64)
    order = np.argsort(dist, kind="stable")
    return order, dist[order]


@pytest.mark.parametrize("j", [0, 7])
def test_tag_query_of_a_database_item(demo, capsys, j):
    row = int(demo["db"]["index"][j])
    tags = [demo["vocab"][t] for t in np.flatnonzero(demo["text"][row])]
    res = search_json(demo["root"], "--tags", ", ".join(tags), "-k", "8", "--target", "text",
                      capsys=capsys)
    # the same tags through the same text net give the item's own stored code
    assert res["query"]["code"] == demo["db"]["text"][j].tobytes().hex()
    assert res["query"]["tags_used"] == list(dict.fromkeys(tags)) and not res["query"]["tags_ignored"]
    order, dist = _ranking(demo["db"]["text"], res["query"]["code"])
    assert [r["id"] for r in res["results"]] == demo["db"]["index"][order[:8]].tolist()
    assert [r["distance"] for r in res["results"]] == dist[:8].tolist()
    assert res["k"] == 8 and res["target"] == "text" and res["index"]["bits"] == 16
    hit = next(r for r in res["results"] if r["id"] == row)  # itself, at distance 0
    assert hit["distance"] == 0 and hit["tags"] == tags and hit["image"] == demo["paths"][row]


def test_tag_query_searches_images_by_default_and_prints_a_table(demo, capsys):
    code, out, _ = search(demo["root"], "--tags", "red circle nosuchtag", "-k", "5", capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("T->I: top 5 of") and "nosuchtag" in out
    assert lines[-6].split()[:3] == ["rank", "id", "dist"] and len(lines[-5:]) == 5
    res = search_json(demo["root"], "--tags", "red circle nosuchtag", "-k", "5", capsys=capsys)
    assert res["target"] == "image" and res["query"]["tags_ignored"] == ["nosuchtag"]
    assert [int(line.split()[1]) for line in lines[-5:]] == [r["id"] for r in res["results"]]


@pytest.mark.parametrize("j", [0, 3])
def test_image_query_of_a_database_item(demo, capsys, j):
    row = int(demo["db"]["index"][j])
    image = demo["root"] / "resources/raw/demo" / demo["paths"][row]
    res = search_json(demo["root"], "--image", str(image), "-k", "5", "--target", "image",
                      capsys=capsys)
    # the image through the backbone and the image net: the item's own stored code
    stored = demo["db"]["image"][j:j + 1]
    query = np.frombuffer(bytes.fromhex(res["query"]["code"]), np.uint8).reshape(1, -1)
    assert hamming_distances(query, stored)[0, 0] <= 1
    order, dist = _ranking(demo["db"]["image"], res["query"]["code"])
    assert [r["id"] for r in res["results"]] == demo["db"]["index"][order[:5]].tolist()
    assert [r["distance"] for r in res["results"]] == dist[:5].tolist()
    # cross-modal by default: an image query ranks the text codes
    cross = search_json(demo["root"], "--image", str(image), "-k", "3", capsys=capsys)
    assert cross["target"] == "text" and cross["query"]["modality"] == "image"
    order, dist = _ranking(demo["db"]["text"], cross["query"]["code"])
    assert [r["id"] for r in cross["results"]] == demo["db"]["index"][order[:3]].tolist()


def test_code_query_and_k_beyond_the_database(demo, capsys):
    n = len(demo["db"]["index"])
    code = demo["db"]["image"][5].tobytes().hex()
    res = search_json(demo["root"], "--code", code, "--target", "image", "-k", str(n + 10),
                      capsys=capsys)
    order, dist = _ranking(demo["db"]["image"], code)
    assert res["k"] == n
    assert [r["id"] for r in res["results"]] == demo["db"]["index"][order].tolist()


def _fails(root, capsys, *args) -> str:
    code, out, err = search(root, *args, capsys=capsys)
    assert code != 0 and not out
    assert "Traceback" not in err and err.startswith("sgrn search: error:")
    return err


def test_bad_queries_fail_with_a_message(demo, tmp_path, capsys):
    root = demo["root"]
    assert "empty query" in _fails(root, capsys, "--tags", "")
    assert "empty query" in _fails(root, capsys, "--tags", " , ,")
    assert "empty query" in _fails(root, capsys, "--image", "")
    err = _fails(root, capsys, "--tags", "qwerty, zzzz")
    assert "none of qwerty, zzzz is in the vocabulary" in err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert "cannot be decoded" in _fails(root, capsys, "--image", str(broken))
    assert "not found" in _fails(root, capsys, "--image", str(tmp_path / "missing.jpg"))
    err = _fails(root, capsys, "--code", "abcdef", "--target", "image")
    assert "24-bit code but the index holds 16-bit codes" in err
    assert "hex digits" in _fails(root, capsys, "--code", "xyzw", "--target", "image")
    assert "--target" in _fails(root, capsys, "--code", "abcd")
    assert "-k must be" in _fails(root, capsys, "--tags", "red", "-k", "0")


def test_index_or_model_of_another_run_is_refused(demo, tmp_path, capsys):
    root = demo["root"]
    other = tmp_path / "codes.h5"
    shutil.copy(root / RUN / "codes.h5", other)
    with h5py.File(other, "a") as f:
        f.attrs["dataset"] = "mirflickr"
    err = _fails(root, capsys, "--index", str(other), "--tags", "red")
    assert (f"{root / RUN / 'model.pt'}: a model of dataset 'demo', but the index {other} is of dataset "
            "'mirflickr'") in err

    # an index of 32-bit codes under a 16-bit model
    wide = tmp_path / "wide.h5"
    with h5py.File(root / RUN / "codes.h5") as src, h5py.File(wide, "w") as f:
        for k, v in src.attrs.items():
            f.attrs[k] = v
        f.attrs["bits"] = 32
        for k in ("image", "text", "labels", "index"):
            data = src["database"][k][()]
            f[f"database/{k}"] = np.hstack([data, data]) if k in ("image", "text") else data
    err = _fails(root, capsys, "--index", str(wide), "--features",
                 str(root / "results/demo/features.h5"), "--pairs",
                 str(root / "resources/demo/pairs.h5"), "--tags", "red")
    assert "16-bit codes but the index" in err and "32-bit codes" in err
    assert "run folder not found" in _fails(tmp_path, capsys, "--tags", "red")


def test_python_m_and_console_script(demo):
    root = demo["root"]
    for cmd in ([sys.executable, "-m", "sgrn"], [str(Path(sys.executable).parent / "sgrn")]):
        proc = subprocess.run([*cmd, "search", "--run", str(RUN), "--tags", "red", "-k", "2",
                               "--json", "--threads", "1"], cwd=root, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["k"] == 2
    proc = subprocess.run([sys.executable, "-m", "sgrn", "search", "--run", str(RUN), "--tags", ""],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "empty query" in proc.stderr


def test_tag_queries_are_mapped_as_extract_mapped_the_text():
    """bow unchanged; svd through the stored components exactly as TruncatedSVD.transform; lda refused."""
    from types import SimpleNamespace

    from sklearn.decomposition import TruncatedSVD

    from sgrn.query.search import SearchError, reduce_tags

    rng = np.random.default_rng(0)
    bags = (rng.random((40, 12)) < 0.3).astype(np.float32)
    svd = TruncatedSVD(n_components=4, random_state=0).fit(bags)
    query = bags[:1]
    data = SimpleNamespace(feature_attrs={"text_features": "svd"}, text_components=svd.components_.astype(np.float32),
                           features_path="features.h5")
    np.testing.assert_allclose(reduce_tags(data, query), svd.transform(query), rtol=1e-5, atol=1e-6)
    assert reduce_tags(SimpleNamespace(feature_attrs={}, text_components=None), query) is query
    lda = SimpleNamespace(feature_attrs={"text_features": "lda"}, text_components=svd.components_,
                          features_path="features.h5")
    with pytest.raises(SearchError, match=r"features.h5: the text features are lda topic vectors .* query with an "
                                          r"image or a code"):
        reduce_tags(lda, query)


def test_tag_query_through_the_kept_text_net_equals_the_model_s(demo, capsys):
    """The run's own tag query takes the text net that encode kept in codes.h5 (numpy); with
    --model given it goes through model.pt's torch net: same code, ids and distances."""
    root = demo["root"]
    tags = "red circle"
    kept = search_json(root, "--tags", tags, "-k", "20", capsys=capsys)
    model = search_json(root, "--tags", tags, "-k", "20", "--model", str(root / RUN / "model.pt"), capsys=capsys)
    assert kept["query"]["code"] == model["query"]["code"]
    assert [(r["id"], r["distance"]) for r in kept["results"]] == [(r["id"], r["distance"]) for r in model["results"]]
    with h5py.File(root / RUN / "codes.h5") as f:
        assert "text_net" in f


def test_tag_and_code_queries_do_not_import_torch(demo, tmp_path):
    """What makes `sgrn search --tags` and `--code` quick as commands: torch is never imported."""
    root = demo["root"]
    code = demo["db"]["image"][0].tobytes().hex()
    check = ("import sys; from sgrn.__main__ import main; "
             "assert main(sys.argv[1:]) == 0; assert 'torch' not in sys.modules, 'torch was imported'")
    for query in (["--tags", "red"], ["--code", code, "--target", "image"]):
        proc = subprocess.run([sys.executable, "-c", check, "search", "--run", str(RUN), *query, "--json"],
                              cwd=root, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
