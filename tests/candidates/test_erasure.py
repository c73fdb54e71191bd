"""Erasure: after it, the person's name, email and phone exist nowhere: not in any table, not
in a database dump, and on SQLite not in the database files (free pages and the WAL too)."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

from app.clock import FrozenClock
from app.db.base import Base
from app.db.engine import Database
from app.db.transaction import transaction
from app.models import Candidate, ErasedIdentity
from tests.conftest import T0, ClientMaker
from tests.factories import create_employer_feedback, create_interview, patch_current
from tests.followups.helpers import all_events, sweep
from tests.test_conventions import assert_problem

NAME, EMAIL, PHONE = "Zephyrine Quillfeather", "zephyrine.q@mailbox.co.uk", "+447911123456"
PERSONAL = (NAME, "Zephyrine", "Quillfeather", EMAIL, PHONE, "zq-crm-991")


async def _a_full_history(admin: httpx.AsyncClient, clock: FrozenClock) -> dict[str, Any]:
    """The person everywhere: candidate, interview text, debrief, feedback, events, an
    idempotent reply, a debrief link."""
    candidate = (
        await admin.post(
            "/v1/candidates",
            json={
                "full_name": NAME,
                "email": EMAIL,
                "phone": PHONE,
                "external_id": "zq-crm-991",
                "linkedin_url": "https://www.linkedin.com/in/zephyrine-quillfeather",
            },
            headers={"Idempotency-Key": "create-zq"},
        )
    ).json()
    interview = await create_interview(
        admin,
        starts_at=T0 - timedelta(hours=3),
        candidate_id=candidate["id"],
        next_step=f"Call {NAME} on {PHONE} about the second round",
    )
    await admin.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={
            "channel": "phone",
            "went_well": f"{NAME} was confident",
            "notes": f"Email {EMAIL}",
            "challenging_questions": [f"Why does {NAME} want to move?"],
            "salary_expectation": {"amount": "61000", "currency": "GBP"},
        },
    )
    await create_employer_feedback(
        admin, interview["id"], outcome="rejected", improvements=f"{NAME} lacked IFRS depth"
    )
    await admin.post(f"/v1/interviews/{interview['id']}/debrief-links")
    clock.advance(timedelta(days=2))
    await sweep(admin)
    await patch_current(admin, f"/v1/candidates/{candidate['id']}", {"status": "placed"})
    return {"candidate": candidate, "interview": interview}


def _raw_files(database_url: str) -> bytes:
    """The SQLite database file, its write-ahead log and shared memory, byte for byte.

    Read by another process: closing a file this process has open would drop SQLite's POSIX
    locks on it, and other processes could then delete the WAL under our feet."""
    path = Path(database_url.split("///", 1)[1])
    files = [str(f) for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if f.exists()]
    return subprocess.run(["cat", *files], capture_output=True, check=True).stdout


async def _everything_stored(db: Database) -> str:
    """Every row of every table, as text."""
    parts = []
    async with db.read_engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


async def test_erasure_leaves_nothing_of_the_person(
    admin: httpx.AsyncClient,
    db: Database,
    clock: FrozenClock,
    client_for: ClientMaker,
    database_url: str,
) -> None:
    history = await _a_full_history(admin, clock)
    before = await _everything_stored(db)
    assert all(value in before for value in PERSONAL)  # the test data is really there
    if db.is_sqlite:
        assert NAME.encode() in _raw_files(database_url)  # and on disk, before erasure

    erased = await admin.delete(f"/v1/candidates/{history['candidate']['id']}")
    assert erased.status_code == 204

    after = await _everything_stored(db)
    for value in PERSONAL:
        assert value not in after, value
    if db.is_sqlite:
        raw = _raw_files(database_url)
        for value in PERSONAL:
            assert value.encode() not in raw, value
    else:
        dump = subprocess.run(
            ["pg_dump", "--data-only", database_url.replace("postgresql+asyncpg", "postgresql")],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        ).stdout
        assert "zq-crm-991" not in dump
        for value in PERSONAL:
            assert value not in dump, value

    # Counts survive: the interview, its follow-ups and the debrief's timing are still there.
    async with db.read_engine.connect() as conn:
        left = (
            await conn.execute(
                select(Candidate).where(Candidate.id == uuid.UUID(history["candidate"]["id"]))
            )
        ).one()
        assert left.erased_at is not None
        n = (await conn.execute(text("SELECT count(*) FROM follow_ups"))).scalar_one()
        assert n >= 3
    assert (await admin.get(f"/v1/interviews/{history['interview']['id']}")).status_code == 200
    assert (await admin.get(f"/v1/interviews/{history['interview']['id']}/debrief")).json()[
        "overall_rating"
    ] is None


async def test_erasure_is_announced_by_id_only_and_is_final(
    admin: httpx.AsyncClient, clock: FrozenClock, client_for: ClientMaker
) -> None:
    history = await _a_full_history(admin, clock)
    cid = history["candidate"]["id"]
    assert (await admin.delete(f"/v1/candidates/{cid}")).status_code == 204
    crm = await client_for("integration")
    (erased,) = await all_events(crm, "candidate.erased")
    assert erased["data"] == {"candidate": {"id": cid}}
    created = (await all_events(crm, "candidate.created"))[0]
    assert created["data"] == {"erased": True, "candidate_id": cid}
    assert_problem(await admin.get(f"/v1/candidates/{cid}"), 404)
    assert_problem(await admin.delete(f"/v1/candidates/{cid}"), 404)
    assert cid not in {c["id"] for c in (await admin.get("/v1/candidates")).json()["items"]}
    replay = await admin.post(
        "/v1/candidates",
        json={
            "full_name": NAME,
            "email": EMAIL,
            "phone": PHONE,
            "external_id": "zq-crm-991",
            "linkedin_url": "https://www.linkedin.com/in/zephyrine-quillfeather",
        },
        headers={"Idempotency-Key": "create-zq"},
    )
    assert replay.status_code == 409  # the stored reply is gone; the external_id is refused


async def test_the_crm_cannot_bring_an_erased_person_back(
    admin: httpx.AsyncClient, integration: httpx.AsyncClient, clock: FrozenClock
) -> None:
    history = await _a_full_history(admin, clock)
    await admin.delete(f"/v1/candidates/{history['candidate']['id']}")
    single = assert_problem(
        await integration.post(
            "/v1/candidates", json={"full_name": "Z", "external_id": "zq-crm-991"}
        ),
        409,
    )
    assert "erased" in single["detail"]
    bulk = await integration.post(
        "/v1/candidates/bulk",
        params={"atomic": "false"},
        json={
            "items": [
                {"external_id": "zq-crm-991", "full_name": "Z"},
                {"external_id": "new-1", "full_name": "N"},
            ]
        },
    )
    results = bulk.json()["results"]
    assert [r["status"] for r in results] == ["error", "created"]
    assert "erased" in results[0]["error"]["detail"]


async def test_only_admins_erase_or_export(
    recruiter: httpx.AsyncClient, integration: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    candidate = (await admin.post("/v1/candidates", json={"full_name": "A Person"})).json()
    for client in (recruiter, integration):
        assert_problem(await client.delete(f"/v1/candidates/{candidate['id']}"), 403)
        assert_problem(await client.get(f"/v1/candidates/{candidate['id']}/export"), 403)


async def test_export_holds_everything_on_the_person(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    history = await _a_full_history(admin, clock)
    export = (await admin.get(f"/v1/candidates/{history['candidate']['id']}/export")).json()
    assert export["candidate"]["full_name"] == NAME
    assert [i["id"] for i in export["interviews"]] == [history["interview"]["id"]]
    assert export["debriefs"][0]["went_well"] == f"{NAME} was confident"
    assert export["employer_feedback"][0]["improvements"] == f"{NAME} lacked IFRS depth"
    assert {s["kind"] for s in export["follow_ups"]} >= {
        "debrief_call",
        "thank_you_note",
        "employer_feedback",
    }
    assert len(export["debrief_links"]) == 1
    assert "token" not in str(export["debrief_links"])
    assert {"candidate.created", "candidate.updated", "debrief.received"} <= {
        e["type"] for e in export["events"]
    }


async def test_the_retention_sweep_erases_the_inactive_once(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    old = (
        await admin.post(
            "/v1/candidates", json={"full_name": "Long Gone", "email": "gone@mail.co.uk"}
        )
    ).json()
    clock.advance(timedelta(days=200))
    recent = (await admin.post("/v1/candidates", json={"full_name": "Still Here"})).json()
    busy = (await admin.post("/v1/candidates", json={"full_name": "Busy Person"})).json()
    clock.advance(timedelta(days=100))
    await create_interview(
        admin, starts_at=clock.now() - timedelta(days=1), candidate_id=busy["id"]
    )
    assert (await sweep(admin))["erased"] == 0  # retention is off by default
    await admin.put("/v1/settings/follow-up-policy", json={"retention_days": 180})
    first = await sweep(admin)
    assert first["erased"] == 1
    assert_problem(await admin.get(f"/v1/candidates/{old['id']}"), 404)
    assert (await admin.get(f"/v1/candidates/{recent['id']}")).status_code == 200
    assert (await admin.get(f"/v1/candidates/{busy['id']}")).status_code == 200
    assert (await sweep(admin))["erased"] == 0  # nothing new: nothing done
    assert "gone@mail.co.uk" not in await _everything_stored(db)


async def test_people_erased_before_per_purpose_keys_stay_erased(
    client_for: ClientMaker, db: Database, api: Any
) -> None:
    """Erasures before each use of the secret had its own key wrote HMAC(secret, external id):
    such a person is still refused, singly and in bulk, after the upgrade."""
    secret = api.state.settings.secret_key.get_secret_value().encode()
    old_hash = hmac.new(secret, b"crm-erased-2025", hashlib.sha256).hexdigest()
    async with transaction(db, now=T0) as session:
        session.add(ErasedIdentity(external_id_hash=old_hash, erased_at=T0 - timedelta(days=90)))
    admin = await client_for("admin")
    single = await admin.post(
        "/v1/candidates", json={"full_name": "Back Again", "external_id": "crm-erased-2025"}
    )
    assert_problem(single, 409)
    bulk = await admin.post(
        "/v1/candidates/bulk",
        json={"items": [{"external_id": "crm-erased-2025", "full_name": "Back Again"}]},
        params={"atomic": "false"},
    )
    assert bulk.json()["results"][0]["status"] == "error"
    listed = await admin.get("/v1/candidates", params={"limit": 200})
    assert all(c["full_name"] != "Back Again" for c in listed.json()["items"])
