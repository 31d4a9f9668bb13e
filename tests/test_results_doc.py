"""docs/results.md (and results-one-candidate.md, the run before the search) quote the report:
every number of their marked tables is read back from the report's CSVs, kept beside them in
docs/results/ (and docs/results/one-candidate/), copied from results/tables/ of the run that
made them.

A table is marked by the line before it, ``<!-- from FILE.csv [reference=M] [queries=Q] -->``;
the table of candidates chosen on validation by ``<!-- from selection.json dataset=D -->`` (the
select step's file, kept beside the CSVs). FILE may sit in one subfolder (``lengths/FILE.csv``),
for the report of a run made with other lists than the document's main run.
Its columns are named as the report names them (``method``, ``bits``, ``I->T MAP@all``, ...,
``seeds``, ``best epochs``, ``I->T MAP@all, 95% over queries``); a ``reference`` column may
take the place of the marker's. Rows may be a subset of the report's, in any order.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = {  # document -> the folder of the report files it quotes
    "results.md": ROOT / "docs" / "results",
    "results-one-candidate.md": ROOT / "docs" / "results" / "one-candidate",
}
MARKER = re.compile(r"^<!-- from (?P<file>(?:[\w-]+/)?[\w.-]+\.(?:csv|json))(?P<options>(?: \w+=[\w.-]+)*) -->$")
DIRECTION = {"I->T": "i2t", "T->I": "t2i"}


def marked_tables(text: str) -> list[tuple[dict, list[str], list[list[str]]]]:
    """(marker options with 'file', header cells, row cells) of every marked table."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        match = MARKER.match(line.strip())
        if not match:
            continue
        options = dict(item.split("=", 1) for item in match["options"].split())
        options["file"] = match["file"]
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        table = []
        while j < len(lines) and lines[j].startswith("|"):
            table.append([cell.strip() for cell in lines[j].strip().strip("|").split("|")])
            j += 1
        if len(table) < 3:
            raise AssertionError(f"the marker on line {i + 1} is not followed by a table")
        found.append((options, table[0], table[2:]))
    return found


def metric_of(column: str) -> str | None:
    """'I->T MAP@all' -> 'i2t_map_all', 'T->I MAP@50' -> 't2i_map50'; None for other columns."""
    match = re.fullmatch(r"(I->T|T->I) MAP@(\w+)", column)
    if not match:
        return None
    cut = match[2]
    return f"{DIRECTION[match[1]]}_map_all" if cut == "all" else f"{DIRECTION[match[1]]}_map{cut}"


def interval_of(column: str) -> str | None:
    """'I->T MAP@all, 95% over queries' -> 'i2t'."""
    match = re.fullmatch(r"(I->T|T->I) MAP@all, 95% over [\w ]+", column)
    return DIRECTION[match[1]] if match else None


def _number(text: str) -> str:
    return text.replace("−", "-")


def _formatted(value: float, signed: bool) -> str:
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _rounds_to(cell: str, value: float) -> bool:
    """``cell`` (3 decimals) is ``value`` (the CSV's 6 decimals) rounded: within half a unit of
    the last digit and the CSV's own rounding, so a changed digit never passes."""
    return abs(float(_number(cell)) - value) <= 0.0005 + 2e-6


def check_row(options: dict, header: list[str], cells: list[str], frame: pd.DataFrame) -> list[str]:
    """What in one row differs from the CSV (empty when everything matches)."""
    row = dict(zip(header, cells))
    where = f"{options['file']}: row {cells[:2]}"
    pick = (frame.method == row["method"]) & (frame.bits == int(row["bits"]))
    reference = row.get("reference", options.get("reference"))
    if reference:
        pick &= frame.reference == reference
    if "queries" in options:
        pick &= frame.queries == options["queries"]
    found = frame[pick]
    if found.empty:
        return [f"{where}: not in the CSV"]
    signed = "reference" in frame.columns
    problems = []
    for column, cell in row.items():
        metric, direction = metric_of(column), interval_of(column)
        if metric:
            record = found[found.metric == metric]
            if record.empty:
                problems.append(f"{where}: no {metric} in the CSV")
                continue
            record = record.iloc[0]
            mean, _, std = _number(cell).partition(" ± ")
            expected = _formatted(record["mean"], signed)
            sign_ok = not signed or mean[0] in "+-"
            if not (sign_ok and _rounds_to(mean, record["mean"]) and (not std or _rounds_to(std, record["std"]))):
                problems.append(f"{where}, {column}: {cell!r}, the CSV has {expected} ± {record['std']:.3f}")
        elif direction:
            record = found[found.metric == f"{direction}_map_all"].iloc[0]
            expected = f"[{record.low:+.3f}, {record.high:+.3f}]"
            expected += "" if record.low <= 0 <= record.high else " *"
            match = re.fullmatch(r"\[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]( \*)?", _number(cell))
            if not (match and _rounds_to(match[1], record.low) and _rounds_to(match[2], record.high)
                    and bool(match[3]) == expected.endswith("*")):
                problems.append(f"{where}, {column}: {cell!r}, the CSV has {expected!r}")
        elif column == "config" and cell != f"c{found.iloc[0].config}":
            problems.append(f"{where}: config {cell}, the CSV has c{found.iloc[0].config}")
        elif column == "seeds" and int(cell) != int(found.iloc[0].seeds):
            problems.append(f"{where}: {cell} seeds, the CSV has {found.iloc[0].seeds}")
        elif column == "best epochs" and cell != str(found.iloc[0].get("best_epochs")):
            problems.append(f"{where}: best epochs {cell}, the CSV has {found.iloc[0].get('best_epochs')}")
    return problems


def check_choice(options: dict, header: list[str], cells: list[str], selection: dict) -> list[str]:
    """What in one row of a table of chosen candidates (the report's "Configurations chosen on
    validation") differs from the select step's selection.json."""
    row = dict(zip(header, cells))
    where = f"{options['file']}: {options.get('dataset')} row {cells[:2]}"
    try:
        choice = selection[options["dataset"]][row["method"]][f"b{row['bits']}"]
    except KeyError:
        return [f"{where}: not in the selection"]
    problems = []
    chosen = re.match(r"c(\d+)", row["chosen"])
    if not chosen or int(chosen[1]) != choice["config"]:
        problems.append(f"{where}: chosen {row['chosen']!r}, the selection has c{choice['config']}")
    scores = [v.strip() for v in row[header[-1]].split(",")]
    expected = list(choice["candidates"].values())
    if len(scores) != len(expected) or not all(map(_rounds_to, scores, expected)):
        problems.append(f"{where}: candidates' validation MAP {scores}, the selection has {expected}")
    return problems


def mismatches(text: str, csv_dir: Path) -> tuple[int, list[str]]:
    """(number of rows checked, what differs) for every marked table of ``text``."""
    checked, problems = 0, []
    for options, header, rows in marked_tables(text):
        path = csv_dir / options["file"]
        if not path.exists():
            problems.append(f"{options['file']}: no such file in {csv_dir}")
            continue
        if path.suffix == ".json":
            selection = json.loads(path.read_text())
            for cells in rows:
                problems += check_choice(options, header, cells, selection)
                checked += 1
            continue
        frame = pd.read_csv(path, dtype={"best_epochs": str})
        for cells in rows:
            problems += check_row(options, header, cells, frame)
            checked += 1
    return checked, problems


@pytest.mark.parametrize("doc", DOCS)
def test_every_number_of_the_marked_tables_is_the_reports(doc):
    checked, problems = mismatches((ROOT / "docs" / doc).read_text(), DOCS[doc])
    assert checked >= 20, f"only {checked} rows of {doc} are marked and checked"
    assert problems == []


@pytest.mark.parametrize("doc", DOCS)
def test_every_report_table_is_marked(doc):
    """A table with MAP columns that no marker covers would escape the check."""
    text = (ROOT / "docs" / doc).read_text().splitlines()
    marked = 0
    for i, line in enumerate(text):
        if line.startswith("| method |") and "MAP@" in line:
            previous = next(t for t in reversed(text[:i]) if t.strip())
            assert MARKER.match(previous.strip()), f"{doc} line {i + 1}: a MAP table without a marker"
            marked += 1
    assert marked >= 4


@pytest.mark.parametrize("edit", ["mean", "interval", "config"])
def test_a_changed_number_is_caught(edit):
    """The check itself: one digit changed in a quoted table is reported."""
    text = (ROOT / "docs" / "results.md").read_text()
    pattern = {"mean": r"(\| )(\d\.\d{3})( ± )", "interval": r"(\[)([+-]\d\.\d{3})(, )",
               "config": r"(\| \d+ \| c)(\d+)( \|)"}[edit]
    match = re.search(pattern, text)
    assert match, f"results.md has no {edit} cell to change"
    old = match[2]
    new = old[:-1] + ("1" if old[-1] != "1" else "2")
    changed = text[:match.start(2)] + new + text[match.end(2):]
    assert mismatches(changed, DOCS["results.md"])[1], f"changing {old} to {new} was not caught"
