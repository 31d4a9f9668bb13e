"""Model selection: candidate configurations per method and the choice on validation MAP.

`configs` in params.yaml lists the candidates every method gets (the same budget for all):
0 is the method's `method_params` block as written; i > 0 is the i-th configuration of the
grid `search.space.<method>` in a seeded random order (configurations equal to the block
itself are left out, so no candidate is tried twice). `select` keeps, per dataset, method
and code length, the candidate with the best mean validation MAP@all over seeds: the test
queries never take part. A method listed in `search.follow` (an ablation) is instead shown at
the candidate chosen for the method it follows: an ablation removes one part from the model
that was selected, it is not a new model selected again. Its candidates are therefore the
leader's, each with the ablation's own switches kept (`switches`: the keys where its block
differs from the leader's), so that a leader may search the very key an ablation pins (e.g.
`pair` in sgrn-plus's space, `pair: 0` in sgrn-plus-no-pair). Torch-free.
"""
from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np


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
    `switches` kept (sgrn.params checks that its per_dataset values are the leader's)."""
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


def select(runs: list[dict], follow: dict[str, str] | None = None) -> dict:
    """dataset -> method -> "b{bits}" -> the chosen candidate and every candidate's score.

    ``runs``: one dict per trained model with dataset, method, config, bits, seed and
    val_map_all. Ties in mean validation MAP go to the lower config number (0: as written).
    ``follow``: method -> the method whose choice it takes (``search.follow``), applied where
    that method was run; such an entry also names it under "follows".
    """
    scores: dict = defaultdict(lambda: defaultdict(list))
    for run in runs:
        if run.get("val_map_all") is None:
            raise SelectionError(
                f"{run['dataset']}/{run['method']}/c{run['config']}/b{run['bits']}/s{run['seed']}: "
                "no validation MAP recorded; selection needs validation queries "
                "(prepare.<dataset>.split.n_validation)")
        key = (run["dataset"], run["method"], run["bits"])
        scores[key][run["config"]].append(float(run["val_map_all"]))
    out: dict = {}
    for (dataset, method, bits), by_config in sorted(scores.items()):
        seeds = {len(v) for v in by_config.values()}
        if len(seeds) != 1:
            raise SelectionError(f"{dataset}/{method}/b{bits}: candidates were trained with different "
                                 f"numbers of seeds ({sorted(seeds)}); selection compares equals only")
        means = {config: float(np.mean(v)) for config, v in sorted(by_config.items())}
        best = max(means, key=lambda c: (means[c], -c))
        out.setdefault(dataset, {}).setdefault(method, {})[f"b{bits}"] = {
            "config": best,
            "val_map_all": round(means[best], 6),
            "candidates": {f"c{c}": round(m, 6) for c, m in means.items()},
        }
    for per_method in out.values():
        for method, leader in (follow or {}).items():
            for key, choice in per_method.get(method, {}).items():
                lead = per_method.get(leader, {}).get(key)
                if lead is None:
                    continue
                if f"c{lead['config']}" not in choice["candidates"]:
                    raise SelectionError(f"{method}/{key}: search.follow takes {leader}'s candidate "
                                         f"c{lead['config']}, which {method} was not trained with")
                choice.update(config=lead["config"], follows=leader,
                              val_map_all=choice["candidates"][f"c{lead['config']}"])
    return out
