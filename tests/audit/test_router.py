"""The audit log: who changed which object, when and which fields, never the values."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.clock import FrozenClock
from app.schemas.base import iso
from tests.conftest import T0, ClientMaker
from tests.factories import create_interview, patch_current
from tests.followups.helpers import sweep
from tests.test_conventions import assert_problem


async def entries(admin: httpx.AsyncClient, **params: str) -> list[dict]:
    return (await admin.get("/v1/audit", params={"limit": 200, **params})).json()["items"]


async def test_changes_are_logged_with_who_and_which_fields(
    admin: httpx.AsyncClient, client_for: ClientMaker
) -> None:
    crm = await client_for("integration")
    candidate = (
        await crm.post("/v1/candidates", json={"full_name": "Ada Byron", "email": "ada@mail.co.uk"})
    ).json()
    await patch_current(
        crm, f"/v1/candidates/{candidate['id']}", {"email": "ada.b@mail.co.uk", "status": "placed"}
    )
    log = await entries(admin, object_type="candidate", object_id=candidate["id"])
    assert [(e["action"], e["fields"]) for e in log] == [
        ("create", ["email", "full_name", "id", "job_search_active", "status"]),
        ("update", ["email", "status"]),
    ]
    key_id = (await admin.get("/v1/api-keys", params={"role": "integration"})).json()["items"][0][
        "id"
    ]
    assert {(e["actor"], e["role"]) for e in log} == {(f"key:{key_id}", "integration")}
    assert all(e["occurred_at"] == "2026-03-04T10:00:00Z" and e["request_id"] for e in log)
    text = str(log)
    assert "Ada Byron" not in text
    assert "ada@mail.co.uk" not in text
    assert "ada.b@" not in text


async def test_candidate_links_and_bulk_writes_are_logged(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await admin.post(
        "/v1/candidates/bulk", json={"items": [{"external_id": "b-1", "full_name": "Bulk One"}]}
    )
    bulk = await entries(admin, object_type="candidate")
    assert [e["action"] for e in bulk] == ["create"]
    interview = await create_interview(admin, starts_at=T0 - timedelta(hours=3))
    url = (await admin.post(f"/v1/interviews/{interview['id']}/debrief-links")).json()["url"]
    token = url.rsplit("/", 1)[1]
    import re

    page = await anonymous.get(f"/f/{token}")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    await anonymous.post(f"/f/{token}", data={"csrf": csrf, "overall_rating": "5"})
    (debrief,) = await entries(admin, object_type="debrief")
    assert debrief["actor"].startswith("candidate_link:")
    assert debrief["role"] == "candidate"


async def test_erasure_is_logged(admin: httpx.AsyncClient) -> None:
    candidate = (await admin.post("/v1/candidates", json={"full_name": "Gone Soon"})).json()
    await admin.delete(f"/v1/candidates/{candidate['id']}")
    actions = [e["action"] for e in await entries(admin, object_id=candidate["id"])]
    assert actions[-1] == "erase"
    assert "update" in actions  # the fields were emptied


async def test_only_admins_read_the_audit_log(
    recruiter: httpx.AsyncClient, integration: httpx.AsyncClient
) -> None:
    for client in (recruiter, integration):
        assert_problem(await client.get("/v1/audit"), 403)


async def test_changes_made_by_the_sweep_are_logged_at_the_clocks_time(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """A job's changes carry the app's clock, as a request's do (not the machine's time)."""
    await create_interview(admin, starts_at=T0 + timedelta(hours=1))
    swept_at = clock.advance(timedelta(hours=5))
    assert (await sweep(admin))["opened"] > 0
    opened = await entries(admin, object_type="follow_up")
    assert opened
    assert {(e["action"], e["occurred_at"]) for e in opened} == {("create", iso(swept_at))}


async def test_a_debrief_and_its_amendments_log_the_fields_they_changed(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """The debrief and the call it completes are written without the ORM; the log still names
    exactly the fields each write changed, and an amendment that changes nothing logs nothing."""
    interview = await create_interview(admin, starts_at=T0 - timedelta(hours=3))
    url = f"/v1/interviews/{interview['id']}/debrief"
    first = await admin.post(url, json={"channel": "phone", "overall_rating": 4})
    assert first.status_code == 201, first.text
    amended = await admin.post(url, json={"notes": "Keen", "overall_rating": 4})
    assert amended.json()["version"] == 2
    again = await admin.post(url, json={"notes": "Keen"})
    assert again.json()["version"] == 2
    created = ["called_at", "challenging_questions", "channel", "id", "interview_id"]
    created += ["overall_rating", "received_at", "received_via"]
    log = await entries(admin, object_type="debrief")
    assert [(e["action"], e["fields"]) for e in log] == [("create", created), ("update", ["notes"])]
    calls = await admin.get("/v1/follow-ups", params={"interview_id": interview["id"]})
    (call,) = [f for f in calls.json()["items"] if f["kind"] == "debrief_call"]
    assert (call["status"], call["late"]) == ("done", False)
    changes = await entries(admin, object_type="follow_up", object_id=call["id"])
    assert [(e["action"], e["fields"]) for e in changes][-1] == (
        "update",
        ["completed_at", "completed_by", "status"],
    )


async def test_a_late_debrief_logs_the_overdue_calls_closing_fields(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=T0 - timedelta(hours=3))
    clock.advance(timedelta(days=3))
    assert (await sweep(admin))["overdue"] > 0
    posted = await admin.post(f"/v1/interviews/{interview['id']}/debrief", json={"channel": "sms"})
    assert posted.status_code == 201, posted.text
    calls = await admin.get("/v1/follow-ups", params={"interview_id": interview["id"]})
    (call,) = [f for f in calls.json()["items"] if f["kind"] == "debrief_call"]
    assert (call["status"], call["late"], call["next_reminder_at"]) == ("done", True, None)
    changes = await entries(admin, object_type="follow_up", object_id=call["id"])
    assert [(e["action"], e["fields"]) for e in changes][-1] == (
        "update",
        ["completed_at", "completed_by", "late", "next_notice_at", "status"],
    )
    assert (await admin.get("/v1/debriefs/overdue")).json()["items"] == []
