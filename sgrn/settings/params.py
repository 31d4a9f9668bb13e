"""params.yaml checked whole: the schema and datasets (sgrn.settings.paramfile), then every method block
against its family's table, the search space and its candidates, and search.follow.

The Snakefile, the train step and the report go through `load_params` here, so that a bad
method block is refused before any job runs. Steps that do not need methods load their
params with sgrn.settings.paramfile, whose code holds no method table.
"""
from __future__ import annotations

from pathlib import Path

from sgrn.settings import paramfile
from sgrn.settings.hyperparams import SelectionError, run_hyperparams, switches
from sgrn.settings.paramfile import ParamsError, extract_config, for_dataset, params_hash

__all__ = ["ParamsError", "extract_config", "for_dataset", "load_params", "params_hash", "validate_params"]


def validate_params(params: dict, source: str = "params.yaml") -> dict:
    """A validated deep copy of `params`, schema defaults filled in, method blocks resolved."""
    params = paramfile.validate_params(params, source)
    from sgrn.data.splits import check_split_settings  # disjoint query/train/validation sizes

    check_split_settings(params, source, error=ParamsError)
    _check_methods(params, source)
    return params


def load_params(path: str | Path = "params.yaml") -> dict:
    """Read, validate and default-fill a params file, its method blocks included."""
    params = paramfile.load_params(path)
    _check_methods(params, str(path))
    return params


def _check_methods(params: dict, source: str) -> None:
    batch_size = params["train"]["batch_size"]
    for name, block in params["method_params"].items():
        config = dict(block)
        family = config.pop("family")
        per_dataset = config.pop("per_dataset", {})
        _check_per_dataset_keys(params, name, per_dataset, source)
        resolved = _resolve(family, config, batch_size, f"{source}: method_params.{name}")
        for dataset, values in per_dataset.items():
            _resolve(family, {**config, **values}, batch_size,
                     f"{source}: method_params.{name}.per_dataset.{dataset}")
        params["method_params"][name] = {"family": family, **resolved}
        if per_dataset:
            params["method_params"][name]["per_dataset"] = per_dataset
    for name in params["methods"]:
        if name not in params["method_params"]:
            raise ParamsError(
                f"{source}: methods lists '{name}' but method_params.{name} is missing "
                f"(known: {sorted(params['method_params'])})")
    _check_search(params, source)


def _check_search(params: dict, source: str) -> None:
    """Every key and value of search.space is checked, and every candidate that `configs`
    asks for exists and resolves, for every method and dataset it will run on."""
    _check_follow(params, source)  # first: a follower's candidates are its leader's
    select_bits = params["search"]["select_bits"]
    if select_bits is not None and select_bits not in params["bits"]:
        raise ParamsError(f"{source}: search.select_bits is {select_bits}, which is not one of bits "
                          f"{params['bits']}: the candidates are chosen at a length that is trained")
    batch_size = params["train"]["batch_size"]
    for name, space in params["search"]["space"].items():
        if name not in params["method_params"]:
            raise ParamsError(f"{source}: search.space.{name}: no method_params.{name} "
                              f"(known: {sorted(params['method_params'])})")
        block = {k: v for k, v in params["method_params"][name].items() if k != "per_dataset"}
        for key, values in space.items():
            for value in values:
                _resolve(block["family"], {**block, key: value}, None,
                         f"{source}: search.space.{name}.{key}")
    for name in params["methods"]:
        for dataset in params["datasets"]:
            for config in params["configs"]:
                try:
                    family, values = run_hyperparams(params, name, dataset, config)
                except SelectionError as err:
                    raise ParamsError(f"{source}: search.space.{name}: {err}") from None
                _resolve(family, values, batch_size,
                         f"{source}: candidate c{config} of method_params.{name} on {dataset}")


def _check_follow(params: dict, source: str) -> None:
    """A method in search.follow takes, config for config, the candidates of the method it
    follows with its own switches (sgrn.settings.hyperparams.switches): it must be of the same family,
    have no search space of its own, and the leader's per_dataset values, none of them a
    switch (which would then hold on some datasets only)."""
    space = params["search"]["space"]
    for name, leader in params["search"]["follow"].items():
        where = f"{source}: search.follow.{name}"
        for method in (name, leader):
            if method not in params["method_params"]:
                raise ParamsError(f"{where}: no method_params.{method} "
                                  f"(known: {sorted(params['method_params'])})")
        if leader == name or leader in params["search"]["follow"]:
            raise ParamsError(f"{where}: '{leader}' must be a method that is selected on its own, "
                              "not itself or another follower")
        mine, theirs = params["method_params"][name], params["method_params"][leader]
        if mine["family"] != theirs["family"]:
            raise ParamsError(f"{where}: family {mine['family']!r} differs from {leader}'s {theirs['family']!r}; "
                              "a follower is its leader with switches changed")
        if name in space:
            raise ParamsError(f"{where}: {name} is trained on {leader}'s candidates with its own switches; "
                              f"remove search.space.{name}")
        if mine.get("per_dataset", {}) != theirs.get("per_dataset", {}):
            raise ParamsError(f"{where}: method_params.{name}.per_dataset differs from {leader}'s; a follower "
                              "takes its leader's (a YAML merge key copies them)")
        pinned = sorted(set(switches(params, name)) & {k for v in theirs.get("per_dataset", {}).values() for k in v})
        if pinned:
            raise ParamsError(f"{where}: switch {', '.join(pinned)} is also a per_dataset value of {leader}; "
                              "a follower's switch must hold on every dataset")


def _check_per_dataset_keys(params: dict, method: str, per_dataset: dict, source: str) -> None:
    """A per_dataset key that names no dataset would be ignored silently: refuse it."""
    known = sorted(set(params["download"]) & set(params["prepare"]))
    for dataset in per_dataset:
        if dataset not in known:
            raise ParamsError(
                f"{source}: method_params.{method}.per_dataset.{dataset}: '{dataset}' is not a "
                f"dataset of download and prepare (known: {known})")


def _resolve(family: str, values: dict, batch_size: int, where: str) -> dict:
    from sgrn.hparams import resolve_method_params  # torch-free

    try:
        return resolve_method_params(family, values, batch_size=batch_size)
    except ValueError as err:
        raise ParamsError(f"{where}: {err}") from None

