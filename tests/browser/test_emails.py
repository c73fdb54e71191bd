"""Each email as a person sees it: real messages, received by the SMTP server, opened in
Debian's Chromium at a phone's width. The screenshots are the ones in docs/notifications.md
(the fixtures are the notification tests' own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser

from app.clock import FrozenClock
from app.notifications.delivery import Sender
from tests.conftest import T0
from tests.factories import create_candidate, create_client, create_interview, create_staff
from tests.followups.helpers import sweep
from tests.notifications.conftest import (  # noqa: F401 - the fixtures
    mail_app,
    office,
    send_all,
    sender,
    smtp,
)
from tests.notifications.servers import MailServer, Received

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 390, "height": 800}


async def _agency_week(
    office: httpx.AsyncClient,  # noqa: F811 - passed on
    sender: Sender,  # noqa: F811 - passed on
    clock: FrozenClock,
) -> dict[str, str]:
    """A few days at an agency that brings out every kind of email; their subjects by kind."""
    policy = (await office.get("/v1/settings/follow-up-policy")).json()
    policy = {k: v for k, v in policy.items() if k not in ("version", "updated_at")}
    await office.put(
        "/v1/settings/follow-up-policy",
        json={**policy, "max_reminders": 0, "reminder_interval_working_days": 1},
    )
    maria = await create_staff(office, full_name="Maria Director", email="maria@agency.co.uk")
    rosa = await create_staff(
        office, full_name="Rosa Patel", email="rosa@agency.co.uk", manager_id=maria["id"]
    )
    harlow = await create_client(office, name="Harlow & Finch")
    amira = await create_candidate(
        office,
        full_name="Amira Okafor",
        email="amira.okafor@example.com",
        phone="+447812345678",
        owner_id=rosa["id"],
    )
    interview = await create_interview(
        office,
        starts_at=T0 - timedelta(hours=1),
        candidate_id=amira["id"],
        client_id=harlow["id"],
        job_title="Senior Accountant",
        interviewers=[{"name": "Dana Whitfield"}, {"name": "Tom Okoro"}],
    )
    clock.set(T0 + timedelta(minutes=30))  # Wednesday 10:30: the link email
    await send_all(sender)
    clock.set(datetime(2026, 3, 5, 9, 31, tzinfo=UTC))  # Thursday: the call is late
    await sweep(office)
    jon = await create_candidate(
        office, full_name="Jon Bell", phone="+447911123456", owner_id=rosa["id"]
    )
    northgate = await create_client(office, name="Northgate Health")
    await create_interview(
        office,
        starts_at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
        candidate_id=jon["id"],
        client_id=northgate["id"],
        job_title="Financial Controller",
    )
    clock.set(datetime(2026, 3, 5, 10, 32, tzinfo=UTC))  # the nudge
    await sweep(office)
    await send_all(sender)
    clock.set(datetime(2026, 3, 6, 9, 0, tzinfo=UTC))  # Friday's digest
    await sweep(office)
    await send_all(sender)
    clock.set(datetime(2026, 3, 6, 9, 35, tzinfo=UTC))  # a working day late: to Rosa's manager
    await sweep(office)
    await send_all(sender)
    clock.set(datetime(2026, 3, 6, 10, 0, tzinfo=UTC))  # Amira calls: no longer interested
    await office.post(
        f"/v1/interviews/{interview['id']}/debrief",
        json={"channel": "phone", "still_interested": "no"},
    )
    await send_all(sender)
    listed = (await office.get("/v1/notifications", params={"limit": 200})).json()["items"]
    first: dict[str, str] = {}
    for sent in (n for n in listed if n["status"] == "sent"):
        first.setdefault(sent["kind"], sent["subject"])
    return first


async def test_every_email_reads_well_on_a_phone(
    office: httpx.AsyncClient,  # noqa: F811 - the fixture
    sender: Sender,  # noqa: F811 - the fixture
    smtp: MailServer,  # noqa: F811 - the fixture
    clock: FrozenClock,
    chromium: Browser,
) -> None:
    subjects = await _agency_week(office, sender, clock)
    # A long Subject is folded onto its own line; unfolded, it keeps the leading space.
    by_subject: dict[str, Received] = {r.message["Subject"].strip(): r for r in smtp.received}
    kinds = (
        "candidate_debrief_link",
        "candidate_nudge",
        "staff_digest",
        "staff_alert",
        "staff_escalation",
    )
    assert set(subjects) == set(kinds)
    context = await chromium.new_context(viewport=PHONE, locale="en-GB")
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for kind in kinds:
        mail = by_subject[subjects[kind]]
        await page.set_content(mail.html)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shown = await page.inner_text("body")
        for line in mail.text.splitlines()[:2]:  # the text part says what the page says
            if line.strip() and "http" not in line:
                assert line.strip().split(" ")[0] in shown
        await page.screenshot(
            path=str(DOCS / f"email-{kind.replace('_', '-')}.png"), full_page=True
        )
    assert [u for u in requested if not u.startswith("about:")] == []  # nothing fetched
    link = await context.new_page()
    await link.set_content(by_subject[subjects["candidate_debrief_link"]].html)
    button = link.get_by_role("link", name="Tell us how it went")
    assert "/f/" in (await button.get_attribute("href") or "")
    await context.close()
