"""The docs point at things that exist: repository paths, and the functions method.md names."""
from __future__ import annotations

import ast
import re

import yaml

from workflow_utils import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOP_LEVEL = r"\.ci|\.dvc|sgrn|scripts|tests|benchmarks|docs|workflow|profiles|Snakefile|Makefile|dvc\.yaml|params\.yaml"
PATH = re.compile(rf"(?<![\w./$~{{-])((?:{TOP_LEVEL})(?:/[\w.*{{}}<>-]*)*)")
NOT_IN_GIT = {
    "benchmarks/runs/": "written by the workflow's benchmark: directives",
    "sgrn/__pycache__": "numba's kernel cache",
    "profiles/default/": "the README says that there is none",
}


SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell|console)\n(.*?)^```", re.M | re.S)
RESULTS_PATH = re.compile(r"(?<![\w./-])results/[\w{}./-]*[\w}]")
# results/{dataset}/{method}/c{config}/b{bits}/s{seed}[/...], and the evaluate step's s{seed}.json
RUN_LAYOUT = re.compile(r"results/(?:evaluation/)?(?P<dataset>[\w-]+)/(?P<method>[\w-]+)/c(?P<config>\d+)"
                        r"/b(?P<bits>\d+)/s(?P<seed>\d+)(?:\.json|/.*)?")
NOT_RUNS = {"tables", "plots"}  # results/ folders that are not datasets


def documented_run_paths() -> list[tuple[str, str]]:
    """(doc:line, path) of every path below a dataset folder of results/ (deeper than
    results/{dataset}/features.h5) in the fenced shell blocks of the README and docs/."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for block in SHELL_BLOCK.finditer(text):
            for match in RESULTS_PATH.finditer(block.group(1)):
                parts = match.group().split("/")[1:]
                if parts[0] == "evaluation":
                    parts = parts[1:]
                if len(parts) < 3 or parts[0] in NOT_RUNS or "{" in match.group():
                    continue
                line = text[:block.start(1) + match.start()].count("\n") + 1
                found.append((f"{doc.relative_to(REPO)}:{line}", match.group()))
    return found


def test_documented_commands_name_runs_in_the_run_layout_that_make_demo_builds():
    paths = documented_run_paths()
    named = {p for _, p in paths}
    assert "results/demo/sgrn/c0/b64/s0/live/plots/metrics" in named  # README: dvc plots show
    assert "results/demo/sgrn/c0/b64/s0" in named                     # docs/evaluation.md: sgrn search
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    lists = {"dataset": "datasets", "method": "methods", "config": "configs", "bits": "bits", "seed": "seeds"}
    wrong = []
    for doc, path in paths:
        run = RUN_LAYOUT.fullmatch(path)
        if run is None:
            wrong.append(f"{doc}: {path} is not results/{{dataset}}/{{method}}/c{{config}}/b{{bits}}/s{{seed}}")
            continue
        for field, key in lists.items():
            value = run[field] if field in ("dataset", "method") else int(run[field])
            if value not in params[key]:
                wrong.append(f"{doc}: {path}: {field} {value!r} is not in params.yaml's {key} {params[key]}")
    assert not wrong, "documented commands name runs that `make demo` does not make:\n" + "\n".join(wrong)


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
