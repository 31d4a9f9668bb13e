"""The tiny demo end to end through Snakemake, in a temporary copy of the project."""
from __future__ import annotations

import json
import re

import h5py
import pytest
from test_docs import RUN_LAYOUT, documented_run_paths

from workflow_utils import BIN, read_params, run, snakemake_dry_run, write_params

pytestmark = pytest.mark.slow
SNAKEMAKE = str(BIN / "snakemake")


@pytest.fixture
def project(smk_project):
    return smk_project


def rules_to_run(root) -> set[str]:
    return {job["rule"] for job in snakemake_dry_run(root)} - {"all"}


def test_end_to_end_outputs(project):
    metrics = json.loads((project / "results/metrics.json").read_text())
    cell = metrics["demo"]["sgrn"]["b16"]
    assert set(cell) == {"i2t_map50", "i2t_map_all", "t2i_map50", "t2i_map_all"}
    assert all(0 < v <= 1 for v in cell.values())
    assert 0 < metrics["demo"]["label_prior_map_all"] < 1
    assert "| sgrn | 16 |" in (project / "results/tables/demo.md").read_text()
    assert (project / "results/tables/demo.csv").read_text().startswith("dataset,method,config,bits,metric")
    for kind in ("pr", "topk"):
        png = project / f"results/plots/demo_b16_{kind}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with h5py.File(project / "results/demo/features.h5") as f:
        assert f["image"].shape == (300, 1280)  # the demo's EfficientNet-Lite0 (params.yaml)
        assert f.attrs["complete"] and f.attrs["weights"] == "imagenet"
        assert f.attrs["backbone"] == "efficientnet_lite0" and f.attrs["input"].startswith("128x128")
    with h5py.File(project / "results/demo/sgrn/c0/b16/s0/codes.h5") as f:
        assert f["query/image"].shape[1] == 2 and f.attrs["bits"] == 16
    assert (project / "results/demo/sgrn/c0/b16/s0/live/plots/metrics/loss.tsv").is_file()
    assert (project / "results/demo/sgrn/c0/b16/s0/curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((project / "results/summary.json").read_text())
    assert summary["demo"]["sgrn"]["b16"] == pytest.approx((cell["i2t_map_all"] + cell["t2i_map_all"]) / 2, abs=6e-4)
    assert json.loads((project / "results/demo/sgrn/c0/b16/s0/live/metrics.json").read_text())["step"] >= 1
    assert "best validation MAP@all" in (project / "logs/train/demo/sgrn/c0/b16/s0.log").read_text()
    evaluation = json.loads((project / "results/evaluation/demo/sgrn/c0/b16/s0.json").read_text())
    validation = evaluation["validation"]  # measured again from the codes: the trainer's own number
    assert validation["queries"] == 20 and len(validation["t2i"]["ap@all"]) == 20
    assert (validation["i2t"]["map@all"] + validation["t2i"]["map@all"]) / 2 == pytest.approx(
        evaluation["val_map_all"], abs=1e-12)


def test_run_paths_of_the_documented_commands_exist(project):
    """Each run path of the docs' shell commands, at the tiny demo's method and code length
    where the docs name others (test_docs checks that `make demo` trains what they name)."""
    params = read_params(project)
    missing = []
    for doc, path in documented_run_paths():
        run_path = RUN_LAYOUT.fullmatch(path)
        assert run_path, f"{doc}: {path} is not in the run layout"
        tiny = path
        for field, key, prefix in (("method", "methods", "/"), ("bits", "bits", "/b")):
            if run_path[field] not in map(str, params[key]):
                tiny = tiny.replace(f"{prefix}{run_path[field]}/", f"{prefix}{params[key][0]}/", 1)
        if not (project / tiny).exists():
            missing.append(f"{doc}: {path} (here {tiny})")
    assert not missing, "documented run paths that the workflow does not write:\n" + "\n".join(missing)


def test_nothing_to_do_after_a_run(project):
    assert rules_to_run(project) == set()


def test_evaluation_change_reruns_evaluate_and_report_only(project):
    params = read_params(project)
    original = dict(params["evaluate"])
    params["evaluate"]["topk"] = [1, 5]
    write_params(project, params)
    try:
        assert rules_to_run(project) == {"evaluate", "select", "report"}
    finally:
        params["evaluate"] = original
        write_params(project, params)


def test_training_change_leaves_data_steps_alone(project):
    params = read_params(project)
    params["train"]["lr_text"] = 0.02
    write_params(project, params)
    try:
        assert rules_to_run(project) == {"train", "curves", "encode", "evaluate", "select", "report"}
    finally:
        params["train"]["lr_text"] = 0.01
        write_params(project, params)
    assert rules_to_run(project) == set()


def test_config_override_is_refused(project):
    proc = run([SNAKEMAKE, "-n", "--config", "bits=[8]"], project, check=False)
    assert proc.returncode != 0
    assert "overrides are not supported" in proc.stdout + proc.stderr


def test_bad_params_stop_before_any_job(project, tmp_path):
    params = read_params(project)
    saved = (project / "params.yaml").read_text()
    params["train"]["epochz"] = 3
    params["evaluate"]["chunk"] = "big"
    write_params(project, params)
    try:
        proc = run([SNAKEMAKE, "--cores", "1", "--forceall"], project, check=False)
    finally:
        (project / "params.yaml").write_text(saved)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "train: Additional properties are not allowed ('epochz' was unexpected)" in out
    assert "evaluate.chunk: 'big' is not of type 'integer'" in out
    assert "Forced execution" not in out and "rule download" not in out


def test_snakemake_report_holds_tables_plots_curves_and_the_rule_graph(project, tmp_path):
    report = tmp_path / "report.html"
    proc = run([SNAKEMAKE, "--report", str(report)], project)
    log = proc.stdout + proc.stderr
    for name in ("demo.html", "demo_b16_pr.png", "demo_b16_topk.png", "curves.png"):
        assert f"Adding {name}" in log, f"{name} is not in the report"
    html = report.read_text()
    assert "Learning curves" in html and "rulegraph" in html
    assert "Retrieval MAP per method" in html, "a caption of workflow/report/ is missing"
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=.https?:", html), "the report must be self-contained"


def test_select_bits_trains_only_the_chosen_candidate_at_the_other_lengths(smk_project, tmp_path):
    """search.select_bits: both candidates at 16 bits, then (after the `choose` checkpoint)
    only the one chosen there at 8 bits; the report shows it at both lengths."""
    import shutil

    root = tmp_path / "project"
    shutil.copytree(smk_project, root, symlinks=True)
    params = read_params(root)
    params.update(bits=[8, 16], configs=[0, 1])
    params["search"]["select_bits"] = 16
    write_params(root, params)
    planned = snakemake_dry_run(root)
    assert "choose" in {job["rule"] for job in planned}
    assert not [o for job in planned if job["rule"] == "train" for o in job["outputs"] if "/b8/" in o], \
        "no 8-bit run is planned before the choice at 16 bits"
    run([SNAKEMAKE, "--cores", "2"], root)
    chosen = json.loads((root / "results/choice.json").read_text())["demo"]["sgrn"]["b16"]["config"]
    evaluations = root / "results/evaluation/demo/sgrn"
    assert (evaluations / f"c{chosen}/b8/s0.json").is_file()
    assert not (evaluations / f"c{1 - chosen}/b8").exists(), "the other candidate is not trained at 8 bits"
    assert {(evaluations / f"c{c}/b16/s0.json").is_file() for c in (0, 1)} == {True}
    selection = json.loads((root / "results/selection.json").read_text())["demo"]["sgrn"]
    assert selection["b8"]["config"] == chosen and selection["b8"]["chosen_at"] == 16
    assert selection["b8"]["candidates"] == {f"c{chosen}": selection["b8"]["val_map_all"]}
    assert set(json.loads((root / "results/metrics.json").read_text())["demo"]["sgrn"]) == {"b8", "b16"}
    assert rules_to_run(root) == set(), "a second run has nothing to do"
