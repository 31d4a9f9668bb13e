"""Downloads: resume with Range after a dropped connection, retries with back-off, checksum
verification, atomic rename, file:// URLs; safe archive extraction. A local HTTP server on
127.0.0.1 serves the fixtures (no other network)."""
from __future__ import annotations

import hashlib
import io
import re
import tarfile
import threading
import zipfile
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sgrn.data.archives import extract
from sgrn.data.download import RemoteFile, fetch
from sgrn.data.errors import DataError

PAYLOAD = bytes(range(256)) * 4000  # 1,024,000 bytes
SHA = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class Server:
    """Fixture files by path, with misbehaviours: 'drop' (the first response stops half-way),
    'cut' (every response stops half-way while `cutting` is set), 'wrong' (other bytes),
    'norange' (ignores Range), 'flaky' (503 the first two times)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.dropped: set[str] = set()
        self.cutting = True
        self.failures: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                name = self.path.lstrip("/")
                if name not in server.files:
                    self.send_error(404)
                    return
                if name.startswith("flaky") and server.failures.get(name, 0) < 2:
                    server.failures[name] = server.failures.get(name, 0) + 1
                    self.send_error(503)
                    return
                data = server.files[name]
                if name.startswith("wrong"):
                    data = bytes(reversed(data))
                start = 0
                if rng and not name.startswith("norange"):
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = name.startswith("cut") and server.cutting
                if cut or (name.startswith("drop") and name not in server.dropped):
                    server.dropped.add(name)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serve(**files):
    server = Server()
    server.files.update(files)
    with server:
        yield server


@pytest.fixture
def server():
    with serve(**{name: PAYLOAD for name in ("good.bin", "drop.bin", "cut.bin", "wrong.bin", "norange.bin",
                                             "flaky.bin", "flaky2.bin")}) as s:
        yield s


def spec(server, name, **kw):
    return RemoteFile(name=name, url=f"{server.url}/{name}", size=len(PAYLOAD), sha256=SHA, **kw)


def no_sleep(waits):
    return waits.append


def test_fetch_verifies_and_renames(server, tmp_path):
    path = fetch(spec(server, "good.bin"), tmp_path, progress=False)
    assert path == tmp_path / "good.bin" and path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.bin"]
    # Present and verified: no second request.
    fetch(spec(server, "good.bin"), tmp_path, progress=False)
    assert len(server.requests) == 1


def test_resumes_with_range_after_a_dropped_connection(server, tmp_path):
    waits = []
    path = fetch(spec(server, "drop.bin"), tmp_path, progress=False, backoff=0.5, sleep=no_sleep(waits))
    assert path.read_bytes() == PAYLOAD
    assert server.requests[0] == ("/drop.bin", None)
    assert server.requests[1] == ("/drop.bin", f"bytes={len(PAYLOAD) // 2}-")
    assert waits == [0.5]


def test_resumes_a_partial_file_left_by_an_earlier_run(server, tmp_path):
    (tmp_path / "good.bin.part").write_bytes(PAYLOAD[:1000])
    fetch(spec(server, "good.bin"), tmp_path, progress=False)
    assert server.requests == [("/good.bin", "bytes=1000-")]
    assert (tmp_path / "good.bin").read_bytes() == PAYLOAD


def test_wrong_bytes_are_refused_and_kept(server, tmp_path):
    with pytest.raises(DataError, match=r"wrong\.bin.*expected sha256 " + SHA) as info:
        fetch(spec(server, "wrong.bin"), tmp_path, progress=False)
    assert f"{server.url}/wrong.bin" in str(info.value)
    assert not (tmp_path / "wrong.bin").exists() and not (tmp_path / "wrong.bin.part").exists()
    assert (tmp_path / "wrong.bin.corrupt").read_bytes() == bytes(reversed(PAYLOAD))


def test_a_bad_resumed_file_is_fetched_again_from_the_start(server, tmp_path):
    (tmp_path / "good.bin.part").write_bytes(b"x" * 1000)  # not the file's first bytes
    fetch(spec(server, "good.bin"), tmp_path, progress=False)
    assert server.requests == [("/good.bin", "bytes=1000-"), ("/good.bin", None)]
    assert (tmp_path / "good.bin").read_bytes() == PAYLOAD
    assert (tmp_path / "good.bin.corrupt").read_bytes()[:1000] == b"x" * 1000


def test_server_errors_are_retried_with_backoff(server, tmp_path):
    waits = []
    fetch(spec(server, "flaky.bin"), tmp_path, progress=False, backoff=1.0, retries=3,
          sleep=no_sleep(waits))
    assert waits == [1.0, 2.0] and (tmp_path / "flaky.bin").read_bytes() == PAYLOAD


def test_gives_up_after_the_retries(server, tmp_path):
    with pytest.raises(DataError, match=r"flaky2\.bin: download failed after 1 retries .*HTTP 503"):
        fetch(spec(server, "flaky2.bin"), tmp_path, progress=False, retries=1, sleep=lambda s: None)
    assert not (tmp_path / "flaky2.bin").exists()


def test_gives_up_after_the_retries_and_keeps_the_partial_file(server, tmp_path):
    """Each response stops half-way: half the file, then half the rest, then the run gives up
    keeping the 3/4 it has; the next run asks only for the last quarter."""
    half, three_quarters = len(PAYLOAD) // 2, len(PAYLOAD) // 2 + len(PAYLOAD) // 4
    part = tmp_path / "cut.bin.part"
    with pytest.raises(DataError, match=rf"cut\.bin: download failed after 1 retries \(connection .*; "
                                        rf"{three_quarters} bytes are kept in {re.escape(str(part))}, rerun"):
        fetch(spec(server, "cut.bin"), tmp_path, progress=False, retries=1, sleep=lambda s: None)
    assert server.requests == [("/cut.bin", None), ("/cut.bin", f"bytes={half}-")]
    assert part.read_bytes() == PAYLOAD[:three_quarters] and not (tmp_path / "cut.bin").exists()
    server.cutting = False
    assert fetch(spec(server, "cut.bin"), tmp_path, progress=False).read_bytes() == PAYLOAD
    assert server.requests[2:] == [("/cut.bin", f"bytes={three_quarters}-")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.bin"]


def test_a_server_ignoring_range_restarts_from_zero(server, tmp_path):
    (tmp_path / "norange.bin.part").write_bytes(PAYLOAD[:5000])
    fetch(spec(server, "norange.bin"), tmp_path, progress=False)
    assert (tmp_path / "norange.bin").read_bytes() == PAYLOAD


def test_not_found_is_not_retried(server, tmp_path):
    with pytest.raises(DataError, match="HTTP 404"):
        fetch(RemoteFile("nope.bin", f"{server.url}/nope.bin"), tmp_path, progress=False,
              sleep=lambda s: pytest.fail("retried a 404"))
    assert len(server.requests) == 1


def test_file_url_with_md5_and_resume(tmp_path):
    src = tmp_path / "src" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "data.bin.part").write_bytes(PAYLOAD[:777])
    path = fetch(RemoteFile("data.bin", src.as_uri(), md5=MD5), dest, progress=False)
    assert path.read_bytes() == PAYLOAD
    with pytest.raises(DataError, match="expected md5 0+"):
        fetch(RemoteFile("other.bin", src.as_uri(), md5="0" * 32), dest, progress=False)


def test_an_existing_file_that_does_not_match_is_never_replaced(server, tmp_path):
    (tmp_path / "good.bin").write_bytes(b"mine")
    with pytest.raises(DataError, match="already exists but does not match"):
        fetch(spec(server, "good.bin"), tmp_path, progress=False)
    assert (tmp_path / "good.bin").read_bytes() == b"mine" and not server.requests


def test_unverifiable_file_logs_its_sha256(server, tmp_path, caplog):
    fetch(RemoteFile("good.bin", f"{server.url}/good.bin"), tmp_path, progress=False)
    assert SHA in caplog.text


def test_remote_file_names_and_schemes_are_checked():
    with pytest.raises(ValueError, match="plain file name"):
        RemoteFile("../x", "http://127.0.0.1/x")
    with pytest.raises(ValueError, match="http"):
        RemoteFile("x", "ftp://127.0.0.1/x")


# --- archives -------------------------------------------------------------------------------

def make_tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("maker", [make_tar, make_zip])
def test_extracts_zip_and_tar_once(tmp_path, maker):
    archive = maker(tmp_path / ("a.tar.gz" if maker is make_tar else "a.zip"),
                    {"top/x.txt": b"x", "top/sub/y.txt": b"y"})
    out = extract(archive, tmp_path / "out")
    assert (out / "top" / "sub" / "y.txt").read_bytes() == b"y"
    (out / "top" / "x.txt").write_bytes(b"edited")  # a second call reuses the extraction
    extract(archive, tmp_path / "out")
    assert (out / "top" / "x.txt").read_bytes() == b"edited"


@pytest.mark.parametrize("name", ["../evil.txt", "top/../../evil.txt", "/etc/evil.txt", "C:/evil.txt"])
@pytest.mark.parametrize("maker", [make_tar, make_zip])
def test_entries_escaping_the_target_are_refused(tmp_path, maker, name):
    archive = maker(tmp_path / ("a.tar.gz" if maker is make_tar else "a.zip"),
                    {"ok.txt": b"ok", name: b"evil"})
    with pytest.raises(DataError, match=rf"{archive.name}: entry '{name}'"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == [archive.name]


def test_links_in_archives_are_refused(tmp_path):
    archive = make_tar(tmp_path / "a.tar.gz", {"ok.txt": b"ok"}, links={"link": "/etc/passwd"})
    with pytest.raises(DataError, match="entry 'link' is a link"):
        extract(archive, tmp_path / "out")
    archive = make_zip(tmp_path / "b.zip", {"ok.txt": b"ok"})
    with zipfile.ZipFile(archive, "a") as zf:
        info = zipfile.ZipInfo("zlink")
        info.external_attr = (0o120777 << 16)  # a symbolic link, as zip -y stores it
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="entry 'zlink' is a link"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_damaged_archive_is_refused_and_nothing_is_left(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"big.txt": b"z" * 100000})
    data = bytearray(archive.read_bytes())
    data[200:400] = b"\0" * 200  # inside the compressed data
    archive.write_bytes(bytes(data))
    with pytest.raises(DataError, match="a.zip"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out.tmp") for p in tmp_path.iterdir())


def test_an_unfinished_extraction_is_not_reused(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"x.txt": b"x"})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "partial").write_text("?")
    with pytest.raises(DataError, match="not a completed extraction"):
        extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "partial").exists()
