"""MIRFlickr-25K from its official archives to the standard cleaned list-format set.

The image archive ``mirflickr25k.zip`` unpacks to ``mirflickr/im{i}.jpg`` and
``mirflickr/meta/tags/tags{i}.txt`` (one cleaned tag per line), i = 1..25,000; the
annotation archive ``mirflickr25k_annotations_v080.zip`` holds, per concept, a list of image
numbers (``animals.txt``) and a stricter list (``animals_r1.txt``). The cleaned set of
cross-modal hashing work uses the 24 plain lists as labels (alphabetical order), the tags
used by at least 20 images as vocabulary (1,386 tags) and keeps the images with at least
one label and one vocabulary tag (20,015 pairs). docs/datasets.md says where this
reconstruction can differ from the published files.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sgrn.data.errors import DataError, at

log = logging.getLogger(__name__)

CONCEPTS = ("animals", "baby", "bird", "car", "clouds", "dog", "female", "flower", "food",
            "indoor", "lake", "male", "night", "people", "plant_life", "portrait", "river",
            "sea", "sky", "structures", "sunset", "transport", "tree", "water")
MIN_TAG_COUNT = 20
TAGS_DIR = Path("mirflickr/meta/tags")
BAD_TAGS = ("error", "skip")
_TAGS_NAME = re.compile(r"^tags(\d+)\.txt$")


@dataclass
class Official:
    """The official release as read: tags and 24 labels for images 1..n (row i-1 = image i)."""

    image_root: Path          # the folder holding mirflickr/
    tags: list[list[str]]
    labels: np.ndarray        # (n, 24) uint8
    skipped_bad_tags: int = 0


def find_image_root(folder: Path) -> Path:
    """The folder that contains ``mirflickr/meta/tags`` (``folder`` or one level below)."""
    for cand in [folder] + sorted(p for p in folder.iterdir() if p.is_dir()):
        if (cand / TAGS_DIR).is_dir():
            return cand
    raise DataError(f"{folder}: expected the image archive's layout "
                    f"(mirflickr/im*.jpg and {TAGS_DIR}/tags*.txt), not found", file=str(folder))


def find_annotations(folder: Path) -> Path:
    """The folder that holds the concept lists (``animals.txt`` ...), up to two levels down."""
    cands = [folder] + sorted(p for p in folder.rglob("*") if p.is_dir()
                              and len(p.relative_to(folder).parts) <= 2)
    for cand in cands:
        if (cand / f"{CONCEPTS[0]}.txt").is_file():
            return cand
    raise DataError(f"{folder}: expected the annotation archive's concept lists "
                    f"({CONCEPTS[0]}.txt ... {CONCEPTS[-1]}.txt), not found", file=str(folder))


def _decode_lines(path: Path, bad_tags: str) -> tuple[list[str], int]:
    """Lines of a tag file; undecodable lines refused or (bad_tags='skip') dropped and counted."""
    lines, bad = [], 0
    for i, raw in enumerate(path.read_bytes().split(b"\n")):
        raw = raw.rstrip(b"\r")
        if i == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            if bad_tags == "error":
                raise at(str(path), i + 1, f"expected a UTF-8 tag, got byte 0x{raw[err.start]:02x} "
                         "(prepare.bad_tags: skip drops such tags)") from None
            bad += 1
    return lines, bad


def read_official(images_folder: Path, annotations_folder: Path, bad_tags: str = "error") -> Official:
    """Read tags of every image and the 24 plain concept lists."""
    if bad_tags not in BAD_TAGS:
        raise ValueError(f"bad_tags must be one of {BAD_TAGS}, got {bad_tags!r}")
    image_root = find_image_root(Path(images_folder))
    ann = find_annotations(Path(annotations_folder))
    tag_dir = image_root / TAGS_DIR
    numbers = sorted(int(m.group(1)) for m in map(_TAGS_NAME.match, (p.name for p in tag_dir.iterdir()))
                     if m)
    if not numbers:
        raise DataError(f"{tag_dir}: expected tags1.txt ... tagsN.txt, found none", file=str(tag_dir))
    n = numbers[-1]
    if numbers != list(range(1, n + 1)):
        missing = sorted(set(range(1, n + 1)) - set(numbers))[0]
        raise DataError(f"{tag_dir}: expected tags1.txt ... tags{n}.txt, tags{missing}.txt is missing",
                        file=str(tag_dir / f"tags{missing}.txt"))

    tags, skipped = [], 0
    for i in range(1, n + 1):
        lines, bad = _decode_lines(tag_dir / f"tags{i}.txt", bad_tags)
        skipped += bad
        row = []
        for t in (line.strip().lower() for line in lines):
            if t and t not in row:
                row.append(t)
        tags.append(row)

    labels = np.zeros((n, len(CONCEPTS)), dtype=np.uint8)
    for j, concept in enumerate(CONCEPTS):
        path = ann / f"{concept}.txt"
        if not path.is_file():
            raise DataError(f"{path}: concept list not found; expected the 24 lists "
                            f"{', '.join(CONCEPTS)}", file=str(path))
        for k, line in enumerate(path.read_text(encoding="utf-8", errors="strict").splitlines()):
            line = line.strip()
            if not line:
                continue
            if not line.isdigit() or not 1 <= int(line) <= n:
                raise at(str(path), k + 1, f"expected an image number in 1..{n}, got {line!r}")
            labels[int(line) - 1, j] = 1
    return Official(image_root, tags, labels, skipped)


def standard_vocab(tags: list[list[str]], min_count: int = MIN_TAG_COUNT) -> list[str]:
    """Tags used by at least ``min_count`` images, most frequent first (ties alphabetical)."""
    counts = Counter(t for row in tags for t in set(row))
    kept = [(t, c) for t, c in counts.items() if c >= min_count]
    return [t for t, _ in sorted(kept, key=lambda tc: (-tc[1], tc[0]))]


def read_common_tags(image_root: Path) -> list[str] | None:
    """``mirflickr/doc/common_tags.txt`` (tag and count per line) when the archive ships it."""
    path = image_root / "mirflickr" / "doc" / "common_tags.txt"
    if not path.is_file():
        return None
    return [line.split()[0].lower() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.split()]


@dataclass
class Cleaned:
    image_paths: list[str]
    tags: list[list[str]]
    labels: np.ndarray
    vocab: list[str]
    image_numbers: np.ndarray
    dropped_without_label: int
    dropped_without_tag: int


def clean(official: Official, min_count: int = MIN_TAG_COUNT) -> Cleaned:
    """The standard cleaned set: vocabulary over all images, then pairs without a label or a
    vocabulary tag dropped."""
    vocab = standard_vocab(official.tags, min_count)
    common = read_common_tags(official.image_root)
    if common is not None and set(common) != set(vocab):
        log.warning("vocabulary differs from mirflickr/doc/common_tags.txt: %d tags only here, "
                    "%d only there", len(set(vocab) - set(common)), len(set(common) - set(vocab)))
    in_vocab = set(vocab)
    for t in vocab:
        if "," in t:
            raise DataError(f"tag {t!r}: expected no comma in a vocabulary tag (the list format "
                            "separates tags with commas)")
    kept_tags = [[t for t in row if t in in_vocab] for row in official.tags]
    has_label = official.labels.any(axis=1)
    has_tag = np.array([bool(row) for row in kept_tags])
    keep = np.flatnonzero(has_label & has_tag)
    return Cleaned(
        image_paths=[f"mirflickr/im{i + 1}.jpg" for i in keep],
        tags=[kept_tags[i] for i in keep],
        labels=official.labels[keep],
        vocab=vocab,
        image_numbers=keep + 1,
        dropped_without_label=int((~has_label).sum()),
        dropped_without_tag=int((has_label & ~has_tag).sum()),
    )


def write_list_format(cleaned: Cleaned, out: Path) -> None:
    """all_imgs.txt, all_tags.txt, all_labels.txt and vocab.txt in ``out`` (UTF-8, LF)."""
    out.mkdir(parents=True, exist_ok=True)

    def write(name, lines):
        (out / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    write("all_imgs.txt", cleaned.image_paths)
    write("all_tags.txt", (",".join(row) for row in cleaned.tags))
    write("all_labels.txt", (" ".join(map(str, row)) for row in cleaned.labels.tolist()))
    write("vocab.txt", cleaned.vocab)
    write("concepts.txt", CONCEPTS)


def convert(images_folder: Path, annotations_folder: Path, out: Path, bad_tags: str = "error",
            min_count: int = MIN_TAG_COUNT) -> dict:
    """Read the official release and write the cleaned list-format files to ``out``.

    Returns counts and the image root (the folder holding ``mirflickr/``)."""
    official = read_official(images_folder, annotations_folder, bad_tags)
    cleaned = clean(official, min_count)
    write_list_format(cleaned, out)
    counts = {"images": len(official.tags), "pairs": len(cleaned.image_paths),
              "vocabulary": len(cleaned.vocab), "dropped_without_label": cleaned.dropped_without_label,
              "dropped_without_tag": cleaned.dropped_without_tag,
              "skipped_bad_tags": official.skipped_bad_tags}
    log.info("MIRFlickr official -> list format: %s", counts)
    return {"image_root": official.image_root, **counts}
