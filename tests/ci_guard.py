"""Skips that CI does not allow: where a declared dependency is missing, a test is skipped
with the reason on a developer's machine, and fails in CI (CI=true)."""
from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


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
