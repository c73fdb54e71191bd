"""The clock (`app.clock`) is the only source of "now": read from the source, nothing else in
the application asks the machine for the date or time, in Python or in SQL. Durations and
deadlines (time.monotonic, time.perf_counter) are not "now" and stay allowed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import app

APP = Path(app.__file__).parent
CLOCK = APP / "clock.py"
# Where the real clock is made: the app's wiring, and the command line (which has no app).
WIRING = {APP / "main.py", APP / "cli" / "commands.py"}
# Not "now": version 7 UUIDs carry the machine's milliseconds only to sort ids in the order
# they were made; nothing reads a time back from an id.
NOT_NOW = {APP / "ids.py": {"time.time_ns"}}
_WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("func", "now"),
    ("func", "current_timestamp"),
    ("func", "current_date"),
    ("func", "localtimestamp"),
    ("func", "clock_timestamp"),
    ("func", "statement_timestamp"),
}
_SQL_NOW = re.compile(
    r"\b(now\s*\(\s*\)|current_timestamp|current_date|localtimestamp|clock_timestamp|"
    r"statement_timestamp|transaction_timestamp)",
    re.IGNORECASE,
)


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def wall_clock_reads(path: Path) -> list[str]:
    """Each place in this module that reads the machine's time, as `line: what`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and (_name(node.value), node.attr) in _WALL_CLOCK:
            found.append(f"{node.lineno}: {_name(node.value)}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            for alias in node.names:
                if (node.module, alias.name) in _WALL_CLOCK:
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _SQL_NOW.search(node.value):
                found.append(f"{node.lineno}: SQL {node.value.strip()[:60]!r}")
        elif (
            isinstance(node, ast.Call)
            and _name(node.func) == "Clock"
            and path not in WIRING | {CLOCK}
        ):
            found.append(f"{node.lineno}: a Clock() of its own")
    return found


def test_nothing_but_the_clock_reads_the_time() -> None:
    offenders = {
        str(path.relative_to(APP.parent)): reads
        for path in sorted(APP.rglob("*.py"))
        if path != CLOCK
        and (reads := wall_clock_reads(path))
        and {read.partition(": ")[2] for read in reads} != NOT_NOW.get(path)
    }
    assert offenders == {}, "use the app's clock (app.state.clock), passed down as `now`"


def test_the_check_finds_each_way_of_reading_the_time(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "import time\n"
        "from datetime import UTC, date, datetime\n"
        "from time import time as seconds\n"
        "a = datetime.now(UTC)\n"
        "b = datetime.utcnow()\n"
        "c = date.today()\n"
        "d = time.time()\n"
        "e = func.now()\n"
        "f = text('SELECT CURRENT_TIMESTAMP')\n"
        "g = Clock().now()\n"
        "h = time.monotonic()\n"  # a duration: allowed
    )
    assert [line.split(":")[0] for line in wall_clock_reads(module)] == [
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
    ]
