"""The package's rooms (sgrn/__init__.py): a module imports only from its own room or one listed
before it, so that no import runs from a lower room to a higher one, nor both ways between two."""
import ast
from pathlib import Path

import sgrn

PACKAGE = Path(sgrn.__file__).parent
ROOMS = ["data", "features", "files", "hparams", "graphs", "methods", "settings", "retrieval", "training",
         "workflow", "cli", "query", "__main__"]
"""Lowest first; a room is a subpackage or a top-level module of sgrn/."""


def room_of(dotted: str) -> str:
    parts = dotted.split(".")
    assert parts[0] == "sgrn"
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "sgrn")
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "sgrn":
            if node.module == "sgrn":
                names.update(f"sgrn.{a.name}" for a in node.names)
            else:
                names.add(node.module)
    return names


def test_the_rooms_listed_are_the_package_s_contents():
    present = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert present == set(ROOMS)


def test_no_import_runs_from_a_lower_room_to_a_higher_one():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        dotted = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        mine = room_of(dotted)
        if mine == "__init__":
            continue
        for name in imports(path):
            theirs = room_of(name)
            if ROOMS.index(theirs) > ROOMS.index(mine):
                upward.append(f"{path.relative_to(PACKAGE.parent)} ({mine}) imports {name} ({theirs})")
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from sgrn.training.nets import encode\n")
    assert imports(module) == {"sgrn.training.nets"}
    assert ROOMS.index(room_of("sgrn.training.nets")) > ROOMS.index("retrieval")
