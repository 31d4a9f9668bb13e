"""The code a step depends on: its script and every repository module it imports, recursively.

Both drivers list these files as a step's inputs (Snakemake through `code()` in
workflow/rules/common.smk, DVC in dvc.yaml, checked by tests/test_codedeps.py), so that a
change to any module a step runs reruns the step. Imports are read with `ast`, without
running anything (no torch import), wherever they stand: at the top of a module or inside a
function. Two rules close the gaps that reading import statements leaves:

- importing `a.b.c` runs the packages `a/__init__.py` and `a/b/__init__.py` first;
- a module that imports by name at run time (`importlib.import_module`, `__import__`)
  depends on every module of its package. For a package's `__init__.py` this holds only
  where the package itself is imported (its names are used), not where it merely runs as
  the parent of a submodule that is imported.
- except a registry that imports one of its own submodules by name,
  `import_module(f"{__name__}.{name}")` (sgrn/methods/ and sgrn/hparams/: one module per
  method family): it does not depend on them; whoever picks the name lists that module
  (a train job lists its family's, sgrn/workflow/pipeline.py).

Print the list of a script: `python -m sgrn.workflow.codedeps scripts/train.py`.
"""
from __future__ import annotations

import argparse
import ast
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sgrn",)
"""Top-level packages of the repository; imports of anything else are not followed."""

DYNAMIC_IMPORTS = {"import_module", "__import__"}


def _module_file(name: str, root: Path) -> Path | None:
    """The file of module `name` under `root` (a package gives its __init__.py), or None."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports_own_submodule(call: ast.Call) -> bool:
    """Whether a call's first argument is f"{__name__}.<something>": a registry's plugin import."""
    arg = call.args[0] if call.args else None
    if not isinstance(arg, ast.JoinedStr) or len(arg.values) < 2:
        return False
    first, second = arg.values[0], arg.values[1]
    return (isinstance(first, ast.FormattedValue) and isinstance(first.value, ast.Name)
            and first.value.id == "__name__" and isinstance(second, ast.Constant)
            and str(second.value).startswith("."))


@cache
def _read_imports(path: Path, root: Path) -> tuple[frozenset[str], bool]:
    """(absolute names this file imports, whether it imports by name at run time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_package = path.relative_to(root).parts[0] in PACKAGES  # scripts/ are not packages
    own = _module_name(path, root).split(".") if in_package else []
    package = own if _is_package(path) else own[:-1]  # what relative imports start from
    names: set[str] = set()
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            # `from package import name`: name may be a submodule
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            dynamic = dynamic or (called in DYNAMIC_IMPORTS and not _imports_own_submodule(node))
    return frozenset(n for n in names if n.split(".")[0] in PACKAGES), dynamic


def code_dependencies(script: str | Path, root: str | Path = REPO_ROOT) -> list[str]:
    """Repository files that `script` runs, itself included, as sorted paths relative to `root`."""
    root = Path(root).resolve()
    start = (root / script).resolve()
    if not start.is_file():
        raise FileNotFoundError(f"{script}: no such script under {root}")
    found: set[Path] = set()
    # (file, whether its own names are used): a package run only as a parent is not "used"
    todo: list[tuple[Path, bool]] = [(start, True)]
    used_packages: set[Path] = set()
    while todo:
        path, used = todo.pop()
        if path in found and (not _is_package(path) or not used or path in used_packages):
            continue
        found.add(path)
        if used and _is_package(path):
            used_packages.add(path)
        names, dynamic = _read_imports(path, root)
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts)):  # parent packages run first
                parent = _module_file(".".join(parts[:i]), root)
                if parent is not None:
                    todo.append((parent, False))
            target = _module_file(name, root)
            if target is not None:
                todo.append((target, True))
        if dynamic and (used or not _is_package(path)):
            todo += [(module, True) for module in sorted(path.parent.rglob("*.py"))]
    return sorted(str(p.relative_to(root)) for p in found)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sgrn.workflow.codedeps", description=__doc__.splitlines()[0])
    p.add_argument("scripts", nargs="+", help="step scripts, e.g. scripts/train.py")
    args = p.parse_args(argv)
    for script in args.scripts:
        if len(args.scripts) > 1:
            print(f"{script}:")
        for path in code_dependencies(script):
            print(f"- {path}")


if __name__ == "__main__":
    main()
