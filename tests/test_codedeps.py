"""Code dependencies: the import closure of a step script, and dvc.yaml listing exactly it."""
from __future__ import annotations

import re
import textwrap

import pytest
import yaml

from sgrn.codedeps import code_dependencies
from workflow_utils import REPO


def write(root, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))


@pytest.fixture
def repo(tmp_path):
    write(tmp_path, {
        "sgrn/__init__.py": "",
        "sgrn/util.py": "from .deep import x\n",
        "sgrn/deep.py": "import numpy\nx = 1\n",
        "sgrn/unused.py": "",
        # a registry package: its modules are imported by name, at run time
        "sgrn/reg/__init__.py": """\
            import importlib
            from sgrn.reg.table import TABLE
            def load(name):
                return importlib.import_module(f"sgrn.reg.{name}")
            """,
        "sgrn/reg/table.py": "TABLE = {}\n",
        "sgrn/reg/alpha.py": "from sgrn import util\n",
        "scripts/uses_table.py": "from sgrn.reg.table import TABLE\n",
        "scripts/uses_registry.py": """\
            def main():
                from sgrn.reg import load  # imported inside a function: still a dependency
                return load("alpha")
            """,
    })
    return tmp_path


def test_closure_follows_imports_parents_and_relative_imports(repo):
    assert code_dependencies("scripts/uses_table.py", root=repo) == [
        "scripts/uses_table.py", "sgrn/__init__.py", "sgrn/reg/__init__.py", "sgrn/reg/table.py"]


def test_a_package_imported_for_its_names_brings_every_module_it_may_load(repo):
    assert code_dependencies("scripts/uses_registry.py", root=repo) == [
        "scripts/uses_registry.py", "sgrn/__init__.py", "sgrn/deep.py", "sgrn/reg/__init__.py",
        "sgrn/reg/alpha.py", "sgrn/reg/table.py", "sgrn/util.py"]


def test_missing_script_is_named(repo):
    with pytest.raises(FileNotFoundError, match="scripts/nope.py"):
        code_dependencies("scripts/nope.py", root=repo)


def test_lazily_loaded_methods_count_for_training():
    deps = code_dependencies("scripts/train.py")
    assert {"sgrn/methods/sgrn.py", "sgrn/methods/djsrh.py", "sgrn/graphs.py", "sgrn/metrics.py",
            "sgrn/encoding.py", "sgrn/codes.py", "sgrn/featurefile.py"} <= set(deps)


def dvc_stages() -> dict[str, tuple[str, list[str]]]:
    """stage name -> (script its command runs, code deps listed: paths under sgrn/ or scripts/)."""
    stages = {}
    for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items():
        body = stage.get("do", stage)  # foreach stages keep their body under `do`
        script = re.search(r"python (scripts/\S+\.py)", body["cmd"]).group(1)
        code = [d for d in body.get("deps", []) if d.startswith(("sgrn/", "scripts/"))]
        stages[name] = (script, code)
    return stages


def test_dvc_yaml_lists_the_import_closure_of_every_stage():
    stages = dvc_stages()
    assert len(stages) >= 7
    for name, (script, listed) in stages.items():
        closure = code_dependencies(script)
        assert sorted(listed) == closure, (
            f"dvc.yaml: stage {name}: code deps differ from the imports of {script}\n"
            f"  missing: {sorted(set(closure) - set(listed))}\n"
            f"  not imported: {sorted(set(listed) - set(closure))}\n"
            f"  print the list with: python -m sgrn.codedeps {script}")
