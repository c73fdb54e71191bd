"""Reading an import file: a CSV whose headings are the bulk upsert's field names.

Everything that can be checked without the database is checked here, for the whole file,
before a job exists: the encoding, the headings, the number of rows, and every row through
the same schema the bulk upsert endpoint uses. Row numbers are those a spreadsheet shows
(the heading row is row 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from app.bulk.service import Outcome, validate_items
from app.candidates.schemas import CandidateUpsert
from app.clients.schemas import ClientUpsert
from app.errors import FieldError, ValidationFailed
from app.interviews.schemas import InterviewUpsert, Person

ImportKind = Literal["clients", "candidates", "interviews"]
KINDS: tuple[ImportKind, ...] = ("clients", "candidates", "interviews")

_SCHEMAS: dict[ImportKind, type[BaseModel]] = {
    "clients": ClientUpsert,
    "candidates": CandidateUpsert,
    "interviews": InterviewUpsert,
}
_ADAPTERS: dict[ImportKind, TypeAdapter[Any]] = {k: TypeAdapter(s) for k, s in _SCHEMAS.items()}
_CONTACT = tuple(f"point_of_contact_{name}" for name in Person.model_fields)
# Columns that hold a person's details: their values never appear in an error message.
_PERSONAL = frozenset(
    {"full_name", "email", "phone", "linkedin_url", "name", "interviewers", *_CONTACT}
)
# Reported in a problem document or a job; the count says how many there were in all.
MAX_REPORTED_ERRORS = 100


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class ImportRow:
    row: int
    item: dict[str, Any]
    # The cells of personal columns, to keep out of messages (held in memory only).
    personal: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportFile:
    kind: ImportKind
    rows: list[ImportRow]


def columns(kind: ImportKind) -> list[str]:
    """The headings a file of this kind may use (`external_id` is required)."""
    names = list(_SCHEMAS[kind].model_fields)
    if kind != "interviews":
        return names
    return [*(n for n in names if n != "point_of_contact"), *_CONTACT]


def column_of(kind: ImportKind, field: str) -> str:
    """The column a schema field's error belongs to (`point_of_contact.email` is in
    `point_of_contact_email`, `interviewers.2.name` in `interviewers`)."""
    parts = field.split(".")
    if kind == "interviews" and parts[0] == "point_of_contact" and len(parts) > 1:
        return f"point_of_contact_{parts[1]}"
    return parts[0]


def without_values(message: str, row: ImportRow) -> str:
    """The message with any personal cell of its row taken out."""
    for value in row.personal:
        if len(value) >= 3:
            message = message.replace(value, "…")
    return message


class BadFile(ValidationFailed):
    """A file refused whole, before any job exists: `rows` lists its rows at fault (none when
    the file itself is at fault: its encoding, headings, size)."""

    def __init__(
        self, detail: str, *, errors: list[FieldError], rows: list[RowError] | None = None
    ) -> None:
        super().__init__(detail, errors=errors)
        self.rows = rows or []


def refused(kind: ImportKind, errors: list[RowError], rows: int) -> BadFile:
    """The 422 for a file with bad rows: `file.<row>.<column>` for each, the first 100."""
    bad_rows = len({e.row for e in errors})
    listed = "" if len(errors) <= MAX_REPORTED_ERRORS else f" (the first {MAX_REPORTED_ERRORS})"
    fields = [
        FieldError(
            field=".".join(str(p) for p in ("file", e.row, e.field) if p != ""),
            location="body",
            message=e.message,
            type="value_error",
        )
        for e in errors[:MAX_REPORTED_ERRORS]
    ]
    return BadFile(
        f"{bad_rows} of {rows} rows of this {kind} file are not valid{listed}; nothing was "
        "imported.",
        errors=fields,
        rows=errors,
    )


def _file_error(message: str) -> BadFile:
    error = FieldError(field="file", location="body", message=message, type="value_error")
    return BadFile(f"file: {message}", errors=[error])


def _text(content: bytes) -> str:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error(
            "is not UTF-8 text; save the spreadsheet as 'CSV UTF-8 (comma delimited)'"
        ) from None
    if "\x00" in text:
        raise _file_error("contains a NUL character: is it a CSV file?")
    if not text.strip():
        raise _file_error("is empty")
    return text


def _item(kind: ImportKind, cells: dict[str, str]) -> dict[str, Any]:
    """One row as a bulk upsert item; empty cells are left out (the field is not sent)."""
    item: dict[str, Any] = {}
    for name, raw in cells.items():
        text = raw.strip()
        if not text:
            continue
        if kind == "interviews" and name == "interviewers":
            item[name] = [{"name": person.strip()} for person in text.split(";") if person.strip()]
        elif kind == "interviews" and name in _CONTACT:
            key = name.removeprefix("point_of_contact_")
            item.setdefault("point_of_contact", {})[key] = text
        else:
            item[name] = text
    return item


def _records(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        headings = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise _file_error(f"its heading row cannot be read as CSV ({exc})") from None

    def records() -> Iterator[tuple[int, list[str]]]:
        row = 1
        while True:
            row += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _file_error(f"row {row} cannot be read as CSV ({exc})") from None
            yield row, cells

    return headings, records()


def _check_headings(kind: ImportKind, headings: list[str]) -> None:
    allowed = columns(kind)
    unknown = [h for h in headings if h not in allowed]
    repeated = sorted({h for h in headings if headings.count(h) > 1})
    if unknown or repeated or "external_id" not in headings:
        if unknown:
            problem = f"unknown columns: {', '.join(h or '(empty)' for h in unknown)}"
        elif repeated:
            problem = f"repeated columns: {', '.join(repeated)}"
        else:
            problem = "no external_id column"
        raise _file_error(f"{problem}. The columns of a {kind} file: {', '.join(allowed)}")


def read_csv(kind: ImportKind, content: bytes, *, max_rows: int | None = None) -> ImportFile:
    """The file's rows as bulk upsert items, each valid for its schema; or a 422 naming every
    row at fault (and nothing else happens)."""
    headings, records = _records(_text(content))
    _check_headings(kind, headings)
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    count = 0
    for row, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # spreadsheets end with empty rows
        count += 1
        if max_rows is not None and count > max_rows:
            raise _file_error(f"has more than {max_rows} rows; split it into several files")
        if len(cells) > len(headings):
            errors.append(RowError(row, "", "has more cells than the heading row"))
            continue
        named = dict(zip(headings, cells, strict=False))
        personal = tuple(v.strip() for k, v in named.items() if k in _PERSONAL and v.strip())
        item = _item(kind, named)
        external_id = str(item.get("external_id", ""))
        if external_id in first_row:
            errors.append(RowError(row, "external_id", f"repeats row {first_row[external_id]}"))
            continue
        if external_id:
            first_row[external_id] = row
        rows.append(ImportRow(row, item, personal))
    if not count:
        raise _file_error("has a heading row but no rows")
    errors += schema_errors(kind, rows)
    if errors:
        raise refused(kind, sorted(errors, key=lambda e: e.row), count)
    return ImportFile(kind, rows)


def schema_errors(kind: ImportKind, rows: list[ImportRow]) -> list[RowError]:
    """Each row through the bulk upsert's own schema."""
    outcome = Outcome(len(rows))
    validate_items([r.item for r in rows], _ADAPTERS[kind], outcome)
    return list(row_errors(kind, rows, outcome.results.values()))


def row_errors(
    kind: ImportKind, rows: list[ImportRow], results: Iterable[Any]
) -> Iterator[RowError]:
    """The refused items of bulk results (`ItemResult`s, indexed as `rows`) as row errors."""
    for result in results:
        if result.status != "error" or result.error is None:
            continue
        row = rows[result.index]
        for error in result.error.errors or [None]:
            field = column_of(kind, error.field) if error is not None else ""
            message = error.message if error is not None else result.error.detail
            yield RowError(row.row, field, without_values(message, row))
