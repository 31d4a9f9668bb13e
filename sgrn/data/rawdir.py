"""The raw dataset folder ``resources/raw/{dataset}`` and what it stands for.

It is either a complete list-format folder (the demo, a converted MIRFlickr archive) or a
small folder holding ``dataset.yaml``, a pointer to data that stays where it is: a
list-format folder already on disk (clusters without internet), the image tree of an
extracted archive, or .mat feature files. The pointer records a fingerprint of the files
it names (sizes, modification times, hashes of the small list files), so a change in the
data changes the raw folder and both drivers rerun the steps after it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sgrn.data.errors import DataError

POINTER = "dataset.yaml"
FORMATS = ("list", "mat")
LIST_FILES = ("all_imgs.txt", "all_tags.txt", "all_txts.txt", "all_labels.txt", "vocab.txt",
              "Concepts/TagList.txt")


@dataclass
class RawSource:
    """Where a dataset's files are. ``root`` holds the list files; ``image_root`` the images
    (paths in all_imgs.txt are relative to it); ``mat_files`` the .mat feature files."""

    format: str
    root: Path
    image_root: Path
    mat_files: list[Path] = field(default_factory=list)


def _fingerprint(paths: list[Path]) -> dict[str, str]:
    prints = {}
    for p in paths:
        st = p.stat()
        if st.st_size <= 64 << 20:
            prints[str(p)] = "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            prints[str(p)] = f"size:{st.st_size} mtime_ns:{st.st_mtime_ns}"
    return prints


def write_pointer(raw_dir: str | Path, fmt: str, *, root: Path | None = None,
                  images: Path | None = None, mat_files: list[Path] | None = None,
                  origin: str = "") -> Path:
    """Write ``raw_dir/dataset.yaml``; paths are stored absolute. Returns its path."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    doc: dict = {"format": fmt, "origin": origin}
    watched: list[Path] = []
    if root is not None:
        doc["root"] = str(Path(root).resolve())
        watched += [Path(doc["root"]) / n for n in LIST_FILES if (Path(doc["root"]) / n).is_file()]
    if images is not None:
        doc["images"] = str(Path(images).resolve())
    if mat_files:
        doc["mat_files"] = [str(Path(m).resolve()) for m in mat_files]
        watched += [Path(m) for m in doc["mat_files"]]
    doc["fingerprint"] = _fingerprint(watched)
    path = raw_dir / POINTER
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def open_raw(raw_dir: str | Path) -> RawSource:
    """What ``raw_dir`` stands for; refuses a pointer to files that are gone."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataError(f"{raw_dir}: raw dataset folder not found; run the download step",
                        file=str(raw_dir))
    pointer = raw_dir / POINTER
    if not pointer.is_file():
        return RawSource("list", raw_dir, raw_dir)
    try:
        doc = yaml.safe_load(pointer.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise DataError(f"{pointer}: not a readable pointer file ({err})", file=str(pointer)) from None
    if not isinstance(doc, dict) or doc.get("format") not in FORMATS:
        raise DataError(f"{pointer}: key 'format': expected one of {FORMATS}", file=str(pointer))
    root = Path(doc.get("root") or raw_dir)
    images = Path(doc.get("images") or root)
    mats = [Path(m) for m in doc.get("mat_files") or []]
    for key, p in [("root", root), ("images", images)] + [("mat_files", m) for m in mats]:
        if not p.exists():
            raise DataError(f"{pointer}: key '{key}': {p} no longer exists; "
                            "rerun the download step or restore the data", file=str(pointer))
    if doc["format"] == "mat" and not mats:
        raise DataError(f"{pointer}: key 'mat_files': expected at least one .mat file",
                        file=str(pointer))
    return RawSource(doc["format"], root, images, mats)
