"""The recruiters' overdue queue (`GET /v1/debriefs/overdue`) and the table that keeps it ready.

`debrief_queue` holds a row per overdue debrief call with what the page shows (the follow-up's due
time and reminders, the candidate's name, phone and owner, the job title, the interview's end,
the client's name), so a page is one index range scan. docs/architecture.md ("The overdue
queue") has the rules; in short:

- There is a row exactly for each `debrief_call` follow-up whose status is `overdue`, and it equals
  the join of that follow-up with its candidate, interview and client.
- The code that changes any of those writes the rows in the same transaction, by calling
  this module after its change is flushed: the follow-ups' service and sweep
  (`follow_ups_changed`, `follow_ups_flagged`) and the candidates, interviews and clients services
  (`candidates_changed`, `interviews_changed`, `clients_changed`).
- A row is written only while its follow-up's row is locked by the writing transaction, from a
  statement begun after the lock was taken. Follow-up writers hold it already; the others lock
  the interviews of what they changed (so no call is opened meanwhile), then their open
  calls, in id order, waiting for a follow-up's writer to commit (`_rewrite`). Two writers of a
  row thus run one after the other on PostgreSQL, and the second reads what the first
  committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.queries import Row, parse_time_cursor, time_cursor
from app.db.stamps import read_stamp
from app.debrief_queue import repository
from app.models import FollowUp

STAMP = repository.STAMP  # the queue's name among the read models (app/db/stamps.py)

# What the rows show of each object: a change to anything else leaves them alone.
CANDIDATE_FIELDS = frozenset({"full_name", "phone", "owner_id"})
INTERVIEW_FIELDS = frozenset({"job_title", "ends_at"})
CLIENT_FIELDS = frozenset({"name"})

# ---------------------------------------------------------------------------- writing


async def follow_ups_changed(
    session: AsyncSession,
    follow_ups: Iterable[FollowUp],
    *,
    were_overdue: Collection[uuid.UUID] | None = None,
) -> None:
    """After closing, re-dating or reminding these follow-ups (flushed, so this transaction
    holds their rows): their rows deleted, and written again for those still overdue.
    `were_overdue`, from a caller that knows it, holds which of them were overdue before the
    change: only those have a row (rule 1), so a call closed on time costs no statement."""
    calls = [follow_up for follow_up in follow_ups if follow_up.kind == "debrief_call"]
    await repository.write_rows(
        session,
        dropped=[c.id for c in calls if were_overdue is None or c.id in were_overdue],
        written=[c.id for c in calls if c.status == "overdue"],
    )


async def calls_closed(session: AsyncSession, overdue: Collection[uuid.UUID]) -> None:
    """After closing debrief calls of which `overdue` were overdue: their rows deleted."""
    await repository.write_rows(session, dropped=overdue, written=())


async def follow_ups_flagged(session: AsyncSession, now: datetime) -> None:
    """After the sweep flagged follow-ups overdue at `now` (one statement for them all)."""
    await repository.insert_flagged(session, now)


async def candidates_changed(
    session: AsyncSession, ids: Collection[uuid.UUID], changed: Collection[str] | None = None
) -> None:
    """After changing these candidates (flushed; `changed`: the fields, if known)."""
    if ids and (changed is None or CANDIDATE_FIELDS.intersection(changed)):
        await _rewrite(session, repository.interviews_of_candidates(session, ids))


async def interviews_changed(
    session: AsyncSession, ids: Collection[uuid.UUID], changed: Collection[str] | None = None
) -> None:
    """After changing these interviews (flushed; `changed`: the fields, if known)."""
    if ids and (changed is None or INTERVIEW_FIELDS.intersection(changed)):
        await _rewrite(session, repository.interviews(session, ids))


async def clients_changed(
    session: AsyncSession, ids: Collection[uuid.UUID], changed: Collection[str] | None = None
) -> None:
    """After changing these clients (flushed; `changed`: the fields, if known)."""
    if ids and (changed is None or CLIENT_FIELDS.intersection(changed)):
        await _rewrite(session, repository.interviews_of_clients(session, ids))


async def _rewrite(session: AsyncSession, interviews: ColumnElement[bool]) -> None:
    """Lock these interviews (waiting for a writer that may open their follow-ups), then their
    open debrief calls (waiting for a follow-up's writer), then write the calls' rows again from
    what is committed now, this transaction's changes included."""
    held = await repository.lock_interviews(session, interviews)
    if held:
        calls = await repository.lock_open_calls(session, repository.calls_of(session, held))
        await repository.write_rows(session, dropped=calls, written=calls)


async def rebuild(session: AsyncSession) -> int:
    """Every row written again from the tables, for after they were changed outside the
    service (a hand-written SQL fix, a restore); how many rows there are."""
    await repository.lock_open_calls(session, true())
    return await repository.rebuild(session)


# ---------------------------------------------------------------------------- reading


async def stamp(db: Database) -> int | None:
    """The queue's stamp as committed now: a page read after it and kept may be answered
    again while it holds (app/db/stamps.py); None when there is none to keep pages by."""
    return await read_stamp(db, repository.STAMP)


async def forget_changed_pages(db: Database) -> None:
    """Drop the queue pages this process keeps if the queue changed since (each process's
    sweep tick calls it): a replica nobody asks for the queue does not keep what a change
    replaced, such as an erased person's name, past the next minute."""
    db.pages.check(STAMP, await stamp(db))


async def overdue_page(
    db: Database,
    *,
    owner_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Row], str | None]:
    """A page of the queue's rows, most overdue first, and the cursor of the next page.
    `app/followups/queue.py` turns them into the page a recruiter sees."""
    query = repository.overdue_page(
        by_owner=owner_id is not None, by_client=client_id is not None, after=bool(cursor)
    ).limited(limit + 1)
    params: dict[str, object] = {"owner_id": owner_id, "client_id": client_id}
    if cursor:
        params["after_at"], params["after_id"] = parse_time_cursor(cursor)
    rows = await query.rows(db, **params)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, time_cursor(rows[-1]["due_at"], rows[-1]["follow_up_id"])
