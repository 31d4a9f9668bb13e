"""Code dependencies: the import closure of a step script, and what the pipeline adds for a train job."""
from __future__ import annotations

import textwrap

import pytest

from sgrn.workflow.codedeps import code_dependencies


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


def test_a_registry_of_its_own_submodules_leaves_them_to_whoever_names_one(tmp_path):
    write(tmp_path, {
        "sgrn/__init__.py": "",
        "sgrn/plug/__init__.py": """\
            import importlib
            def load(name):
                return importlib.import_module(f"{__name__}.{name}")
            """,
        "sgrn/plug/alpha.py": "",
        "scripts/uses_plugins.py": "from sgrn.plug import load\n",
    })
    assert code_dependencies("scripts/uses_plugins.py", root=tmp_path) == [
        "scripts/uses_plugins.py", "sgrn/__init__.py", "sgrn/plug/__init__.py"]


def test_training_code_holds_no_method_family_but_the_pipeline_adds_the_one_trained():
    from sgrn.workflow.pipeline import code_inputs

    families = {"sgrn", "djsrh", "jdsh", "dgcpn", "cca_itq"}
    shared = {"sgrn/graphs.py", "sgrn/retrieval/metrics.py", "sgrn/training/encoding.py", "sgrn/retrieval/codes.py",
              "sgrn/files/featurefile.py",
              "sgrn/methods/__init__.py", "sgrn/hparams/__init__.py", "sgrn/methods/base.py"}
    deps = set(code_dependencies("scripts/train.py"))
    assert shared <= deps
    assert not {f"sgrn/methods/{f}.py" for f in families} & deps
    assert not {f"sgrn/hparams/{f}.py" for f in families} & deps
    dgcpn = set(code_inputs("train", family="dgcpn"))
    assert deps | {"sgrn/methods/dgcpn.py", "sgrn/hparams/dgcpn.py", "sgrn/methods/losses.py"} == dgcpn
    assert "sgrn/methods/cca_itq.py" not in set(code_inputs("train", family="sgrn"))


def test_steps_that_do_not_train_hold_no_method_table():
    """A method table's edit must not rerun download, prepare, extract, encode, evaluate, select or curves."""
    from sgrn.workflow.pipeline import STEPS, code_inputs

    for step in ("download", "prepare", "extract", "encode", "evaluate", "select", "curves"):
        deps = code_inputs(step)
        assert STEPS[step].script in deps
        assert not [d for d in deps if d.startswith(("sgrn/hparams", "sgrn/methods/"))], step
        assert "sgrn/settings/params.py" not in deps and "sgrn/workflow/report.py" not in deps, step
