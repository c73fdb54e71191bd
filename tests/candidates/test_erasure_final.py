"""Erasure leaves nothing and stays done: after it no table, dump or file holds anything the
person told us or we wrote about them, their old links open nothing, and every later write
about them is refused with a problem saying they were erased."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import inspect, text

from app.clock import FrozenClock
from app.db.engine import Database
from app.webhooks.delivery import Deliverer
from tests.conftest import T0, KeyMaker, client_of
from tests.debriefs.test_links import csrf_of
from tests.factories import (
    create_client,
    create_employer_feedback,
    create_interview,
    create_staff,
    patch_current,
)
from tests.followups.helpers import all_events, follow_ups, sweep
from tests.imports.helpers import finished, upload
from tests.test_conventions import assert_problem
from tests.webhooks.receiver import Receiver

NAME = "Philippa Marchbanks-Oyelaran"
EMAIL = "p.marchbanks@inbox-example.co.uk"
PHONE_TYPED, PHONE = "07812 345678", "+447812345678"
CRM_ID = "pmo-crm-5521"
# Free text the person gave or staff wrote about them, each phrase found nowhere else.
WAIVER = "Philippa asked us not to chase Harrowgate Foods after her divorce"
WENT_WELL = "Talked through the Quillon consolidation project"
NOTES = "Mentioned a tribunal with her last employer"
NEXT_STEP = "Ring her mobile after the school run"
FEEDBACK = "Struggled with the Varnholt reconciliation case"
FORM_TEXT = "Sent after erasure through an old link"
SECRETS = (
    NAME,
    "Philippa",
    "Marchbanks",
    "Oyelaran",
    EMAIL,
    PHONE,
    PHONE_TYPED,
    "7812345678",
    CRM_ID,
    WAIVER,
    WENT_WELL,
    "Quillon",
    NOTES,
    NEXT_STEP,
    FEEDBACK,
    "Varnholt",
    FORM_TEXT,
)
ERASED = "https://debrief.dev/problems/candidate-erased"


class EchoingReceiver(Receiver):
    """A receiver whose answer repeats what it was sent (as some do), so the delivery log's
    response excerpts hold the payload too."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen = b""

        async def receive_and_keep() -> Any:
            nonlocal seen
            message = await receive()
            seen += message.get("body", b"")
            return message

        async def answer_with_it(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k != b"content-length"]
                headers.append((b"content-length", str(len(seen)).encode()))
                message = {**message, "headers": headers}
            if message["type"] == "http.response.body":
                message = {**message, "body": seen}
            await send(message)

        await super().__call__(scope, receive_and_keep, answer_with_it)


@pytest.fixture
async def receiver(clock: FrozenClock) -> AsyncIterator[EchoingReceiver]:
    server = EchoingReceiver(answer=200, clock=clock)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def staff(hooks_app: FastAPI, make_key: KeyMaker) -> AsyncIterator[httpx.AsyncClient]:
    """An admin of the replica that delivers webhooks."""
    async with client_of(hooks_app, await make_key("admin")) as client:
        yield client


@pytest.fixture
def deliverer(hooks_app: FastAPI) -> Deliverer:
    deliverer: Deliverer = hooks_app.state.deliverer
    deliverer.jitter = lambda: 1.0
    return deliverer


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def _everything_about_them(
    admin: httpx.AsyncClient,
    clock: FrozenClock,
    receiver: Receiver,
    deliverer: Deliverer,
) -> dict[str, Any]:
    """One person with every kind of data: candidate, interview text, a debrief, a waived
    follow-up with its reason, employer feedback, an unused link, stored idempotent answers,
    webhooks delivered to a real receiver (that echoes them back), audit entries, an import
    of their row that was refused, the email written to them and the alert to their recruiter
    about them."""
    hook = _ok(await admin.post("/v1/webhooks", json={"url": receiver.url}))
    receiver.secrets = [hook["secret"]]
    owner = await create_staff(admin, full_name="Rosa Recruiter")
    candidate = _ok(
        await admin.post(
            "/v1/candidates",
            json={
                "full_name": NAME,
                "email": EMAIL,
                "phone": PHONE_TYPED,
                "external_id": CRM_ID,
                "linkedin_url": "https://www.linkedin.com/in/philippa-marchbanks-oyelaran",
                "timezone": "Europe/London",
                "owner_id": owner["id"],
            },
            headers={"Idempotency-Key": "erase-me-create"},
        )
    )
    assert candidate["phone"] == PHONE
    interview = await create_interview(
        admin,
        starts_at=T0 - timedelta(hours=3),
        candidate_id=candidate["id"],
        next_step=NEXT_STEP,
    )
    _ok(
        await admin.post(
            f"/v1/interviews/{interview['id']}/debrief",
            json={
                "channel": "phone",
                "went_well": WENT_WELL,
                "notes": NOTES,
                "challenging_questions": [f"Why is {NAME} leaving?"],
                "still_interested": "no",  # their recruiter is told at once, by name
            },
            headers={"Idempotency-Key": "erase-me-debrief"},
        )
    )
    feedback = _ok(
        await admin.post(
            f"/v1/interviews/{interview['id']}/employer-feedback",
            json={"outcome": "rejected", "improvements": FEEDBACK},
            headers={"Idempotency-Key": "erase-me-feedback"},
        )
    )
    thank_you = (await follow_ups(admin, interview_id=interview["id"]))["thank_you_note"]
    _ok(await admin.post(f"/v1/follow-ups/{thank_you['id']}/waive", json={"reason": WAIVER}))
    link = _ok(await admin.post(f"/v1/interviews/{interview['id']}/debrief-links"))
    nobody = "01a23f1e-22d8-729c-9279-5154130b85ae"
    sheet = f"external_id,full_name,email,owner_id\n{CRM_ID},{NAME},{EMAIL},{nobody}\n"
    refused = await finished(admin, (await upload(admin, "candidates", sheet)).json()["id"])
    assert refused["errors"] == [
        {"row": 2, "field": "owner_id", "message": "no staff member has this id"}
    ]
    clock.advance(timedelta(minutes=5))
    await sweep(admin)
    while await deliverer.run_once():
        pass
    waived = [r.body for r in receiver.received if r.body["type"] == "follow_up.waived"]
    assert waived
    assert waived[0]["data"]["follow_up"]["waived_reason"] == WAIVER
    return {
        "candidate": candidate,
        "interview": interview,
        "feedback": feedback,
        "hook": hook,
        "token": link["url"].rsplit("/", 1)[1],
        "thank_you": thank_you,
    }


async def _rows_by_table(db: Database) -> dict[str, str]:
    """Every row of every table in the database (not only the ones the models know), as
    text, by table."""
    found: dict[str, str] = {}
    async with db.read_engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        for name in names:
            rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
            found[name] = "\n".join(repr(tuple(row)) for row in rows)
    return found


def _sqlite_path(database_url: str) -> Path:
    return Path(database_url.split("///", 1)[1])


def _full_dump(db: Database, database_url: str) -> str:
    """The whole database as a dump tool writes it: SQLite's iterdump; pg_dump on
    PostgreSQL (every table's rows, SELECT * through information_schema without it)."""
    if db.is_sqlite:
        conn = sqlite3.connect(_sqlite_path(database_url))
        try:
            return "\n".join(conn.iterdump())
        finally:
            conn.close()
    dsn = database_url.replace("postgresql+asyncpg", "postgresql")
    assert shutil.which("pg_dump"), "pg_dump is needed on PATH for the PostgreSQL dump"
    return subprocess.run(
        ["pg_dump", "--data-only", dsn],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    ).stdout


def _raw_files(database_url: str) -> bytes:
    """SQLite: the database file, WAL and shared memory, byte for byte (read by another
    process, so this one keeps its locks)."""
    path = _sqlite_path(database_url)
    files = [str(f) for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if f.exists()]
    return subprocess.run(["cat", *files], capture_output=True, check=True).stdout


def _hits(texts: dict[str, str]) -> dict[str, list[str]]:
    found = {
        where: [s for s in SECRETS if re.search(re.escape(s), content, re.IGNORECASE)]
        for where, content in texts.items()
    }
    return {where: hits for where, hits in found.items() if hits}


async def test_after_erasure_no_table_dump_or_file_holds_anything_about_them(
    staff: httpx.AsyncClient,
    clock: FrozenClock,
    receiver: EchoingReceiver,
    deliverer: Deliverer,
    db: Database,
    database_url: str,
) -> None:
    person = await _everything_about_them(staff, clock, receiver, deliverer)
    before = _hits(await _rows_by_table(db))
    # The data is really there, in all the places an erasure has to reach.
    for table in (
        "candidates",
        "interviews",
        "debriefs",
        "employer_feedback",
        "follow_ups",
        "events",
        "webhook_attempts",
        "idempotency_keys",
        "notifications",
    ):
        assert table in before, table
    assert "import_jobs" not in before  # a job's errors name rows and columns, not values
    assert EMAIL in before["notifications"]
    assert NAME in before["notifications"]
    assert WAIVER in before["follow_ups"]
    assert WAIVER in before["events"]

    erased = await staff.delete(f"/v1/candidates/{person['candidate']['id']}")
    assert erased.status_code == 204, erased.text
    while await deliverer.run_once():  # what is still to send goes out scrubbed
        pass

    assert _hits(await _rows_by_table(db)) == {}
    assert _hits({"dump": _full_dump(db, database_url)}) == {}
    if db.is_sqlite:
        raw = _raw_files(database_url).decode("utf-8", "replace")
        assert _hits({"files": raw}) == {}

    # What may stay stays: the interview, its follow-ups (the waived one still waived) and the
    # delivery log's rows, for counts and for the CRM's own records.
    waived = (await staff.get(f"/v1/follow-ups/{person['thank_you']['id']}")).json()
    assert (waived["status"], waived["waived_reason"]) == ("waived", None)
    crm_view = [e for e in await all_events(staff) if e["type"] == "follow_up.waived"]
    assert crm_view
    assert crm_view[0]["data"]["follow_up"]["waived_reason"] is None
    delivered = (await staff.get(f"/v1/webhooks/{person['hook']['id']}/deliveries")).json()
    assert delivered["items"]
    assert all(d["status"] == "delivered" for d in delivered["items"])


async def test_an_old_link_opens_nothing_and_records_nothing_after_erasure(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    candidate = _ok(await admin.post("/v1/candidates", json={"full_name": NAME}))
    interview = await create_interview(
        admin, starts_at=T0 - timedelta(hours=3), candidate_id=candidate["id"]
    )
    link = _ok(await admin.post(f"/v1/interviews/{interview['id']}/debrief-links"))
    token = link["url"].rsplit("/", 1)[1]
    form = await anonymous.get(f"/f/{token}")  # opened before the erasure
    assert form.status_code == 200
    events_before = len(await all_events(admin))

    assert (await admin.delete(f"/v1/candidates/{candidate['id']}")).status_code == 204

    closed = await anonymous.get(f"/f/{token}")
    assert closed.status_code == 410
    assert "This link has closed" in closed.text
    assert NAME.split()[0] not in closed.text
    sent = await anonymous.post(
        f"/f/{token}", data={"csrf": csrf_of(form.text), "went_well": FORM_TEXT}
    )
    assert sent.status_code == 410
    assert_problem(await admin.get(f"/v1/interviews/{interview['id']}/debrief"), 404)
    after = await all_events(admin)
    # Their open follow-ups are waived (ids and the reason only), then the erasure itself.
    new = after[events_before:]
    assert [e["type"] for e in new] == [*["follow_up.waived"] * 3, "candidate.erased"]
    assert {e["data"]["follow_up"]["waived_reason"] for e in new[:3]} == {"candidate_erased"}
    assert NAME.split()[0] not in str(new)
    # The link itself is expired, not only refused: no new link either.
    assert_problem(await admin.post(f"/v1/interviews/{interview['id']}/debrief-links"), 409)


WriteCall = Callable[[], Awaitable[httpx.Response]]


async def test_every_write_about_an_erased_person_is_refused(
    admin: httpx.AsyncClient, integration: httpx.AsyncClient, clock: FrozenClock
) -> None:
    candidate = _ok(
        await admin.post("/v1/candidates", json={"full_name": NAME, "external_id": CRM_ID})
    )
    employer = await create_client(admin)
    interview = await create_interview(
        admin,
        starts_at=T0 - timedelta(hours=3),
        candidate_id=candidate["id"],
        client_id=employer["id"],
        external_id="iv-erased-1",
    )
    feedback = await create_employer_feedback(admin, interview["id"], outcome="pending")
    _ok(await admin.post(f"/v1/interviews/{interview['id']}/debrief", json={"channel": "phone"}))
    open_follow_ups = await follow_ups(admin, interview_id=interview["id"])
    open_follow_up = next(
        s for s in open_follow_ups.values() if s["status"] in ("pending", "overdue")
    )
    feedback_etag = (
        await admin.get(f"/v1/interviews/{interview['id']}/employer-feedback/{feedback['id']}")
    ).headers["etag"]
    interview_etag = (await admin.get(f"/v1/interviews/{interview['id']}")).headers["etag"]

    assert (await admin.delete(f"/v1/candidates/{candidate['id']}")).status_code == 204
    events_after_erasure = len(await all_events(admin))

    iid = interview["id"]
    refused: dict[str, WriteCall] = {
        "debrief": lambda: admin.post(
            f"/v1/interviews/{iid}/debrief", json={"channel": "phone", "notes": FORM_TEXT}
        ),
        "feedback": lambda: integration.post(
            f"/v1/interviews/{iid}/employer-feedback", json={"improvements": FEEDBACK}
        ),
        "feedback amended": lambda: admin.patch(
            f"/v1/interviews/{iid}/employer-feedback/{feedback['id']}",
            json={"strengths": FEEDBACK},
            headers={"If-Match": feedback_etag},
        ),
        "link": lambda: admin.post(f"/v1/interviews/{iid}/debrief-links"),
        "interview changed": lambda: admin.patch(
            f"/v1/interviews/{iid}",
            json={"next_step": NEXT_STEP},
            headers={"If-Match": interview_etag},
        ),
        "interview created": lambda: admin.post(
            "/v1/interviews",
            json={
                "candidate_id": candidate["id"],
                "client_id": employer["id"],
                "job_title": "Controller",
                "stage": "first",
                "format": "video",
                "starts_at": (T0 + timedelta(days=2)).isoformat(),
            },
        ),
        "follow-up waived": lambda: admin.post(
            f"/v1/follow-ups/{open_follow_up['id']}/waive", json={"reason": WAIVER}
        ),
    }
    for what, call in refused.items():
        problem = assert_problem(await call(), 409)
        assert problem["type"] == ERASED, what
        assert "erased" in problem["detail"], what

    bulk = await integration.post(
        "/v1/interviews/bulk",
        params={"atomic": "false"},
        json={
            "items": [
                {"external_id": "iv-erased-1", "next_step": NEXT_STEP},
                {
                    "external_id": "iv-erased-2",
                    "candidate_id": candidate["id"],
                    "client_id": employer["id"],
                    "job_title": "Controller",
                    "stage": "first",
                    "format": "video",
                    "starts_at": (T0 + timedelta(days=3)).isoformat(),
                },
                {  # named by the CRM's id for them, which erasure took off the row
                    "external_id": "iv-erased-3",
                    "candidate_external_id": CRM_ID,
                    "client_id": employer["id"],
                    "job_title": "Controller",
                    "stage": "first",
                    "format": "video",
                    "starts_at": (T0 + timedelta(days=4)).isoformat(),
                },
            ]
        },
    )
    assert bulk.status_code == 200, bulk.text
    results = bulk.json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "error"]
    assert all("erased" in r["error"]["detail"] for r in results)
    atomic = await integration.post(
        "/v1/interviews/bulk", json={"items": [{"external_id": "iv-erased-1", "next_step": "x"}]}
    )
    assert 400 <= atomic.status_code < 500, atomic.text

    people = await integration.post(
        "/v1/candidates/bulk",
        json={"items": [{"external_id": CRM_ID, "full_name": NAME}]},
        params={"atomic": "false"},
    )
    assert [r["status"] for r in people.json()["results"]] == ["error"]
    single = await integration.post(
        "/v1/candidates", json={"full_name": NAME, "external_id": CRM_ID}
    )
    assert assert_problem(single, 409)["type"] == ERASED

    # Nothing was written: no event, and the interview's text is still empty.
    assert len(await all_events(admin)) == events_after_erasure
    assert (await admin.get(f"/v1/interviews/{iid}")).json()["next_step"] is None
    # Nobody is chased about them: the follow-up was waived by the erasure, not left owed.
    follow_up = (await admin.get(f"/v1/follow-ups/{open_follow_up['id']}")).json()
    assert (follow_up["status"], follow_up["waived_reason"], follow_up["completed_by"]) == (
        "waived",
        "candidate_erased",
        "system",
    )
    assert_problem(await admin.post(f"/v1/follow-ups/{open_follow_up['id']}/complete"), 409)


async def test_the_export_holds_their_webhook_deliveries_and_audit_trail(
    staff: httpx.AsyncClient,
    clock: FrozenClock,
    receiver: EchoingReceiver,
    deliverer: Deliverer,
) -> None:
    person = await _everything_about_them(staff, clock, receiver, deliverer)
    cid, iid = person["candidate"]["id"], person["interview"]["id"]
    export = _ok(await staff.get(f"/v1/candidates/{cid}/export"))

    deliveries = export["webhook_deliveries"]
    their_events = {e["id"] for e in export["events"]}
    assert deliveries
    assert {d["event_id"] for d in deliveries} == their_events
    assert all(d["endpoint_id"] == person["hook"]["id"] for d in deliveries)
    assert all(d["status"] == "delivered" and d["attempt_log"] for d in deliveries)
    waived = next(d for d in deliveries if d["event_type"] == "follow_up.waived")
    # What the receiver answered (it echoes the payload) is theirs too.
    assert waived["attempt_log"][0]["response_excerpt"].startswith('{"type":"follow_up.waived"')
    other = _ok(await staff.post("/v1/candidates", json={"full_name": "Someone Else"}))
    assert other["id"] not in str(deliveries)

    audited = {(a["object_type"], a["object_id"], a["action"]) for a in export["audit_entries"]}
    assert ("candidate", cid, "create") in audited
    assert ("interview", iid, "create") in audited
    assert ("employer_feedback", person["feedback"]["id"], "create") in audited
    assert ("follow_up", person["thank_you"]["id"], "update") in audited
    assert any(t == "debrief" for t, _, _ in audited)
    assert any(t == "debrief_link" for t, _, _ in audited)
    assert all(a["object_id"] != other["id"] for a in export["audit_entries"])

    messages = {m["kind"]: m for m in export["notifications"]}
    # The morning digest names them too when their (cooling-candidate) call is due that day.
    assert {"candidate_debrief_link", "staff_alert"} <= set(messages)
    assert set(messages) <= {"candidate_debrief_link", "staff_alert", "staff_digest"}
    assert messages["candidate_debrief_link"]["recipient"] == EMAIL
    assert messages["staff_alert"]["subject"].startswith(f"{NAME} is no longer interested")


async def test_the_same_writes_for_a_live_person_still_work(
    admin: httpx.AsyncClient,
) -> None:
    """The refusals are about erased people only: the same writes for a live one work."""
    candidate = _ok(await admin.post("/v1/candidates", json={"full_name": "Still Here"}))
    interview = await create_interview(
        admin, starts_at=T0 - timedelta(hours=3), candidate_id=candidate["id"]
    )
    changed = await patch_current(admin, f"/v1/interviews/{interview['id']}", {"next_step": "Call"})
    assert changed.status_code == 200, changed.text
    _ok(await admin.post(f"/v1/interviews/{interview['id']}/debrief-links"))
    _ok(await admin.post(f"/v1/interviews/{interview['id']}/debrief", json={"channel": "phone"}))
