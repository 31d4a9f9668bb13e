"""The evaluate step's JSON files: where each run's is, and reading those of every listed run."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

from sgrn.data.errors import DataError
from sgrn.workflow.pipeline import PATHS, path


def evaluation_path(root: str | Path, dataset: str, method: str, config: int, bits: int, seed: int) -> Path:
    """Where the evaluate step of one run writes its JSON, under the evaluations folder ``root``
    (results/evaluation in the project: sgrn.workflow.pipeline's layout)."""
    relative = Path(path("evaluation", dataset=dataset, method=method, config=config, bits=bits, seed=seed))
    return Path(root) / relative.relative_to(PATHS["evaluations"])


def load_runs(root: Path, params: dict) -> list[dict]:
    """The evaluations of every run that params lists, every candidate config included; a
    missing one is an error."""
    runs = []
    for dataset, method, config, bits, seed in itertools.product(
            params["datasets"], params["methods"], params["configs"], params["bits"], params["seeds"]):
        path = evaluation_path(root, dataset, method, config, bits, seed)
        if not path.is_file():
            raise DataError(f"{path}: evaluation of {dataset}/{method}/c{config}/{bits} bits/seed {seed} "
                            "not found; run the evaluate step first")
        run = json.loads(path.read_text())
        run.update(dataset=dataset, method=method, config=config, bits=bits, seed=seed)
        runs.append(run)
    return runs
