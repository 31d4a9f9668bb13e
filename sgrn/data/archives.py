"""Safe, resumable extraction of zip and tar archives.

Every entry is checked before anything is written: an absolute path, a drive letter, a
``..`` that climbs out of the target folder, a link or a device is refused with a message
naming the archive and the entry. The archive is unpacked into a temporary sibling folder
and renamed when complete, so an extracted folder is never half-filled, and an existing
one is reused as it is.
"""
from __future__ import annotations

import logging
import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from sgrn.data.errors import DataError

log = logging.getLogger(__name__)

DONE_MARK = ".extracted"


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz"))


def safe_member_path(archive: Path, name: str) -> PurePosixPath | None:
    """The entry's relative path, None for the archive's root entry; refuses escapes."""
    unixy = name.replace("\\", "/")
    if unixy.startswith("/") or PureWindowsPath(name).drive:
        raise DataError(f"{archive}: entry {name!r}: expected a relative path, got an absolute "
                        "one; refusing to extract outside the target folder", file=str(archive))
    parts = []
    for part in unixy.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise DataError(f"{archive}: entry {name!r} would escape the target folder via "
                                "'..'; refusing to extract", file=str(archive))
            parts.pop()
        else:
            parts.append(part)
    return PurePosixPath(*parts) if parts else None


def _zip_members(archive: Path, zf: zipfile.ZipFile):
    for info in zf.infolist():
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver stored no type
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise DataError(f"{archive}: entry {info.filename!r} is a link or a special file; "
                            "expected regular files and folders only", file=str(archive))
        path = safe_member_path(archive, info.filename)
        if path is not None:
            yield info, path, info.is_dir()


def _tar_members(archive: Path, tf: tarfile.TarFile):
    for info in tf:
        if not (info.isfile() or info.isdir()):
            raise DataError(f"{archive}: entry {info.name!r} is a link or a special file; "
                            "expected regular files and folders only", file=str(archive))
        path = safe_member_path(archive, info.name)
        if path is not None:
            yield info, path, info.isdir()


def check_archive(archive: Path) -> int:
    """Validate every entry of ``archive`` without writing; returns the number of files."""
    count = 0
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            count = sum(not is_dir for _, _, is_dir in _zip_members(archive, zf))
    else:
        with _open_tar(archive) as tf:
            count = sum(not is_dir for _, _, is_dir in _tar_members(archive, tf))
    return count


def _open_tar(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as err:
        raise DataError(f"{archive}: expected a zip or tar archive, cannot open it ({err})",
                        file=str(archive)) from None


def extract(archive: str | Path, dest: str | Path) -> Path:
    """Unpack ``archive`` into the folder ``dest`` (created atomically); return ``dest``.

    If ``dest`` already holds a completed extraction of the same archive it is kept as it is.
    """
    archive, dest = Path(archive), Path(dest)
    mark = dest / DONE_MARK
    if mark.is_file():
        if mark.read_text().strip() == _identity(archive):
            log.info("%s: already extracted in %s", archive.name, dest)
            return dest
        raise DataError(f"{dest}: holds an extraction of another version of {archive.name}; "
                        "move it away to extract again", file=str(dest))
    if dest.exists():
        raise DataError(f"{dest}: exists but is not a completed extraction of {archive.name}; "
                        "move it away to extract again", file=str(dest))
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    check_archive(archive)  # refuse before writing anything
    try:
        tmp.mkdir(parents=True)
        n = _unpack(archive, tmp)
        (tmp / DONE_MARK).write_text(_identity(archive) + "\n")
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("%s: %d files extracted to %s", archive.name, n, dest)
    return dest


def _identity(archive: Path) -> str:
    st = archive.stat()
    return f"{archive.name} {st.st_size}"


def _unpack(archive: Path, target: Path) -> int:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            return _write_members(archive, target, _zip_members(archive, zf), zf.open,
                                  lambda info: info.filename, (zipfile.BadZipFile, OSError, EOFError))
    with _open_tar(archive) as tf:
        return _write_members(archive, target, _tar_members(archive, tf), tf.extractfile,
                              lambda info: info.name, (tarfile.TarError, OSError, EOFError))


def _write_members(archive: Path, target: Path, members, open_member, name_of, errors) -> int:
    """Write each checked (info, path, is_dir) member under `target`; the number of files."""
    n = 0
    for info, path, is_dir in members:
        out = target.joinpath(*path.parts)
        if is_dir:
            out.mkdir(parents=True, exist_ok=True)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open_member(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except errors as err:
            raise DataError(f"{archive}: entry {name_of(info)!r} cannot be read ({err}); "
                            "the archive is damaged", file=str(archive)) from None
        n += 1
    return n
