"""The pages of `sgrn serve`, through Starlette's test client, on the tiny demo with two runs.

Every ranking the page shows is checked against `sgrn search --json` for the same query.
"""
from __future__ import annotations

import asyncio
import html
import io
import json
import os
import re
import socket
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import h5py
import pytest
from starlette.datastructures import UploadFile
from starlette.testclient import TestClient

from sgrn.__main__ import main
from sgrn.query.app import MAX_IMAGE_PIXELS, PageError, create_app, read_upload
from sgrn.query.files import DatasetImages

pytestmark = pytest.mark.slow  # needs the demo runs of the two_method_project fixture

SGRN = {"dataset": "demo", "method": "sgrn", "bits": "16", "seed": "0"}
DJSRH_B = {"method_b": "djsrh", "bits_b": "16", "seed_b": "0"}


class Results(HTMLParser):
    """The result columns of a page: run -> [(id, distance, relevant or None)]."""

    def __init__(self, text: str):
        super().__init__()
        self.columns: dict[str, list[tuple[int, int, bool | None]]] = {}
        self._run = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and "data-run" in a:
            self._run = a["data-run"]
            self.columns[self._run] = []
        if tag == "li" and "data-id" in a:
            classes = a.get("class", "").split()
            relevant = True if "relevant" in classes else False if "irrelevant" in classes else None
            self.columns[self._run].append((int(a["data-id"]), int(a["data-distance"]), relevant))


def error_of(text: str) -> str:
    found = re.search(r'<div class="error" id="error" role="alert">(.*?)</div>', text, re.S)
    return html.unescape(found.group(1)) if found else ""


def cli(root: Path, run: str, capsys, *args: str) -> dict:
    assert main(["search", "--run", str(root / "results" / run), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def ranking(result: dict) -> list[tuple[int, int]]:
    return [(r["id"], r["distance"]) for r in result["results"]]


def shown(column) -> list[tuple[int, int]]:
    return [(i, d) for i, d, _ in column]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the project with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() and ".snakemake" not in p.parts}


@pytest.fixture(scope="module")
def project(two_method_project):
    return two_method_project


@pytest.fixture(scope="module")
def client(project):
    with TestClient(create_app(project, threads=1, max_upload_bytes=200_000)) as c:
        yield c


@pytest.fixture(scope="module")
def demo_image(project) -> Path:
    with h5py.File(project / "resources/demo/pairs.h5") as p:
        first = p["image_paths"][0].decode()
    return project / "resources/raw/demo" / first


def test_the_form_lists_the_runs(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="query-form"' in page.text
    for value in ("demo", "sgrn", "djsrh", "16"):
        assert f'<option value="{value}"' in page.text
    assert 'value="sgrn" selected' in page.text  # the default run: SGRN


def test_tag_query_equals_sgrn_search(client, project, capsys):
    page = client.get("/", params={**SGRN, "kind": "tags", "tags": "red circle nosuchtag", "k": "7"})
    assert page.status_code == 200, error_of(page.text)
    cols = Results(page.text).columns
    ref = cli(project, "demo/sgrn/c0/b16/s0", capsys, "--tags", "red circle nosuchtag", "-k", "7")
    assert list(cols) == ["demo/sgrn/c0/b16/s0"] and shown(cols["demo/sgrn/c0/b16/s0"]) == ranking(ref)
    assert "nosuchtag" in page.text and ref["query"]["code"] in page.text
    assert "T\u2192I" in page.text


def test_what_was_typed_is_shown_as_text(client):
    page = client.get("/", params={**SGRN, "kind": "tags", "tags": "red <script>alert(1)</script>"})
    assert page.status_code == 200, error_of(page.text)
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_image_upload_equals_sgrn_search(client, project, demo_image, capsys):
    with demo_image.open("rb") as f:
        page = client.post("/", data={**SGRN, "kind": "image", "k": "5"},
                           files={"image": ("photo.jpg", f, "image/jpeg")})
    assert page.status_code == 200, error_of(page.text)
    ref = cli(project, "demo/sgrn/c0/b16/s0", capsys, "--image", str(demo_image), "-k", "5")
    assert ref["target"] == "text"
    assert shown(Results(page.text).columns["demo/sgrn/c0/b16/s0"]) == ranking(ref)
    assert "data:image/jpeg;base64," in page.text  # the uploaded image is shown back


def test_side_by_side_comparison(client, project, capsys):
    page = client.post("/", data={**SGRN, **DJSRH_B, "kind": "tags", "tags": "blue, square",
                                  "target": "text", "k": "6"})
    assert page.status_code == 200, error_of(page.text)
    cols = Results(page.text).columns
    assert list(cols) == ["demo/sgrn/c0/b16/s0", "demo/djsrh/c0/b16/s0"]
    for run, column in cols.items():
        ref = cli(project, run, capsys, "--tags", "blue, square", "--target", "text", "-k", "6")
        assert shown(column) == ranking(ref)


def test_query_item_marks_shared_labels_and_precision(client, project, capsys):
    j = 4
    page = client.post("/", data={**SGRN, **DJSRH_B, "kind": "item", "item": str(j),
                                  "item_modality": "text", "k": "10"})
    assert page.status_code == 200, error_of(page.text)
    cols = Results(page.text).columns
    precisions = re.findall(r'<b class="value">([0-9.]+)</b>', page.text)
    assert len(cols) == 2 and len(precisions) == 2
    for (run, column), precision in zip(cols.items(), precisions):
        with h5py.File(project / "results" / run / "codes.h5") as f:
            code = f["query/text"][j].tobytes().hex()
            q_labels = f["query/labels"][j]
            db_index, db_labels = f["database/index"][()], f["database/labels"][()]
        # the item's stored text code, searched like `sgrn search --code ... --target image`
        ref = cli(project, run, capsys, "--code", code, "--target", "image", "-k", "10")
        assert shown(column) == ranking(ref)
        expected = [bool((db_labels[list(db_index).index(i)] & q_labels).any()) for i, _, _ in column]
        assert [rel for _, _, rel in column] == expected
        assert precision == f"{sum(expected) / len(expected):.2f}"


def test_random_item_is_shown_and_can_be_asked_again(client):
    page = client.post("/", data={**SGRN, "kind": "random", "k": "3"})
    assert page.status_code == 200, error_of(page.text)
    item = re.search(r"Test query item (\d+)</b> \(picked at random\)", page.text)
    assert item and f'name="item" id="item" min="0" value="{item.group(1)}"' in page.text
    again = client.post("/", data={**SGRN, "kind": "item", "item": item.group(1), "k": "3"})
    assert Results(again.text).columns == Results(page.text).columns


def test_images_come_from_the_dataset_folder_only(client, project, demo_image):
    relative = demo_image.relative_to(project / "resources/raw/demo").as_posix()
    ok = client.get(f"/image/demo/{relative}")
    assert ok.status_code == 200 and ok.content == demo_image.read_bytes()
    assert ok.headers["content-type"] == "image/jpeg"
    for path in ("/image/demo/%2e%2e/%2e%2e/%2e%2e/params.yaml",
                 "/image/demo/..%2F..%2F..%2Fparams.yaml",
                 f"/image/demo/{relative}%2F..%2F..%2F..%2F..%2Fparams.yaml",
                 "/image/demo/%2Fetc%2Fpasswd", "/image/demo//etc/passwd",
                 "/image/demo/all_imgs.txt",   # in the folder but not an image of the dataset
                 "/image/nosuchdataset/x.jpg", "/image/%2e%2e/params.yaml"):
        assert client.get(path).status_code == 404, path


def test_a_listed_image_that_links_out_is_refused(project, tmp_path):
    images = DatasetImages(project, "demo")
    listed = sorted(images.listed)[0]
    assert images.resolve(listed) is not None
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"outside")
    folder = tmp_path / "images"
    (folder / Path(listed).parent).mkdir(parents=True)
    (folder / listed).symlink_to(secret)
    images.folder = folder.resolve()   # the same listing, in a folder whose file links out
    assert images.resolve(listed) is None
    assert images.resolve("../secret.jpg") is None and images.resolve(str(secret)) is None


def test_results_view_shows_tables_and_plots(client, project):
    page = client.get("/results")
    assert page.status_code == 200
    assert "<table>" in page.text and "djsrh" in page.text and "sgrn" in page.text
    plots = re.findall(r'<img src="/plots/([^"]+)"', page.text)
    assert plots and sorted(plots) == sorted(p.name for p in (project / "results/plots").glob("*.png"))
    png = client.get(f"/plots/{plots[0]}")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/plots/..%2Fmetrics.json").status_code == 404
    assert client.get("/plots/nosuch.png").status_code == 404


def test_bad_input_gets_a_message_and_a_4xx_and_changes_nothing(client, project, tmp_path):
    before = snapshot(project)
    text_file = tmp_path / "notes.jpg"
    text_file.write_text("this is not an image\n")
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(210_000))  # over the limit, within the slack for the form
    cases = [
        (dict(SGRN, kind="tags", tags=""), None, 400, "the tag string is empty"),
        (dict(SGRN, kind="tags", tags=" , ,"), None, 400, "the tag string is empty"),
        (dict(SGRN, kind="tags", tags="qwerty zzzz"), None, 400,
         "none of qwerty, zzzz is in the vocabulary of demo"),
        (dict(SGRN, kind="image"), None, 400, "no image file chosen"),
        (dict(SGRN, kind="image"), ("notes.jpg", text_file), 415, "notes.jpg: not an image file"),
        (dict(SGRN, kind="image"), ("big.png", big), 413, "big.png: the image is over the upload limit of 0.191 MiB"),
        (dict(SGRN, method="nosuch", kind="tags", tags="red"), None, 404,
         "unknown run demo/nosuch/c0/b16/s0"),
        (dict(SGRN, bits="64", kind="tags", tags="red"), None, 404, "unknown run demo/sgrn/c0/b64/s0"),
        (dict(SGRN, method_b="sgrn", bits_b="32", kind="tags", tags="red"), None, 404,
         "unknown run demo/sgrn/c0/b32/s0"),
        (dict(SGRN, method_b="djsrh", seed_b="3", kind="tags", tags="red"), None, 404,
         "unknown run demo/djsrh/c0/b16/s3"),
        ({"dataset": "demo", "method": "sgrn", "seed": "0", "kind": "tags", "tags": "red"}, None, 400,
         "code length of the run: missing"),
        (dict(SGRN, bits="x", kind="tags", tags="red"), None, 400, "code length: expected a whole number"),
        (dict(SGRN, kind="tags", tags="red", k="0"), None, 400, "K: expected a whole number from 1 to 100, got 0"),
        (dict(SGRN, kind="tags", tags="red", k="101"), None, 400, "from 1 to 100, got 101"),
        (dict(SGRN, kind="tags", tags="red", k="ten"), None, 400, "K: expected a whole number, got 'ten'"),
        (dict(SGRN, kind="item", item="100000"), None, 400, "query item: expected a number from 0 to"),
        (dict(SGRN, kind="item", item="-1"), None, 400, "query item: expected a number from 0 to"),
        (dict(SGRN, kind="item"), None, 400, "give the number of a test-split query item"),
        (dict(SGRN, kind="nonsense"), None, 400, "kind: expected one of"),
        (dict(SGRN, kind="tags", tags="red", target="audio"), None, 400, "target: expected one of"),
    ]
    for data, upload, status, message in cases:
        if upload:
            with upload[1].open("rb") as f:
                page = client.post("/", data=data, files={"image": (upload[0], f, "image/jpeg")})
        else:
            page = client.post("/", data=data)
        assert page.status_code == status, (data, page.status_code, error_of(page.text))
        assert message in error_of(page.text), (message, error_of(page.text))
        assert 'id="query-form"' in page.text and "Traceback" not in page.text
        if data.get("tags"):
            assert f'value="{html.escape(data["tags"])}"' in page.text  # the form keeps what was typed
    # still serving, and nothing in the project changed
    assert client.get("/", params={**SGRN, "kind": "tags", "tags": "red"}).status_code == 200
    assert snapshot(project) == before


def test_an_oversized_request_is_refused_before_it_is_read(client):
    page = client.post("/", content=b"x" * 400_000,
                       headers={"content-type": "multipart/form-data; boundary=b"})
    assert page.status_code == 413 and "over the upload limit" in error_of(page.text)


def png_header(width: int, height: int) -> bytes:
    """A valid PNG file of a few dozen bytes whose header declares width x height 1-bit pixels;
    its pixel data holds one row (decoding it fails, reading its header does not)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = zlib.compress(b"\0" * (1 + (width + 7) // 8))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    """A few hundred bytes that declare 196 megapixels: 413 and the form as it was filled in.
    14,000 x 14,000 is past PIL's own decompression-bomb error, 10,000 x 10,000 past its
    warning, 8,000 x 6,000 past only the page's limit; none of them is decoded (they could not be)."""
    run = tmp_path / "results/demo/sgrn/c0/b16/s0"
    run.mkdir(parents=True)
    (run / "model.pt").touch()   # a run for the form to name; it is never opened
    (run / "codes.h5").touch()
    assert MAX_IMAGE_PIXELS == 40_000_000
    with TestClient(create_app(tmp_path, threads=1, max_upload_bytes=200_000)) as c:
        for width, height, detail in ((14_000, 14_000, "PIL refuses it as a decompression bomb"),
                                      (10_000, 10_000, "PIL refuses it as a decompression bomb"),
                                      (8_000, 6_000, "8000 x 6000 pixels")):
            data = png_header(width, height)
            assert len(data) < 1000
            page = c.post("/", data={**SGRN, "kind": "image", "k": "7", "target": "text"},
                          files={"image": ("big.png", data, "image/png")})
            assert page.status_code == 413, (width, error_of(page.text))
            assert error_of(page.text) == (f"big.png: the image is over the limit of 40 megapixels ({detail}); "
                                           "upload a smaller one")
            assert 'id="query-form"' in page.text and "Traceback" not in page.text
            assert 'id="k" min="1" max="100" value="7"' in page.text      # the form as it was filled in
            assert '<option value="text" selected' in page.text


def test_the_pixel_limit_is_inclusive(tmp_path):
    def upload(width: int, height: int):
        return asyncio.run(read_upload(UploadFile(io.BytesIO(png_header(width, height)), filename="edge.png"),
                                       limit=2**20))

    assert upload(8_000, 5_000).format == "PNG"   # exactly 40 megapixels: accepted
    with pytest.raises(PageError) as refused:
        upload(8_000, 5_001)
    assert refused.value.status == 413
    assert refused.value.message.startswith("edge.png: the image is over the limit of 40 megapixels "
                                            "(8000 x 5001 pixels)")


def test_serve_refuses_a_missing_results_folder_and_a_busy_port(tmp_path, capsys, project):
    assert main(["serve", "--root", str(tmp_path)]) == 2
    assert "no such folder; run `make demo` first" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--root", str(project), "--port", str(port)]) == 2
        assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["serve", "--root", str(project), "--port", "70000"]) == 2
    assert "--port must be from 0 to 65535" in capsys.readouterr().err


def test_a_dataset_without_pixels_shows_placeholders(project, tmp_path, demo_image):
    """The files of a .mat import: no image paths in pairs.h5, image features not extracted."""
    run = "results/demo/sgrn/c0/b16/s0"
    for rel in ("resources/demo/pairs.h5", "results/demo/features.h5", f"{run}/model.pt", f"{run}/codes.h5"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((project / rel).read_bytes())
    with h5py.File(tmp_path / "resources/demo/pairs.h5", "a") as p:
        del p["image_paths"]
    with h5py.File(tmp_path / "results/demo/features.h5", "a") as f:
        f.attrs["image_source"] = "mat"
    with TestClient(create_app(tmp_path, threads=1)) as c:
        page = c.post("/", data={**SGRN, "kind": "item", "item": "2", "k": "4"})
        assert page.status_code == 200, error_of(page.text)
        assert page.text.count('<div class="placeholder">no pixels</div>') == 4
        assert '<div class="placeholder" style="width:96px">no pixels</div>' in page.text  # the query's
        assert "/image/" not in page.text
        with demo_image.open("rb") as f:
            page = c.post("/", data={**SGRN, "kind": "image"}, files={"image": ("a.jpg", f, "image/jpeg")})
        assert page.status_code == 400 and "image features were imported" in error_of(page.text)
        assert c.get(f"/image/demo/{demo_image.name}").status_code == 404


def test_kept_descriptions_equal_those_read_per_query(project):
    """The page keeps every pair's tags and image path in memory; sgrn search reads its rows."""
    from sgrn.query.search import open_run

    run = open_run(project / "results/demo/sgrn/c0/b16/s0")
    rows = [0, 5, 17, int(run.index.ids[-1])]
    read = run.data.describe(rows)
    run.data.keep_descriptions(block=7)   # blocks that do not divide the pairs
    assert run.data.describe(rows) == read and run.data.describe([]) == {}
    assert all(read[r]["tags"] and read[r]["image"] for r in rows)


def test_runs_are_opened_in_the_background_at_start(project):
    """Every run is open before its first query (the default one first); without preload none is."""
    from sgrn.query.runs import find_runs

    lazy = create_app(project, threads=1, preload=False).state.browser
    assert lazy.preloading is None and lazy.cache.opened() == []
    browser = create_app(project, threads=1).state.browser
    browser.preloading.join(timeout=600)
    assert not browser.preloading.is_alive()
    assert browser.cache.opened() == find_runs(project.resolve()) and len(find_runs(project.resolve())) == 2
