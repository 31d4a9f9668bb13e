"""The docs point at things that exist: repository paths, and the functions method.md names."""
from __future__ import annotations

import ast
import re

from workflow_utils import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOP_LEVEL = r"\.ci|\.dvc|sgrn|scripts|tests|benchmarks|docs|workflow|profiles|Snakefile|Makefile|dvc\.yaml|params\.yaml"
PATH = re.compile(rf"(?<![\w./$~{{-])((?:{TOP_LEVEL})(?:/[\w.*{{}}<>-]*)*)")
NOT_IN_GIT = {
    "benchmarks/runs/": "written by the workflow's benchmark: directives",
    "sgrn/__pycache__": "numba's kernel cache",
    "profiles/default/": "the README says that there is none",
}


def test_repository_paths_in_the_docs_exist():
    missing = []
    for doc in DOCS:
        text = doc.read_text()
        for match in PATH.finditer(text):
            path = match.group(1).rstrip(".")
            if any(c in path for c in "*{<") or path in NOT_IN_GIT:
                continue  # a pattern, or a file that only runs create
            if not (REPO / path).exists():
                missing.append(f"{doc.relative_to(REPO)}:{text[:match.start()].count(chr(10)) + 1}: {path}")
        for link in re.findall(r"\]\(([^)#:]+)\)", text):
            if not (doc.parent / link).exists():
                missing.append(f"{doc.relative_to(REPO)}: link {link}")
    assert not missing, "docs name files the repository does not have:\n" + "\n".join(missing)


def _defines(path, names: list[str]) -> bool:
    """Whether the module at `path` defines names[0] (and names[1] inside it, for a method)."""
    body = ast.parse(path.read_text()).body
    for name in names:
        found = [n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name]
        if not found:
            return False
        body = found[0].body
    return True


def code_names() -> list[str]:
    text = (REPO / "docs/method.md").read_text()
    lines = re.findall(r"^\*\*Code:\*\*(.*?)(?:\n\n|\Z)", text, re.M | re.S)
    return [name for line in lines for name in re.findall(r"`([\w.]+)`", line)]


def test_method_md_names_functions_that_exist():
    names = code_names()
    assert len(names) >= 30 and "graphs.rebase" in names and "methods.losses.intra_loss" in names
    unknown = []
    for name in names:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # the longest module prefix that is a file
            path = REPO / "sgrn" / ("/".join(parts[:cut]) + ".py")
            if path.is_file():
                if not _defines(path, parts[cut:]):
                    unknown.append(name)
                break
        else:
            unknown.append(name)
    assert not unknown, f"docs/method.md names what sgrn does not define: {unknown}"
