"""The trained runs under results/ and a cache of the ones opened for searching.

A run is a run folder of the pipeline's layout (sgrn/workflow/pipeline.py: ``results/{dataset}/{method}/
c{config}/b{bits}/s{seed}``) with ``model.pt`` and ``codes.h5``.
Opening one (index, checkpoint, dataset files, the query side of codes.h5) takes a moment;
the server opens them in the background at its start (and at a run's first query if that
comes sooner) and keeps them until their files change.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from sgrn.query.search import MODALITIES, Run, SearchError, open_run
from sgrn.workflow.pipeline import PATHS, RUN_GLOB, parse_run, run_folder


@dataclass(frozen=True, order=True)
class RunKey:
    dataset: str
    method: str
    config: int
    bits: int
    seed: int

    @property
    def folder(self) -> Path:
        """The run folder, relative to the project root."""
        return run_folder(self.dataset, self.method, self.config, self.bits, self.seed)

    def __str__(self) -> str:
        return str(self.folder.relative_to("results"))


def find_runs(root: Path) -> list[RunKey]:
    """Every run folder under ROOT/results holding both model.pt and codes.h5, sorted."""
    codes_name, model_name = (Path(PATHS[name]).name for name in ("codes", "model"))
    runs = []
    for run_dir in root.glob(RUN_GLOB):
        key = parse_run(run_dir)
        if key and (run_dir / codes_name).is_file() and (run_dir / model_name).is_file():
            runs.append(RunKey(**key))
    return sorted(runs)


@dataclass
class ServedRun:
    """An opened run, with the test-split queries and the labels of both sides."""

    key: RunKey
    run: Run
    query_codes: dict[str, np.ndarray]   # packed codes of the test queries, per modality
    query_rows: np.ndarray               # row of each test query in pairs.h5
    query_labels: np.ndarray             # (queries, labels) 0/1
    database_labels: np.ndarray          # (database, labels) 0/1, in index order

    @property
    def n_queries(self) -> int:
        return len(self.query_rows)

    def labels_of(self, rows: list[int]) -> np.ndarray:
        """Labels of database items given by their rows in pairs.h5."""
        pos = np.searchsorted(self.run.index.ids, rows)
        return self.database_labels[pos]


def open_served(root: Path, key: RunKey) -> ServedRun:
    run = open_run(root / key.folder, root=root)
    run.data.keep_descriptions()  # tags and image paths in memory: no file read per query
    with h5py.File(run.index.path, "r") as f:
        if "query" not in f:
            raise SearchError(f"{run.index.path}: no 'query' group (test-split queries)")
        query = f["query"]
        codes = {m: query[m][()] for m in MODALITIES}
        rows = query["index"][()].astype(np.int64)
        labels = query["labels"][()]
        database_labels = f["database/labels"][()]
    if not np.all(np.diff(run.index.ids) > 0):
        raise SearchError(f"{run.index.path}: database/index is not in ascending order")
    return ServedRun(key, run, codes, rows, labels, database_labels)


class RunCache:
    """Opened runs by key; a run is opened again when its model.pt or codes.h5 changed.

    ``preload`` opens runs in a background thread ahead of their first query (the page's
    first answer then takes no longer than the next). Each run has its own lock, so a query
    on an opened run does not wait for another run being opened."""

    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()
        self._key_locks: dict[RunKey, threading.Lock] = {}
        self._runs: dict[RunKey, tuple[tuple, ServedRun]] = {}

    def _stamp(self, key: RunKey) -> tuple:
        folder = self.root / key.folder
        return tuple((p.stat().st_mtime_ns, p.stat().st_size)
                     for p in (folder / "model.pt", folder / "codes.h5"))

    def get(self, key: RunKey) -> ServedRun:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            stamp = self._stamp(key)
            cached = self._runs.get(key)
            if cached is None or cached[0] != stamp:
                cached = (stamp, open_served(self.root, key))
                self._runs[key] = cached
            return cached[1]

    def opened(self) -> list[RunKey]:
        """The runs open now, sorted."""
        with self._lock:
            return sorted(self._runs)

    def preload(self, keys: list[RunKey], warm: Callable[[ServedRun], None] | None = None) -> threading.Thread:
        """Open ``keys`` in order in a daemon thread, calling ``warm`` on each opened run; a run
        that cannot be opened is skipped (its query shows why)."""
        def work():
            for key in keys:
                try:
                    served = self.get(key)
                    if warm is not None:
                        warm(served)
                except Exception:  # noqa: BLE001 - reported by the query that needs the run
                    continue

        thread = threading.Thread(target=work, name="sgrn-preload", daemon=True)
        thread.start()
        return thread
