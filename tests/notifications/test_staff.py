"""Staff hear what needs them: a morning digest on working days, at once when a candidate
cools, escalations; by email, chat, both or neither, as each chooses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from app.notifications.delivery import Sender
from tests.conftest import T0
from tests.factories import create_candidate, create_interview, create_staff, patch_current
from tests.followups.helpers import sweep
from tests.notifications.conftest import notifications, send_all
from tests.notifications.servers import ChatReceiver, MailServer
from tests.test_conventions import assert_problem


async def rosa(client: httpx.AsyncClient, **prefs: Any) -> dict[str, Any]:
    staff = await create_staff(client, full_name="Rosa Patel", email="rosa@agency.co.uk")
    if prefs:
        changed = await patch_current(client, f"/v1/staff/{staff['id']}", prefs)
        assert changed.status_code == 200, changed.text
        staff = changed.json()
    return staff


async def interview_of(
    client: httpx.AsyncClient, owner: dict[str, Any], *, ends_at: datetime, name: str = "Jon Bell"
) -> dict[str, Any]:
    candidate = await create_candidate(
        client, full_name=name, owner_id=owner["id"], phone="+447812345678"
    )
    return await create_interview(
        client,
        starts_at=ends_at - timedelta(hours=1),
        candidate_id=candidate["id"],
        job_title="Payroll Lead",
    )


async def test_a_candidate_who_is_no_longer_interested_reaches_their_recruiter_at_once(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, chat: ChatReceiver
) -> None:
    owner = await rosa(office, notify_via="both", chat_url=chat.url)
    assert (owner["notify_via"], owner["chat_host"]) == ("both", "127.0.0.1")
    assert "chat_url" not in owner  # a credential: never shown
    interview = await interview_of(office, owner, ends_at=T0)
    recorded = await office.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "phone", "still_interested": "no", "overall_rating": 2},
    )
    assert recorded.status_code == 201
    assert await send_all(sender) == 4  # two reasons, two channels, no waiting

    subjects = sorted(r.message["Subject"] for r in smtp.to("rosa@agency.co.uk"))
    assert subjects == [
        "Jon Bell is no longer interested in Payroll Lead at " + subjects[0].rsplit(" at ", 1)[1],
        "Jon Bell rated their interview at " + subjects[1].split(" at ", 1)[1],
    ]
    mail = smtp.to("rosa@agency.co.uk")[0].message
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] is None
    texts = [body["text"] for body in chat.bodies]
    assert len(texts) == 2
    assert any("no longer interested" in t and "+447812345678" in t for t in texts)
    assert any("2 out of 5" in t for t in texts)
    # Amending the same debrief tells nobody twice.
    amended = await office.post(
        f"/v1/interviews/{interview['id']}/debrief", json={"notes": "Rang back"}
    )
    assert amended.status_code == 200
    assert await send_all(sender) == 0


async def test_staff_who_want_nothing_get_nothing(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer
) -> None:
    owner = await rosa(office, notify_via="none")
    interview = await interview_of(office, owner, ends_at=T0)
    await office.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "phone", "still_interested": "no"},
    )
    await send_all(sender)
    assert smtp.to("rosa@agency.co.uk") == []
    assert await notifications(office, staff_id=owner["id"]) == []


async def test_the_digest_comes_at_nine_on_working_days_only(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    """Late calls stay late over Easter: the digest skips Good Friday, the weekend and
    Easter Monday (England's holidays), and comes at 09:00 London time (08:00 UTC in BST)."""
    clock.set(datetime(2026, 4, 1, 16, 0, tzinfo=UTC))  # Wednesday
    owner = await rosa(office)
    await interview_of(office, owner, ends_at=clock.now(), name="Jon Bell")
    digests: dict[date, list[str]] = {}
    for day in range(2, 8):  # Thursday 2 April to Tuesday 7 April
        for hour, minute in ((7, 59), (8, 0), (8, 1), (12, 0)):
            clock.set(datetime(2026, 4, day, hour, minute, tzinfo=UTC))
            await sweep(office)
            await send_all(sender)
        digests[date(2026, 4, day)] = [r.message["Subject"] for r in smtp.to("rosa@agency.co.uk")]
        smtp.received.clear()
    assert {d: len(s) for d, s in digests.items()} == {
        date(2026, 4, 2): 1,
        date(2026, 4, 3): 0,  # Good Friday
        date(2026, 4, 4): 0,
        date(2026, 4, 5): 0,
        date(2026, 4, 6): 0,  # Easter Monday
        date(2026, 4, 7): 1,
    }
    assert digests[date(2026, 4, 7)] == [
        "Tuesday 7 April: 1 late debrief call, 0 follow-ups due today"
    ]
    first, last = await notifications(office, kind="staff_digest")
    assert first["send_after"] == "2026-04-02T08:00:00Z"
    assert "- 16:30 The debrief call: Jon Bell, Payroll Lead" in first["body_text"]
    assert last["send_after"] == "2026-04-07T08:00:00Z"
    assert "- Jon Bell (+447812345678): Payroll Lead" in last["body_text"]


async def test_an_empty_digest_is_not_sent(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    await rosa(office)
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(office)
    await send_all(sender)
    assert smtp.received == []


async def test_follow_ups_due_today_are_in_the_digest(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    owner = await rosa(office)
    await interview_of(office, owner, ends_at=datetime(2026, 3, 4, 16, 0, tzinfo=UTC))
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    await sweep(office)
    await send_all(sender)
    (digest,) = smtp.to("rosa@agency.co.uk")
    # The call (8 working hours: Thursday 15:30) and the note (24 hours: 16:00).
    assert (
        digest.message["Subject"]
        == "Thursday 5 March: 0 late debrief calls, 2 follow-ups due today"
    )
    assert "15:30 The debrief call: Jon Bell, Payroll Lead at" in digest.text
    assert "16:00 The thank-you note: Jon Bell" in digest.text


async def test_an_escalation_reaches_the_owners_manager(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    """The escalation goes up (issue 17): to the manager the event names, not to the owner."""
    policy = (await office.get("/v1/settings/follow-up-policy")).json()
    policy = {k: v for k, v in policy.items() if k not in ("version", "updated_at")}
    changed = await office.put(
        "/v1/settings/follow-up-policy",
        json={**policy, "max_reminders": 0, "reminder_interval_working_days": 1},
    )
    assert changed.status_code == 200, changed.text
    maria = await create_staff(office, full_name="Maria Director", email="maria@agency.co.uk")
    owner = await rosa(office, manager_id=maria["id"])
    await interview_of(office, owner, ends_at=T0)
    clock.set(datetime(2026, 3, 5, 9, 40, tzinfo=UTC))  # the call went late at 09:30
    await sweep(office)
    clock.set(datetime(2026, 3, 6, 9, 41, tzinfo=UTC))  # one working day later
    await sweep(office)
    await send_all(sender)
    escalations = await notifications(office, kind="staff_escalation")
    assert [n["recipient"] for n in escalations] == ["maria@agency.co.uk"]
    assert "The debrief call for Jon Bell" in escalations[0]["body_text"]
    assert escalations[0]["status"] == "sent"


async def test_chat_preferences_are_checked(
    admin: httpx.AsyncClient, office: httpx.AsyncClient, chat: ChatReceiver
) -> None:
    staff = await create_staff(admin)
    url = f"/v1/staff/{staff['id']}"
    # The suite's app refuses private targets, as production does.
    private = await patch_current(admin, url, {"notify_via": "chat", "chat_url": chat.url})
    assert "private" in assert_problem(private, 422)["errors"][0]["message"]
    no_url = await patch_current(admin, url, {"notify_via": "chat"})
    assert assert_problem(no_url, 422)["errors"][0]["field"] == "chat_url"
    odd = await patch_current(admin, url, {"notify_via": "pigeon"})
    assert_problem(odd, 422)
    unknown = await patch_current(admin, url, {"notify": "email"})
    assert_problem(unknown, 422)
    assert (await admin.get(url)).json()["notify_via"] == "email"  # nothing changed
    # The replica that allows loopback takes it.
    allowed = await patch_current(office, url, {"notify_via": "chat", "chat_url": chat.url})
    assert allowed.status_code == 200, allowed.text
    back = await patch_current(office, url, {"notify_via": "email", "chat_url": None})
    assert (back.json()["notify_via"], back.json()["chat_host"]) == ("email", None)


async def test_a_teams_workflow_gets_an_adaptive_card() -> None:
    from app.notifications.chat import body_for

    teams = body_for("https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers", "Hi")
    assert b'"type":"message"' in teams
    assert b"application/vnd.microsoft.card.adaptive" in teams
    assert b'"text":"Hi"' in teams
    for url in (
        "https://hooks.slack.com/services/T0/B0/x",
        "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k",
        "https://mattermost.example.com/hooks/abc",
    ):
        assert body_for(url, "Hi") == b'{"text":"Hi"}'
