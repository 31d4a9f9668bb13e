"""params.yaml: loading, schema validation with defaults, and the datasets' cross-references.

What every step needs, and nothing about methods: a step that does not train (download,
prepare, extract, encode, evaluate, select) loads its params here, so that its code inputs
hold no method table (sgrn/workflow/pipeline.py). The method blocks and the search space are checked
by sgrn.settings.params, which the Snakefile, the train and report steps use; both refuse a bad
params.yaml the same way under Snakemake, DVC and by hand, before any work is done.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "params.schema.yaml"


class ParamsError(ValueError):
    """A params.yaml that does not satisfy the schema or the cross-field rules."""


def _validator_with_defaults():
    import jsonschema  # here: the modules that only name ParamsError (sgrn.cli) need not load it

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


def load_params(path: str | Path = "params.yaml") -> dict:
    """Read, validate and default-fill a params file (methods unchecked: see sgrn.settings.params)."""
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


def params_hash(*sections: Any) -> str:
    """Stable short hash of the given params sections, recorded in outputs."""
    blob = json.dumps(sections, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
