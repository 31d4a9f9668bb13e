"""A small synthetic image-tag dataset in the MIRFlickr list format.

Each image shows 1 to 3 objects of distinct kinds (the labels) on a textured background;
its tags name the kinds through synonyms and misspellings, some dropped, plus colour
words, generic Flickr-style noise and, rarely, a wrong kind's word.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sgrn.data.bow import build_vocab, tag_counts

KINDS = ("circle", "square", "triangle", "star", "cross",
         "ring", "diamond", "hexagon", "bar", "heart")

# The first word is the common one; the rest (rarer) include misspellings.
KIND_WORDS = {
    "circle": ("circle", "round", "disc", "circles", "circel", "dot"),
    "square": ("square", "box", "squares", "block", "sqaure"),
    "triangle": ("triangle", "triangular", "triangles", "pyramid", "traingle"),
    "star": ("star", "stars", "starry", "pentagram", "starr"),
    "cross": ("cross", "plus", "crosses", "crucifix", "corss"),
    "ring": ("ring", "donut", "hoop", "rings", "rign"),
    "diamond": ("diamond", "rhombus", "diamonds", "lozenge", "diamnod"),
    "hexagon": ("hexagon", "hex", "hexagonal", "honeycomb", "hexagone"),
    "bar": ("bar", "stripe", "stick", "bars", "strip"),
    "heart": ("heart", "love", "hearts", "valentine", "hart"),
}

COLOURS = {
    "red": (215, 35, 35), "green": (40, 165, 60), "blue": (40, 75, 210),
    "yellow": (240, 215, 40), "orange": (245, 135, 25), "purple": (135, 50, 170),
    "white": (240, 240, 240), "black": (25, 25, 25),
}

NOISE_TAGS = (
    "nikon", "canon", "2008", "2007", "explore", "vacation", "travel", "summer", "light",
    "art", "color", "colour", "abstract", "macro", "photo", "flickr", "interestingness",
    "bw", "winter", "city", "street", "night", "sky", "nature", "family", "friends",
    "party", "home", "film", "digital", "beautiful", "happy", "design", "pattern",
    "texture", "d80", "geotagged", "cool", "fun", "random",
)

# Objects have a typical colour, as real ones do (bananas are yellow): a cue that even a
# randomly initialised CNN picks up, so the image modality carries label signal.
KIND_COLOUR = dict(zip(KINDS, ("red", "green", "blue", "yellow", "orange",
                                "purple", "white", "black", "red", "blue")))
TYPICAL_COLOUR_P = 0.8
BACKGROUND_SATURATION = 0.3

OBJECTS_PER_IMAGE = (1, 2, 3)
OBJECTS_P = (0.4, 0.4, 0.2)
TAG_DROP_P = 0.2
COLOUR_TAG_P = 0.5
WRONG_KIND_P = 0.05
SMALL_P = 0.15
OCCLUDER_P = 0.2
JPEG_QUALITY = 90
SUPERSAMPLE = 2

# Zipf-like weights so a few noise tags are common and some rare, as on Flickr.
_NOISE_P = 1.0 / np.arange(1, len(NOISE_TAGS) + 1) ** 0.7
_NOISE_P /= _NOISE_P.sum()


def _word_p(n: int) -> np.ndarray:
    """Half the mass on the common word, the rest shared by the variants."""
    return np.array([0.5] + [0.5 / (n - 1)] * (n - 1)) if n > 1 else np.ones(1)


def generate_demo(
    out_dir: Path,
    n_pairs: int = 2400,
    seed: int = 0,
    image_size: int = 96,
    min_tag_count: int = 5,
) -> dict:
    """Write ``n_pairs`` synthetic pairs into ``out_dir``; the same seed gives identical files.

    Writes ``images/im{i}.jpg`` (1-based), ``all_imgs.txt``, ``all_tags.txt``,
    ``all_labels.txt`` and ``vocab.txt`` (the tags in at least ``min_tag_count`` rows,
    sorted). Every pair has at least one label and one vocabulary tag. Returns counts.
    """
    if n_pairs < max(1, min_tag_count):
        raise ValueError(f"n_pairs must be >= min_tag_count ({min_tag_count}), got {n_pairs}")
    if image_size < 16:
        raise ValueError(f"image_size must be >= 16, got {image_size}")
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    labels = np.zeros((n_pairs, len(KINDS)), dtype=np.uint8)
    tags: list[list[str]] = []
    paths: list[str] = []
    for i in range(n_pairs):
        kinds = rng.choice(len(KINDS), size=rng.choice(OBJECTS_PER_IMAGE, p=OBJECTS_P),
                           replace=False)
        colours = np.array([colour_of(rng, k) for k in kinds])
        labels[i, kinds] = 1
        image = draw_scene(rng, kinds, colours, image_size)
        paths.append(f"images/im{i + 1}.jpg")
        image.save(out_dir / paths[-1], format="JPEG", quality=JPEG_QUALITY)
        tags.append(scene_tags(rng, kinds, colours))

    vocab = ensure_vocab_tag(tags, min_tag_count)
    write_lines(out_dir / "all_imgs.txt", paths)
    write_lines(out_dir / "all_tags.txt", [",".join(row) for row in tags])
    write_lines(out_dir / "all_labels.txt", [" ".join(map(str, row)) for row in labels])
    write_lines(out_dir / "vocab.txt", vocab)
    return {
        "pairs": n_pairs,
        "labels": len(KINDS),
        "vocab": len(vocab),
        "tag_tokens": sum(map(len, tags)),
        "positives": {k: int(c) for k, c in zip(KINDS, labels.sum(axis=0))},
    }


def colour_of(rng: np.random.Generator, kind: int) -> int:
    """Index into COLOURS: the kind's typical colour, or sometimes any colour."""
    if rng.random() < TYPICAL_COLOUR_P:
        return list(COLOURS).index(KIND_COLOUR[KINDS[kind]])
    return int(rng.integers(len(COLOURS)))


def scene_tags(rng: np.random.Generator, kinds: np.ndarray, colours: np.ndarray) -> list[str]:
    """The tags of one scene, deduplicated, in random order."""
    colour_names = list(COLOURS)
    out: list[str] = []
    for k, c in zip(kinds, colours):
        if rng.random() >= TAG_DROP_P:
            words = KIND_WORDS[KINDS[k]]
            out.append(words[rng.choice(len(words), p=_word_p(len(words)))])
        if rng.random() < COLOUR_TAG_P:
            out.append(colour_names[c])
    if rng.random() < WRONG_KIND_P:
        present = set(kinds.tolist())
        absent = [k for k in range(len(KINDS)) if k not in present]
        out.append(KIND_WORDS[KINDS[rng.choice(absent)]][0])
    n_noise = int(rng.integers(1, 5))
    noise = rng.choice(len(NOISE_TAGS), n_noise, replace=False, p=_NOISE_P)
    out.extend(NOISE_TAGS[j] for j in noise)
    out = list(dict.fromkeys(out))
    return [out[j] for j in rng.permutation(len(out))]


def ensure_vocab_tag(tags: list[list[str]], min_count: int) -> list[str]:
    """The vocabulary, after giving each row without a vocabulary tag the most common tag.

    Adding the most common tag never removes a word from the vocabulary, and it enters the
    vocabulary itself if it was not there (then every row lacked one and now has it).
    """
    vocab = build_vocab(tags, min_count)
    known = set(vocab)
    lacking = [row for row in tags if not known.intersection(row)]
    if lacking:
        counts = tag_counts(tags)
        top = min(counts, key=lambda t: (-counts[t], t))
        for row in lacking:
            if top not in row:
                row.append(top)
        vocab = build_vocab(tags, min_count)
    return vocab


def draw_scene(rng: np.random.Generator, kinds: np.ndarray, colours: np.ndarray,
               size: int) -> Image.Image:
    """One RGB image: textured background, the objects in order, maybe an occluder."""
    big = size * SUPERSAMPLE
    # Only the objects need supersampling; NEAREST then BOX gives the background back intact.
    image = background(rng, size).resize((big, big), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    palette = list(COLOURS.values())
    centres = []
    for k, c in zip(kinds, colours):
        small = rng.random() < SMALL_P
        r = big * (rng.uniform(0.05, 0.08) if small else rng.uniform(0.2, 0.35))
        # Centres may sit near the border, so some objects are cut off.
        cx, cy = rng.uniform(0.15, 0.85, size=2) * big
        angle = rng.uniform(0, 2 * math.pi)
        jitter = rng.integers(-25, 26, 3)
        fill = tuple(int(v) for v in np.clip(np.array(palette[c]) + jitter, 0, 255))
        draw_shape(draw, KINDS[k], cx, cy, r, angle, fill)
        centres.append((cx, cy, r))
    if rng.random() < OCCLUDER_P:
        cx, cy, r = centres[rng.integers(len(centres))]
        w, h = rng.uniform(0.4, 1.0, size=2) * r
        x0, y0 = cx + rng.uniform(-r, 0.3 * r), cy + rng.uniform(-r, 0.3 * r)
        grey = int(rng.integers(60, 200))
        draw.rectangle((x0, y0, x0 + w, y0 + h), fill=(grey, grey, grey))
    return image.resize((size, size), Image.Resampling.BOX)


def background(rng: np.random.Generator, size: int) -> Image.Image:
    """A muted random tint with smooth blotches, optional stripes and pixel noise."""
    tint = rng.uniform(50, 205, size=3).astype(np.float32)
    tint = tint.mean() + BACKGROUND_SATURATION * (tint - tint.mean())
    coarse = rng.normal(0, 30, size=(6, 6, 3))
    blotches = np.asarray(
        Image.fromarray(np.clip(coarse + 128, 0, 255).astype(np.uint8)).resize(
            (size, size), Image.Resampling.BICUBIC),
        dtype=np.float32) - 128
    pixels = tint + blotches + 12 * rng.standard_normal((size, size, 1), dtype=np.float32)
    if rng.random() < 0.3:
        theta, freq = rng.uniform(0, math.pi), rng.uniform(0.05, 0.3)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        stripes = np.sin(freq * (xx * math.cos(theta) + yy * math.sin(theta)))
        pixels = pixels + 20 * stripes[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def draw_shape(draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, r: float,
               angle: float, fill: tuple[int, int, int]) -> None:
    """Draw one object of ``kind`` centred at (cx, cy) with radius ``r``."""
    if kind == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif kind == "ring":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=max(2, int(0.3 * r)))
    else:
        points = [(cx + x * math.cos(angle) - y * math.sin(angle),
                   cy + x * math.sin(angle) + y * math.cos(angle)) for x, y in _outline(kind, r)]
        draw.polygon(points, fill=fill)


def _outline(kind: str, r: float) -> list[tuple[float, float]]:
    """The unrotated polygon of ``kind``, centred at the origin."""
    if kind in ("triangle", "square", "hexagon"):
        n = {"triangle": 3, "square": 4, "hexagon": 6}[kind]
        return [(r * math.cos(2 * math.pi * j / n), r * math.sin(2 * math.pi * j / n))
                for j in range(n)]
    if kind == "star":
        return [((r if j % 2 == 0 else 0.42 * r) * math.cos(math.pi * j / 5),
                 (r if j % 2 == 0 else 0.42 * r) * math.sin(math.pi * j / 5)) for j in range(10)]
    if kind == "diamond":
        return [(0, -r), (0.55 * r, 0), (0, r), (-0.55 * r, 0)]
    if kind == "bar":
        return [(-r, -0.22 * r), (r, -0.22 * r), (r, 0.22 * r), (-r, 0.22 * r)]
    if kind == "cross":
        w = 0.3 * r
        return [(-w, -r), (w, -r), (w, -w), (r, -w), (r, w), (w, w),
                (w, r), (-w, r), (-w, w), (-r, w), (-r, -w), (-w, -w)]
    if kind == "heart":
        # The classic heart curve, spanning about 34 units; y flipped for image coordinates.
        s = r / 17
        ts = [2 * math.pi * j / 24 for j in range(24)]
        return [(s * 16 * math.sin(t) ** 3,
                 -s * (13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t)
                       - math.cos(4 * t)))
                for t in ts]
    raise ValueError(f"unknown kind {kind!r}")


def write_lines(path: Path, lines: list[str]) -> None:
    """Write UTF-8 text with "\\n" line endings and a final newline."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(line + "\n" for line in lines))
