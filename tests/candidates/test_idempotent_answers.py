"""Stored Idempotency-Key answers are personal data: each names the candidates it is about
(through their interviews, debriefs, feedback, follow-ups and links, not only their id), erasure
deletes them and the subject access export shows them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.db.base import Base
from app.db.engine import Database
from app.models import IdempotencyRecord
from tests.conftest import T0
from tests.factories import create_candidate, create_client, create_interview
from tests.followups.helpers import follow_ups

NAME = "Perpetua Marchbanks"
PHRASES = (
    NAME,
    "perpetua.m@mailbox.co.uk",
    "hesitated over the IFRS 17 question",
    "froze on the whiteboard exercise",
    "moved to a competing offer at Halberd",
    "asked Perpetua about her notice period",
)


async def _stored_keys(db: Database) -> set[str]:
    async with db.read_engine.connect() as conn:
        return set((await conn.execute(select(IdempotencyRecord.key))).scalars())


async def _idempotency_tables(db: Database) -> str:
    """Every row of the idempotency tables, as text."""
    tables = [t for t in Base.metadata.sorted_tables if t.name.startswith("idempotency")]
    async with db.read_engine.connect() as conn:
        rows = [row for table in tables for row in (await conn.execute(select(table))).all()]
    return "\n".join(repr(tuple(row)) for row in rows)


async def _answers_about_them(admin: httpx.AsyncClient) -> dict[str, Any]:
    """Idempotent calls about one person whose answers hold their personal data but not
    always their candidate id (a debrief, feedback, a waived follow-up, a bulk interview result)."""
    candidate = await create_candidate(admin, full_name=NAME, email=PHRASES[1], external_id="pm-1")
    employer = await create_client(admin, external_id="pm-emp")
    interview = await create_interview(
        admin,
        starts_at=T0 - timedelta(hours=3),
        candidate_id=candidate["id"],
        client_id=employer["id"],
        next_step=f"Second round: {PHRASES[5]}",
    )
    iid = interview["id"]

    async def post(key: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await admin.post(path, json=body or {}, headers={"Idempotency-Key": key})
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        return answer

    await post(
        "debrief", f"/v1/interviews/{iid}/debrief", {"channel": "phone", "went_well": PHRASES[2]}
    )
    await post(
        "feedback",
        f"/v1/interviews/{iid}/employer-feedback",
        {"outcome": "rejected", "improvements": PHRASES[3]},
    )
    thank_you = (await follow_ups(admin, interview_id=iid))["thank_you_note"]
    await post("waive", f"/v1/follow-ups/{thank_you['id']}/waive", {"reason": PHRASES[4]})
    await post("link", f"/v1/interviews/{iid}/debrief-links")
    await post(
        "bulk",
        "/v1/interviews/bulk",
        {
            "items": [
                {
                    "external_id": "pm-int-2",
                    "candidate_external_id": "pm-1",
                    "client_external_id": "pm-emp",
                    "job_title": "Controller",
                    "stage": "second",
                    "format": "phone",
                    "starts_at": (T0 + timedelta(days=2)).isoformat(),
                }
            ]
        },
    )
    return {"candidate": candidate, "interview": interview}


async def test_erasure_deletes_every_stored_answer_about_the_person(
    admin: httpx.AsyncClient, db: Database
) -> None:
    them = await _answers_about_them(admin)
    someone_else = await create_candidate(admin, full_name="Other Person")
    other_interview = await create_interview(
        admin, starts_at=T0 - timedelta(hours=2), candidate_id=someone_else["id"]
    )
    kept = await admin.post(
        f"/v1/interviews/{other_interview['id']}/debrief",
        json={"channel": "phone", "went_well": "Calm and precise"},
        headers={"Idempotency-Key": "other-debrief"},
    )
    assert kept.status_code == 201
    assert {"debrief", "feedback", "waive", "link", "bulk", "other-debrief"} <= await _stored_keys(
        db
    )

    assert (await admin.delete(f"/v1/candidates/{them['candidate']['id']}")).status_code == 204

    assert await _stored_keys(db) == {"other-debrief"}
    left = await _idempotency_tables(db)
    for phrase in PHRASES:
        assert phrase not in left, phrase
    assert them["candidate"]["id"].replace("-", "") not in left.replace("-", "")
    # A retry after erasure runs again (and is refused or redone as the route decides),
    # instead of handing back the erased person's data.
    replay = await admin.post(
        f"/v1/interviews/{them['interview']['id']}/debrief",
        json={"channel": "phone", "went_well": PHRASES[2]},
        headers={"Idempotency-Key": "debrief"},
    )
    assert "idempotency-replayed" not in replay.headers


async def test_the_export_holds_the_stored_answers_about_the_person(
    admin: httpx.AsyncClient,
) -> None:
    them = await _answers_about_them(admin)
    iid = them["interview"]["id"]
    export = (await admin.get(f"/v1/candidates/{them['candidate']['id']}/export")).json()
    answers = {a["idempotency_key"]: a for a in export["idempotent_answers"]}
    assert set(answers) == {"debrief", "feedback", "waive", "link", "bulk"}
    debrief = answers["debrief"]
    assert debrief["method"] == "POST"
    assert debrief["path"] == f"/v1/interviews/{iid}/debrief"
    assert debrief["status"] == 201
    assert debrief["body"]["went_well"] == PHRASES[2]
    assert debrief["expires_at"] > debrief["stored_at"]
    assert answers["waive"]["body"]["waived_reason"] == PHRASES[4]
    assert answers["bulk"]["body"]["results"][0]["status"] == "created"
    # The link's answer carried its token: only that it was given is kept, not the answer.
    assert answers["link"]["body"] is None
    assert answers["link"]["status"] == 201
