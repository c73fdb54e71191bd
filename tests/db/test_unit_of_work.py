"""The unit of work is the one thing a transaction hangs on its session."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
HOME = APP / "db" / "unit_of_work.py"


def _touches_info(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    # `x.info` read or written, as opposed to called (`logger.info(...)`).
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and n.attr == "info" and id(n) not in called
    ]


def test_only_the_unit_of_work_touches_session_info() -> None:
    """Actor, time, events and commit hooks travel in the unit of work, not loose keys."""
    found = {
        str(path.relative_to(APP.parent)): lines
        for path in sorted(APP.rglob("*.py"))
        if path != HOME and (lines := _touches_info(path))
    }
    assert found == {}
    assert _touches_info(HOME)  # the check sees what it looks for
