"""Importing candidates or interviews from a spreadsheet (CSV), through the bulk upserts.

Rows are sent in chunks with `atomic=false`, each chunk in its own transaction: a bad row is
reported with its line number and the reason, and never stops or spoils the others.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from app.candidates.schemas import CandidateUpsert
from app.candidates.service import upsert_candidates
from app.config import Settings
from app.db.engine import Database
from app.db.transaction import transaction
from app.interviews.schemas import InterviewUpsert
from app.interviews.service import upsert_interviews
from app.schemas.fields import phones_read_in

Kind = Literal["candidates", "interviews"]
CHUNK = 500
ACTOR = "import"
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_CONTACT = ("point_of_contact_name", "point_of_contact_email", "point_of_contact_phone")


def columns(kind: Kind) -> list[str]:
    """The column headings a file of this kind may use."""
    if kind == "candidates":
        return list(CandidateUpsert.model_fields)
    names = [n for n in InterviewUpsert.model_fields if n != "point_of_contact"]
    return [*names, *_CONTACT]


@dataclass
class Report:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return text


def _item(kind: Kind, row: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, raw in row.items():
        text = (raw or "").strip()
        if not text:
            continue
        if name == "job_search_active":
            item[name] = _value(text)
        elif name == "interviewers":
            item[name] = [{"name": person.strip()} for person in text.split(";") if person.strip()]
        elif name in _CONTACT:
            item.setdefault("point_of_contact", {})[name.removeprefix("point_of_contact_")] = text
        else:
            item[name] = text
    return item


def read(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The headings, and each row with its line number in the file."""
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.DictReader(handle)
    headings = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = headings

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with handle:
            for row in reader:
                yield reader.line_num, {k: v for k, v in row.items() if k is not None}

    return headings, rows()


def unknown_columns(kind: Kind, headings: list[str]) -> list[str]:
    allowed = set(columns(kind))
    return [h for h in headings if h not in allowed]


Outcome = tuple[str, str | None]  # (created|updated|unchanged|error, why it was refused)


async def _upsert(
    db: Database, settings: Settings, kind: Kind, items: list[dict[str, Any]], now: datetime
) -> list[Outcome]:
    with phones_read_in(settings.default_phone_region):
        async with transaction(db, now=now, actor=ACTOR) as session:
            if kind == "candidates":
                out = await upsert_candidates(
                    session=session, settings=settings, items=items, atomic=False, now=now
                )
            else:
                out = await upsert_interviews(
                    session=session,
                    settings=settings,
                    items=items,
                    atomic=False,
                    actor=ACTOR,
                    now=now,
                )
    return [(r.status, r.error.detail if r.error else None) for r in out.results]


async def import_rows(
    db: Database,
    settings: Settings,
    kind: Kind,
    rows: Iterator[tuple[int, dict[str, str]]],
    *,
    clock: Callable[[], datetime],
    progress: Callable[[int], None] = lambda _: None,
) -> Report:
    """Upsert every row; rows refused are listed with their line and reason."""
    report = Report()
    chunk: list[tuple[int, dict[str, Any]]] = []

    async def flush() -> None:
        items = [item for _, item in chunk]
        try:
            outcomes = await _upsert(db, settings, kind, items, clock())
        except Exception:  # the database refused the chunk as a whole: try its rows one by one
            outcomes = []
            for item in items:
                try:
                    outcomes.extend(await _upsert(db, settings, kind, [item], clock()))
                except Exception as exc:
                    outcomes.append(("error", f"{type(exc).__name__}: {exc}"))
        for (line, _), (status, why) in zip(chunk, outcomes, strict=True):
            if status == "error":
                report.rejected.append((line, why or "refused"))
            else:
                setattr(report, status, getattr(report, status) + 1)
        progress(len(chunk))
        chunk.clear()

    for line, row in rows:
        report.rows += 1
        chunk.append((line, _item(kind, row)))
        if len(chunk) >= CHUNK:
            await flush()
    if chunk:
        await flush()
    return report
