"""Schemathesis hooks, loaded by `.ci/schemathesis` (SCHEMATHESIS_HOOKS): generated requests
sometimes carry values a JSON Schema lets through but a database or the calendar may not.

A `string` admits NUL, which PostgreSQL cannot store in text or jsonb; a `date-time` admits
`9999-12-31T23:59:59-01:00`, whose UTC value does not exist, and a `date` admits
`9999-12-31`, where adding a day overflows. Schemathesis rarely generates these by itself,
so in about one generated body or query in three one string is replaced: a date-time by a
time at the edge of the calendar, a date by a day at its edge, any other text by the same
text with a NUL inside. The service must answer each with a 4xx (422 naming the field),
never a 5xx; the checks and the server log's tracebacks fail the run otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from hypothesis import strategies as st

EDGE_TIMES = [
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00Z",
]
EDGE_DAYS = ["9999-12-31", "0001-01-01"]
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Path = tuple[str | int, ...]


def _strings(value: Any, path: Path = ()) -> list[Path]:
    """Where the strings are in a generated body or query (dicts and lists, any depth)."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _strings(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _strings(item, (*path, index))]
    return []


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _replaced(value: Any, path: Path, new: str) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(copy[head], rest, new)  # type: ignore[index]
    return copy


def _poisoned(text: str) -> st.SearchStrategy[str]:
    if _DATE_TIME.match(text):
        return st.sampled_from(EDGE_TIMES)
    if _DATE.match(text):
        return st.sampled_from(EDGE_DAYS)
    return st.integers(0, len(text)).map(lambda at: f"{text[:at]}\x00{text[at:]}")


def _sometimes_poisoned(value: Any) -> st.SearchStrategy[Any]:
    paths = _strings(value)
    if not paths:
        return st.just(value)

    def poison(path: Path) -> st.SearchStrategy[Any]:
        return _poisoned(_get(value, path)).map(lambda new: _replaced(value, path, new))

    return st.integers(0, 2).flatmap(
        lambda roll: st.sampled_from(paths).flatmap(poison) if roll == 0 else st.just(value)
    )


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    return _sometimes_poisoned(body)


@schemathesis.hook
def flatmap_query(context: Any, query: Any) -> st.SearchStrategy[Any]:
    return _sometimes_poisoned(query)
