"""params.yaml: loading, schema validation with defaults, and cross-field checks.

Every step script and the Snakefile go through `load_params`, so a bad params.yaml is
refused the same way by Snakemake, DVC and a person, before any work is done.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "params.schema.yaml"


class ParamsError(ValueError):
    """A params.yaml that does not satisfy the schema or the cross-field rules."""


def _validator_with_defaults():
    base = jsonschema.Draft202012Validator

    def fill_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": fill_defaults})


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate_params(params: dict, source: str = "params.yaml") -> dict:
    """Return a validated deep copy of `params` with schema defaults filled in."""
    if not isinstance(params, dict):
        raise ParamsError(f"{source}: expected a mapping at the top level, got {type(params).__name__}")
    params = copy.deepcopy(params)
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    validator = _validator_with_defaults()(schema)
    errors = sorted(validator.iter_errors(params), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"  {_key(e.absolute_path)}: {e.message}" for e in errors]
        raise ParamsError(f"{source}: invalid parameters\n" + "\n".join(lines))
    from sgrn.data.splits import check_split_settings  # disjoint query/train/validation sizes

    check_split_settings(params, source, error=ParamsError)
    _check_cross_fields(params, source)
    return params


def _check_cross_fields(params: dict, source: str) -> None:
    for dataset in params["datasets"]:
        for section in ("download", "prepare"):
            if dataset not in params[section]:
                raise ParamsError(
                    f"{source}: datasets lists '{dataset}' but {section}.{dataset} is missing "
                    f"(known: {sorted(params[section])})")
    for dataset in params["extract"]["per_dataset"]:
        if dataset not in params["download"] or dataset not in params["prepare"]:
            raise ParamsError(f"{source}: extract.per_dataset.{dataset}: no dataset of that name in "
                              f"download and prepare (known: {sorted(params['download'])})")
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
    from sgrn.selection import SelectionError, candidate

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
            family, hyper = method_config(params, name, dataset)
            for config in params["configs"]:
                try:
                    values = candidate(params, name, hyper, config)
                except SelectionError as err:
                    raise ParamsError(f"{source}: search.space.{name}: {err}") from None
                _resolve(family, values, batch_size,
                         f"{source}: candidate c{config} of method_params.{name} on {dataset}")
    _check_follow(params, source)


def _check_follow(params: dict, source: str) -> None:
    """A method in search.follow must have, config for config, the candidates of the method it
    follows on every key either searches: otherwise its "ablation" would change more than
    its switch."""
    from sgrn.selection import candidate

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
        keys = set(space.get(name, {})) | set(space.get(leader, {}))
        for dataset in params["datasets"]:
            ours, theirs = (method_config(params, m, dataset)[1] for m in (name, leader))
            for config in params["configs"]:
                a, b = candidate(params, name, ours, config), candidate(params, leader, theirs, config)
                differ = sorted(k for k in keys if a.get(k) != b.get(k))
                if differ:
                    raise ParamsError(
                        f"{where}: candidate c{config} on {dataset} differs from {leader}'s in "
                        f"{', '.join(differ)}; give both the same search.space and values")


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


def load_params(path: str | Path = "params.yaml") -> dict:
    """Read, validate and default-fill a params file."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: parameters file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    return validate_params(raw, source=str(path))


def for_dataset(block: dict, dataset: str) -> dict:
    """A copy of a params block as it applies to ``dataset``: its `per_dataset` values applied."""
    config = dict(block)
    config.update(config.pop("per_dataset", {}).get(dataset, {}))
    return config


def extract_config(params: dict, dataset: str) -> dict:
    """The `extract` section as it applies to ``dataset``."""
    return for_dataset(params["extract"], dataset)


def method_config(params: dict, method: str, dataset: str) -> tuple[str, dict]:
    """(family, hyper-parameters) of a method on a dataset, its per-dataset values applied."""
    config = for_dataset(params["method_params"][method], dataset)
    return config.pop("family"), config


def params_hash(*sections: Any) -> str:
    """Stable short hash of the given params sections, recorded in outputs."""
    blob = json.dumps(sections, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
