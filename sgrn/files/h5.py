"""HDF5 conventions: provenance attributes and a completeness mark that readers check."""
from __future__ import annotations

import platform
from pathlib import Path

import h5py
import numpy as np

COMPLETE = "complete"


class IncompleteFileError(ValueError):
    """An HDF5 file that is missing, unreadable or was never marked complete."""


def stamp(f: h5py.File, step: str, params_hash: str, **attrs) -> None:
    """Provenance attributes; call `mark_complete` last."""
    import torch

    f.attrs["step"] = step
    f.attrs["params_hash"] = params_hash
    f.attrs["versions"] = (f"python {platform.python_version()}; numpy {np.__version__}; "
                           f"h5py {h5py.__version__}; torch {torch.__version__}")
    for key, value in attrs.items():
        f.attrs[key] = value


def mark_complete(f: h5py.File) -> None:
    f.attrs[COMPLETE] = True


def open_complete(path: str | Path, expect_step: str | None = None) -> h5py.File:
    """Open an HDF5 output for reading, refusing files that are not complete."""
    path = Path(path)
    if not path.is_file():
        raise IncompleteFileError(f"{path}: file not found")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise IncompleteFileError(f"{path}: not a readable HDF5 file ({err}); delete it and rerun the step") from None
    if not f.attrs.get(COMPLETE, False):
        f.close()
        raise IncompleteFileError(f"{path}: attribute '{COMPLETE}' missing: the file was not finished; "
                                  "delete it and rerun the step that writes it")
    if expect_step is not None and f.attrs.get("step") != expect_step:
        found = f.attrs.get("step")
        f.close()
        raise IncompleteFileError(f"{path}: written by step '{found}', expected a '{expect_step}' output")
    return f


def write_split(group: h5py.Group, split: dict[str, np.ndarray]) -> None:
    for name, idx in split.items():
        group.create_dataset(name, data=np.asarray(idx, dtype=np.int64))


def read_split(group: h5py.Group) -> dict[str, np.ndarray]:
    return {name: group[name][()] for name in group}
