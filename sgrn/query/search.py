"""Search with a trained run: encode a query (an image file, a tag string or a code) and
rank the run's database codes by Hamming distance.

A run is a run folder of the pipeline (sgrn/workflow/pipeline.py: ``results/{dataset}/{method}/c{config}/
b{bits}/s{seed}``) holding ``model.pt`` and ``codes.h5`` (the index: packed database codes of
both modalities); the dataset's ``features.h5`` (how image features were made and standardised) and ``pairs.h5`` (tag
vocabulary, image paths) are found beside it in the project, or given. The command line
is ``sgrn search`` (``python -m sgrn search``); docs/evaluation.md describes it.

Bad input (codes of another length or dataset than the index, an empty query, an image
that cannot be decoded, tags none of which is in the vocabulary) raises
:class:`SearchError` with a message that says what to fix.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sgrn.retrieval.codes import BIT_ORDER, WordPlanes, check_threads, rank_one, word_planes
from sgrn.workflow.pipeline import PATHS, path, project_root_of

MODALITIES = ("image", "text")


class SearchError(ValueError):
    """A query or a run that cannot be searched; the message says why."""


def _attr(value):
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if hasattr(value, "item") else value


def _strings(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


@dataclass
class Index:
    """The searchable part of a run: database codes of both modalities and their ids."""

    path: Path
    dataset: str
    bits: int
    method: str
    seed: int
    codes: dict[str, WordPlanes]
    ids: np.ndarray                      # row of each database item in pairs.h5 / features.h5
    attrs: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def load_index(path: str | Path) -> Index:
    """Read the database side of an encode output (codes.h5), checking length and bit order."""
    from sgrn.files.h5 import IncompleteFileError, open_complete

    path = Path(path)
    try:
        f = open_complete(path, expect_step="encode")
    except IncompleteFileError as err:
        raise SearchError(f"index: {err}") from None
    with f:
        attrs = {k: _attr(v) for k, v in f.attrs.items()}
        bits = int(attrs.get("bits", 0))
        order = attrs.get("bit_order", BIT_ORDER)
        if order != BIT_ORDER:
            raise SearchError(f"{path}: codes packed in bit order {order!r}; this version reads "
                              f"{BIT_ORDER!r}")
        if "database" not in f:
            raise SearchError(f"{path}: no 'database' group: not an index of database codes")
        db = f["database"]
        codes = {}
        for m in MODALITIES:
            packed = db[m][()]
            if packed.ndim != 2 or packed.shape[1] * 8 != bits:
                raise SearchError(f"{path}: database/{m} holds rows of {packed.shape[1] * 8} bits "
                                  f"but the file records bits={bits}")
            codes[m] = word_planes(packed, bits)
        ids = db["index"][()].astype(np.int64)
    return Index(path, str(attrs.get("dataset")), bits, str(attrs.get("method")),
                 int(attrs.get("seed", -1)), codes, ids, attrs)


def load_model(path: str | Path, index: Index) -> dict:
    """The checkpoint of a run, refused when it belongs to another dataset or code length."""
    from sgrn.training.checkpoint import CheckpointError, read_checkpoint

    path = Path(path)
    if not path.is_file():
        raise SearchError(f"{path}: model file not found")
    try:
        ckpt = read_checkpoint(path)
    except CheckpointError as err:
        raise SearchError(str(err)) from None
    if ckpt.get("bits") != index.bits:
        raise SearchError(f"{path}: the model makes {ckpt.get('bits')}-bit codes but the index "
                          f"{index.path} holds {index.bits}-bit codes")
    if ckpt.get("dataset") is not None and ckpt.get("dataset") != index.dataset:
        raise SearchError(f"{path}: a model of dataset {ckpt.get('dataset')!r}, but the index "
                          f"{index.path} is of dataset {index.dataset!r}")
    return ckpt


def parse_tags(text: str) -> list[str]:
    """Tags of a query string: comma-separated when it has commas, else space-separated;
    lowercased and stripped, as the list-format reader does."""
    parts = text.split(",") if "," in text else text.split()
    return [t.strip().lower() for t in parts if t.strip()]


def parse_code(text: str, bits: int) -> np.ndarray:
    """A packed code given as hex digits (``--code``): uint8 (1, bits/8), checked for length."""
    digits = text.strip().lower().removeprefix("0x").replace(" ", "").replace("_", "")
    if not digits:
        raise SearchError("empty query: --code has no hex digits")
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise SearchError(f"--code {text!r}: not a string of hex digits") from None
    if len(raw) * 8 != bits:
        raise SearchError(f"--code holds a {len(raw) * 8}-bit code but the index holds "
                          f"{bits}-bit codes ({bits // 4} hex digits)")
    return np.frombuffer(raw, dtype=np.uint8).reshape(1, -1).copy()


class Dataset:
    """features.h5 and pairs.h5 of the index's dataset: what encoding a query needs."""

    def __init__(self, features: Path, pairs: Path, root: Path, index: Index):
        from sgrn.files.h5 import IncompleteFileError, open_complete

        self.features_path, self.pairs_path, self.root = features, pairs, root
        self._kept = False  # keep_descriptions() was called
        self._tags = self._paths = None
        try:
            with open_complete(features, expect_step="extract") as f:
                self.feature_attrs = {k: _attr(v) for k, v in f.attrs.items()}
                self.dims = {"image": int(f["image"].shape[1]), "text": int(f["text"].shape[1])}
                self.stats = {name: f[name][()] for name in
                              ("image_mean", "image_std", "text_mean", "text_std") if name in f}
                # the reducer's components, when the text features are tags reduced by extract
                self.text_components = f["text_components"][()] if "text_components" in f else None
            with open_complete(pairs, expect_step="prepare") as p:
                self.pairs_attrs = {k: _attr(v) for k, v in p.attrs.items()}
                # imported (.mat) text features have no tag names
                self.vocab = _strings(p["vocab"][()]) if "vocab" in p else []
        except IncompleteFileError as err:
            raise SearchError(str(err)) from None
        for name, attrs in (("features", self.feature_attrs), ("pairs", self.pairs_attrs)):
            if attrs.get("dataset") != index.dataset:
                path = features if name == "features" else pairs
                raise SearchError(f"{path}: dataset {attrs.get('dataset')!r}, but the index "
                                  f"{index.path} is of dataset {index.dataset!r}")

    @property
    def image_root(self) -> Path | None:
        """The folder the dataset's image paths are relative to; None without images."""
        root = self.pairs_attrs.get("image_root")
        if not root:
            return None
        return Path(root) if Path(root).is_absolute() else self.root / root

    def standardise(self, x: np.ndarray, modality: str) -> np.ndarray:
        """Map a raw feature row the way extract mapped the dataset's (z-score when recorded)."""
        if self.feature_attrs.get(f"{modality}_standardised"):
            mean, std = self.stats.get(f"{modality}_mean"), self.stats.get(f"{modality}_std")
            if mean is None or std is None:
                raise SearchError(f"{self.features_path}: {modality} features are standardised but "
                                  f"'{modality}_mean'/'{modality}_std' are missing")
            x = (x - mean) / std
        return x.astype(np.float32)

    def keep_descriptions(self, block: int = 8192) -> None:
        """Read the tags (as lists of vocabulary indices, a few MB even at NUS-WIDE size) and
        image paths of every pair once and keep them, so that describe() reads no file: for a
        program that answers many queries (``sgrn serve``)."""
        from scipy.sparse import csr_matrix, vstack

        from sgrn.files.h5 import open_complete

        with open_complete(self.pairs_path, expect_step="prepare") as p:
            text = p["text"]
            if self.vocab:
                self._tags = vstack([csr_matrix(text[s:s + block]) for s in range(0, len(text), block)],
                                    format="csr")
            self._paths = _strings(p["image_paths"][()]) if "image_paths" in p else None
        self._kept = True

    def describe(self, rows: list[int]) -> dict[int, dict]:
        """Image path and tags of the given pairs, read from pairs.h5 for those rows only (or
        taken from what keep_descriptions() kept)."""
        from sgrn.files.h5 import open_complete

        wanted = sorted(set(rows))
        if self._kept:
            tags = ([self._tags.indices[self._tags.indptr[r]:self._tags.indptr[r + 1]] for r in wanted]
                    if self._tags is not None else [()] * len(wanted))
            paths = [self._paths[r] for r in wanted] if self._paths is not None else None
        else:
            with open_complete(self.pairs_path, expect_step="prepare") as p:
                text = p["text"][wanted] if wanted and self.vocab else None
                tags = [np.flatnonzero(t) for t in text] if text is not None else [()] * len(wanted)
                paths = _strings(p["image_paths"][wanted]) if "image_paths" in p and wanted else None
        root = self.image_root
        out = {}
        for i, row in enumerate(wanted):
            image = paths[i] if paths is not None else None
            out[row] = {"image": image,
                        "image_file": str(root / image) if root and image else None,
                        "tags": [self.vocab[j] for j in tags[i]]}
        return out


def _backbone(data: Dataset):
    """The backbone that made the dataset's image features, refused for imported features."""
    from sgrn.features.backbones import get_backbone

    attrs = data.feature_attrs
    if attrs.get("image_source", "files") == "mat" or str(attrs.get("backbone", "")).startswith("none"):
        raise SearchError(f"{data.features_path}: image features were imported, not extracted: "
                          "there is no backbone to embed a new image; query with --tags")
    try:
        return get_backbone(str(attrs.get("backbone", "alexnet")))
    except ValueError as err:
        raise SearchError(f"{data.features_path}: {err}") from None


@dataclass
class Run:
    """A run opened for searching: its index, its dataset's files and its checkpoint (read at
    opening, or at its first use when opened without it). The hash nets and the image
    backbone are built at their first use and kept, so that a program answering many queries
    (``sgrn serve``) builds them once. A tag query takes the text net that encode kept in
    codes.h5 (sgrn.retrieval.textnet: numpy, no torch) unless the model was given on its own."""

    index: Index
    data: Dataset
    ckpt: dict | None
    model_path: Path | None = None
    own_model: bool = True       # model.pt is the run's own, the one that made codes.h5
    _nets: tuple | None = field(default=None, repr=False)
    _image_model: object = field(default=None, repr=False)
    _text_net: object = field(default=False, repr=False)  # False: not read yet

    def checkpoint(self) -> dict:
        """The run's checkpoint, read and checked against the index at its first use."""
        if self.ckpt is None:
            if self.model_path is None:
                raise SearchError(f"{self.index.path}: opened without its model; only codes can be searched")
            self.ckpt = load_model(self.model_path, self.index)
        return self.ckpt

    def net(self, modality: str):
        """The run's hash net of one modality (eval mode, CPU)."""
        import torch

        from sgrn.training.checkpoint import load_nets

        if self._nets is None:
            self._nets = load_nets(self.checkpoint(), torch.device("cpu"))
        return self._nets[0] if modality == "image" else self._nets[1]

    def numpy_text_net(self):
        """The text net kept in codes.h5 by encode (sgrn.retrieval.textnet.TextNet), None when the index
        has none or the model was given on its own."""
        from sgrn.files.h5 import open_complete
        from sgrn.retrieval.textnet import read_text_net

        if self._text_net is False:
            self._text_net = None
            if self.own_model:
                with open_complete(self.index.path, expect_step="encode") as f:
                    try:
                        self._text_net = read_text_net(f)
                    except ValueError as err:
                        raise SearchError(str(err)) from None
        return self._text_net

    def image_model(self):
        """The backbone network with the weights recorded in features.h5."""
        from sgrn.data.errors import DataError

        if self._image_model is None:
            attrs = self.data.feature_attrs
            weights = str(attrs.get("weights", "random"))
            if weights == "file":
                weights = str(attrs.get("weights_path", ""))
            try:
                seed = int(attrs.get("weights_seed", 0))
            except (TypeError, ValueError):
                seed = 0
            try:
                self._image_model, _ = _backbone(self.data).load(weights, seed)
            except (DataError, FileNotFoundError) as err:
                raise SearchError(str(err)) from None
        return self._image_model


def open_run(run_dir: str | Path | None = None, *, index: str | Path | None = None,
             model: str | Path | None = None, features: str | Path | None = None,
             pairs: str | Path | None = None, root: str | Path | None = None,
             with_model: bool = True) -> Run:
    """Open a run for searching: the index, then (``with_model``) the checkpoint, which must
    fit the index, then the dataset's features.h5 and pairs.h5. Paths not given are found
    from the run folder and the project folder above it. Without ``with_model`` the
    checkpoint is read at its first use (an image query, a tag query on an index without
    the text net), if ever."""
    run_dir = Path(run_dir) if run_dir else None
    if run_dir is not None and not run_dir.is_dir():
        raise SearchError(f"{run_dir}: run folder not found (expected {PATHS['run']})")
    index_path = Path(index) if index else (run_dir / "codes.h5" if run_dir else None)
    if index_path is None:
        raise SearchError("give the run folder (--run) or the index (--index codes.h5)")
    idx = load_index(index_path)
    ckpt = None
    model_path = Path(model) if model else (run_dir / "model.pt" if run_dir else None)
    if with_model:  # the model must fit the index before anything else is read
        if model_path is None:
            raise SearchError("give the run folder (--run) or the model (--model model.pt)")
        ckpt = load_model(model_path, idx)
    root = Path(root) if root else _project_root(index_path)
    features = Path(features) if features else root / path("features", dataset=idx.dataset)
    pairs = Path(pairs) if pairs else root / path("pairs", dataset=idx.dataset)
    own_model = model is None and index is None  # both the run folder's: the net made the codes
    return Run(idx, Dataset(features, pairs, root, idx), ckpt, model_path, own_model)


def _image_feature(path: Path, run: Run, threads: int) -> np.ndarray:
    """The raw image feature of one image file, by the backbone that made the dataset's."""
    import torch

    from sgrn.data.errors import DataError
    from sgrn.features.extract import extract_to
    from sgrn.features.images import ImageFiles

    data = run.data
    backbone = _backbone(data)
    # the input side the features were extracted at (extract.input_size), else the backbone's
    size = int(data.feature_attrs.get("input_size", backbone.size))
    images = ImageFiles(path.parent, [path.name], size, backbone.mean, backbone.std)
    _, problem = images[0]  # decoded here first, for a message about the query file
    if problem:
        raise SearchError(f"--image {path}: {problem.split(' image of row 1 ', 1)[-1]}")
    torch.set_num_threads(threads)
    try:
        out = np.zeros((1, backbone.dim), dtype=np.float32)
        extract_to(out, images, run.image_model(), 1, 0, torch.device("cpu"))
    except (DataError, FileNotFoundError) as err:
        raise SearchError(str(err)) from None
    if out.shape[1] != data.dims["image"]:
        raise SearchError(f"the {backbone.name} feature has {out.shape[1]} dimensions but "
                          f"{data.features_path} holds {data.dims['image']}")
    return out


def encode_query(run: Run, modality: str, feature: np.ndarray, threads: int) -> np.ndarray:
    """Packed code (1, c/8) of one feature row through the run's hash network: in numpy for
    text when encode kept the text net in codes.h5, else through torch."""
    from sgrn.retrieval.codes import binarize, pack_codes

    text_net = run.numpy_text_net() if modality == "text" else None
    if text_net is not None:
        if text_net.d_in != feature.shape[1] or text_net.bits != run.index.bits:
            raise SearchError(f"{run.index.path}: the kept text net maps {text_net.d_in}-d features to "
                              f"{text_net.bits} bits; the dataset's are {feature.shape[1]}-d, the index "
                              f"holds {run.index.bits}-bit codes")
        return pack_codes(binarize(text_net(feature)))

    import torch

    from sgrn.training.nets import encode

    torch.set_num_threads(threads)
    dims = run.checkpoint().get("dims", {})
    if dims.get(modality) != feature.shape[1]:
        raise SearchError(f"the model's {modality} net takes {dims.get(modality)}-d features, "
                          f"the dataset's are {feature.shape[1]}-d")
    h = encode(run.net(modality), torch.from_numpy(np.ascontiguousarray(feature, dtype=np.float32)))
    return pack_codes(binarize(h.numpy()))


@dataclass
class Query:
    kind: str          # image | tags | code
    value: str
    modality: str      # the modality of the query code (image or text); None for a code
    used: list[str] = field(default_factory=list)     # tags found in the vocabulary
    ignored: list[str] = field(default_factory=list)  # tags not in it


def reduce_tags(data: Dataset, bow: np.ndarray) -> np.ndarray:
    """A tag query's bag of words mapped as extract mapped the dataset's text (extract.text):
    unchanged for bow; svd's coordinates are ``bow @ components.T`` (TruncatedSVD.transform);
    lda's topic proportions need the fitted model's inference, which features.h5 does not keep."""
    kind = data.feature_attrs.get("text_features", "bow")
    if kind == "bow":
        return bow
    if kind == "svd" and data.text_components is not None:
        return (bow.astype(np.float64) @ data.text_components.T.astype(np.float64)).astype(np.float32)
    raise SearchError(f"{data.features_path}: the text features are {kind} topic vectors of the tags "
                      f"(extract.text: {kind}), which a tag query cannot be mapped to: query with an image or a code")


def make_query(run: Run, *, image: str | None = None, tags: str | None = None,
               code: str | None = None, target: str | None = None,
               threads: int | None = None) -> tuple[Query, np.ndarray]:
    """The query and its packed code (1, c/8): an image file or a tag string encoded by the
    run's nets, or a code given in hex (which needs ``target``)."""
    threads = check_threads(threads)
    data = run.data
    if code is not None:
        if target is None:
            raise SearchError("--code needs --target image or --target text: the modality of the "
                              "database codes to search")
        return Query("code", code, None), parse_code(code, run.index.bits)
    if image is not None:
        query = Query("image", image, "image")
        if not image.strip():
            raise SearchError("empty query: --image names no file")
        path = Path(image)
        if not path.is_file():
            raise SearchError(f"{path}: image file not found")
        feature = data.standardise(_image_feature(path, run, threads), "image")
    else:
        words = parse_tags(tags or "")
        if not words:
            raise SearchError("empty query: --tags has no tag")
        if not data.vocab:
            raise SearchError(f"{data.pairs_path}: dataset {run.index.dataset} has no tag vocabulary "
                              "(imported text features): query with an image or a code")
        known = set(data.vocab)
        used = [t for t in dict.fromkeys(words) if t in known]
        ignored = [t for t in dict.fromkeys(words) if t not in known]
        if not used:
            examples = ", ".join(data.vocab[:8])
            raise SearchError(f"--tags: none of {', '.join(ignored)} is in the vocabulary of "
                              f"{run.index.dataset} ({len(data.vocab)} tags, e.g. {examples})")
        query = Query("tags", tags, "text", used, ignored)
        bow = np.zeros((1, len(data.vocab)), dtype=np.float32)
        bow[0, [data.vocab.index(t) for t in used]] = 1
        feature = data.standardise(reduce_tags(data, bow), "text")
    return query, encode_query(run, query.modality, feature, threads)


def search(run: Run, query: Query, code: np.ndarray, k: int, target: str | None = None,
           threads: int | None = None) -> dict:
    """The top ``k`` database items of ``target`` (default: the other modality) for a packed
    query code, ranked by (Hamming distance, database index); a JSON-able dict."""
    threads = check_threads(threads)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise SearchError(f"-k must be a positive integer, got {k}")
    index = run.index
    target = target or ("text" if query.modality == "image" else "image")
    if target not in MODALITIES:
        raise SearchError(f"--target must be one of {', '.join(MODALITIES)}, got {target!r}")
    # one query: plain numpy, the same ranking as hamming_topk without loading its kernels
    idx, dist = rank_one(word_planes(code, index.bits), index.codes[target], int(k))
    rows = [int(index.ids[j]) for j in idx[0]]
    info = run.data.describe(rows)
    results = [{"rank": rank, "id": row, "distance": int(d), **info[row]}
               for rank, (row, d) in enumerate(zip(rows, dist[0]), start=1)]
    return {
        "query": {"kind": query.kind, "value": query.value, "modality": query.modality,
                  "code": code[0].tobytes().hex(), "tags_used": query.used,
                  "tags_ignored": query.ignored},
        "index": {"path": str(index.path), "dataset": index.dataset, "method": index.method,
                  "bits": index.bits, "seed": index.seed, "items": len(index)},
        "target": target,
        "k": len(results),
        "ties": "stable (by database index)",
        "results": results,
    }


def run_search(args: argparse.Namespace) -> dict:
    """Resolve the run, encode the query, search; returns the result as a JSON-able dict."""
    threads = check_threads(args.threads)
    if isinstance(args.k, bool) or args.k < 1:
        raise SearchError(f"-k must be a positive integer, got {args.k}")
    # A tag query on the run folder's own files reads model.pt only when codes.h5 has no text net.
    own_files = args.model is None and args.index is None
    run = open_run(args.run, index=args.index, model=args.model, features=args.features,
                   pairs=args.pairs, root=args.root,
                   with_model=args.image is not None or (args.tags is not None and not own_files))
    query, code = make_query(run, image=args.image, tags=args.tags, code=args.code,
                             target=args.target, threads=threads)
    return search(run, query, code, args.k, args.target, threads)


def _project_root(index_path: Path) -> Path:
    """The project folder of a run's codes.h5 (sgrn.workflow.pipeline's run layout), else '.'."""
    return project_root_of(index_path) or Path(".")


def format_table(result: dict) -> str:
    arrow = {"image": "I", "text": "T", None: "code"}[result["query"]["modality"]]
    idx = result["index"]
    head = (f"{arrow}->{result['target'][0].upper()}: top {result['k']} of {idx['items']} "
            f"database items, {idx['bits']} bits, {idx['dataset']}/{idx['method']} seed "
            f"{idx['seed']} (query code {result['query']['code']})")
    lines = [head]
    if result["query"]["tags_ignored"]:
        lines.append(f"tags not in the vocabulary, ignored: {', '.join(result['query']['tags_ignored'])}")
    rows = [("rank", "id", "dist", "image", "tags")]
    for r in result["results"]:
        rows.append((str(r["rank"]), str(r["id"]), str(r["distance"]), r["image"] or "-",
                     ", ".join(r["tags"]) or "-"))
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) if c >= 3 else cell.rjust(w)
                               for c, (cell, w) in enumerate(zip(row[:4], widths))) + "  " + row[4])
    return "\n".join(lines)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "search", help="query a trained run with an image file or a tag string",
        description="Rank the database of a trained run by Hamming distance to a query: an image "
                    "file (searches the text codes: I->T), a tag string (searches the image codes: "
                    "T->I) or a packed code in hex. Ties are ordered by database index.")
    p.add_argument("--run", help="run folder results/{dataset}/{method}/c{config}/b{bits}/s{seed} "
                                 "(holds model.pt and codes.h5)")
    q = p.add_mutually_exclusive_group(required=True)
    q.add_argument("--image", help="query image file (JPEG/PNG)")
    q.add_argument("--tags", help="query tags, comma- or space-separated")
    q.add_argument("--code", help="query code: c/4 hex digits of a packed code (big-endian bits)")
    p.add_argument("-k", type=int, default=10, help="results to print (default 10)")
    p.add_argument("--target", choices=MODALITIES,
                   help="database modality to search (default: the other one, cross-modal)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for encoding and search (default: all of this process's CPUs)")
    p.add_argument("--model", help="model.pt (default: RUN/model.pt)")
    p.add_argument("--index", help="codes.h5 to search (default: RUN/codes.h5)")
    p.add_argument("--features", help="features.h5 (default: ROOT/results/{dataset}/features.h5)")
    p.add_argument("--pairs", help="pairs.h5 (default: ROOT/resources/{dataset}/pairs.h5)")
    p.add_argument("--root", help="project folder (default: found from the run folder)")
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    from sgrn.cli import USER_ERRORS

    try:
        result = run_search(args)
    except (SearchError, *USER_ERRORS) as err:
        print(f"sgrn search: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result))
    return 0
