"""The CI guard of tests/ci_guard.py: a missing declared dependency or shared data set skips,
except in CI; the shared data is found beside the checkout only."""
from __future__ import annotations

import re

import pytest
from ci_guard import SHARED_DATA, import_declared, shared_data

from workflow_utils import REPO


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


def test_missing_shared_data_skips_outside_ci_and_fails_in_ci(monkeypatch, tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "a.txt").write_text("a\n")
    monkeypatch.delenv("CI", raising=False)
    assert shared_data("lists", "a.txt", root=tmp_path) == tmp_path / "lists"
    with pytest.raises(pytest.skip.Exception, match=r"the shared data set lists is not at .*: b\.txt missing"):
        shared_data("lists", "a.txt", "b.txt", root=tmp_path)
    monkeypatch.setenv("CI", "true")
    assert shared_data("lists", "a.txt", root=tmp_path) == tmp_path / "lists"
    with pytest.raises(pytest.fail.Exception, match=r"cannot run in CI \(CI=true\): the shared data set nosuch is not"):
        shared_data("nosuch", root=tmp_path)


def test_shared_data_lies_beside_the_checkout():
    assert SHARED_DATA == REPO.parent / "shared" / "data"


ABSOLUTE_DATA_PATH = re.compile(r"""["'](/work|/home|/Users|/mnt|/data|/scratch)/""")


def test_no_test_or_benchmark_names_an_absolute_data_path():
    """Data is found relative to the checkout (shared_data), on every machine alike."""
    found = [f"{path.relative_to(REPO)}:{number}" for folder in ("tests", "benchmarks")
             for path in sorted((REPO / folder).rglob("*.py")) if path.name != "test_ci_guard.py"
             for number, line in enumerate(path.read_text().splitlines(), 1) if ABSOLUTE_DATA_PATH.search(line)]
    assert found == []


def test_every_shared_data_test_goes_through_the_guard():
    """No test skips on shared data by its own condition (a plain skip passes silently in CI)."""
    found = [f"{path.name}:{number}" for path in sorted((REPO / "tests").glob("test_*.py"))
             if path.name != "test_ci_guard.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"pytest\.skip\(|skipif\(", line) and re.search(r"shared|mirflickr", line, re.I)]
    assert found == []
