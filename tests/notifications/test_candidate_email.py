"""The candidate's emails through a real SMTP server: the debrief link after the interview,
in their waking hours, with a link that opens their form and one-click unsubscribe."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import FrozenClock
from app.notifications.delivery import Sender
from tests.conftest import T0
from tests.factories import create_candidate, create_interview, create_staff, patch_current
from tests.followups.helpers import sweep
from tests.notifications.conftest import AGENCY, FROM, notifications, send_all
from tests.notifications.servers import MailServer

LINK = re.compile(r"http://127\.0\.0\.1:8000/f/([A-Za-z0-9_-]+)")
UNSUBSCRIBE = re.compile(r"<(http://127\.0\.0\.1:8000/u/([0-9a-f]{32}\.[A-Za-z0-9_-]{22}))>")


async def amira(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    owner = await create_staff(client, full_name="Rosa Patel")
    values = {
        "full_name": "Amira Okafor",
        "email": "amira.okafor@example.com",
        "owner_id": owner["id"],
        "timezone": "Europe/London",
        **fields,
    }
    return await create_candidate(client, **values)


async def interview_for(
    client: httpx.AsyncClient, candidate: dict[str, Any], *, ends_at: datetime
) -> dict[str, Any]:
    return await create_interview(
        client,
        starts_at=ends_at - timedelta(hours=1),
        candidate_id=candidate["id"],
        job_title="Senior Accountant",
        interviewers=[{"name": "Dana Whitfield"}, {"name": "Tom Okoro"}],
    )


async def test_the_link_email_goes_thirty_minutes_after_the_end_with_a_link_that_opens_the_form(
    office: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sender: Sender,
    smtp: MailServer,
    clock: FrozenClock,
) -> None:
    candidate = await amira(office)
    await interview_for(office, candidate, ends_at=T0)  # ended just now

    (planned,) = await notifications(office, candidate_id=candidate["id"])
    assert (planned["kind"], planned["status"]) == ("candidate_debrief_link", "pending")
    assert planned["send_after"] == "2026-03-04T10:30:00Z"
    assert "{personal-link}" in planned["body_text"]  # no working token is ever stored

    clock.set(T0 + timedelta(minutes=29))
    assert await send_all(sender) == 0
    assert smtp.received == []

    clock.set(T0 + timedelta(minutes=30))
    assert await send_all(sender) == 1
    (mail,) = smtp.received
    message = mail.message
    assert message["From"] == f"{AGENCY} <{FROM}>"
    assert message["To"] == "Amira Okafor <amira.okafor@example.com>"
    assert message["Reply-To"] == "team@northbridge-talent.co.uk"
    assert message["Subject"] == "How did your interview at " + message["Subject"].split(" at ")[1]
    assert message["Message-ID"] == planned["message_id"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert UNSUBSCRIBE.fullmatch(message["List-Unsubscribe"])
    assert mail.recipients == ["amira.okafor@example.com"]
    assert mail.sender == FROM
    # Both parts: the ask, the thank-you advice, the same personal link.
    for part in (mail.text, mail.html):
        assert "Hello Amira" in part
        assert "Rosa Patel" in part
        assert "Dana Whitfield and Tom Okoro" in part
        assert "ideally within 3 hours" in part  # the policy's ideal (the seeds: 2-3)
        assert "Thursday 5 March, 10:00" in part  # 24 hours after the end
    (token,) = set(LINK.findall(mail.text))
    assert set(LINK.findall(mail.html)) == {token}
    assert "{personal-link}" not in mail.text + mail.html

    form = await anonymous.get(f"/f/{token}")
    assert form.status_code == 200
    assert "Amira" in form.text

    (sent,) = await notifications(office, candidate_id=candidate["id"])
    assert (sent["status"], sent["sent_at"]) == ("sent", "2026-03-04T10:30:00Z")
    (attempt,) = sent["attempt_log"]
    assert (attempt["outcome"], attempt["code"]) == ("sent", 250)
    assert "accepted" in attempt["answer"]
    assert await send_all(sender) == 0  # and never again
    assert len(smtp.received) == 1


async def test_an_interview_ending_at_1945_is_written_about_at_8_the_next_morning(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    ends = datetime(2026, 3, 4, 19, 45, tzinfo=UTC)  # London is on GMT in early March
    clock.set(ends + timedelta(minutes=1))
    candidate = await amira(office)
    await interview_for(office, candidate, ends_at=ends)
    (planned,) = await notifications(office, candidate_id=candidate["id"])
    assert planned["send_after"] == "2026-03-05T08:00:00Z"

    clock.set(datetime(2026, 3, 4, 23, 0, tzinfo=UTC))
    assert await send_all(sender) == 0
    clock.set(datetime(2026, 3, 5, 8, 0, tzinfo=UTC))
    assert await send_all(sender) == 1
    assert "role yesterday" in smtp.received[0].text


async def test_the_candidates_own_time_zone_decides_their_morning(
    office: httpx.AsyncClient, clock: FrozenClock
) -> None:
    ends = datetime(2026, 3, 4, 19, 45, tzinfo=UTC)
    clock.set(ends)
    candidate = await amira(office, timezone="America/New_York")  # 14:45 there
    await interview_for(office, candidate, ends_at=ends)
    (planned,) = await notifications(office, candidate_id=candidate["id"])
    assert planned["send_after"] == "2026-03-04T20:15:00Z"


async def test_no_email_when_the_debrief_is_in_the_interview_is_off_or_it_is_history(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    debriefed = await amira(office, email="called@example.com")
    called = await interview_for(office, debriefed, ends_at=T0)
    response = await office.post(
        f"/v1/interviews/{called['id']}/debrief", json={"channel": "phone"}
    )
    assert response.status_code == 201, response.text

    cancelled = await amira(office, email="cancelled@example.com")
    off = await interview_for(office, cancelled, ends_at=T0)
    changed = await patch_current(office, f"/v1/interviews/{off['id']}", {"status": "cancelled"})
    assert changed.status_code == 200, changed.text

    withdrawn = await amira(office, email="withdrawn@example.com")
    await interview_for(office, withdrawn, ends_at=T0)
    changed = await patch_current(
        office, f"/v1/candidates/{withdrawn['id']}", {"status": "withdrawn"}
    )
    assert changed.status_code == 200, changed.text

    old = await amira(office, email="old@example.com")
    await interview_for(office, old, ends_at=T0 - timedelta(days=30))  # history: no email

    clock.set(T0 + timedelta(hours=1))
    await send_all(sender)
    assert smtp.received == []
    reasons = {
        n["recipient"]: (n["status"], n["status_reason"]) for n in await notifications(office)
    }
    assert reasons == {
        "called@example.com": ("cancelled", "the debrief is already in"),
        "cancelled@example.com": ("cancelled", "the interview is cancelled"),
        "withdrawn@example.com": ("cancelled", "the candidate is withdrawn"),
    }


async def test_one_click_unsubscribe_and_nothing_more_afterwards(
    office: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sender: Sender,
    smtp: MailServer,
    clock: FrozenClock,
) -> None:
    candidate = await amira(office)
    await interview_for(office, candidate, ends_at=T0)
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    (first,) = smtp.received
    match = UNSUBSCRIBE.fullmatch(first.message["List-Unsubscribe"])
    assert match is not None
    path = "/u/" + match.group(2)
    assert match.group(1) in first.text  # the body links to it too

    page = await anonymous.get(path)  # opening it (as a mail scanner would) changes nothing
    assert page.status_code == 200
    assert "Unsubscribe" in page.text
    # The mail client's one-click POST (RFC 8058), no sign-in.
    done = await anonymous.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert "You are unsubscribed" in done.text
    assert (await anonymous.post(path)).status_code == 200  # again: still fine

    # The debrief call goes late: the nudge is not sent; a new interview brings no email.
    clock.set(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    await sweep(office)
    await interview_for(office, candidate, ends_at=clock.now() - timedelta(minutes=5))
    clock.advance(timedelta(hours=2))
    await send_all(sender)
    assert len(smtp.to("amira.okafor@example.com")) == 1
    theirs = await notifications(office, recipient="amira.okafor@example.com")
    assert sorted(n["status"] for n in theirs) == [
        "sent",
        "suppressed",
    ]  # the nudge; the new interview's email never planned
    sent = next(n for n in theirs if n["status"] == "sent")
    refused = await office.post(f"/v1/notifications/{sent['id']}/resend")
    assert refused.status_code == 409
    assert "unsubscribed" in refused.json()["detail"]


async def test_a_forged_unsubscribe_link_is_not_ours(anonymous: httpx.AsyncClient) -> None:
    forged = "/u/" + "0" * 32 + "." + "A" * 22
    assert (await anonymous.get(forged)).status_code == 404
    assert (await anonymous.post(forged)).status_code == 404
    assert (await anonymous.get("/u/not-a-token")).status_code == 422


async def test_a_hard_bounce_suppresses_the_address(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    smtp.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: Recipient address rejected"
    candidate = await amira(office, email="gone@example.com")
    await interview_for(office, candidate, ends_at=T0)
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    (bounced,) = await notifications(office, candidate_id=candidate["id"])
    assert bounced["status"] == "bounced"
    (attempt,) = bounced["attempt_log"]
    assert (attempt["outcome"], attempt["code"]) == ("bounced", 550)
    assert "Recipient address rejected" in attempt["answer"]
    # Never mailed again: the next interview's email is not even planned.
    await interview_for(office, candidate, ends_at=clock.now())
    assert len(await notifications(office, candidate_id=candidate["id"])) == 1


async def test_a_temporary_refusal_is_tried_again_later(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    smtp.refuse["busy@example.com"] = "450 4.2.1 Mailbox busy, try later"
    candidate = await amira(office, email="busy@example.com")
    await interview_for(office, candidate, ends_at=T0)
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    (waiting,) = await notifications(office, candidate_id=candidate["id"])
    assert (waiting["status"], waiting["next_attempt_at"]) == ("pending", "2026-03-04T10:31:00Z")
    del smtp.refuse["busy@example.com"]
    clock.advance(timedelta(minutes=1))
    await send_all(sender)
    (sent,) = await notifications(office, candidate_id=candidate["id"])
    assert [a["outcome"] for a in sent["attempt_log"]] == ["retry", "sent"]
    assert sent["status"] == "sent"
    assert len(smtp.received) == 1


async def test_without_smtp_the_email_is_previewed_not_sent(
    admin: httpx.AsyncClient, api: FastAPI, smtp: MailServer, clock: FrozenClock
) -> None:
    """The suite's own app has no DEBRIEF_SMTP_URL: the message is rendered and kept."""
    candidate = await amira(admin)
    await interview_for(admin, candidate, ends_at=T0)
    clock.set(T0 + timedelta(minutes=30))
    previewer: Sender = api.state.sender
    assert await previewer.run_once() == 1
    (kept,) = await notifications(admin, candidate_id=candidate["id"])
    assert kept["status"] == "preview"
    assert "DEBRIEF_SMTP_URL" in kept["status_reason"]
    assert "Hello Amira" in kept["body_text"]
    assert "<html" in kept["body_html"]
    assert kept["attempt_log"] == []
    assert smtp.received == []


@pytest.mark.parametrize("rating", [1, 2])
async def test_a_candidate_who_says_it_went_badly_still_gets_nothing_after_their_debrief(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock, rating: int
) -> None:
    """Their own form answer is the debrief: the link email is not sent after it."""
    candidate = await amira(office)
    interview = await interview_for(office, candidate, ends_at=T0)
    await office.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "web_form", "overall_rating": rating},
    )
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    assert smtp.to("amira.okafor@example.com") == []


async def test_one_nudge_with_a_fresh_link_when_the_debrief_call_goes_late(
    office: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sender: Sender,
    smtp: MailServer,
    clock: FrozenClock,
) -> None:
    candidate = await amira(office)
    await interview_for(office, candidate, ends_at=T0)  # Wednesday 10:00
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    (first,) = smtp.to("amira.okafor@example.com")
    (old_token,) = set(LINK.findall(first.text))

    # The call is due 8 working hours after the end: Thursday 09:30.
    clock.set(datetime(2026, 3, 5, 9, 31, tzinfo=UTC))
    await sweep(office)
    (nudge,) = await notifications(office, kind="candidate_nudge")
    assert nudge["send_after"] == "2026-03-05T10:30:00Z"  # a working day after the first
    await sweep(office)
    clock.set(datetime(2026, 3, 6, 10, 0, tzinfo=UTC))
    await sweep(office)  # still late the next day: still one nudge
    assert len(await notifications(office, kind="candidate_nudge")) == 1

    await send_all(sender)
    _, second = smtp.to("amira.okafor@example.com")
    assert second.message["Subject"].startswith("A quick word about your interview at")
    (new_token,) = set(LINK.findall(second.text))
    assert new_token != old_token
    assert (await anonymous.get(f"/f/{new_token}")).status_code == 200
    assert (await anonymous.get(f"/f/{old_token}")).status_code == 410  # only the newest works
    clock.advance(timedelta(days=3))
    await sweep(office)
    await send_all(sender)
    assert len(smtp.to("amira.okafor@example.com")) == 2  # never more


async def test_no_nudge_once_the_candidate_has_answered(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    candidate = await amira(office)
    interview = await interview_for(office, candidate, ends_at=T0)
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    clock.set(datetime(2026, 3, 5, 9, 31, tzinfo=UTC))
    await sweep(office)  # late: the nudge is planned for 10:30
    recorded = await office.post(
        f"/v1/interviews/{interview['id']}/debrief", json={"channel": "phone"}
    )
    assert recorded.status_code == 201
    clock.set(datetime(2026, 3, 5, 10, 30, tzinfo=UTC))
    await send_all(sender)
    assert len(smtp.to("amira.okafor@example.com")) == 1
    (nudge,) = await notifications(office, kind="candidate_nudge")
    assert (nudge["status"], nudge["status_reason"]) == ("cancelled", "the debrief is already in")


async def test_a_call_late_for_weeks_is_not_nudged_when_nudges_are_turned_on_later(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    """Nudges are for calls gone late in the last 14 days: turning them on does not send one
    weeks after an interview."""
    policy = "/v1/settings/follow-up-policy"
    assert (await office.put(policy, json={"candidate_nudges": 0})).status_code == 200
    candidate = await amira(office)
    weeks_ago = await interview_for(office, candidate, ends_at=T0)  # Wednesday 4 March
    lately = await interview_for(office, candidate, ends_at=datetime(2026, 3, 17, 10, tzinfo=UTC))
    clock.set(T0 + timedelta(minutes=30))
    await send_all(sender)
    clock.set(datetime(2026, 3, 5, 9, 31, tzinfo=UTC))
    await sweep(office)  # the first call is late; nudges are off
    clock.set(datetime(2026, 3, 17, 10, 1, tzinfo=UTC))
    await sweep(office)  # the second interview ended: its call opens, its link email is planned
    clock.set(datetime(2026, 3, 17, 10, 30, tzinfo=UTC))
    await send_all(sender)
    assert len(smtp.to("amira.okafor@example.com")) == 2  # both link emails
    clock.set(datetime(2026, 3, 20, 10, 0, tzinfo=UTC))
    assert (await office.put(policy, json={})).status_code == 200  # nudges on (the default)
    await sweep(office)
    nudges = await notifications(office, kind="candidate_nudge")
    assert [n["interview_id"] for n in nudges] == [lately["id"]]
    assert weeks_ago["id"] != lately["id"]
