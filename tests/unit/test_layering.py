"""The package's rooms import only the rooms below them (the README's Architecture section is the map).

Every `import` / `from ... import` in every module is read from its syntax tree, including imports inside
functions and under `TYPE_CHECKING`: a hidden upward import is still an upward import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "lib" / "thresher"

# The bottom floor: shared by everything, importing nothing of thresher but itself and these.
FLOOR = {"thresher", "thresher.core", "thresher.schema", "thresher.errors", "thresher.arrow_types"}
# The library rooms, lowest first; each may import the floor, `thresher.spark` (session helpers), itself and
# the rooms listed for it.
LIBRARIES = {
    "thresher.text": set(),
    "thresher.io": {"thresher.text"},
    "thresher.dedup": {"thresher.text", "thresher.io"},
    "thresher.models": {"thresher.text", "thresher.io"},
    "thresher.select": {"thresher.text", "thresher.io", "thresher.models"},
}


def _room(module: str) -> str:
    """`thresher.dedup.lsh` -> `thresher.dedup`; top-level modules (`thresher.runner`) are their own room."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    return _imports_of_source(path.read_text(encoding="utf-8"), package)


def _imports_of_source(source: str, package: str) -> set[str]:
    """The thresher modules a module of `package` with this source imports (relative imports resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            if name == "thresher":  # `from thresher import stages` imports a room
                found.update(f"thresher.{a.name}" for a in node.names if _is_module(a.name))
    return {name for name in found if name == "thresher" or name.startswith("thresher.")}


def _is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def _modules_of(room: str) -> list[Path]:
    folder = PACKAGE / room.split(".", 1)[1]
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]


def _allowed(name: str, allowed_rooms: set[str]) -> bool:
    if name == "thresher":
        return True
    return _room(name) in allowed_rooms or name in FLOOR


def _violations(room: str, allowed_rooms: set[str]) -> list[str]:
    return [
        f"{path.relative_to(PROJECT_ROOT)} imports {name}"
        for path in _modules_of(room)
        for name in sorted(_imports(path))
        if not _allowed(name, allowed_rooms)
    ]


def test_the_core_imports_nothing_above_it():
    assert _violations("thresher.core", {"thresher.core", "thresher.schema", "thresher.errors"}) == []


@pytest.mark.parametrize("room", sorted(LIBRARIES))
def test_a_library_room_imports_only_the_floor_and_the_rooms_below_it(room: str):
    allowed = {room, "thresher.core", "thresher.spark", *LIBRARIES[room]}
    assert _violations(room, allowed) == []


def test_the_checker_sees_upward_imports():
    """The tests above cannot pass vacuously: upward imports hidden in a function, under TYPE_CHECKING or
    relative are all found and refused."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from thresher.stages.base import StageContext\n"
        "def f():\n    from ..runner import Runner\n    from thresher import stats\n"
    )
    names = _imports_of_source(source, "thresher.dedup")
    assert {"thresher.stages.base", "thresher.runner", "thresher.stats"} <= names
    allowed = {"thresher.dedup", "thresher.core", *LIBRARIES["thresher.dedup"]}
    assert [n for n in sorted(names) if not _allowed(n, allowed)] == [
        "thresher.runner",
        "thresher.stages.base",
        "thresher.stats",
    ]
