"""The client contact's decision page on a phone, without JavaScript, and the employer-side
emails as received, in Debian's Chromium. The screenshots are the ones in
docs/employer-link.md."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from app.clock import FrozenClock
from app.notifications.delivery import Sender
from tests.conftest import T0
from tests.debriefs.test_employer_links import answer
from tests.factories import create_candidate, create_client, create_interview, create_staff
from tests.followups.helpers import follow_ups, sweep
from tests.notifications.conftest import (  # noqa: F401 - the fixtures
    mail_app,
    office,
    send_all,
    sender,
    smtp,
)
from tests.notifications.servers import MailServer

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 360, "height": 740}


async def _decision_link(admin: httpx.AsyncClient, live_server: str) -> tuple[dict, str]:
    candidate = await create_candidate(admin, full_name="Amira Okafor")
    client = await create_client(
        admin,
        name="Northwind Accounting",
        contact_name="Helen Ward",
        contact_email="helen.ward@northwind.example",
    )
    made = await create_interview(
        admin,
        starts_at=T0 - timedelta(hours=3),
        candidate_id=candidate["id"],
        client_id=client["id"],
        job_title="Senior Accountant",
        decision_expected_by="2026-03-20",
    )
    url = (await admin.post(f"/v1/interviews/{made['id']}/employer-links")).json()["url"]
    return made, live_server + "/e/" + url.rsplit("/", 1)[1]


async def _fits_a_phone(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
             .filter(e => !(e.labels && e.labels.length)).map(e => e.name)"""
    )
    assert unlabelled == []


async def test_a_client_gives_a_decision_and_feedback_on_a_phone_without_javascript(
    admin: httpx.AsyncClient, chromium: Browser, live_server: str
) -> None:
    interview, link = await _decision_link(admin, live_server)
    await sweep(admin)
    context = await chromium.new_context(viewport=PHONE, java_script_enabled=False, locale="en-GB")
    page = await context.new_page()
    await page.goto(link)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your decision on Amira Okafor")
    await expect(page.get_by_text("You expected to decide by Friday 20 March")).to_be_visible()
    await _fits_a_phone(page)
    await page.screenshot(path=str(DOCS / "decision-page.png"), full_page=True)

    # "Next round" without the stage: the page comes back, saying what to correct.
    await page.get_by_label("Next round", exact=True).first.check()
    await page.get_by_role("button", name="Send to Debrief").click()
    await expect(page.get_by_role("alert")).to_contain_text("choose the next round's stage")
    await _fits_a_phone(page)

    await page.get_by_label("Not going ahead").check()
    await page.get_by_label("Strengths").fill("Clear on consolidation; good rapport with Tom.")
    await page.get_by_label("What to work on").fill("More depth on audit planning.")
    await page.get_by_label("may pass this feedback on word for word").check()
    await page.get_by_label("What to work on").focus()
    await page.keyboard.press("Tab")  # the checkbox
    await page.keyboard.press("Tab")  # the button
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you.")
    await expect(page.get_by_role("status")).to_contain_text("has your decision on Amira Okafor")
    await _fits_a_phone(page)
    await page.screenshot(path=str(DOCS / "decision-thanks.png"), full_page=True)
    response = await page.goto(link)
    assert response is not None
    assert response.status == 410
    await context.close()

    got = (await admin.get(f"/v1/interviews/{interview['id']}")).json()
    assert got["outcome"] == "rejected"
    (feedback,) = (await admin.get(f"/v1/interviews/{interview['id']}/employer-feedback")).json()[
        "items"
    ]
    assert feedback["improvements"] == "More depth on audit planning."
    assert feedback["relay_allowed"] is True
    chase = (await follow_ups(admin, interview_id=interview["id"]))["employer_follow_up"]
    assert chase["completed_by"].startswith("client_link:")


async def test_the_employer_side_emails_read_well_on_a_phone(
    office: httpx.AsyncClient,  # noqa: F811 - the fixture
    sender: Sender,  # noqa: F811 - the fixture
    smtp: MailServer,  # noqa: F811 - the fixture
    clock: FrozenClock,
    chromium: Browser,
) -> None:
    rosa = await create_staff(office, full_name="Rosa Patel", email="rosa@agency.co.uk")
    amira = await create_candidate(
        office, full_name="Amira Okafor", email="amira.okafor@example.com", owner_id=rosa["id"]
    )
    harlow = await create_client(
        office,
        name="Harlow & Finch",
        contact_name="Dana Whitfield",
        contact_email="dana.whitfield@harlow-finch.example",
        auto_chase=True,
    )
    interview = await create_interview(
        office,
        starts_at=T0 - timedelta(hours=1),
        candidate_id=amira["id"],
        client_id=harlow["id"],
        job_title="Senior Accountant",
        decision_expected_by="2026-03-20",
    )
    await sweep(office)
    chase = (await follow_ups(office, interview_id=interview["id"]))["employer_follow_up"]
    clock.set(datetime.fromisoformat(chase["due_at"]) + timedelta(minutes=1))
    await sweep(office)
    await send_all(sender)
    (chase_mail,) = smtp.to("dana.whitfield@harlow-finch.example")
    token = chase_mail.text.split("/e/", 1)[1].split()[0]
    await answer(
        office,
        token,
        answer="rejected",
        strengths="A clear, structured answer on consolidating a new subsidiary.",
        improvements="More depth on audit planning would have helped.",
        relay_allowed="yes",
    )
    await send_all(sender)
    (feedback,) = (await office.get(f"/v1/interviews/{interview['id']}/employer-feedback")).json()[
        "items"
    ]
    relayed = await office.post(
        f"/v1/interviews/{interview['id']}/employer-feedback/{feedback['id']}/relay"
    )
    assert relayed.status_code == 200, relayed.text
    await send_all(sender)
    mails = {
        "client-chase": chase_mail,
        "staff-client-answer": smtp.to("rosa@agency.co.uk")[-1],
        "candidate-feedback": next(
            r for r in smtp.to("amira.okafor@example.com") if "Feedback" in r.message["Subject"]
        ),
    }
    context = await chromium.new_context(viewport={"width": 390, "height": 800}, locale="en-GB")
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for name, mail in mails.items():
        await page.set_content(mail.html)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await page.screenshot(path=str(DOCS / f"email-{name}.png"), full_page=True)
    assert [u for u in requested if not u.startswith("about:")] == []
    await page.set_content(chase_mail.html)
    button = page.get_by_role("link", name="Give your decision")
    assert "/e/" in (await button.get_attribute("href") or "")
    await context.close()
