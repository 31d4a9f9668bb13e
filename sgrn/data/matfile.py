"""Import of precomputed features from MATLAB .mat files, v5 (scipy) and v7.3 (HDF5).

Two layouts are recognised (names are case-sensitive; ``prepare.<dataset>.mat_keys``
overrides them):

- one set (the DCMH style): image ``IAll`` (or I, image, images, img, X), text ``YAll``
  (or TAll, T, Y, text, texts, tags), labels ``LAll`` (or L, label, labels); the split is
  then drawn as params say;
- split by file: ``I_tr, T_tr, L_tr`` and ``I_te, T_te, L_te`` (in one file or spread over
  several): the given partition is honoured, test = queries, train = database and
  training set.

Feature matrices are (items, dims) in MATLAB's row order; a matrix stored the other way
round (dims, items) is recognised from the item count. Image variables may also be raw
pixels, MATLAB (height, width, 3, items) or (items, height, width, 3), uint8: the extract
step then runs the backbone on them. Labels are one-hot / multi-hot rows of 0 and 1, or
class indices (a vector; 1-based when the smallest is 1, as MATLAB writes them).

Nothing is loaded whole from a v7.3 file: readers take rows in blocks.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from sgrn.data.errors import DataError

SINGLE_KEYS = {
    "image": ("IAll", "I", "image", "images", "img", "X"),
    "text": ("YAll", "TAll", "T", "Y", "text", "texts", "tags"),
    "labels": ("LAll", "L", "label", "labels"),
}
SPLIT_KEYS = {
    "image": ("I_tr", "I_te"),
    "text": ("T_tr", "T_te"),
    "labels": ("L_tr", "L_te"),
}
BLOCK_BYTES = 64 << 20


def mat_version(path: Path) -> str:
    """'v7.3' or 'v5'; anything else is refused."""
    if not path.is_file():
        raise DataError(f"{path}: file not found", file=str(path))
    if h5py.is_hdf5(path):
        return "v7.3"
    with open(path, "rb") as f:
        head = f.read(128)
    if head.startswith(b"MATLAB 5.0 MAT-file"):
        return "v5"
    raise DataError(f"{path}: expected a MATLAB v5 or v7.3 (HDF5) .mat file, got neither "
                    f"(header {head[:20]!r})", file=str(path))


@dataclass
class MatVar:
    """One variable of a .mat file; ``shape`` in MATLAB order (rows, cols, ...)."""

    file: Path
    key: str
    shape: tuple[int, ...]
    version: str
    _data: np.ndarray | None = None  # v5 only, loaded on first use

    @property
    def where(self) -> str:
        return f"{self.file} key '{self.key}'"

    def load_v5(self) -> np.ndarray:
        if self._data is None:
            from scipy.io import loadmat

            try:
                self._data = loadmat(self.file, variable_names=[self.key])[self.key]
            except Exception as err:  # scipy raises several types for damaged files
                raise DataError(f"{self.where}: cannot be read ({type(err).__name__}: {err})",
                                file=str(self.file)) from None
        return self._data

    def matlab_block(self, axis: int, start: int, stop: int) -> np.ndarray:
        """Entries start:stop along MATLAB axis ``axis`` (of a 2-d variable), as a MATLAB-order
        array."""
        if self.version == "v5":
            data = self.load_v5()
            return data[start:stop] if axis == 0 else data[:, start:stop]
        with h5py.File(self.file, "r") as f:
            ds = f[self.key]
            # HDF5 holds MATLAB's column-major array in reversed axis order.
            block = ds[:, start:stop] if axis == 0 else ds[start:stop, :]
        return block.T

    def read_all(self) -> np.ndarray:
        """The whole variable in MATLAB order (for labels and text, never image features)."""
        if self.version == "v5":
            return np.asarray(self.load_v5())
        with h5py.File(self.file, "r") as f:
            return f[self.key][()].T


def list_vars(path: Path) -> dict[str, MatVar]:
    version = mat_version(path)
    out = {}
    if version == "v5":
        from scipy.io import whosmat

        try:
            entries = whosmat(path)
        except Exception as err:
            raise DataError(f"{path}: not a readable MATLAB v5 file ({type(err).__name__}: {err})",
                            file=str(path)) from None
        for name, shape, cls in entries:
            if cls not in ("struct", "cell", "char", "object", "function_handle"):
                out[name] = MatVar(path, name, tuple(shape), version)
    else:
        try:
            with h5py.File(path, "r") as f:
                for name, obj in f.items():
                    if isinstance(obj, h5py.Dataset) and not name.startswith("#"):
                        out[name] = MatVar(path, name, tuple(reversed(obj.shape)), version)
        except OSError as err:
            raise DataError(f"{path}: not a readable HDF5 file ({err})", file=str(path)) from None
    return out


def collect_vars(files: list[Path]) -> dict[str, MatVar]:
    """Variables of all files; a name defined in two files is refused."""
    merged: dict[str, MatVar] = {}
    for path in files:
        for key, var in list_vars(Path(path)).items():
            if key in merged:
                raise DataError(f"{path}: key '{key}' is also defined in {merged[key].file}; "
                                "expected each variable once", file=str(path))
            merged[key] = var
    return merged


def _pick(found: dict[str, MatVar], names: tuple[str, ...]) -> MatVar | None:
    for name in names:
        if name in found:
            return found[name]
    return None


def resolve_keys(found: dict[str, MatVar], keys: dict | None, files: list[Path]):
    """('single' or 'split', {role: [MatVar, ...]}); train part first for 'split'."""
    keys = keys or {}
    listing = ", ".join(f"{k} {v.shape}" for k, v in sorted(found.items())) or "no numeric variables"
    where = ", ".join(map(str, files))

    def get(name: str) -> MatVar:
        if name not in found:
            raise DataError(f"{where}: key '{name}' not found (present: {listing})", file=str(files[0]))
        return found[name]

    split_given = any(k.endswith(("_train", "_test")) for k in keys)
    if split_given or (not keys and all(_pick(found, (v[0],)) for v in SPLIT_KEYS.values())):
        layout, roles = "split", {}
        for role, (tr, te) in SPLIT_KEYS.items():
            roles[role] = [get(keys.get(f"{role}_train", tr)), get(keys.get(f"{role}_test", te))]
        return layout, roles
    roles = {}
    for role, names in SINGLE_KEYS.items():
        var = get(keys[role]) if role in keys else _pick(found, names)
        if var is None:
            raise DataError(f"{where}: expected a {role} variable named one of {', '.join(names)} "
                            f"(or I_tr/T_tr/L_tr with I_te/T_te/L_te); present: {listing}; "
                            f"prepare.<dataset>.mat_keys names others", file=str(files[0]))
        roles[role] = [var]
    return "single", roles


def items_axis(var: MatVar, n: int, role: str) -> int:
    """The MATLAB axis of a 2-d variable that runs over the ``n`` items."""
    if len(var.shape) != 2:
        raise DataError(f"{var.where}: expected a 2-d {role} matrix of {n} rows, got shape "
                        f"{var.shape}", file=str(var.file))
    if var.shape[0] == n:
        return 0
    if var.shape[1] == n:
        return 1
    raise DataError(f"{var.where}: expected {n} rows (one per item, as the labels have), got shape "
                    f"{var.shape}", file=str(var.file))


def label_count(var: MatVar) -> int:
    """Items in a label variable: rows of a 0/1 matrix or length of an index vector."""
    shape = var.shape
    if len(shape) == 1:
        return shape[0]
    if len(shape) == 2 and 1 in shape:
        return max(shape)
    if len(shape) == 2:
        return shape[0]
    raise DataError(f"{var.where}: expected labels as a 0/1 matrix (items, classes) or a vector of "
                    f"class indices, got shape {shape}", file=str(var.file))


def _finite(x: np.ndarray, var: MatVar, row0: int = 0) -> None:
    if np.issubdtype(x.dtype, np.floating):
        bad = ~np.isfinite(x)
        if bad.any():
            r, c = np.argwhere(bad)[0] if x.ndim == 2 else (np.argwhere(bad)[0][0], 0)
            raise DataError(f"{var.where}: row {row0 + r + 1}, column {c + 1}: expected a finite "
                            f"number, got {x[bad][0]}", file=str(var.file))


def read_labels(parts: list[MatVar]) -> np.ndarray:
    """(n, L) uint8 labels over the parts in order; index vectors become one-hot rows."""
    arrays = []
    for var in parts:
        raw = np.asarray(var.read_all())
        if raw.dtype.kind not in "biuf":
            raise DataError(f"{var.where}: expected numeric labels, got {raw.dtype}", file=str(var.file))
        _finite(raw.astype(np.float64, copy=False).reshape(raw.shape[0], -1), var)
        arrays.append(raw)
    vectors = [a.ndim == 1 or (a.ndim == 2 and 1 in a.shape) for a in arrays]
    if any(vectors) and not all(vectors):
        raise DataError(f"{parts[0].where}: labels of the parts mix class indices and 0/1 rows",
                        file=str(parts[0].file))
    if all(vectors):
        flat = [a.reshape(-1) for a in arrays]
        allv = np.concatenate(flat)
        if not np.all(allv == np.round(allv)):
            var = parts[next(i for i, f in enumerate(flat) if not np.all(f == np.round(f)))]
            raise DataError(f"{var.where}: expected integer class indices, got fractions",
                            file=str(var.file))
        base = int(allv.min())
        if base not in (0, 1):
            raise DataError(f"{parts[0].where}: expected class indices starting at 0 or 1, the "
                            f"smallest is {base}", file=str(parts[0].file))
        width = int(allv.max()) - base + 1
        onehot = np.zeros((len(allv), width), np.uint8)
        onehot[np.arange(len(allv)), allv.astype(np.int64) - base] = 1
        return onehot
    out = []
    for var, a in zip(parts, arrays):
        if a.ndim != 2:
            raise DataError(f"{var.where}: expected a 2-d 0/1 label matrix, got shape {var.shape}",
                            file=str(var.file))
        if not np.isin(a, (0, 1)).all():
            r, c = np.argwhere(~np.isin(a, (0, 1)))[0]
            raise DataError(f"{var.where}: row {r + 1}, column {c + 1}: expected 0 or 1, got "
                            f"{a[r, c]} (a 0/1 matrix, or a vector of class indices)",
                            file=str(var.file))
        out.append(a.astype(np.uint8))
    widths = {a.shape[1] for a in out}
    if len(widths) > 1:
        raise DataError(f"{parts[0].where}: the parts have {sorted(widths)} label columns, expected "
                        "the same number", file=str(parts[0].file))
    return np.concatenate(out)


def read_matrix(var: MatVar, n: int, role: str) -> np.ndarray:
    """A whole (n, d) matrix (text features), checked for shape and finiteness: uint8 when it
    holds only 0 and 1 (a bag of words), else float32."""
    axis = items_axis(var, n, role)
    x = var.read_all()
    x = x if axis == 0 else x.T
    if x.dtype.kind not in "biuf":
        raise DataError(f"{var.where}: expected a numeric {role} matrix, got {x.dtype}", file=str(var.file))
    _finite(x, var)
    binary = x.dtype.kind == "b" or bool(((x == 0) | (x == 1)).all())
    return np.ascontiguousarray(x, dtype=np.uint8 if binary else np.float32)


def pixel_layout(var: MatVar, n: int) -> str | None:
    """'hwcn' for MATLAB (h, w, 3, n), 'nhwc' for (n, h, w, 3); None when not pixels."""
    s = var.shape
    if len(s) != 4:
        return None
    if s[3] == n and s[2] == 3:
        return "hwcn"
    if s[0] == n and s[3] == 3:
        return "nhwc"
    raise DataError(f"{var.where}: expected image pixels as (height, width, 3, {n}) or "
                    f"({n}, height, width, 3), got shape {s}", file=str(var.file))


@dataclass
class ImagePart:
    """Where some image rows come from, recorded in pairs.h5 for the extract step."""

    file: str
    key: str
    version: str
    items: int
    axis: int          # MATLAB axis over items (features); -1 for pixels
    layout: str        # 'features' | 'hwcn' | 'nhwc'
    dim: int           # feature dimension; 0 for pixels

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class MatDataset:
    layout: str                      # 'single' | 'split'
    text: np.ndarray                 # (n, d_t) float32
    labels: np.ndarray               # (n, L) uint8
    image_parts: list[ImagePart]
    n_train: int | None              # split layout: rows [0, n_train) are train, the rest test
    text_is_binary: bool


def read_mat_dataset(files: list[Path], keys: dict | None = None) -> MatDataset:
    files = [Path(f) for f in files]
    found = collect_vars(files)
    layout, roles = resolve_keys(found, keys, files)
    counts = [label_count(v) for v in roles["labels"]]
    labels = read_labels(roles["labels"])
    texts, parts = [], []
    for var, n in zip(roles["text"], counts):
        texts.append(read_matrix(var, n, "text"))
    dims = {t.shape[1] for t in texts}
    if len(dims) > 1:
        raise DataError(f"{roles['text'][1].where}: {sorted(dims)} text dimensions across the parts, "
                        "expected one", file=str(roles["text"][1].file))
    for var, n in zip(roles["image"], counts):
        pix = pixel_layout(var, n)
        if pix:
            parts.append(ImagePart(str(var.file), var.key, var.version, n, -1, pix, 0))
        else:
            axis = items_axis(var, n, "image")
            parts.append(ImagePart(str(var.file), var.key, var.version, n, axis, "features",
                                   var.shape[1 - axis]))
    if len({(p.layout == "features", p.dim) for p in parts}) > 1:
        raise DataError(f"{roles['image'][1].where}: image parts differ in kind or dimension "
                        f"({[(p.layout, p.dim) for p in parts]}), expected the same",
                        file=str(roles["image"][1].file))
    binary = all(t.dtype == np.uint8 for t in texts)
    text = np.concatenate([t if binary else t.astype(np.float32) for t in texts])
    return MatDataset(layout, text, labels, parts, counts[0] if layout == "split" else None, binary)


def iter_feature_rows(parts: list[dict], rows: np.ndarray, block_rows: int | None = None):
    """Yield (out_start, block) with the image feature rows ``rows`` (increasing indices into
    the parts concatenated), in order, reading a bounded number of rows at a time; checks for
    NaN and inf."""
    offsets = np.cumsum([0] + [p["items"] for p in parts])
    rows = np.asarray(rows, dtype=np.int64)
    dim = parts[0]["dim"]
    block_rows = block_rows or max(1, BLOCK_BYTES // (4 * max(dim, 1)))
    cache: dict[int, MatVar] = {}
    out = 0
    while out < len(rows):
        part_i = int(np.searchsorted(offsets, rows[out], side="right") - 1)
        part = parts[part_i]
        local_end = offsets[part_i + 1]
        stop = out + 1
        while stop < len(rows) and stop - out < block_rows and rows[stop] < local_end \
                and rows[stop] - rows[out] < block_rows:
            stop += 1
        lo, hi = int(rows[out] - offsets[part_i]), int(rows[stop - 1] - offsets[part_i]) + 1
        var = cache.setdefault(part_i, MatVar(Path(part["file"]), part["key"], (), part["version"]))
        block = var.matlab_block(part["axis"], lo, hi)
        block = block if part["axis"] == 0 else block.T  # (items, dims)
        if block.ndim != 2 or block.shape[1] != dim:
            raise DataError(f"{var.where}: expected {dim} columns, got shape {block.shape}",
                            file=str(var.file))
        if block.dtype.kind not in "biuf":
            raise DataError(f"{var.where}: expected numeric image features, got {block.dtype}",
                            file=str(var.file))
        picked = block[rows[out:stop] - offsets[part_i] - lo].astype(np.float32, copy=False)
        _finite(picked, var, lo)
        yield out, picked
        out = stop


def pixel_item(part: dict, index: int, handle=None) -> np.ndarray:
    """One image of a pixel part as an (h, w, 3) uint8 array."""
    if part["version"] == "v5":
        data = _var_cached(part)
        img = data[:, :, :, index] if part["layout"] == "hwcn" else data[index]
    else:
        ds = handle[part["key"]]
        # HDF5 reverses MATLAB's axes: (h, w, 3, n) is stored (n, 3, w, h).
        img = ds[index].transpose(2, 1, 0) if part["layout"] == "hwcn" else ds[:, :, :, index].T
    return np.ascontiguousarray(img)


_V5_CACHE: dict[tuple[str, str], np.ndarray] = {}


def _var_cached(part: dict) -> np.ndarray:
    key = (part["file"], part["key"])
    if key not in _V5_CACHE:
        _V5_CACHE[key] = MatVar(Path(part["file"]), part["key"], (), "v5").load_v5()
    return _V5_CACHE[key]
