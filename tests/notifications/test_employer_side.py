"""The employer's side by email: the recruiter hears a client's answer at once, staff relay
feedback the client allowed, and clients that opted in are chased with their link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from app.clock import FrozenClock
from app.followups.policy import FollowUpPolicy
from app.notifications.delivery import Sender
from app.notifications.service import chase_at
from tests.conftest import T0, ClientMaker
from tests.debriefs.test_employer_links import answer, clear_limits
from tests.factories import create_candidate, create_client, create_interview, create_staff
from tests.followups.helpers import follow_ups, sweep
from tests.notifications.conftest import notifications, send_all
from tests.notifications.servers import MailServer
from tests.test_conventions import assert_problem

CONTACT = "dana.whitfield@harlow-finch.example"


async def setting(
    client: httpx.AsyncClient,
    *,
    auto_chase: bool = False,
    owner: dict[str, Any] | None = None,
    **interview: Any,
) -> dict[str, Any]:
    if owner is None:
        owner = await create_staff(client, full_name="Rosa Patel", email="rosa@agency.co.uk")
    candidate = await create_candidate(
        client, full_name="Jon Bell", email="jon.bell@mail.example", owner_id=owner["id"]
    )
    employer = await create_client(
        client,
        name="Harlow & Finch",
        contact_name="Dana Whitfield",
        contact_email=CONTACT,
        auto_chase=auto_chase,
    )
    return await create_interview(
        client,
        starts_at=T0 - timedelta(hours=3),
        candidate_id=candidate["id"],
        client_id=employer["id"],
        job_title="Payroll Lead",
        **interview,
    )


def feedback_mails(smtp: MailServer) -> list[Any]:
    """What the candidate was sent with the employer's feedback (their link email aside)."""
    return [r for r in smtp.to("jon.bell@mail.example") if "Feedback" in r.message["Subject"]]


async def link_token(client: httpx.AsyncClient, interview: dict[str, Any]) -> str:
    made = await client.post(f"/v1/interviews/{interview['id']}/employer-links")
    assert made.status_code == 201, made.text
    return str(made.json()["url"]).rsplit("/", 1)[1]


async def test_the_recruiter_hears_the_clients_answer_at_once(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer
) -> None:
    interview = await setting(office)
    token = await link_token(office, interview)
    done = await answer(
        office,
        token,
        answer="rejected",
        strengths="Calm under pressure",
        improvements="More payroll software depth",
        relay_allowed="yes",
    )
    assert done.status_code == 200, done.text
    await send_all(sender)
    (mail,) = smtp.to("rosa@agency.co.uk")
    assert mail.message["Subject"] == "Harlow & Finch answered about Jon Bell: not going ahead"
    assert "Dana Whitfield at Harlow & Finch answered through their decision link" in mail.text
    assert "Calm under pressure" in mail.text
    assert "passed on word for word" in mail.text
    # Still deciding is news too, with the new date.
    rosa = (await office.get("/v1/staff", params={"limit": 200})).json()["items"][0]
    other = await setting(office, owner=rosa)
    clear_limits()
    await answer(
        office,
        await link_token(office, other),
        answer="still_deciding",
        decision_expected_by="2026-03-27",
    )
    await send_all(sender)
    latest = smtp.to("rosa@agency.co.uk")[-1]
    assert latest.message["Subject"].endswith(": still deciding")
    assert "decide by Friday 27 March" in latest.text


async def test_staff_relay_allowed_feedback_to_the_candidate_once_and_never_on_its_own(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, client_for: ClientMaker
) -> None:
    interview = await setting(office)
    await sweep(office)
    token = await link_token(office, interview)
    await answer(
        office,
        token,
        answer="rejected",
        strengths="Calm under pressure",
        improvements="More payroll software depth",
        relay_allowed="yes",
    )
    await send_all(sender)
    assert feedback_mails(smtp) == []  # never automatic
    (feedback,) = (await office.get(f"/v1/interviews/{interview['id']}/employer-feedback")).json()[
        "items"
    ]
    relay = f"/v1/interviews/{interview['id']}/employer-feedback/{feedback['id']}/relay"
    crm = await client_for("integration")
    assert_problem(await crm.post(relay), 403)  # a person confirms it

    relayed = await office.post(relay)
    assert relayed.status_code == 200, relayed.text
    body = relayed.json()
    assert body["employer_feedback"]["relayed_to_candidate_at"] == "2026-03-04T10:00:00Z"
    assert body["notification"]["kind"] == "candidate_feedback"
    await send_all(sender)
    (mail,) = feedback_mails(smtp)
    assert mail.message["Subject"] == "Feedback from Harlow & Finch on your interview"
    assert "Calm under pressure" in mail.text
    assert "More payroll software depth" in mail.text
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    follow_up = (await follow_ups(office, interview_id=interview["id"]))["employer_feedback"]
    assert follow_up["status"] == "done"
    assert_problem(await office.post(relay), 409)  # once


async def test_feedback_the_client_kept_to_the_agency_is_not_relayed(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer
) -> None:
    interview = await setting(office)
    token = await link_token(office, interview)
    await answer(office, token, answer="rejected", strengths="Calm under pressure")
    (feedback,) = (await office.get(f"/v1/interviews/{interview['id']}/employer-feedback")).json()[
        "items"
    ]
    assert feedback["relay_allowed"] is False
    base = f"/v1/interviews/{interview['id']}/employer-feedback"
    assert_problem(await office.post(f"{base}/{feedback['id']}/relay"), 409)
    assert_problem(await office.post(f"{base}/00000000-0000-0000-0000-000000000000/relay"), 404)
    got = (await office.get(f"{base}/{feedback['id']}")).json()
    assert got["relayed_to_candidate_at"] is None
    await send_all(sender)
    assert feedback_mails(smtp) == []


async def _chase_due(
    office: httpx.AsyncClient, clock: FrozenClock, interview: dict[str, Any]
) -> None:
    await sweep(office)
    chase = (await follow_ups(office, interview_id=interview["id"]))["employer_follow_up"]
    clock.set(datetime.fromisoformat(chase["due_at"]) + timedelta(minutes=1))
    await sweep(office)


async def test_a_client_that_opted_in_gets_one_polite_email_with_its_link(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    interview = await setting(office, auto_chase=True, decision_expected_by="2026-03-20")
    await _chase_due(office, clock, interview)
    await send_all(sender)
    (mail,) = smtp.to(CONTACT)
    assert mail.message["Subject"] == "Jon Bell for Payroll Lead: where are you with your decision?"
    assert "Hello Dana" in mail.text
    assert "decision by Friday 20 March" in mail.text
    (url,) = re.findall(r"http://\S+/e/\S+", mail.text)
    page = await office.get(url.replace("http://127.0.0.1:8000", ""))
    assert page.status_code == 200
    assert "Your decision on Jon Bell" in page.text
    # The next sweeps send nothing more: one email per chase.
    clock.advance(timedelta(hours=3))
    await sweep(office)
    await send_all(sender)
    assert len(smtp.to(CONTACT)) == 1
    # The contact answers through it: the chase closes itself.
    clear_limits()
    token = url.rsplit("/", 1)[1]
    assert (await answer(office, token, answer="offer")).status_code == 200
    assert (await follow_ups(office, interview_id=interview["id"]))["employer_follow_up"][
        "status"
    ] == "done"


async def test_clients_are_not_chased_by_email_unless_they_opted_in(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    interview = await setting(office, decision_expected_by="2026-03-20")
    await _chase_due(office, clock, interview)
    await send_all(sender)
    assert smtp.to(CONTACT) == []
    assert [n for n in await notifications(office) if n["kind"] == "client_chase"] == []


def test_chases_go_in_working_hours_and_never_two_in_one_working_day() -> None:
    policy = FollowUpPolicy()
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    monday_opens = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert chase_at(saturday, [], policy) == monday_opens
    wednesday = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    assert chase_at(wednesday, [], policy) == wednesday
    earlier_today = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    assert chase_at(wednesday, [earlier_today], policy) == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    yesterday = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
    assert chase_at(wednesday, [yesterday], policy) == wednesday


async def test_a_client_is_chased_by_email_at_most_the_policys_number_of_times(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    """The default policy chases an employer twice per interview: a contact who keeps
    answering "still deciding" gets a chase email each time the re-dated chase falls due, up
    to two, and none after that."""
    assert FollowUpPolicy().max_employer_follow_ups == 2
    interview = await setting(office, auto_chase=True, decision_expected_by="2026-03-20")
    await _chase_due(office, clock, interview)
    await send_all(sender)
    promised = ["2026-04-10", "2026-05-08"]
    for number, later in enumerate(promised, start=1):
        mails = smtp.to(CONTACT)
        assert len(mails) == number
        (url,) = re.findall(r"http://\S+/e/\S+", mails[-1].text)
        clear_limits()
        deferred = await answer(
            office, url.rsplit("/", 1)[1], answer="still_deciding", decision_expected_by=later
        )
        assert deferred.status_code == 200, deferred.text
        await _chase_due(office, clock, interview)
        await send_all(sender)
    # Two emails: the third time the chase fell due, the contact was not emailed again.
    assert len(smtp.to(CONTACT)) == 2
    chases = [n for n in await notifications(office) if n["kind"] == "client_chase"]
    assert len(chases) == 2
    sent = sorted(n["sent_at"] for n in chases)
    assert sent[0][:10] != sent[1][:10]


def test_a_contact_in_another_time_zone_is_chased_in_their_own_working_hours() -> None:
    """The policy's hours (09:00-17:30) in the client's `timezone`: New York is five hours
    behind London in early March."""
    policy = FollowUpPolicy()
    london_morning = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # 05:00 in New York
    assert chase_at(london_morning, [], policy) == london_morning
    new_york_opens = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
    assert chase_at(london_morning, [], policy, "America/New_York") == new_york_opens
    london_evening = datetime(2026, 3, 4, 21, 0, tzinfo=UTC)  # 16:00 in New York
    assert chase_at(london_evening, [], policy, "America/New_York") == london_evening
    # Never two in one of the contact's working days: theirs, not London's.
    assert chase_at(london_evening, [new_york_opens], policy, "America/New_York") == datetime(
        2026, 3, 5, 14, 0, tzinfo=UTC
    )


async def test_the_chase_email_waits_for_the_contacts_morning(
    office: httpx.AsyncClient, sender: Sender, smtp: MailServer, clock: FrozenClock
) -> None:
    interview = await setting(office, auto_chase=True, decision_expected_by="2026-03-20")
    moved = await office.patch(
        f"/v1/clients/{interview['client_id']}",
        json={"timezone": "America/New_York"},
        headers={"If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["timezone"] == "America/New_York"
    await sweep(office)
    chase = (await follow_ups(office, interview_id=interview["id"]))["employer_follow_up"]
    due = datetime.fromisoformat(chase["due_at"])
    # Flagged at 08:00 London: 03:00 in New York, so the email waits for 09:00 there.
    flagged = datetime.combine(due.date() + timedelta(days=1), datetime.min.time(), UTC)
    clock.set(max(flagged.replace(hour=8), due + timedelta(minutes=1)))
    await sweep(office)
    (email,) = [n for n in await notifications(office) if n["kind"] == "client_chase"]
    local = datetime.fromisoformat(email["send_after"]).astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 0)
    await send_all(sender)
    assert smtp.to(CONTACT) == []  # not before the contact's morning
    clock.set(datetime.fromisoformat(email["send_after"]))
    await send_all(sender)
    assert len(smtp.to(CONTACT)) == 1


async def test_a_clients_time_zone_must_be_a_real_one(office: httpx.AsyncClient) -> None:
    made = await office.post("/v1/clients", json={"name": "Acme", "timezone": "Mars/Olympus"})
    assert_problem(made, 422)
    made = await office.post("/v1/clients", json={"name": "Acme", "timezone": "Asia/Kolkata"})
    assert made.status_code == 201, made.text
    assert made.json()["timezone"] == "Asia/Kolkata"
