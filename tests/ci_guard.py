"""Skips that CI does not allow: where a declared dependency or the shared data is missing, a
test is skipped with the reason on a developer's machine, and fails in CI (CI=true)."""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""../shared/data beside the checkout: found relative to it only (CI puts a copy there too)."""


def unavailable(reason: str) -> None:
    """Skip the test (or the module) with the reason; fail instead when CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"cannot run in CI (CI=true): {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def import_declared(module: str, requirement: str) -> ModuleType:
    """`module` of the requirement that pyproject.toml declares; skipped when it cannot be
    imported, a failure in CI."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        unavailable(f"{requirement} is declared in pyproject.toml but `import {module}` fails ({err}); "
                    "reinstall with `make install`")


def shared_data(name: str, *files: str, root: Path = SHARED_DATA) -> Path:
    """The shared data set ``name`` (a folder of ../shared/data beside the checkout) holding
    ``files``; skipped when it is not there, a failure in CI."""
    folder = root / name
    missing = [f for f in files if not (folder / f).is_file()]
    if not folder.is_dir() or missing:
        unavailable(f"the shared data set {name} is not at {folder} (beside the checkout)"
                    + (f": {', '.join(missing)} missing" if folder.is_dir() else ""))
    return folder
