"""The pipeline declared once (sgrn/workflow/pipeline.py): dvc.yaml generated from it, the run layout, and
both drivers rerunning exactly what an edit touches."""
from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from sgrn.settings.params import load_params
from sgrn.workflow.dvcgen import dvc_yaml, main
from sgrn.workflow.pipeline import PATHS, RUN_WILDCARDS, STEPS, parse_run, project_root_of, run_folder
from workflow_utils import BIN, REPO, run, snakemake_dry_run


def test_the_committed_dvc_yaml_is_the_generated_one():
    expected = dvc_yaml(load_params(REPO / "params.yaml"), REPO)
    assert (REPO / "dvc.yaml").read_text() == expected, "dvc.yaml is stale: run `make dvc.yaml`"


def test_dvc_yaml_has_one_train_stage_per_method_and_no_other_family_code():
    params = load_params(REPO / "params.yaml")
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert [s for s in stages if s.startswith("train")] == [f"train-{m}" for m in params["methods"]]
    for method in params["methods"]:
        family = params["method_params"][method]["family"]
        code = {d for d in stages[f"train-{method}"]["deps"] if d.startswith(("sgrn/methods/", "sgrn/hparams/"))}
        families = {Path(d).stem for d in code} - {"__init__", "base", "losses"}
        assert families == {family}, method


def test_generation_with_a_bad_params_yaml_prints_the_message_and_writes_nothing(tmp_path, capsys):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["methods"] = ["sgrn", "nope"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "dvc.yaml").write_text("previous\n")
    assert main(["--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "methods lists 'nope' but method_params.nope is missing" in err
    assert (tmp_path / "dvc.yaml").read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]  # no temporary left


def test_the_run_layout_is_spelled_once_and_parsed_back(tmp_path):
    folder = run_folder("demo", "sgrn-no-lrgr", 3, 64, 1)
    assert folder == Path("results/demo/sgrn-no-lrgr/c3/b64/s1")
    assert parse_run(folder) == {"dataset": "demo", "method": "sgrn-no-lrgr", "config": 3, "bits": 64, "seed": 1}
    assert parse_run(tmp_path / folder) == parse_run(folder)
    assert parse_run("results/demo/sgrn/b64/s0") is None  # the layout before candidates had a level
    (tmp_path / folder).mkdir(parents=True)
    assert project_root_of(tmp_path / folder / "codes.h5") == tmp_path.resolve()
    assert project_root_of(tmp_path) is None


def test_every_step_names_declared_paths_and_only_its_own_wildcards():
    logs = Counter(step.log for step in STEPS.values())
    assert max(logs.values()) == 1
    for step in STEPS.values():
        for name in step.inputs + step.outputs:
            assert name in PATHS, (step.name, name)
            wildcards = {w for w in RUN_WILDCARDS if "{%s}" % w in PATHS[name]}
            assert wildcards <= set(step.per), (step.name, name)


# ---- reruns: a finished tiny run with two methods, recorded in DVC, then one edit at a time ----

@pytest.fixture(scope="module")
def recorded_two_methods(two_method_project, tmp_path_factory):
    """SGRN and DJSRH run by Snakemake, adopted by DVC (`make record`): both drivers up to date."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed") if os.environ.get("CI") != "true" else pytest.fail("make is missing")
    root = tmp_path_factory.mktemp("reruns") / "project"
    shutil.copytree(two_method_project, root, symlinks=True)
    run([sys.executable, "-m", "sgrn.workflow.dvcgen"], root)  # methods [sgrn, djsrh]: stages to match
    run(["make", "-s", "record", "STAMP="], root)
    assert planned(root) == Counter()
    assert changed_stages(root) == set()
    return root


def run_method(output: str) -> str | None:
    """The method of the run an output belongs to (a file in a run folder, or an evaluation)."""
    path = Path(output)
    if path.parts[:2] == tuple(Path(PATHS["evaluations"]).parts):
        path = Path("results", *path.with_suffix("").parts[2:])  # .../{dataset}/.../s{seed}.json
    for folder in (path, *path.parents):
        key = parse_run(folder)
        if key is not None and str(folder).startswith("results/"):
            return key["method"]
    return None


def planned(root: Path) -> Counter:
    """(rule, method) -> jobs a Snakemake dry run plans (method None for a job of no run)."""
    counts = Counter()
    for job in snakemake_dry_run(root):
        if job["rule"] != "all":
            methods = {run_method(o) for o in job["outputs"]} - {None}
            counts[(job["rule"], methods.pop() if methods else None)] += 1
    return counts


def changed_stages(root: Path) -> set[str]:
    """Stages whose own dependencies or params changed, by `dvc status --json` (name before '@')."""
    out = run([str(BIN / "dvc"), "status", "--json"], root).stdout
    return {name.split("@")[0] for name in json.loads(out or "{}")}


@pytest.fixture
def edit(recorded_two_methods):
    """Append a line to a file of the recorded project; restored with its time afterwards."""
    root = recorded_two_methods
    saved = []

    def do(rel: str, text: str) -> Path:
        path = root / rel
        backup = path.with_name(path.name + ".orig")
        shutil.copy2(path, backup)
        saved.append((path, backup))
        path.write_text(path.read_text() + text)
        return root

    yield do
    for path, backup in saved:
        os.replace(backup, path)  # content and modification time as recorded


DOWNSTREAM = {"curves", "encode", "evaluate"}


@pytest.mark.slow
def test_a_method_family_edit_reruns_that_method_only(edit):
    for rel in ("sgrn/hparams/djsrh.py", "sgrn/methods/djsrh.py"):
        root = edit(rel, "\n# a comment\n")
        plan = planned(root)
        assert set(plan) == {("train", "djsrh"), *((r, "djsrh") for r in DOWNSTREAM),
                             ("select", None), ("report", None)}, rel
        assert changed_stages(root) == {"train-djsrh"}, rel


@pytest.mark.slow
def test_a_shared_training_module_reruns_training_and_nothing_upstream(edit):
    root = edit("sgrn/hparams/__init__.py", "\n# a comment\n")
    rules = {rule for rule, _ in planned(root)}
    assert rules == {"train", "curves", "encode", "evaluate", "select", "report"}
    # the report reads the method tables too (it describes each chosen candidate)
    assert changed_stages(root) == {"train-sgrn", "train-djsrh", "report"}


@pytest.mark.slow
def test_report_wording_reruns_the_report_only(edit):
    root = edit("sgrn/workflow/report.py", "\n# a comment\n")
    assert set(planned(root)) == {("report", None)}
    assert changed_stages(root) == {"report"}


@pytest.mark.slow
def test_download_code_reruns_from_download(edit):
    root = edit("sgrn/data/demo.py", "\n# a comment\n")
    rules = {rule for rule, _ in planned(root)}
    assert {"download", "prepare", "extract", "train", "report"} <= rules
    assert changed_stages(root) == {"download"}


@pytest.mark.slow
def test_a_search_space_edit_reruns_no_candidate_whose_draw_is_unchanged(edit, recorded_two_methods):
    """configs [0]: candidate 0 is the block as written, so a new search space changes no run for
    Snakemake (its params are the resolved candidates); DVC's params are whole keys, so there it
    reruns that method's train stage, and only that method's (README: Model selection). The
    report, which lists the search spaces, is redone in both."""
    root = recorded_two_methods
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["search"]["space"]["djsrh"] = {"beta": [0.5, 0.7]}
    edit("params.yaml", "")  # backs it up
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert planned(root) == Counter({("report", None): 1})
    assert changed_stages(root) == {"train-djsrh", "report"}
