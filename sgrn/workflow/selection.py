"""Model selection: per dataset, method and code length, the candidate chosen on validation MAP.

`configs` in params.yaml lists the candidates every method gets (the same budget for all;
what each candidate trains with: sgrn.settings.hyperparams). `select` keeps, per dataset, method
and code length, the candidate with the best mean validation MAP@all over seeds: the test
queries never take part. A method listed in `search.follow` (an ablation) is instead shown at
the candidate chosen for the method it follows: an ablation removes one part from the model
that was selected, it is not a new model selected again. With ``search.select_bits`` the
choice is made at that code length only and kept at the others, where only the chosen
candidate is trained (the field's protocol: choose at 64 bits, report every length).
Torch-free.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from sgrn.settings.hyperparams import SelectionError


def select(runs: list[dict], follow: dict[str, str] | None = None, select_bits: int | None = None) -> dict:
    """dataset -> method -> "b{bits}" -> the chosen candidate and every candidate's score.

    ``runs``: one dict per trained model with dataset, method, config, bits, seed and
    val_map_all. Ties in mean validation MAP go to the lower config number (0: as written).
    ``follow``: method -> the method whose choice it takes (``search.follow``), applied where
    that method was run; such an entry also names it under "follows".
    ``select_bits``: choose at that code length only; at every other length the same candidate
    is kept (it must have been trained there), and the entry says so under "chosen_at".
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
                if select_bits is not None and key != f"b{select_bits}":
                    continue  # chosen at select_bits, kept at the other lengths (below)
                lead = per_method.get(leader, {}).get(key)
                if lead is None:
                    continue
                if f"c{lead['config']}" not in choice["candidates"]:
                    raise SelectionError(f"{method}/{key}: search.follow takes {leader}'s candidate "
                                         f"c{lead['config']}, which {method} was not trained with")
                choice.update(config=lead["config"], follows=leader,
                              val_map_all=choice["candidates"][f"c{lead['config']}"])
    if select_bits is not None:
        _keep_choice_across_lengths(out, select_bits)
    return out


def _keep_choice_across_lengths(out: dict, select_bits: int) -> None:
    """Every length of a method takes the candidate chosen at ``select_bits``."""
    at = f"b{select_bits}"
    for dataset, per_method in out.items():
        for method, per_bits in per_method.items():
            if at not in per_bits:
                raise SelectionError(f"{dataset}/{method}: search.select_bits is {select_bits}, but no run "
                                     f"of it has {select_bits} bits to choose a candidate on")
            config = per_bits[at]["config"]
            for key, choice in per_bits.items():
                if key == at:
                    continue
                if f"c{config}" not in choice["candidates"]:
                    raise SelectionError(f"{dataset}/{method}/{key}: the candidate chosen at {select_bits} bits, "
                                         f"c{config}, was not trained at this length")
                choice.update(config=config, chosen_at=select_bits, val_map_all=choice["candidates"][f"c{config}"])
