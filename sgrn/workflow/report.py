"""Aggregation over seeds, tables (Markdown and CSV) and plots (MAP@all against code length, PR and
precision@K)."""
from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from sgrn.data.errors import DataError

DIRECTIONS = {"i2t": "I->T", "t2i": "T->I"}
TIE_RULES = {"stable": "ties in Hamming distance ordered by database index",
             "expected": "ties in Hamming distance averaged over every order (exact expectation)"}


def selected_runs(runs: list[dict], selection: dict) -> list[dict]:
    """The runs of the configuration chosen on validation, per dataset, method and code length."""
    def chosen(run):
        try:
            return selection[run["dataset"]][run["method"]][f"b{run['bits']}"]["config"]
        except KeyError:
            raise DataError(f"selection has no choice for {run['dataset']}/{run['method']}/"
                            f"b{run['bits']}; run the select step first") from None

    order: dict[tuple[str, str], int] = {}
    for run in runs:
        order.setdefault((run["dataset"], run["method"]), len(order))
    kept = [run for run in runs if run["config"] == chosen(run)]
    # rows by code length within a method, whichever candidate each length chose
    return sorted(kept, key=lambda r: (order[(r["dataset"], r["method"])], r["bits"], r["seed"]))


def describe_choices(selection: dict, changed: dict[tuple[str, str, int], dict], dataset: str,
                     digits: int) -> list[str]:
    """Markdown lines: per method and code length, the configuration chosen on validation, what
    it changes from method_params as written (``changed``), and every candidate's score; a
    method that follows another's choice (search.follow), or a length that keeps the choice
    made at search.select_bits, says so."""
    lines = ["", "## Configurations chosen on validation MAP@all (mean over seeds)", "",
             "| method | bits | chosen | changes from method_params | validation MAP@all of c0, c1, ... |",
             "|---|---|---|---|---|"]
    for method, per_bits in selection.get(dataset, {}).items():
        for key, choice in sorted(per_bits.items(), key=lambda item: int(item[0][1:])):
            bits = int(key[1:])
            diff = changed.get((dataset, method, bits), {})
            text = ", ".join(f"{k}={v}" for k, v in sorted(diff.items())) or "none (as written)"
            scores = ", ".join(f"{v:.{digits}f}" for v in choice["candidates"].values())
            chosen = (f"c{choice['config']}" + (f" (as {choice['follows']})" if "follows" in choice else "")
                      + (f" (chosen at {choice['chosen_at']} bits)" if "chosen_at" in choice else ""))
            lines.append(f"| {method} | {bits} | {chosen} | {text} | {scores} |")
    return lines + [""]


def describe_budget(selection: dict, runs: list[dict], train: dict, dataset: str) -> list[str]:
    """Markdown lines: per method, its tuning budget (the candidates it had, the epoch cap) and
    how many of its shown ``runs`` (the selected ones) had their best validation epoch at the
    cap, where its peak may lie beyond it. ``train``: params.yaml's train section."""
    epochs, patience = train["epochs"], train.get("patience")
    stop = (f"early stop after {patience} epochs without a better validation MAP@all"
            if patience else "no early stopping")
    lines = ["", "## Tuning budget per method", "",
             f"Every trained method: at most {epochs} epochs, validation MAP@all every "
             f"{train['validate_every']} epoch(s), {stop}; the best validated epoch is kept.", "",
             "| method | candidates | epoch cap | shown runs with the best epoch at the cap |",
             "|---|---|---|---|"]
    for method, per_bits in selection.get(dataset, {}).items():
        counts = sorted({len(choice["candidates"]) for choice in per_bits.values()})
        follows = next((c["follows"] for c in per_bits.values() if "follows" in c), None)
        candidates = ", ".join(map(str, counts)) + (f" ({follows}'s)" if follows else "")
        shown = [run for run in runs if run["dataset"] == dataset and run["method"] == method]
        closed_form = bool(shown) and all(run.get("best_epoch") == 0 for run in shown)
        cap = "closed form" if closed_form else str(epochs)
        at_cap = sum(run.get("best_epoch") == epochs for run in shown)
        lines.append(f"| {method} | {candidates} | {cap} | {at_cap} of {len(shown)} |")
    return lines + [""]


def _map_keys(run: dict) -> list[str]:
    """'map@50', ..., 'map@all' in the order of the run's evaluation."""
    return [k for k in run["i2t"] if k.startswith("map@")]


def _metric_name(direction: str, key: str) -> str:
    return f"{direction}_{key.replace('map@', 'map').replace('mapall', 'map_all')}"


def _groups(runs: list[dict]) -> dict[tuple[str, str, int], list[dict]]:
    groups: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for run in runs:
        groups[(run["dataset"], run["method"], run["bits"])].append(run)
    return groups


def summarise(group: list[dict]) -> dict[str, tuple[float, float]]:
    """metric name -> (mean, std over seeds; population std, 0 for one seed)."""
    out = {}
    for direction in DIRECTIONS:
        for key in _map_keys(group[0]):
            values = np.array([run[direction][key] for run in group], dtype=float)
            out[_metric_name(direction, key)] = (float(values.mean()), float(values.std()))
    return out


def aggregate(runs: list[dict]) -> dict:
    """Nested dataset -> method -> b{bits} -> metric (means; *_std beside them for several seeds)."""
    nested: dict = {}
    for (dataset, method, bits), group in _groups(runs).items():
        cell = nested.setdefault(dataset, {}).setdefault(method, {}).setdefault(f"b{bits}", {})
        for name, (mean, std) in summarise(group).items():
            cell[name] = round(mean, 6)
            if len(group) > 1:
                cell[f"{name}_std"] = round(std, 6)
        nested[dataset]["label_prior_map_all"] = round(float(group[0]["label_prior_map_all"]), 6)
    return nested


def summary(runs: list[dict], digits: int = 3) -> dict:
    """dataset -> method -> b{bits} -> MAP@all, the mean over seeds and both directions.

    One number per method and code length: the compact metrics file that `dvc exp show`
    shows in a terminal (README, "Comparing experiments").
    """
    nested: dict = {}
    for (dataset, method, bits), group in _groups(runs).items():
        values = [run[direction]["map@all"] for run in group for direction in DIRECTIONS]
        nested.setdefault(dataset, {}).setdefault(method, {})[f"b{bits}"] = round(float(np.mean(values)), digits)
    return nested


INTERVAL_LEVEL = 0.95
RESAMPLES = 9999
INTERVAL_KIND = "seeds and queries"
"""The interval of a difference in the CSVs (their ``interval`` column): two-level bootstrap."""


def ap_differences(pairs: list[tuple[dict, dict]], direction: str) -> np.ndarray | None:
    """Per-query AP differences, seeds x queries, of the seed ``pairs`` (a minus b), or None when
    an evaluation has no per-query AP (written before the evaluate step kept it)."""
    aps = [(a[direction].get("ap@all"), b[direction].get("ap@all")) for a, b in pairs]
    if any(x is None or y is None for x, y in aps):
        return None
    lengths = {len(x) for pair in aps for x in pair}
    if len(lengths) != 1:
        a, b = pairs[0]
        raise DataError(f"{a['dataset']}: {a['method']} and {b['method']} at {a['bits']} bits were "
                        f"evaluated on different query sets (ap@all lengths {sorted(lengths)})")
    return np.array([np.asarray(x, float) - np.asarray(y, float) for x, y in aps])


def _counts(draws: np.ndarray, size: int) -> np.ndarray:
    """How often each index 0..size-1 occurs in each row of ``draws``."""
    counts = np.zeros((len(draws), size))
    np.add.at(counts, (np.arange(len(draws))[:, None], draws), 1)
    return counts


def seeds_and_queries_interval(differences: np.ndarray, resamples: int = RESAMPLES,
                               level: float = INTERVAL_LEVEL) -> tuple[float, float]:
    """Percentile interval of the mean AP difference (``differences``: seeds x queries) under a
    two-level bootstrap, seeded: the seeds are drawn with replacement, then the test queries,
    one draw for the drawn seeds (every seed is evaluated on the same queries), and the mean is
    taken over the drawn seeds and queries. Training noise (seeds) and the choice of test
    queries both widen it; with one seed only the queries are resampled."""
    if np.ptp(differences) == 0:
        value = float(differences.flat[0])
        return value, value
    n_seeds, n_queries = differences.shape
    rng = np.random.default_rng(0)
    means = []
    for start in range(0, resamples, 1000):  # 1,000 resamples at a time bound the memory
        size = min(1000, resamples - start)
        seeds = _counts(rng.integers(n_seeds, size=(size, n_seeds)), n_seeds)
        queries = _counts(rng.integers(n_queries, size=(size, n_queries)), n_queries)
        means.append(((seeds @ differences) * queries).sum(axis=1) / (n_seeds * n_queries))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.concatenate(means), [tail, 100 - tail])
    return float(low), float(high)


def seed_interval(values: np.ndarray, level: float = INTERVAL_LEVEL) -> tuple[float, float] | None:
    """Paired t interval over the seeds of per-seed differences (``values``), the seed-level
    figure; None for one seed."""
    from scipy import stats

    if len(values) < 2:
        return None
    return t_interval(float(np.mean(values)), float(stats.sem(values)), len(values), level)


def t_interval(mean: float, error: float, n: int, level: float = INTERVAL_LEVEL) -> tuple[float, float]:
    """The t interval of a mean over ``n`` values with standard error ``error`` (n >= 2)."""
    from scipy import stats

    if error == 0:
        return mean, mean
    low, high = stats.t.interval(level, n - 1, loc=mean, scale=error)
    return float(low), float(high)


def starred(interval: tuple[float, float] | None, seeds: int) -> bool:
    """The rule of every table and reading: a difference counts when its seeds-and-queries
    interval excludes 0 and it was measured on two seeds or more (with one, training noise
    is not measured at all)."""
    return interval is not None and seeds >= 2 and not interval[0] <= 0 <= interval[1]


def paired_differences(runs: list[dict], reference: str) -> list[tuple[str, str, int, dict, dict]]:
    """(dataset, method, bits, {metric: (mean, std, seeds)}, {direction: (seeds-and-queries
    interval of MAP@all or None, seed-level t interval or None)}) of method minus reference,
    paired by seed.

    Pairing by seed removes the variation that both runs share (same split, same features,
    same initial seed), so the spread is that of the difference itself.
    """
    by_key = {(r["dataset"], r["method"], r["bits"], r["seed"]): r for r in runs}
    out = []
    for (dataset, method, bits), group in _groups(runs).items():
        if method == reference:
            continue
        pairs = [(run, by_key.get((dataset, reference, bits, run["seed"]))) for run in group]
        pairs = [(a, b) for a, b in pairs if b is not None]
        if not pairs:
            continue
        diffs = {}
        for direction in DIRECTIONS:
            for key in _map_keys(pairs[0][0]):
                values = np.array([a[direction][key] - b[direction][key] for a, b in pairs])
                diffs[_metric_name(direction, key)] = (float(values.mean()), float(values.std()), len(values))
        intervals = {}
        for direction in DIRECTIONS:
            per_query = ap_differences(pairs, direction)
            per_seed = np.array([a[direction]["map@all"] - b[direction]["map@all"] for a, b in pairs])
            intervals[direction] = (None if per_query is None else seeds_and_queries_interval(per_query),
                                    seed_interval(per_seed))
        out.append((dataset, method, bits, diffs, intervals))
    return out


def _bounds(interval: tuple[float, float] | None, digits: int) -> str:
    return "n/a" if interval is None else f"[{interval[0]:+.{digits}f}, {interval[1]:+.{digits}f}]"


def _interval_cell(interval: tuple[float, float] | None, seeds: int, digits: int) -> str:
    return _bounds(interval, digits) + (" *" if starred(interval, seeds) else "")


def validation_view(runs: list[dict]) -> list[dict]:
    """The validation measurements of the runs that have them (evaluations written since the
    evaluate step measures them), each as a run of its own: {"i2t": ..., "t2i": ...} with the
    run's dataset, method, config, bits and seed."""
    keys = ("dataset", "method", "config", "bits", "seed")
    return [{"i2t": run["validation"]["i2t"], "t2i": run["validation"]["t2i"], **{k: run[k] for k in keys}}
            for run in runs if "validation" in run]


TEST_DIFFERENCES = {
    "title": "Difference to {reference}, paired by seed (mean ± std over seeds)",
    "note": "Per direction, two {percent} intervals of the MAP@all difference: over seeds and "
            "{queries} (a two-level bootstrap: the seeds drawn with replacement, then the {queries}; "
            "seeded), and the seed-level paired t interval over the per-seed differences. * marks a "
            "seeds-and-queries interval that excludes 0, on two seeds or more: only such a difference "
            "is read as one method above or below the other; where the interval holds 0, another "
            "training seed or another draw of {queries} could reverse its sign.",
    "queries": "test queries",
}
VALIDATION_DIFFERENCES = {
    "title": "The same differences on the validation queries (what model selection sees)",
    "note": "MAP@all of the validation queries against the database minus them, as the trainer "
            "measures it (ties by database index), from the same codes; model selection and the "
            "best epoch use the mean of the two directions. A test gap that shows here too is a "
            "property of the method on this data; one that does not is the test queries' or the "
            "training seeds'. Intervals and * as in the table of the test queries, over seeds and "
            "{queries}.",
    "queries": "validation queries",
}


def multiplicity(comparisons: int, level: float = INTERVAL_LEVEL) -> str:
    """The word on multiplicity under a differences table of ``comparisons`` intervals."""
    chance = comparisons * (1 - level)
    return (f"This table makes {comparisons} comparisons (one per method, code length and direction), "
            f"each at {level:.0%} with no correction for multiplicity: were no gap real, about "
            f"{chance:.1f} of them would still be starred by chance.")


def _difference_section(rows: list[tuple], reference: str, digits: int,
                        text: dict[str, str] = TEST_DIFFERENCES) -> list[str]:
    """Markdown lines of one reference's ``rows`` (paired_differences of one dataset)."""
    if not rows:
        return []
    keys = list(rows[0][3])
    percent = f"{INTERVAL_LEVEL:.0%}"
    compared = sum(intervals[d][0] is not None for *_, intervals in rows for d in DIRECTIONS)
    note = text["note"].format(percent=percent, queries=text["queries"])
    columns = [f"{label} MAP@all, {percent} over seeds and {text['queries']} | {label} MAP@all, {percent} t over seeds"
               for label in DIRECTIONS.values()]
    lines = ["", "## " + text["title"].format(reference=reference), "", note, "",
             multiplicity(compared), "",
             "| method | bits | " + " | ".join(_header(keys)) + " | seeds | " + " | ".join(columns) + " |",
             "|---|---|" + "---|" * len(keys) + "---|" + "---|---|" * len(DIRECTIONS)]
    for _, method, bits, diffs, intervals in rows:
        seeds = next(iter(diffs.values()))[2]
        cells = [f"{m:+.{digits}f} ± {s:.{digits}f}" if n > 1 else f"{m:+.{digits}f}"
                 for m, s, n in diffs.values()]
        bounds = [f"{_interval_cell(intervals[d][0], seeds, digits)} | {_bounds(intervals[d][1], digits)}"
                  for d in DIRECTIONS]
        lines.append(f"| {method} | {bits} | " + " | ".join(cells) + f" | {seeds} | " + " | ".join(bounds) + " |")
    return lines + [""]


def _difference_records(rows: list[tuple], reference: str, queries: str) -> list[dict]:
    """CSV rows of paired differences: one per method, code length and metric; MAP@all rows
    carry their seeds-and-queries interval (low, high; empty where there is none), whether it
    is starred, and the seed-level t interval (seed_low, seed_high)."""
    records = []
    for dataset, method, bits, diffs, intervals in rows:
        for name, (mean, std, seeds) in diffs.items():
            direction = name.split("_", 1)[0]
            both, over_seeds = intervals[direction] if name.endswith("map_all") else (None, None)
            records.append({"dataset": dataset, "reference": reference, "queries": queries, "method": method,
                            "bits": bits, "metric": name, "mean": mean, "std": std, "seeds": seeds,
                            "low": both[0] if both else None, "high": both[1] if both else None,
                            "interval": INTERVAL_KIND if both else None,
                            "starred": starred(both, seeds) if both else None,
                            "seed_low": over_seeds[0] if over_seeds else None,
                            "seed_high": over_seeds[1] if over_seeds else None})
    return records


def references_of(reference: str | list[str] | None) -> list[str]:
    """report.reference as a list: one method, several, or none."""
    if reference is None:
        return []
    return [reference] if isinstance(reference, str) else list(reference)


def _header(keys: list[str]) -> list[str]:
    return [k.replace("i2t_", "I->T ").replace("t2i_", "T->I ").replace("map_all", "MAP@all")
            .replace("map", "MAP@") for k in keys]


def write_tables(runs: list[dict], out_dir: Path, digits: int = 3, reference: str | list[str] | None = None,
                 choices: dict[str, list[str]] | None = None) -> None:
    """One Markdown and one CSV table per dataset; with `reference` (one method or several),
    paired differences to each, in the Markdown and in {dataset}_differences.csv; ``choices``:
    per dataset, lines that say which configuration each row is (describe_choices)."""
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    groups = _groups(runs)
    for dataset in dict.fromkeys(run["dataset"] for run in runs):
        rows, md = [], []
        keys = None
        for (d, method, bits), group in groups.items():
            if d != dataset:
                continue
            stats = summarise(group)
            keys = keys or list(stats)
            epochs = ",".join(str(run.get("best_epoch", "?")) for run in group)
            for name, (mean, std) in stats.items():
                rows.append({"dataset": d, "method": method, "config": group[0].get("config", 0),
                             "bits": bits, "metric": name,
                             "mean": mean, "std": std, "seeds": len(group), "best_epochs": epochs})
            cells = [f"{mean:.{digits}f} ± {std:.{digits}f}" if len(group) > 1 else f"{mean:.{digits}f}"
                     for mean, std in stats.values()]
            config = f"c{group[0].get('config', 0)}"
            md.append(f"| {method} | {bits} | {config} | " + " | ".join(cells) + f" | {len(group)} | {epochs} |")
        prior = next(run["label_prior_map_all"] for run in runs if run["dataset"] == dataset)
        header = _header(keys)
        ties = TIE_RULES[runs[0].get("ties", "stable")]
        text = [f"# {dataset}: retrieval MAP (mean ± std over seeds)", "",
                f"Hamming ranking; {ties}. Label prior (expected "
                f"MAP@all of a random ranking): {prior:.{digits}f}.", "",
                "| method | bits | config | " + " | ".join(header) + " | seeds | best epochs |",
                "|---|---|---|" + "---|" * len(header) + "---|---|", *md, ""]
        records = []
        here = [run for run in runs if run["dataset"] == dataset]
        for ref in references_of(reference):
            # per dataset: each difference's bootstrap is computed once
            test_rows = paired_differences(here, ref)
            validation_rows = paired_differences(validation_view(here), ref)
            text += _difference_section(test_rows, ref, digits)
            text += _difference_section(validation_rows, ref, digits, VALIDATION_DIFFERENCES)
            records += (_difference_records(test_rows, ref, "test")
                        + _difference_records(validation_rows, ref, "validation"))
        if records:
            pd.DataFrame(records).to_csv(out_dir / f"{dataset}_differences.csv", index=False, float_format="%.6f")
        text += (choices or {}).get(dataset, [])
        (out_dir / f"{dataset}.md").write_text("\n".join(text))
        (out_dir / f"{dataset}.html").write_text(_html_page(f"{dataset}: retrieval MAP", "\n".join(text)))
        pd.DataFrame(rows).to_csv(out_dir / f"{dataset}.csv", index=False, float_format="%.6f")


def _html_page(title: str, markdown: str) -> str:
    """The Markdown table as a small HTML page (for Snakemake's report, which shows HTML, not .md)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)
    style = "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{style}</style></head>\n<body>\n{body}</body></html>\n")


def _mean_curve(group: list[dict], direction: str, x_key: str, y_key: str, part: str):
    if part == "pr":
        xs = group[0][direction][part][x_key]
        # null (JSON) marks radii where no query retrieves anything: skip them when averaging
        values = np.array([run[direction][part][y_key] for run in group], dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-null radii stay NaN
            ys = np.nanmean(values, axis=0)
    else:
        # K is a JSON key, a string: order the points by its value, not its spelling
        keys = sorted(group[0][direction][part], key=int)
        xs = [int(k) for k in keys]
        ys = np.mean([[run[direction][part][k] for k in keys] for run in group], axis=0)
    return np.asarray(xs), np.asarray(ys, dtype=float)


def method_styles(runs: list[dict], dashed: set[str] = frozenset()) -> dict[str, dict]:
    """Matplotlib keywords per method, the same in every figure: a colour of its own (tab20, in
    the order the methods first appear) and, for the methods in ``dashed`` (the ablations), a
    dashed line and hollow square markers."""
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("tab20").colors
    methods = list(dict.fromkeys(run["method"] for run in runs))
    return {method: {"color": colours[i % len(colours)], "linestyle": "--" if method in dashed else "-",
                     "marker": "s" if method in dashed else "o",
                     "markerfacecolor": "none" if method in dashed else None}
            for i, method in enumerate(methods)}


def figures(runs: list[dict], dashed: set[str] = frozenset()):
    """(file name, matplotlib figure) per dataset, code length and kind (pr, topk); one line per
    method, styled by ``method_styles``, the legend beside the panels so that it hides no curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = method_styles(runs, dashed)
    by_cell: dict[tuple[str, int], dict[str, list[dict]]] = defaultdict(dict)
    for (dataset, method, bits), group in _groups(runs).items():
        by_cell[(dataset, bits)][method] = group
    for (dataset, bits), methods in by_cell.items():
        for kind in ("pr", "topk"):
            fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
            for ax, (direction, label) in zip(axes, DIRECTIONS.items()):
                for method, group in methods.items():
                    if kind == "pr":
                        _, recall = _mean_curve(group, direction, "radius", "recall", "pr")
                        _, precision = _mean_curve(group, direction, "radius", "precision", "pr")
                        ax.plot(recall, precision, label=method, markersize=3, **styles[method])
                        ax.set(xlabel="recall", ylabel="precision")
                    else:
                        k, precision = _mean_curve(group, direction, "", "", "p@k")
                        ax.plot(k, precision, label=method, markersize=4, **styles[method])
                        ax.set(xlabel="K (top retrieved)", ylabel="precision@K")
                ax.set_title(f"{dataset}, {bits} bits, {label}")
                ax.grid(alpha=0.3)
            axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
            yield f"{dataset}_b{bits}_{kind}.png", fig


def followers(selection: dict) -> set[str]:
    """The methods shown at another method's choice (search.follow): the ablations."""
    return {method for methods in selection.values() for method, per_bits in methods.items()
            if any("follows" in choice for choice in per_bits.values())}


def map_by_length(runs: list[dict]) -> dict[str, dict[str, dict[str, list[tuple[int, float, float]]]]]:
    """dataset -> direction -> method -> [(bits, mean, std of MAP@all over seeds)], bits ascending:
    the field's summary figure's points."""
    points: dict = {}
    for (dataset, method, bits), group in sorted(_groups(runs).items(), key=lambda item: item[0][2]):
        stats = summarise(group)
        for direction in DIRECTIONS:
            mean, std = stats[_metric_name(direction, "map@all")]
            points.setdefault(dataset, {}).setdefault(direction, {}).setdefault(method, []).append((bits, mean, std))
    return points


def length_figures(runs: list[dict], dashed: set[str] = frozenset()):
    """(file name, figure) per dataset: MAP@all against code length, one panel per direction,
    one line per method (mean over seeds, bars = std), the methods in ``dashed`` dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    styles = method_styles(runs, dashed)
    for dataset, directions in map_by_length(runs).items():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
        for ax, (direction, label) in zip(axes, DIRECTIONS.items()):
            for method, points in directions[direction].items():
                bits, mean, std = zip(*points)
                ax.errorbar(bits, mean, yerr=std, capsize=3, label=method, **styles[method])
                ax.set_xticks(bits)
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.set(xlabel="code length (bits)", ylabel="MAP@all", title=f"{dataset}, {label}")
            ax.grid(alpha=0.3)
        axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
        yield f"{dataset}_map_by_bits.png", fig


def write_plots(runs: list[dict], out_dir: Path, dashed: set[str] = frozenset()) -> None:
    """Per dataset: MAP@all against code length; per dataset and code length: precision-recall
    and precision@top-K, both directions. In all of them the methods in ``dashed`` (the
    ablations) are dashed and each method keeps its colour."""
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, fig in [*length_figures(runs, dashed), *figures(runs, dashed)]:
        fig.savefig(out_dir / name, dpi=100)
        plt.close(fig)
