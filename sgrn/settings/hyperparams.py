"""One run's hyper-parameters, resolved from params.yaml in one place: `run_hyperparams`.

A run is (method, dataset, candidate config). Its values are, in order: the method's block in
`method_params` with its family's defaults filled in (sgrn.settings.params.load_params does that
when it checks the file), the block's `per_dataset` values for the dataset, and candidate
`config` of the method's search space: 0 is the block as written; i > 0 is the i-th
configuration of the grid `search.space.<method>` in a seeded random order (configurations
equal to the block itself are left out, so no candidate is tried twice). A method listed in
`search.follow` (an ablation) takes, config for config, the candidates of the method it follows,
with its own switches kept (`switches`: the keys where its block differs from the leader's), so
that a leader may search the very key an ablation pins (e.g. `pair` in sgrn-plus's space,
`pair: 0` in sgrn-plus-no-pair). The train step, the report and the Snakefile call
`run_hyperparams`; the checks of sgrn.settings.params call it for every run the file asks for.
Torch-free.
"""
from __future__ import annotations

import itertools

import numpy as np

from sgrn.settings.paramfile import for_dataset


class SelectionError(ValueError):
    """A search space or a selection that cannot be used as asked."""


def grid(space: dict[str, list]) -> list[dict]:
    """Every combination of the values of ``space``, keys in sorted order."""
    keys = sorted(space)
    return [dict(zip(keys, values)) for values in itertools.product(*(space[k] for k in keys))]


def draws(space: dict[str, list], base: dict, seed: int) -> list[dict]:
    """The grid of ``space`` in a seeded random order, without configurations equal to ``base``."""
    combos = [c for c in grid(space) if any(base.get(k) != v for k, v in c.items())]
    order = np.random.default_rng(seed).permutation(len(combos))
    return [combos[i] for i in order]


NOT_SWITCHES = ("family", "per_dataset")
"""Keys of a method block that are not hyper-parameters a follower could switch."""


def switches(params: dict, method: str) -> dict:
    """What a method in `search.follow` changes in the method it follows: the values of its
    block that differ from the leader's block (``{}`` for a method that follows none)."""
    leader = params.get("search", {}).get("follow", {}).get(method)
    if leader is None:
        return {}
    mine, theirs = params["method_params"][method], params["method_params"][leader]
    return {k: v for k, v in mine.items() if k not in NOT_SWITCHES and theirs.get(k) != v}


def candidate(params: dict, method: str, hyper: dict, config: int) -> dict:
    """The hyper-parameters of candidate ``config`` of ``method`` (``hyper``: its block, with
    its per-dataset values applied).

    A method in `search.follow` takes the candidate of the method it follows, with its own
    `switches` kept (sgrn.settings.params checks that its per_dataset values are the leader's)."""
    follow = params.get("search", {}).get("follow", {})
    leader = follow.get(method)
    if leader is not None:
        if leader == method or leader in follow:
            raise SelectionError(f"search.follow.{method}: '{leader}' must be a method that is selected on its "
                                 "own, not itself or another follower")
        pins = switches(params, method)
        leader_block = params["method_params"][leader]
        leader_hyper = {**hyper, **{k: leader_block[k] for k in pins if k in leader_block}}
        return {**candidate(params, leader, leader_hyper, config), **pins}
    if config == 0:
        return dict(hyper)
    search = params["search"]
    space = search["space"].get(method)
    options = draws(space, hyper, search["seed"]) if space else []
    if config > len(options):
        raise SelectionError(
            f"configs lists {config}, but search.space.{method} gives {len(options)} configurations "
            "besides method_params as written")
    return {**hyper, **options[config - 1]}


def method_config(params: dict, method: str, dataset: str) -> tuple[str, dict]:
    """(family, hyper-parameters) of a method's block on a dataset, its per-dataset values applied."""
    config = for_dataset(params["method_params"][method], dataset)
    return config.pop("family"), config


def run_hyperparams(params: dict, method: str, dataset: str, config: int) -> tuple[str, dict]:
    """(family, hyper-parameters) of candidate ``config`` of ``method`` on ``dataset``: the block
    with its family's defaults (from a params dict loaded by sgrn.settings.params.load_params),
    its per-dataset values, the candidate's draw of the search space and, for a method in
    `search.follow`, its leader's candidate with its own switches kept."""
    family, hyper = method_config(params, method, dataset)
    return family, candidate(params, method, hyper, config)
