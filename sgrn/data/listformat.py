"""Reader for the MIRFlickr-style list format: one pair per line in three parallel files.

``all_imgs.txt`` holds image paths relative to the dataset folder, ``all_tags.txt`` (or
``all_txts.txt``) comma-separated tags, ``all_labels.txt`` space-separated 0/1 labels. An
optional vocabulary is read from ``vocab.txt`` or ``Concepts/TagList.txt``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

import numpy as np

from sgrn.data.errors import DataError, at

IMAGES_FILE = "all_imgs.txt"
TAGS_FILE = "all_tags.txt"
TAGS_FALLBACK = "all_txts.txt"
LABELS_FILE = "all_labels.txt"
VOCAB_FILES = ("vocab.txt", "Concepts/TagList.txt")

MISSING_IMAGES = ("error", "skip", "ignore")
TEXT_KINDS = ("tags", "words")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
ROWS_WITHOUT_LABEL = ("error", "skip")
_ZERO_ONE = frozenset(("0", "1"))


@dataclass
class ListDataset:
    """The pairs of a list-format dataset, after the requested rows were dropped.

    ``rows`` gives, for each kept pair, its 0-based line index in the list files.
    """

    root: Path
    image_paths: list[str]
    tags: list[list[str]]
    labels: np.ndarray
    vocab: list[str] | None
    rows: np.ndarray
    skipped_missing_images: int = 0
    skipped_without_label: int = 0

    def __len__(self) -> int:
        return len(self.image_paths)

    def image_file(self, i: int) -> Path:
        """The absolute path of pair ``i``'s image."""
        return self.root / self.image_paths[i]


def read_list_dataset(
    root: Path,
    tags_file: str = TAGS_FILE,
    missing_images: str = "error",
    rows_without_label: str = "error",
    n_labels: int | None = None,
    image_root: Path | None = None,
    text: str = "tags",
) -> ListDataset:
    """Read and validate a list-format dataset under ``root``.

    missing_images: "error" (the first absent image file is a DataError), "skip" (drop those
    rows, counted in ``skipped_missing_images``) or "ignore" (keep every row, no check).
    rows_without_label: "error" or "skip" (counted in ``skipped_without_label``); applied
    before the image check. n_labels: the expected label width; by default that of line 1.
    image_root: the folder image paths are relative to (default ``root``). text: "tags"
    (comma-separated tags) or "words" (free text such as captions, split into words).
    """
    if text not in TEXT_KINDS:
        raise ValueError(f"text must be one of {TEXT_KINDS}, got {text!r}")
    if missing_images not in MISSING_IMAGES:
        raise ValueError(f"missing_images must be one of {MISSING_IMAGES}, got {missing_images!r}")
    if rows_without_label not in ROWS_WITHOUT_LABEL:
        raise ValueError(
            f"rows_without_label must be one of {ROWS_WITHOUT_LABEL}, got {rows_without_label!r}"
        )
    root = Path(root)
    image_root = root if image_root is None else Path(image_root)
    if (tags_file == TAGS_FILE and not (root / TAGS_FILE).is_file()
            and (root / TAGS_FALLBACK).is_file()):
        tags_file = TAGS_FALLBACK

    img_lines = read_lines(root, IMAGES_FILE)
    tag_lines = read_lines(root, tags_file)
    label_lines = read_lines(root, LABELS_FILE)
    for name, lines in ((tags_file, tag_lines), (LABELS_FILE, label_lines)):
        if len(lines) != len(img_lines):
            raise DataError(
                f"{name}: expected one line per pair, as many as {IMAGES_FILE} "
                f"({len(img_lines)} lines), got {len(lines)} lines",
                file=name,
            )

    image_paths = [check_image_path(p.strip(), IMAGES_FILE, i + 1) for i, p in enumerate(img_lines)]
    tags = [split_tags(line) if text == "tags" else split_words(line) for line in tag_lines]
    labels = parse_labels(label_lines, LABELS_FILE, n_labels)
    vocab = read_vocab(root)

    no_label = ~labels.any(axis=1)
    if no_label.any() and rows_without_label == "error":
        line = int(np.flatnonzero(no_label)[0]) + 1
        raise at(LABELS_FILE, line, "expected at least one label set to 1, got none "
                 "(pass rows_without_label='skip' to drop such rows)")
    keep = ~no_label
    skipped_without_label = int(no_label.sum())

    skipped_missing = 0
    if missing_images != "ignore":
        for i in np.flatnonzero(keep):
            if (image_root / image_paths[i]).is_file():
                continue
            if missing_images == "error":
                raise at(IMAGES_FILE, int(i) + 1, f"expected an image file, "
                         f"{image_paths[i]!r} does not exist under {image_root} "
                         "(missing_images='skip' drops such rows)")
            keep[i] = False
            skipped_missing += 1
        if skipped_missing and not keep.any():
            raise DataError(f"{IMAGES_FILE}: none of the listed image files exist under {image_root}",
                            file=IMAGES_FILE)

    rows = np.flatnonzero(keep).astype(np.int64)
    return ListDataset(
        root=image_root,
        image_paths=[image_paths[i] for i in rows],
        tags=[tags[i] for i in rows],
        labels=labels[rows],
        vocab=vocab,
        rows=rows,
        skipped_missing_images=skipped_missing,
        skipped_without_label=skipped_without_label,
    )


def read_lines(root: Path, name: str) -> list[str]:
    """The lines of ``root/name``: strict UTF-8, BOM dropped, LF or CRLF endings removed."""
    path = root / name
    if not path.is_file():
        raise DataError(f"{name}: file not found in {root}", file=name)
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise at(name, line, f"expected UTF-8 text, got byte 0x{data[err.start]:02x}") from None
    if not text:
        raise DataError(f"{name}: the file is empty, expected one line per pair", file=name)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def check_image_path(path: str, name: str, line: int) -> str:
    """``path`` if it is a relative path that stays inside the dataset folder."""
    if not path:
        raise at(name, line, "expected an image path, got an empty line")
    if path.startswith(("/", "\\")) or PureWindowsPath(path).drive:
        raise at(name, line, f"expected a path relative to the dataset folder, got {path!r}")
    depth = 0
    for part in path.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                raise at(name, line, f"expected a path inside the dataset folder, "
                         f"{path!r} escapes it via '..'")
        elif part not in ("", "."):
            depth += 1
    return path


def split_tags(line: str) -> list[str]:
    """Comma-separated tags, stripped and lowercased, empties dropped."""
    return [t for t in (part.strip().lower() for part in line.split(",")) if t]


def split_words(line: str) -> list[str]:
    """Lowercased words of free text (letters and digits, Unicode-aware), repeats dropped."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(line.lower()):
        seen.setdefault(w, None)
    return list(seen)


def parse_labels(lines: list[str], name: str, width: int | None = None) -> np.ndarray:
    """The (n, L) uint8 label matrix; every row must hold ``width`` values of 0 or 1."""
    if width is None:
        width = len(lines[0].split())
        if width == 0:
            raise at(name, 1, "expected labels of 0/1, got an empty line")
    digits = []
    for i, line in enumerate(lines):
        values = line.split()
        if len(values) != width:
            raise at(name, i + 1, f"expected {width} labels of 0/1, got {len(values)} values")
        if not _ZERO_ONE.issuperset(values):
            j, v = next((j, v) for j, v in enumerate(values) if v not in _ZERO_ONE)
            raise at(name, i + 1, f"expected {width} labels of 0/1, got {v!r} in field {j + 1}")
        digits.append("".join(values))
    # Every value is now a single ASCII "0" or "1": read them as bytes in one go.
    flat = np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8)
    return (flat - ord("0")).reshape(len(lines), width)


def read_vocab(root: Path) -> list[str] | None:
    """The vocabulary from the first of ``VOCAB_FILES`` present, or None."""
    for name in VOCAB_FILES:
        if (root / name).is_file():
            break
    else:
        return None
    vocab: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(read_lines(root, name)):
        tag = raw.strip().lower()
        if not tag:
            raise at(name, i + 1, "expected one tag per line, got an empty line")
        if tag in seen:
            raise at(name, i + 1, f"expected unique tags, {tag!r} repeats line {seen[tag]}")
        seen[tag] = i + 1
        vocab.append(tag)
    return vocab


def check_image(path: Path, size: int = 224) -> str:
    """'' when the image file decodes (at a reduced JPEG scale, quickly), else why not."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.draft("RGB", (max(1, size // 8), max(1, size // 8)))
            img.load()
        return ""
    except FileNotFoundError:
        return "not found"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        return f"cannot be decoded ({err})"
