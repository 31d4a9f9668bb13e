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

Sentences (of results.md and README.md) are checked too. A sentence that names a method and
says above, below, level, lead(s), lose(s) or rank(s) is a reading, and must quote the report's
readings ({dataset}_readings.csv) with a marker inside it, before its full stop:
``<!-- reading FILE METHOD BITS DIRECTION -->`` (DIRECTION: i2t, t2i or both). Its subject is
METHOD, in backticks; the methods it names in backticks after ``above``, ``below``, ``level
with`` or ``loses to`` must be in that cell's list of the same name; ``ranks N of M`` must be
the cell's rank; ``leads`` means rank 1 with nothing above it. A reading sentence without a
marker fails, whatever it says.
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
# "seed-level" is no reading: a word after a hyphen is part of a compound
COMPARATIVE = re.compile(r"(?<![-\w])(above|below|level|leads?|leading|lose|loses|losing|ranks?|ranked)\b", re.I)
NAMES_A_METHOD = re.compile(
    r"\b(sgrns?|sgrn-plus|djsrh|jdsh|dgcpn|dsah|hnh|srch|ucch|cca[-_]itq|baselines?|methods?)\b", re.I)
READING = re.compile(r"<!-- reading (?P<file>(?:[\w-]+/)?[\w.-]+_readings\.csv) (?P<method>[\w-]+) "
                     r"(?P<bits>\d+) (?P<direction>i2t|t2i|both) -->")
CLAIM = re.compile(r"\b(above|below|level with|loses to)\b")
LIST_OF = {"above": "above", "below": "below", "level with": "level", "loses to": "below"}


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


def sentences(text: str) -> list[str]:
    """The prose sentences of a Markdown text: tables, fenced blocks and marker-only lines left
    out, wrapped lines joined, a heading or list item starting a sentence of its own."""
    paragraphs, current, fenced = [], [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
        starts = not stripped or stripped.startswith(("#", "- ", "* ", "|", "<!-- from")) or fenced
        if starts and current:
            paragraphs.append(" ".join(current))
            current = []
        if stripped and not fenced and not stripped.startswith(("|", "```", "<!-- from")):
            current.append(stripped)
    paragraphs.append(" ".join(current))
    return [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+(?=[A-Z`*(\[])", p) if s]


def check_sentence(sentence: str, csv_dir: Path) -> list[str]:
    """What in one sentence is a reading that the report's readings do not make."""
    if not (COMPARATIVE.search(sentence) and NAMES_A_METHOD.search(sentence)):
        return []
    where = sentence if len(sentence) < 160 else sentence[:157] + "..."
    marker = READING.search(sentence)
    if not marker:
        return [f"a reading without a readings marker: {where!r}"]
    path = csv_dir / marker["file"]
    if not path.exists():
        return [f"{marker['file']}: no such file in {csv_dir}"]
    table = pd.read_csv(path, keep_default_na=False)
    method, bits = marker["method"], int(marker["bits"])
    if f"`{method}`" not in sentence:
        return [f"the marker's method {method} is not named in: {where!r}"]
    problems = []
    directions = ["i2t", "t2i"] if marker["direction"] == "both" else [marker["direction"]]
    claim_text = READING.sub("", sentence).replace(f"`{method}`", "", 1)
    for direction in directions:
        found = table[(table.method == method) & (table.bits == bits) & (table.direction == direction)]
        if found.empty:
            problems.append(f"{marker['file']}: no reading of {method} at {bits} bits {direction}")
            continue
        cell = found.iloc[0]
        lists = {name: {m.strip() for m in str(cell[name]).split(",") if m.strip()}
                 for name in ("above", "level", "below")}
        claims = list(CLAIM.finditer(claim_text))
        for claim, following in zip(claims, [*claims[1:], None]):
            named = re.findall(r"`([\w-]+)`", claim_text[claim.end():following.start() if following else None])
            wrong = [m for m in named if m not in lists[LIST_OF[claim[1]]]]
            if wrong or not named:
                problems.append(f"{method} {bits} bits {direction}: {claim[1]} {wrong or 'nothing named'}, "
                                f"the report has above {sorted(lists['above'])}, level {sorted(lists['level'])}, "
                                f"below {sorted(lists['below'])}: {where!r}")
        for rank in re.finditer(r"\branks (\d+) of (\d+)", claim_text):
            if (int(rank[1]), int(rank[2])) != (int(cell["rank"]), int(cell["of"])):
                problems.append(f"{method} {bits} bits {direction}: ranks {rank[1]} of {rank[2]}, the report has "
                                f"{cell['rank']} of {cell['of']}: {where!r}")
        if re.search(r"\bleads?\b", claim_text) and (int(cell["rank"]) != 1 or lists["below"]):
            problems.append(f"{method} {bits} bits {direction}: leads, the report has rank {cell['rank']} and "
                            f"below {sorted(lists['below'])}: {where!r}")
    return problems


def reading_mismatches(text: str, csv_dir: Path) -> list[str]:
    return [problem for sentence in sentences(text) for problem in check_sentence(sentence, csv_dir)]


@pytest.mark.parametrize("doc", ["docs/results.md", "README.md"])
def test_every_reading_is_the_reports(doc):
    """Every sentence of results.md and the README that ranks or places a method quotes the
    report's readings, and says no more than they do."""
    text = (ROOT / doc).read_text()
    assert reading_mismatches(text, DOCS["results.md"]) == []
    assert len(READING.findall(text)) >= 1


@pytest.mark.parametrize("edit", ["false above", "unmarked", "rank", "leads"])
def test_a_false_reading_is_caught(edit):
    """The check itself: a reading that the report does not make fails, and so does a reading
    sentence without a marker."""
    text = (ROOT / "docs" / "results.md").read_text()
    if edit == "false above":
        match = re.search(r"below (`[\w-]+`)", text)
        assert match, "results.md has no quoted 'below' to turn into 'above'"
        changed = text[:match.start()] + "above " + match[1] + text[match.end():]
    elif edit == "unmarked":
        changed = text + "\n\nOn the demo `sgrn` is above `djsrh`.\n"
    elif edit == "rank":
        match = re.search(r"ranks (\d+) of", text)
        assert match, "results.md has no quoted rank"
        changed = text[:match.start(1)] + str(int(match[1]) % 9 + 1) + text[match.end(1):]
    else:
        match = re.search(r"ranks (?!1 )\d+ of \d+", text)
        assert match, "results.md has no quoted rank other than 1"
        changed = text[:match.start()] + "leads, " + text[match.start():]
    assert reading_mismatches(changed, DOCS["results.md"]), f"the {edit} reading was not caught"


@pytest.mark.parametrize("folder", ["", "lengths", "grgr", "headline", "headline-lengths", "headline-per-length"])
def test_the_kept_readings_are_what_the_kept_csvs_give(folder):
    """The readings files kept beside an earlier report's CSVs are sgrn/workflow/readings.py's output on
    those CSVs (python -m sgrn.workflow.readings), not edited by hand."""
    from sgrn.workflow.readings import readings
    from sgrn.workflow.report import followers

    kept = DOCS["results.md"] / folder
    files = sorted(kept.glob("*_readings.csv"))
    assert files, f"no readings kept in {kept}"
    for path in files:
        dataset = path.name.removesuffix("_readings.csv")
        selection = kept / (f"{dataset}_selection.json" if folder else "selection.json")
        expected = readings(pd.read_csv(kept / f"{dataset}.csv"), pd.read_csv(kept / f"{dataset}_differences.csv"),
                            followers(json.loads(selection.read_text()))).astype(str)
        actual = pd.read_csv(path, keep_default_na=False).astype(str)
        pd.testing.assert_frame_equal(actual, expected, obj=str(path))


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
