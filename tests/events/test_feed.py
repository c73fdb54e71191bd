"""The event feed: every change's events, in commit order, never a rolled-back one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select, text

from app.audit import service as audit
from app.db.engine import Database
from app.db.transaction import transaction
from app.db.unit_of_work import unit_of_work
from app.events import service as events
from app.ids import request_id, uuid7
from app.models import AuditEntry, Candidate, Event
from tests.conftest import T0, ClientMaker
from tests.factories import create_candidate, create_interview, patch_current
from tests.followups.helpers import all_events
from tests.test_conventions import assert_problem


async def test_changes_write_events_in_order(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin, external_id="crm-1")
    await patch_current(admin, f"/v1/candidates/{candidate['id']}", {"status": "placed"})
    interview = await create_interview(
        admin, starts_at=T0 + timedelta(days=1), candidate_id=candidate["id"]
    )
    await patch_current(admin, f"/v1/interviews/{interview['id']}", {"status": "cancelled"})
    events = await all_events(admin)
    assert [e["type"] for e in events] == [
        "candidate.created",
        "candidate.updated",
        "interview.scheduled",
        "interview.updated",
        "interview.cancelled",
    ]
    assert events[0]["data"]["candidate"]["external_id"] == "crm-1"
    assert events[1]["data"]["changed"] == ["status"]
    assert events[3]["data"]["changed"] == ["status"]
    assert all(e["occurred_at"] == "2026-03-04T10:00:00Z" for e in events)
    assert len({e["id"] for e in events}) == 5


async def test_a_refused_change_writes_no_event(admin: httpx.AsyncClient) -> None:
    await create_candidate(admin, external_id="crm-1")
    assert_problem(
        await admin.post("/v1/candidates", json={"full_name": "Dup", "external_id": "crm-1"}), 409
    )
    assert_problem(await admin.post("/v1/interviews", json={"job_title": "x"}), 422)
    assert [e["type"] for e in await all_events(admin)] == ["candidate.created"]


async def test_feed_filters_by_type_and_time_and_pages(admin: httpx.AsyncClient) -> None:
    for i in range(3):
        await create_candidate(admin, full_name=f"P{i}")
    only = (await admin.get("/v1/events", params={"type": "candidate.updated"})).json()
    assert only["items"] == []
    first = (await admin.get("/v1/events", params={"limit": 2})).json()
    assert first["has_more"] is True
    rest = (
        await admin.get("/v1/events", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    names = [e["data"]["candidate"]["full_name"] for e in first["items"] + rest["items"]]
    assert names == ["P0", "P1", "P2"]
    assert rest["has_more"] is False
    # The cursor keeps its place: polling it later brings only what is new.
    caught_up = (await admin.get("/v1/events", params={"cursor": rest["next_cursor"]})).json()
    assert (caught_up["items"], caught_up["next_cursor"]) == ([], rest["next_cursor"])
    await create_candidate(admin, full_name="P3")
    newer = (await admin.get("/v1/events", params={"cursor": rest["next_cursor"]})).json()
    assert [e["data"]["candidate"]["full_name"] for e in newer["items"]] == ["P3"]
    later = (await admin.get("/v1/events", params={"since": "2026-03-04T10:00:01Z"})).json()
    assert later["items"] == []
    assert_problem(await admin.get("/v1/events", params={"type": "candidate.eaten"}), 422)


async def test_recruiters_do_not_read_the_feed(
    recruiter: httpx.AsyncClient, integration: httpx.AsyncClient
) -> None:
    assert_problem(await recruiter.get("/v1/events"), 403)
    assert (await integration.get("/v1/events")).status_code == 200


async def test_a_poller_following_the_cursor_misses_nothing_while_writers_commit(
    client_for: ClientMaker,
) -> None:
    """Writers commit concurrently while a CRM polls: every event is seen, once, in order."""
    poller = await client_for("integration")
    writers = [await client_for("integration") for _ in range(4)]
    done = asyncio.Event()

    async def write(client: httpx.AsyncClient, n: int) -> None:
        for i in range(25):
            await client.post("/v1/candidates", json={"full_name": f"W{n}-{i}"})

    seen: list[str] = []

    async def poll() -> None:
        cursor = None
        while True:
            finished = done.is_set()
            params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
            page = (await poller.get("/v1/events", params=params)).json()
            seen.extend(e["id"] for e in page["items"])
            cursor = page["next_cursor"]
            if finished and not page["has_more"]:
                return
            await asyncio.sleep(0)

    async def writers_then_done() -> None:
        await asyncio.gather(*(write(c, n) for n, c in enumerate(writers)))
        done.set()

    await asyncio.gather(poll(), writers_then_done())
    everything = [e["id"] for e in await all_events(poller)]
    assert len(everything) == 100
    assert seen == everything


@pytest.mark.postgres
async def test_events_are_written_under_the_feed_order_lock_in_the_order_recorded(
    db: Database,
) -> None:
    """The lock that keeps `seq` in commit order is held from the rows' insert to COMMIT, and
    a transaction's events take their `seq` in the order they were recorded."""
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    held = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = 0 AND objid = :key AND objsubid = 1"
    )
    recorded = []
    async with transaction(db, now=now) as session:
        for n in range(3):
            data = {"candidate_id": str(uuid7()), "n": n}
            recorded.append(events.record(session, "candidate.updated", data, now=now))
        work = unit_of_work(session)
        for hook in work.pre_commit:  # what COMMIT runs first: the rows are written
            await hook(session)
        work.pre_commit.clear()
        async with db.reading() as other:
            lock = await other.execute(held, {"key": events.EVENT_ORDER_LOCK})
            assert lock.scalar_one() == 1
    async with db.reading() as other:
        assert (await other.execute(held, {"key": events.EVENT_ORDER_LOCK})).scalar_one() == 0
        rows = await other.execute(
            select(Event.id, Event.data).where(Event.id.in_(recorded)).order_by(Event.seq)
        )
        assert [(r.id, r.data["n"]) for r in rows] == list(zip(recorded, range(3), strict=True))


async def test_events_and_audit_rows_are_stored_exactly_as_recorded(db: Database) -> None:
    """What the outbox writes (on PostgreSQL as two JSON documents the server unpacks) is
    what was recorded: nested data, text beyond ASCII, large and decimal numbers, nulls, a
    time's microseconds and its instant whatever its offset; a batch keeps its order."""
    now = datetime(2026, 3, 2, 11, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    subject = str(uuid7())
    payloads = [
        {"candidate_id": subject, "name": 'Zoë Ødegård 😀 "quoted" \\ back', "n": 0},
        {"nested": {"list": [1, 2.5, None, True, "x"]}, "big": 2**53 + 1, "n": 1},
        {"candidate_id": None, "empty": {}, "n": 2},
    ] + [{"candidate_id": subject, "n": n} for n in range(3, 300)]
    token = request_id.set("req-outbox-1")
    try:
        async with transaction(db, now=now) as session:
            unit_of_work(session).actor = "key:tester"
            recorded = [events.record(session, "candidate.updated", p, now=now) for p in payloads]
            await audit.record_many(
                session, Candidate, "update", [(subject, ["full_name", "email"]), (subject, [])]
            )
    finally:
        request_id.reset(token)
    async with db.reading() as conn:
        rows = (
            await conn.execute(
                select(Event.id, Event.data, Event.occurred_at, Event.candidate_id)
                .where(Event.id.in_(recorded))
                .order_by(Event.seq)
            )
        ).all()
        entries = (
            await conn.execute(
                select(
                    AuditEntry.occurred_at,
                    AuditEntry.fields,
                    AuditEntry.object_type,
                    AuditEntry.object_id,
                    AuditEntry.actor,
                    AuditEntry.action,
                    AuditEntry.request_id,
                )
                .where(AuditEntry.object_id == subject)
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [r.id for r in rows] == recorded
    assert [r.data for r in rows] == payloads
    assert {r.occurred_at for r in rows} == {now}
    assert rows[0].occurred_at.microsecond == 123456
    assert [r.candidate_id for r in rows[:3]] == [uuid.UUID(subject), None, None]
    assert [tuple(e) for e in entries] == [
        (now, ["email", "full_name"], "candidate", subject, "key:tester", "update", "req-outbox-1"),
        (now, [], "candidate", subject, "key:tester", "update", "req-outbox-1"),
    ]
