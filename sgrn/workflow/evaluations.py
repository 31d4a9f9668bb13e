"""The evaluate step's JSON files: where each run's is, and reading those of every listed run."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

from sgrn.data.errors import DataError
from sgrn.workflow.pipeline import PATHS, path
from sgrn.workflow.selection import select


def evaluation_path(root: str | Path, dataset: str, method: str, config: int, bits: int, seed: int) -> Path:
    """Where the evaluate step of one run writes its JSON, under the evaluations folder ``root``
    (results/evaluation in the project: sgrn.workflow.pipeline's layout)."""
    relative = Path(path("evaluation", dataset=dataset, method=method, config=config, bits=bits, seed=seed))
    return Path(root) / relative.relative_to(PATHS["evaluations"])


def load_runs(root: Path, params: dict, bits: list[int] | None = None) -> list[dict]:
    """The evaluations of every run that params lists (at ``bits``, default: params' lengths),
    every candidate config included; a missing one is an error. With search.select_bits, every
    candidate at that length, and at the others only the candidate chosen there
    (`listed_configs`)."""
    lengths = params["bits"] if bits is None else bits
    select_bits = params.get("search", {}).get("select_bits")
    if select_bits is None:
        return _read(root, params, lengths)
    first = _read(root, params, [select_bits])
    others = [length for length in lengths if length != select_bits]
    return first + _read(root, params, others, listed_configs(params, first)) if others else first


def listed_configs(params: dict, runs_at_select_bits: list[dict]) -> dict[tuple[str, str], int]:
    """(dataset, method) -> the candidate chosen at search.select_bits, from its runs there:
    the only one a staged search trains at the other code lengths."""
    select_bits = params["search"]["select_bits"]
    choice = select(runs_at_select_bits, params["search"]["follow"])
    return {(dataset, method): per_bits[f"b{select_bits}"]["config"]
            for dataset, per_method in choice.items() for method, per_bits in per_method.items()}


def _read(root: Path, params: dict, lengths: list[int], chosen: dict[tuple[str, str], int] | None = None) -> list[dict]:
    runs = []
    for dataset, method, config, bits, seed in itertools.product(
            params["datasets"], params["methods"], params["configs"], lengths, params["seeds"]):
        if chosen is not None and chosen[(dataset, method)] != config:
            continue
        path = evaluation_path(root, dataset, method, config, bits, seed)
        if not path.is_file():
            raise DataError(f"{path}: evaluation of {dataset}/{method}/c{config}/{bits} bits/seed {seed} "
                            "not found; run the evaluate step first")
        run = json.loads(path.read_text())
        run.update(dataset=dataset, method=method, config=config, bits=bits, seed=seed)
        runs.append(run)
    return runs
