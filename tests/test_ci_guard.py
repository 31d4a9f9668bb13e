"""The CI guard of tests/ci_guard.py: a missing declared dependency skips, except in CI."""
from __future__ import annotations

import pytest
from ci_guard import import_declared


def test_a_missing_declared_dependency_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="nosuch-package is declared in pyproject.toml"):
        import_declared("nosuch_module_of_sgrn", "nosuch-package")


def test_a_missing_declared_dependency_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"cannot run in CI \(CI=true\): nosuch-package"):
        import_declared("nosuch_module_of_sgrn", "nosuch-package")


def test_an_installed_dependency_is_imported(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert import_declared("h5py", "h5py").__name__ == "h5py"
