"""Downloads that resume, retry and verify: HTTP(S) and file:// URLs.

A file is fetched into ``<name>.part`` beside its final name. After an interruption the
next attempt (in the same call, after a back-off, or in a later run) asks only for the
missing bytes with an HTTP Range request. When the size and checksum match the registry
entry the ``.part`` file is renamed to the final name, so a file under its final name is
always complete. Nothing downloaded is deleted: a file that fails verification is kept
under ``<name>.corrupt`` for inspection.
"""
from __future__ import annotations

import hashlib
import http.client
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from sgrn.data.errors import DataError

log = logging.getLogger(__name__)

CHUNK = 1 << 20
USER_AGENT = "sgrn-download/1"


@dataclass(frozen=True)
class RemoteFile:
    """A file that can be fetched: where from, and what it must be (size and checksums)."""

    name: str
    url: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None

    def __post_init__(self):
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            raise ValueError(f"file name must be a plain file name, got {self.name!r}")
        if urlparse(self.url).scheme not in ("http", "https", "file"):
            raise ValueError(f"{self.name}: URL must be http(s):// or file://, got {self.url!r}")

    @property
    def verifiable(self) -> bool:
        return bool(self.sha256 or self.md5)


class TransientError(Exception):
    """A failure worth retrying: dropped connection, timeout, 5xx, short read."""


def file_digests(path: Path, names=("sha256", "md5")) -> dict[str, str]:
    """Hex digests of a file, read in chunks."""
    hashes = {n: hashlib.new(n) for n in names}
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            for h in hashes.values():
                h.update(block)
    return {n: h.hexdigest() for n, h in hashes.items()}


def verify(path: Path, spec: RemoteFile) -> str | None:
    """None when ``path`` has the size and checksums of ``spec``, else what differs."""
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        return f"expected {spec.size} bytes, got {size}"
    wanted = {n: v.lower() for n, v in (("sha256", spec.sha256), ("md5", spec.md5)) if v}
    if not wanted:
        return None
    got = file_digests(path, tuple(wanted))
    for name, value in wanted.items():
        if got[name] != value:
            return f"expected {name} {value}, got {got[name]}"
    return None


def fetch(spec: RemoteFile, dest_dir: str | Path, *, retries: int = 5, backoff: float = 2.0,
          timeout: float = 60.0, progress: bool | None = None,
          sleep: Callable[[float], None] = time.sleep) -> Path:
    """Download ``spec`` to ``dest_dir/spec.name`` unless it is there already; return its path.

    retries: further attempts after a transient failure, waiting backoff * 2**k seconds.
    A resumed download whose result fails verification is fetched once more from byte 0.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / spec.name
    part = dest_dir / f"{spec.name}.part"
    if final.exists():
        problem = verify(final, spec)
        if problem is None:
            log.info("%s: already present%s", final, ", verified" if spec.verifiable else "")
            return final
        raise DataError(f"{final}: already exists but does not match the registry entry for "
                        f"{spec.url} ({problem}); move it away to download it again", file=str(final))

    fresh_retry_done = False
    while True:
        resumed = _download(spec, part, retries=retries, backoff=backoff, timeout=timeout,
                            progress=progress, sleep=sleep)
        problem = verify(part, spec)
        if problem is None:
            break
        corrupt = _keep_aside(part, ".corrupt")
        if resumed and not fresh_retry_done:
            log.warning("%s: %s after resuming; kept as %s, downloading again from the start",
                        spec.url, problem, corrupt.name)
            fresh_retry_done = True
            continue
        raise DataError(f"{spec.url}: the downloaded file does not match the registry entry "
                        f"for {spec.name} ({problem}); the bytes are kept in {corrupt}",
                        file=spec.name)
    if not spec.verifiable:
        log.warning("%s: no checksum is registered; got sha256 %s (add it to the registry to pin "
                    "this file)", spec.name, file_digests(part, ("sha256",))["sha256"])
    os.replace(part, final)
    log.info("%s: complete (%d bytes)", final, final.stat().st_size)
    return final


def _keep_aside(path: Path, suffix: str) -> Path:
    """Rename ``path`` to a free name ending in ``suffix`` (never overwriting)."""
    target = path.with_name(path.name.removesuffix(".part") + suffix)
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name.removesuffix('.part')}{suffix}.{n}")
        n += 1
    os.replace(path, target)
    return target


def _download(spec, part: Path, *, retries, backoff, timeout, progress, sleep) -> bool:
    """Complete ``part`` from wherever it stopped; returns whether any bytes were reused."""
    resumed = part.exists() and part.stat().st_size > 0
    failures = 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if spec.size is not None and offset > spec.size:
            aside = _keep_aside(part, ".corrupt")
            log.warning("%s: partial file longer than the expected %d bytes; kept as %s, "
                        "starting again", part, spec.size, aside.name)
            offset, resumed = 0, False
        if spec.size is not None and offset == spec.size:
            return resumed
        try:
            if urlparse(spec.url).scheme == "file":
                _copy_file(spec, part, offset, progress)
            else:
                _get_http(spec, part, offset, timeout, progress)
            return resumed
        except TransientError as err:
            failures += 1
            have = part.stat().st_size if part.exists() else 0
            if failures > retries:
                raise DataError(
                    f"{spec.url}: download failed after {retries} retries ({err}); "
                    f"{have} bytes are kept in {part}, rerun to resume", file=spec.name) from None
            wait = backoff * 2 ** (failures - 1)
            log.warning("%s: %s; %d bytes so far, retry %d/%d in %.1f s", spec.url, err, have,
                        failures, retries, wait)
            sleep(wait)


def _progress_bar(spec: RemoteFile, offset: int, progress: bool | None):
    from tqdm import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(total=spec.size, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                desc=spec.name, disable=not progress, leave=False)


def _stream(source, part: Path, offset: int, spec: RemoteFile, progress, expected: int | None):
    """Append ``source`` to ``part`` (truncated to ``offset``); check the byte count."""
    got = 0
    last_log = time.monotonic()
    with open(part, "r+b" if part.exists() else "wb") as out, \
            _progress_bar(spec, offset, progress) as bar:
        out.truncate(offset)
        out.seek(offset)
        while True:
            try:
                block = source.read(CHUNK)
            except (http.client.IncompleteRead, ConnectionError, TimeoutError, OSError) as err:
                raise TransientError(f"connection lost after {offset + got} bytes "
                                     f"({type(err).__name__})") from None
            if not block:
                break
            out.write(block)
            got += len(block)
            bar.update(len(block))
            if time.monotonic() - last_log > 30:
                log.info("%s: %d bytes", spec.name, offset + got)
                last_log = time.monotonic()
    if expected is not None and got < expected:
        raise TransientError(f"connection closed after {offset + got} bytes, "
                             f"expected {offset + expected}")


def _get_http(spec: RemoteFile, part: Path, offset: int, timeout: float, progress) -> None:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(spec.url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            # Range not satisfiable: the partial file is as long as (or longer than) the
            # resource; verification decides whether it is complete.
            return
        if err.code >= 500 or err.code in (408, 429):
            raise TransientError(f"HTTP {err.code} {err.reason}") from None
        raise DataError(f"{spec.url}: HTTP {err.code} {err.reason}", file=spec.name) from None
    except urllib.error.URLError as err:
        raise TransientError(f"cannot connect ({err.reason})") from None
    except (ConnectionError, TimeoutError, http.client.HTTPException) as err:
        raise TransientError(f"cannot connect ({type(err).__name__}: {err})") from None
    with response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        if offset and response.status == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != offset:
                raise DataError(f"{spec.url}: asked for bytes from {offset}, the server sent "
                                f"Content-Range {response.headers.get('Content-Range')!r}",
                                file=spec.name)
        elif offset:
            log.info("%s: the server ignores Range requests; downloading from the start", spec.url)
            offset = 0
        _stream(response, part, offset, spec, progress, expected)


def _content_range_start(value: str) -> int | None:
    # "bytes 100-199/200"
    try:
        unit, rest = value.split(" ", 1)
        return int(rest.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None


def _copy_file(spec: RemoteFile, part: Path, offset: int, progress) -> None:
    source = Path(unquote(urlparse(spec.url).path))
    if not source.is_file():
        raise DataError(f"{spec.url}: no such file", file=spec.name)
    with open(source, "rb") as f:
        f.seek(offset)
        _stream(f, part, offset, spec, progress, source.stat().st_size - offset)

