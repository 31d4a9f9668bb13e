"""The files the page may send: a dataset's own images and the report's plots, nothing else.

A requested image path is served only when it is one of the image paths that the dataset's
pairs.h5 lists and, with every symbolic link resolved, still lies inside the dataset's image
folder; anything else (``..``, an absolute path, a link pointing out) is answered as missing.
"""
from __future__ import annotations

import threading
from pathlib import Path

from sgrn.files.h5 import IncompleteFileError, open_complete
from sgrn.query.search import _strings

PLOT_SUFFIXES = (".png", ".svg")


class DatasetImages:
    """The image folder of one dataset and the image paths its pairs.h5 lists."""

    def __init__(self, root: Path, dataset: str):
        self.pairs = root / "resources" / dataset / "pairs.h5"
        try:
            with open_complete(self.pairs, expect_step="prepare") as p:
                folder = p.attrs.get("image_root")
                folder = folder.decode() if isinstance(folder, bytes) else folder
                listed = _strings(p["image_paths"][()]) if "image_paths" in p else []
        except (IncompleteFileError, FileNotFoundError, OSError):
            folder, listed = None, []
        if folder and not Path(folder).is_absolute():
            folder = root / folder
        self.folder = Path(folder).resolve() if folder and listed else None
        self.listed = frozenset(listed)

    def resolve(self, relative: str) -> Path | None:
        """The file of a listed image path inside the image folder, else None."""
        if self.folder is None or relative not in self.listed or Path(relative).is_absolute():
            return None
        path = (self.folder / relative).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            return None
        return path


class ImageFolders:
    """DatasetImages per dataset name, read again when its pairs.h5 changes; only datasets
    that have runs are asked for."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._datasets: dict[str, tuple[tuple, DatasetImages]] = {}

    def get(self, dataset: str) -> DatasetImages:
        pairs = self.root / "resources" / dataset / "pairs.h5"
        try:
            stamp = (pairs.stat().st_mtime_ns, pairs.stat().st_size)
        except OSError:
            stamp = None
        with self._lock:
            cached = self._datasets.get(dataset)
            if cached is None or cached[0] != stamp:
                self._datasets[dataset] = (stamp, DatasetImages(self.root, dataset))
            return self._datasets[dataset][1]


def report_plots(root: Path) -> list[str]:
    """File names of the report's plots (results/plots/*.png, *.svg), sorted."""
    folder = root / "results" / "plots"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix in PLOT_SUFFIXES and p.is_file())


def report_tables(root: Path) -> list[Path]:
    """The report's Markdown tables (results/tables/*.md), sorted by name."""
    return sorted((root / "results" / "tables").glob("*.md"))
