"""Aggregation over seeds, tables and the missing-evaluation error."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sgrn.data.errors import DataError
from sgrn.workflow.curves import learning_curves
from sgrn.workflow.evaluations import evaluation_path, load_runs
from sgrn.workflow.report import (
    aggregate,
    describe_choices,
    figures,
    followers,
    length_figures,
    map_by_length,
    paired_differences,
    seeds_and_queries_interval,
    selected_runs,
    starred,
    summary,
    validation_view,
    write_plots,
    write_tables,
)


def fake_run(seed, i2t, t2i):
    def direction(v):
        return {"map@50": v + 0.1, "map@all": v, "p@k": {"1": v, "10": v / 2},
                "pr": {"radius": [0, 1, 2], "precision": [1.0, 0.8, None], "recall": [0.1, 0.5, 1.0]}}
    return {"i2t": direction(i2t), "t2i": direction(t2i), "label_prior_map_all": 0.3,
            "ties": "stable", "best_epoch": 5 + seed}


PARAMS = {"datasets": ["demo"], "methods": ["sgrn"], "configs": [0], "bits": [16], "seeds": [0, 1]}


@pytest.fixture
def runs(tmp_path):
    for seed, (a, b) in enumerate([(0.4, 0.5), (0.6, 0.7)]):
        path = evaluation_path(tmp_path, "demo", "sgrn", 0, 16, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(fake_run(seed, a, b)))
    return load_runs(tmp_path, PARAMS)


def test_means_and_stds_over_seeds(runs):
    cell = aggregate(runs)["demo"]["sgrn"]["b16"]
    assert cell["i2t_map_all"] == pytest.approx(0.5)
    assert cell["i2t_map_all_std"] == pytest.approx(0.1)
    assert cell["t2i_map50"] == pytest.approx(0.7)
    assert set(cell) == {f"{d}_{m}{s}" for d in ("i2t", "t2i") for m in ("map50", "map_all") for s in ("", "_std")}
    assert aggregate(runs)["demo"]["label_prior_map_all"] == 0.3


def test_summary_is_one_map_all_per_method_and_code_length(runs):
    """Mean over seeds and both directions: (0.4 + 0.6 + 0.5 + 0.7) / 4."""
    assert summary(runs) == {"demo": {"sgrn": {"b16": 0.55}}}


def test_one_seed_has_no_std(runs):
    cell = aggregate(runs[:1])["demo"]["sgrn"]["b16"]
    assert "i2t_map_all_std" not in cell and cell["i2t_map_all"] == pytest.approx(0.4)


def test_tables_and_plots(runs, tmp_path):
    write_tables(runs, tmp_path / "tables", digits=3)
    md = (tmp_path / "tables/demo.md").read_text()
    assert "| sgrn | 16 | c0 | 0.600 ± 0.100 | 0.500 ± 0.100 | 0.700 ± 0.100 | 0.600 ± 0.100 | 2 | 5,6 |" in md
    assert "Label prior" in md
    html = (tmp_path / "tables/demo.html").read_text()
    assert "<table>" in html and "<td>0.600 ± 0.100</td>" in html
    write_plots(runs, tmp_path / "plots")
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "demo_b16_pr.png", "demo_b16_topk.png", "demo_map_by_bits.png"]


def test_precision_at_k_is_plotted_in_numeric_order_of_k(tmp_path):
    """JSON keys are strings ("1", "100", "1000", "200"): the line must follow K, not the text."""
    precision = {"1": 0.9, "100": 0.7, "1000": 0.4, "200": 0.6, "500": 0.5}
    for seed in (0, 1):
        run = fake_run(seed, 0.5, 0.5)
        for direction in ("i2t", "t2i"):
            run[direction]["p@k"] = {k: v + seed / 10 for k, v in sorted(precision.items())}
        path = evaluation_path(tmp_path, "demo", "sgrn", 0, 16, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run, sort_keys=True))
    plotted = dict(figures(load_runs(tmp_path, PARAMS)))
    for ax in plotted["demo_b16_topk.png"].axes:
        (line,) = ax.get_lines()
        assert list(line.get_xdata()) == [1, 100, 200, 500, 1000]
        assert list(line.get_ydata()) == pytest.approx([0.95, 0.75, 0.65, 0.55, 0.45])


def test_summary_figure_is_map_all_against_code_length_with_the_ablations_dashed(tmp_path):
    """One line per method through its code lengths in ascending order (mean over seeds);
    a method that follows another's choice (an ablation) is dashed."""
    params = {"datasets": ["demo"], "methods": ["sgrn", "sgrn-no-lrgr"], "configs": [0],
              "bits": [64, 16], "seeds": [0, 1]}
    for method, base in (("sgrn", 0.5), ("sgrn-no-lrgr", 0.3)):
        for bits in (16, 64):
            for seed in (0, 1):
                path = evaluation_path(tmp_path, "demo", method, 0, bits, seed)
                path.parent.mkdir(parents=True, exist_ok=True)
                v = base + bits / 1000 + seed / 10
                path.write_text(json.dumps(fake_run(seed, v, v + 0.01)))
    runs = load_runs(tmp_path, params)
    points = map_by_length(runs)["demo"]
    assert [(b, round(m, 3)) for b, m, _ in points["t2i"]["sgrn"]] == [(16, 0.576), (64, 0.624)]
    assert points["i2t"]["sgrn-no-lrgr"][1][2] == pytest.approx(0.05)
    selection = {"demo": {"sgrn": {"b16": {"config": 0}},
                          "sgrn-no-lrgr": {"b16": {"config": 0, "follows": "sgrn"}}}}
    assert followers(selection) == {"sgrn-no-lrgr"}
    ((name, fig),) = length_figures(runs, followers(selection))
    assert name == "demo_map_by_bits.png"
    for ax in fig.axes:
        lines = {bars.get_label(): bars.lines[0] for bars in ax.containers}  # errorbar: data line first
        assert {label: line.get_linestyle() for label, line in lines.items()} == {"sgrn": "-", "sgrn-no-lrgr": "--"}
        assert list(lines["sgrn"].get_xdata()) == [16, 64]


def test_every_figure_dashes_the_ablations_and_keeps_each_methods_colour(tmp_path):
    params = {"datasets": ["demo"], "methods": ["sgrn", "sgrn-no-lrgr"], "configs": [0],
              "bits": [16, 64], "seeds": [0]}
    for method in params["methods"]:
        for bits in params["bits"]:
            path = evaluation_path(tmp_path, "demo", method, 0, bits, 0)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(fake_run(0, 0.5, 0.5)))
    runs = load_runs(tmp_path, params)
    plotted = {**dict(figures(runs, {"sgrn-no-lrgr"})), **dict(length_figures(runs, {"sgrn-no-lrgr"}))}
    assert sorted(plotted) == ["demo_b16_pr.png", "demo_b16_topk.png", "demo_b64_pr.png",
                               "demo_b64_topk.png", "demo_map_by_bits.png"]
    colours = set()
    for name, fig in plotted.items():
        for ax in fig.axes:
            lines = ({bars.get_label(): bars.lines[0] for bars in ax.containers} if ax.containers  # errorbars
                     else {line.get_label(): line for line in ax.get_lines()})
            assert {label: line.get_linestyle() for label, line in lines.items()} == {
                "sgrn": "-", "sgrn-no-lrgr": "--"}, name
            colours.add(tuple((label, line.get_color()) for label, line in sorted(lines.items())))
    assert len(colours) == 1  # one colour per method across all figures
    (legend,) = [ax.get_legend() for ax in plotted["demo_b64_pr.png"].axes if ax.get_legend()]
    assert [text.get_text() for text in legend.get_texts()] == ["sgrn", "sgrn-no-lrgr"]


def test_missing_evaluation_is_named(tmp_path):
    missing = r"demo/sgrn/c0/b16/s0.json: evaluation of demo/sgrn/c0/16 bits/seed 0 not found"
    with pytest.raises(DataError, match=missing):
        load_runs(tmp_path, PARAMS)


def test_paired_differences_to_a_reference(tmp_path):
    params = {"datasets": ["demo"], "methods": ["sgrn", "djsrh"], "configs": [0], "bits": [16], "seeds": [0, 1]}
    values = {("sgrn", 0): 0.5, ("sgrn", 1): 0.7, ("djsrh", 0): 0.4, ("djsrh", 1): 0.5}
    for (method, seed), v in values.items():
        path = evaluation_path(tmp_path, "demo", method, 0, 16, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(fake_run(seed, v, v)))
    runs = load_runs(tmp_path, params)
    (row,) = paired_differences(runs, "djsrh")
    mean, std, n = row[3]["i2t_map_all"]
    assert (row[1], n) == ("sgrn", 2)
    assert mean == pytest.approx(0.15) and std == pytest.approx(0.05)  # differences 0.1 and 0.2
    both, over_seeds = row[4]["i2t"]
    assert both is None  # no per-query AP in these evaluations
    # paired t over two seeds: 0.15 +- t(0.975, 1) * 0.05 (sample std 0.0707 / sqrt 2)
    assert over_seeds == pytest.approx((0.15 - 12.706 * 0.05, 0.15 + 12.706 * 0.05), abs=1e-3)
    write_tables(runs, tmp_path / "tables", reference="djsrh")
    md = (tmp_path / "tables/demo.md").read_text()
    assert "## Difference to djsrh, paired by seed" in md
    assert ("| sgrn | 16 | +0.150 ± 0.050 | +0.150 ± 0.050 | +0.150 ± 0.050 | +0.150 ± 0.050 | 2 | "
            "n/a | [-0.485, +0.785] | n/a | [-0.485, +0.785] |") in md


def test_differences_to_several_references_in_markdown_and_csv(tmp_path):
    """report.reference may list methods: a section to each, and every difference in
    {dataset}_differences.csv with its reference, queries, seeds and (MAP@all) interval."""
    import pandas as pd

    runs = _runs_with_query_aps(tmp_path / "runs", {
        ("djsrh", 0): [0.5, 0.25, 0.75], ("sgrn", 0): [0.625, 0.375, 0.875]})
    write_tables(runs, tmp_path / "tables", reference=["djsrh", "sgrn"])
    md = (tmp_path / "tables/demo.md").read_text()
    assert "## Difference to djsrh, paired by seed" in md and "## Difference to sgrn, paired by seed" in md
    # one seed: the interval is over the queries alone, and training noise is not measured: no star
    assert ("| djsrh | 16 | -0.125 | -0.125 | -0.125 | -0.125 | 1 | "
            "[-0.125, -0.125] | n/a | [-0.125, -0.125] | n/a |") in md
    table = pd.read_csv(tmp_path / "tables/demo_differences.csv")
    row = table[(table.reference == "djsrh") & (table.metric == "t2i_map_all")].iloc[0]
    assert (row.method, row.bits, row.queries, row.seeds) == ("sgrn", 16, "test", 1)
    assert (row["mean"], row.low, row.high) == pytest.approx((0.125, 0.125, 0.125))
    assert (row.interval, row.starred) == ("seeds and queries", False) and np.isnan(row.seed_low)
    assert table[table.metric == "i2t_map50"].low.isna().all()
    assert set(table.reference) == {"djsrh", "sgrn"}


def _runs_with_query_aps(tmp_path, aps):
    """Evaluations whose per-query APs are ``aps[(method, seed)]`` (MAP@all = their mean)."""
    params = {"datasets": ["demo"], "methods": ["sgrn", "djsrh"], "configs": [0], "bits": [16],
              "seeds": sorted({seed for _, seed in aps})}
    for (method, seed), ap in aps.items():
        run = fake_run(seed, float(np.mean(ap)), float(np.mean(ap)))
        for direction in ("i2t", "t2i"):
            run[direction]["ap@all"] = list(ap)
        path = evaluation_path(tmp_path, "demo", method, 0, 16, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run))
    return load_runs(tmp_path, params)


def test_a_star_needs_the_gap_on_seeds_and_queries_together(tmp_path):
    """The interval resamples seeds, then queries (seeded): a gap that every seed and query
    shares is starred, and its seed-level t interval is shown beside it; a gap that two seeds
    carry and the third reverses holds 0, although averaging over the seeds first and
    resampling the queries alone (the earlier rule) would have starred it; so does a gap that
    a few queries carry in opposite directions."""
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.8, size=(3, 200))
    steady = _runs_with_query_aps(tmp_path / "steady", {
        **{("djsrh", s): base[s] for s in range(3)},
        **{("sgrn", s): base[s] + 0.02 + rng.uniform(-0.01, 0.01, 200) for s in range(3)}})
    (row,) = paired_differences(steady, "djsrh")
    (low, high), (seed_low, seed_high) = row[4]["i2t"]
    assert 0 < low < row[3]["i2t_map_all"][0] < high < 0.03
    assert seed_low < row[3]["i2t_map_all"][0] < seed_high
    write_tables(steady, tmp_path / "tables", reference="djsrh")
    md = (tmp_path / "tables/demo.md").read_text()
    assert f"| [{low:+.3f}, {high:+.3f}] * | [{seed_low:+.3f}, {seed_high:+.3f}] |" in md
    assert "This table makes 2 comparisons" in md  # one method, one length, two directions

    shift = [0.05, 0.05, -0.04]
    reversed_by_a_seed = {**{("djsrh", s): base[s] for s in range(3)},
                          **{("sgrn", s): base[s] + shift[s] + rng.uniform(-0.005, 0.005, 200) for s in range(3)}}
    (row,) = paired_differences(_runs_with_query_aps(tmp_path / "seed", reversed_by_a_seed), "djsrh")
    (low, high), _ = row[4]["i2t"]
    assert low < 0 < high and row[3]["i2t_map_all"][0] == pytest.approx(0.02, abs=1e-3)
    per_query = np.mean([reversed_by_a_seed[("sgrn", s)] - base[s] for s in range(3)], axis=0)
    query_only = seeds_and_queries_interval(per_query[None, :])  # one row: the queries alone
    assert query_only[0] > 0  # what the earlier rule starred

    noisy = base[0] + np.where(np.arange(200) % 2 == 0, 0.2, -0.19)
    swing = _runs_with_query_aps(tmp_path / "swing", {
        **{("djsrh", s): base[0] for s in range(2)}, **{("sgrn", s): noisy for s in range(2)}})
    (row,) = paired_differences(swing, "djsrh")
    (low, high), _ = row[4]["t2i"]
    assert low < 0 < high and row[3]["t2i_map_all"][0] == pytest.approx(0.005)
    write_tables(swing, tmp_path / "tables", reference="djsrh")
    assert f"| [{low:+.3f}, {high:+.3f}] | " in (tmp_path / "tables/demo.md").read_text()


def test_the_two_level_interval_is_deterministic_and_holds_the_seed_spread():
    rng = np.random.default_rng(2)
    differences = np.array([0.01, 0.03, 0.05])[:, None] + rng.normal(0, 0.05, size=(3, 300))
    low, high = seeds_and_queries_interval(differences)
    assert (low, high) == seeds_and_queries_interval(differences)
    seed_means = differences.mean(axis=1)
    assert low < seed_means.min() + 0.005 and high > seed_means.max() - 0.005
    assert not starred((low, high), 1) and starred((0.001, 0.002), 2) and not starred((-0.001, 0.002), 3)


def test_query_interval_of_a_constant_difference_is_that_difference(tmp_path):
    aps = {("djsrh", 0): [0.5, 0.25, 0.75], ("sgrn", 0): [0.625, 0.375, 0.875]}
    (row,) = paired_differences(_runs_with_query_aps(tmp_path, aps), "djsrh")
    assert row[4]["i2t"] == ((0.125, 0.125), None)


def test_query_sets_of_different_sizes_are_refused(tmp_path):
    aps = {("djsrh", 0): [0.5, 0.25, 0.75], ("sgrn", 0): [0.6, 0.3]}
    with pytest.raises(DataError, match="demo: sgrn and djsrh at 16 bits .*different query sets"):
        paired_differences(_runs_with_query_aps(tmp_path, aps), "djsrh")


def test_validation_differences_have_their_own_section(tmp_path):
    """Evaluations that carry the validation queries' APs get a second difference table over
    them; the test table is unchanged, and evaluations without them get no such table."""
    params = {"datasets": ["demo"], "methods": ["sgrn", "djsrh"], "configs": [0], "bits": [16], "seeds": [0, 1]}
    test_values = {("sgrn", 0): 0.5, ("sgrn", 1): 0.7, ("djsrh", 0): 0.4, ("djsrh", 1): 0.5}
    validation = {("sgrn", 0): ([0.6, 0.4], [0.3, 0.5]), ("sgrn", 1): ([0.6, 0.6], [0.5, 0.5]),
                  ("djsrh", 0): ([0.5, 0.3], [0.4, 0.6]), ("djsrh", 1): ([0.4, 0.4], [0.6, 0.6])}
    for (method, seed), v in test_values.items():
        run = fake_run(seed, v, v)
        i2t, t2i = validation[(method, seed)]
        run["validation"] = {"queries": 2, "i2t": {"map@all": float(np.mean(i2t)), "ap@all": i2t},
                             "t2i": {"map@all": float(np.mean(t2i)), "ap@all": t2i}}
        path = evaluation_path(tmp_path, "demo", method, 0, 16, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run))
    runs = load_runs(tmp_path, params)
    (row,) = paired_differences(validation_view(runs), "djsrh")
    assert row[3]["i2t_map_all"] == pytest.approx((0.15, 0.05, 2))  # I->T differences 0.1 and 0.2
    assert row[3]["t2i_map_all"] == pytest.approx((-0.1, 0.0, 2))   # T->I: -0.1 on both seeds
    assert row[4]["t2i"][0] == pytest.approx((-0.1, -0.1))
    write_tables(runs, tmp_path / "tables", reference="djsrh")
    md = (tmp_path / "tables/demo.md").read_text()
    test_part, validation_part = md.split("## The same differences on the validation queries")
    test_row = "| sgrn | 16 | +0.150 ± 0.050 | +0.150 ± 0.050 | +0.150 ± 0.050 | +0.150 ± 0.050 | 2 | n/a | "
    assert test_row in test_part
    assert "| sgrn | 16 | +0.150 ± 0.050 | -0.100 ± 0.000 | 2 | " in validation_part
    assert "| [-0.100, -0.100] * | [-0.100, -0.100] |" in validation_part

    for run in runs:
        del run["validation"]
    write_tables(runs, tmp_path / "old", reference="djsrh")
    assert "validation queries" not in (tmp_path / "old/demo.md").read_text()


def test_only_the_configuration_chosen_on_validation_is_reported(tmp_path):
    params = {"datasets": ["demo"], "methods": ["sgrn"], "configs": [0, 1], "bits": [16], "seeds": [0]}
    for config, v in ((0, 0.4), (1, 0.6)):
        path = evaluation_path(tmp_path, "demo", "sgrn", config, 16, 0)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(fake_run(0, v, v)))
    runs = load_runs(tmp_path, params)
    assert [r["config"] for r in runs] == [0, 1]
    selection = {"demo": {"sgrn": {"b16": {"config": 0, "val_map_all": 0.5, "candidates": {"c0": 0.5, "c1": 0.4}}}}}
    kept = selected_runs(runs, selection)
    assert [r["config"] for r in kept] == [0] and aggregate(kept)["demo"]["sgrn"]["b16"]["i2t_map_all"] == 0.4
    lines = describe_choices(selection, {("demo", "sgrn", 16): {"beta": 0.7}}, "demo", 3)
    assert "| sgrn | 16 | c0 | beta=0.7 | 0.500, 0.400 |" in lines
    selection["demo"]["sgrn-no-grgr"] = {"b16": {"config": 1, "follows": "sgrn", "val_map_all": 0.3,
                                                 "candidates": {"c0": 0.45, "c1": 0.3}}}
    lines = describe_choices(selection, {}, "demo", 3)
    assert "| sgrn-no-grgr | 16 | c1 (as sgrn) | none (as written) | 0.450, 0.300 |" in lines
    with pytest.raises(DataError, match="selection has no choice for demo/sgrn/b16"):
        selected_runs(runs, {"demo": {}})


def test_with_select_bits_the_other_lengths_load_only_the_chosen_candidate(tmp_path):
    params = {"datasets": ["demo"], "methods": ["sgrn"], "configs": [0, 1], "bits": [8, 16], "seeds": [0],
              "search": {"select_bits": 16, "follow": {}}}
    for config, bits, v in ((0, 16, 0.4), (1, 16, 0.6), (1, 8, 0.5)):
        path = evaluation_path(tmp_path, "demo", "sgrn", config, bits, 0)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**fake_run(0, v, v), "val_map_all": v}))  # c1 chosen at 16 bits
    runs = load_runs(tmp_path, params)
    assert sorted((r["config"], r["bits"]) for r in runs) == [(0, 16), (1, 8), (1, 16)]
    assert [(r["config"], r["bits"]) for r in load_runs(tmp_path, params, [16])] == [(0, 16), (1, 16)]
    choice = {"config": 1, "chosen_at": 16, "val_map_all": 0.5, "candidates": {"c1": 0.5}}
    lines = describe_choices({"demo": {"sgrn": {"b8": choice}}}, {}, "demo", 3)
    assert "| sgrn | 8 | c1 (chosen at 16 bits) | none (as written) | 0.500 |" in lines
    (tmp_path / "demo/sgrn/c1/b8/s0.json").unlink()
    with pytest.raises(DataError, match=r"c1/b8/s0\.json: evaluation of demo/sgrn/c1/8 bits/seed 0 not found"):
        load_runs(tmp_path, params)


def test_learning_curves_plot_losses_and_validation_per_epoch(tmp_path):
    for name, values in {"loss": [0.9, 0.5, 0.4], "val_map_all": [0.3, 0.5, 0.6], "epoch_seconds": [1, 1, 1]}.items():
        rows = "".join(f"0\t{step}\t{v}\n" for step, v in enumerate(values))
        (tmp_path / f"{name}.tsv").write_text(f"timestamp\tstep\t{name}\n{rows}")
    fig = learning_curves(tmp_path, "demo sgrn 16 bits seed 0")
    loss_ax, val_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["loss"]
    assert list(val_ax.get_lines()[0].get_xdata()) == [1, 2, 3]
    assert list(val_ax.get_lines()[0].get_ydata()) == [0.3, 0.5, 0.6]
    with pytest.raises(DataError, match="no learning curves"):
        learning_curves(tmp_path / "missing", "x")


def test_selected_rows_go_by_code_length_whichever_candidate_each_chose():
    runs = [dict(dataset="d", method=m, config=c, bits=b, seed=0)
            for m in ("sgrn", "jdsh") for c in (0, 1) for b in (16, 64)]
    selection = {"d": {m: {"b16": {"config": 1}, "b64": {"config": 0}} for m in ("sgrn", "jdsh")}}
    kept = selected_runs(runs, selection)
    assert [(r["method"], r["bits"], r["config"]) for r in kept] == [
        ("sgrn", 16, 1), ("sgrn", 64, 0), ("jdsh", 16, 1), ("jdsh", 64, 0)]


def test_readings_rank_and_place_each_reference_under_the_star_rule(tmp_path):
    """The report's readings of `sgrn`: rank among the methods that are not ablations, and the
    methods it is above (starred, negative gap), level with (no star) and below (starred,
    positive gap); from the report's own CSVs."""
    import pandas as pd

    from sgrn.workflow.readings import readings, write_readings

    rng = np.random.default_rng(3)
    base = rng.uniform(0.2, 0.8, size=(2, 200))
    shifts = {"sgrn": 0.0, "jdsh": 0.05, "djsrh": -0.05, "hnh": 0.0, "sgrn-no-lrgr": -0.1}
    params = {"datasets": ["demo"], "methods": list(shifts), "configs": [0], "bits": [16], "seeds": [0, 1]}
    for (method, shift), seed in ((item, s) for item in shifts.items() for s in (0, 1)):
        ap = base[seed] + shift + rng.uniform(-0.002, 0.002, 200)
        run = fake_run(seed, float(np.mean(ap)), float(np.mean(ap)))
        for direction in ("i2t", "t2i"):
            run[direction]["ap@all"] = list(ap)
        path = evaluation_path(tmp_path / "runs", "demo", method, 0, 16, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run))
    write_tables(load_runs(tmp_path / "runs", params), tmp_path / "tables", reference="sgrn")
    assert write_readings(tmp_path / "tables", "demo", ablations={"sgrn-no-lrgr"})
    table = pd.read_csv(tmp_path / "tables/demo_readings.csv", keep_default_na=False)
    row = table[(table.method == "sgrn") & (table.direction == "i2t")].iloc[0]
    assert (row["rank"], row["of"]) in {(2, 4), (3, 4)}  # hnh and sgrn differ by noise only
    assert (row.above, row.level, row.below) == ("djsrh, sgrn-no-lrgr", "hnh", "jdsh")
    assert "| sgrn | 16 | I->T |" in (tmp_path / "tables/demo_readings.md").read_text()

    # one seed: nothing is starred, so nothing is read as above or below
    differences = pd.read_csv(tmp_path / "tables/demo_differences.csv")
    one_seed = readings(pd.read_csv(tmp_path / "tables/demo.csv"), differences.assign(seeds=1))
    assert set(one_seed.level) == {"jdsh, hnh, djsrh, sgrn-no-lrgr"} and set(one_seed.above) == {""}
