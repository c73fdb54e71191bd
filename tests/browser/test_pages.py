"""The candidate's form on a phone and the recruiter's board, in a real browser."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from app.clock import FrozenClock
from tests.conftest import T0, KeyMaker
from tests.factories import (
    create_candidate,
    create_client,
    create_employer_feedback,
    create_interview,
    create_staff,
)
from tests.followups.helpers import sweep

DOCS = Path(__file__).resolve().parents[2] / "docs"
PHONE = {"width": 360, "height": 740}


async def _link(
    admin: httpx.AsyncClient, live_server: str, **interview: object
) -> tuple[dict, str]:
    candidate = await create_candidate(admin, full_name="Amira Okafor")
    client = await create_client(admin, name="Northwind Accounting")
    made = await create_interview(
        admin,
        starts_at=T0 - timedelta(hours=3),
        candidate_id=candidate["id"],
        client_id=client["id"],
        job_title="Senior Accountant",
        interviewers=[{"name": "Helen Ward"}, {"name": "Tom Reid"}],
        decision_expected_by="2026-03-20",
        **interview,
    )
    url = (await admin.post(f"/v1/interviews/{made['id']}/debrief-links")).json()["url"]
    return made, live_server + "/f/" + url.rsplit("/", 1)[1]


async def _no_sideways_scroll(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def _every_field_labelled(page: Page) -> None:
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
             .filter(e => !(e.labels && e.labels.length)).map(e => e.name)"""
    )
    assert unlabelled == []


async def test_a_candidate_fills_the_form_on_a_phone_without_javascript(
    admin: httpx.AsyncClient, chromium: Browser, live_server: str, clock: FrozenClock
) -> None:
    interview, link = await _link(admin, live_server, stage="final")
    clock.advance(timedelta(hours=1))
    context = await chromium.new_context(viewport=PHONE, java_script_enabled=False, locale="en-GB")
    page = await context.new_page()
    await page.goto(link)
    await expect(page.get_by_role("heading", level=1)).to_have_text("How did it go, Amira?")
    await _no_sideways_scroll(page)
    await _every_field_labelled(page)
    await page.screenshot(path=str(DOCS / "candidate-form.png"), full_page=True)

    await page.get_by_label("Well", exact=True).check()
    await page.get_by_label("What went well?").fill(
        "Good rapport with Helen; the case study went fine."
    )
    await page.get_by_label("Questions you found hard").fill(
        "How would you consolidate a new subsidiary?\nWhy leave after two years?"
    )
    await page.get_by_label("Yes").first.check()  # still interested
    await page.get_by_label("Very much").check()
    await page.locator("input[name=thank_you_sent][value=no]").check()
    await page.locator("input[name=other_applications_active][value=yes]").check()
    await page.get_by_label("Amount per year").fill("58000")
    # Keyboard only from here: tab to the button and press Enter.
    await page.get_by_label("Anything else we should know?").focus()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Amira.")
    await expect(
        page.get_by_text("We will ask Northwind Accounting for their decision around")
    ).to_be_visible()
    await expect(
        page.get_by_text("Send a short thank-you email to Helen Ward, Tom Reid")
    ).to_be_visible()
    await _no_sideways_scroll(page)
    await page.screenshot(path=str(DOCS / "candidate-thanks.png"), full_page=True)
    await context.close()

    debrief = (await admin.get(f"/v1/interviews/{interview['id']}/debrief")).json()
    assert debrief["received_via"] == "candidate_link"
    assert debrief["overall_rating"] == 4
    assert debrief["challenging_questions"] == [
        "How would you consolidate a new subsidiary?",
        "Why leave after two years?",
    ]
    assert debrief["salary_expectation"] == {"amount": "58000.00", "currency": "GBP"}
    assert debrief["other_applications_active"] is True


async def test_a_used_link_and_an_expired_link_say_so(
    admin: httpx.AsyncClient, chromium: Browser, live_server: str, clock: FrozenClock
) -> None:
    _, used = await _link(admin, live_server)
    _, expiring = await _link(admin, live_server)
    page = await (await chromium.new_context(viewport=PHONE)).new_page()
    await page.goto(used)
    await page.get_by_role("button", name="Send to my recruiter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Amira.")
    response = await page.goto(used)
    assert response is not None
    assert response.status == 410
    await expect(page.get_by_role("heading", level=1)).to_have_text("This link has closed")
    clock.advance(timedelta(days=8))
    response = await page.goto(expiring)
    assert response is not None
    assert response.status == 410
    await expect(
        page.get_by_text("it has either been used already or is more than a few days old")
    ).to_be_visible()


async def test_a_recruiter_signs_in_records_the_call_and_the_candidate_leaves_the_board(
    admin: httpx.AsyncClient,
    chromium: Browser,
    live_server: str,
    clock: FrozenClock,
    make_key: KeyMaker,
) -> None:
    rosa = await create_staff(admin, full_name="Rosa Diaz")
    acme = await create_client(admin, name="Northwind Accounting")
    for name, phone, hours in (
        ("Amira Okafor", "+447911123456", 26),
        ("Ben Lowe", "+447912345678", 3),
    ):
        candidate = await create_candidate(admin, full_name=name, phone=phone, owner_id=rosa["id"])
        await create_interview(
            admin,
            starts_at=T0 - timedelta(hours=hours),
            candidate_id=candidate["id"],
            client_id=acme["id"],
            job_title="Senior Accountant",
        )
    # A rejection the client allowed to be passed on, given a week earlier: its relay is
    # overdue, so the board (and its screenshot in the docs) shows the button that sends it.
    clock.set(T0 - timedelta(days=9))
    chloe = await create_candidate(
        admin, full_name="Chloe Martin", email="chloe.martin@mail.example", owner_id=rosa["id"]
    )
    declined = await create_interview(
        admin,
        starts_at=T0 - timedelta(days=9, hours=2),
        candidate_id=chloe["id"],
        client_id=acme["id"],
        job_title="Payroll Manager",
    )
    called = await admin.post(f"/v1/interviews/{declined['id']}/debrief", json={"channel": "phone"})
    assert called.status_code == 201, called.text
    await create_employer_feedback(
        admin,
        declined["id"],
        outcome="rejected",
        strengths="Clear on month-end close",
        improvements="More hands-on payroll software",
        relay_allowed=True,
    )
    clock.set(datetime(2026, 3, 5, 9, 30, tzinfo=UTC))
    await sweep(admin)
    key = await make_key("recruiter", staff_id=uuid.UUID(rosa["id"]))
    context = await chromium.new_context(viewport={"width": 1200, "height": 800})
    page = await context.new_page()
    await page.goto(live_server + "/board")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    assert key not in page.url
    cookies = await context.cookies()
    (session,) = [c for c in cookies if c["name"] == "debrief_board"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"

    calls = page.get_by_role("table", name="Who hasn't called in (2)")
    row = calls.get_by_role("row").filter(has_text="Amira Okafor")
    await expect(row).to_be_visible()
    await expect(row.get_by_role("link", name="+447911123456")).to_have_attribute(
        "href", "tel:+447911123456"
    )
    relay = page.get_by_role(
        "button",
        name="Send Northwind Accounting's feedback to Chloe Martin by email, word for word",
    )
    await expect(relay).to_have_text("Send feedback to Chloe")
    await page.screenshot(path=str(DOCS / "board.png"), full_page=True)

    await row.get_by_text("Record call").click()  # click 1 opens the form
    await row.get_by_label("They have sent their thank-you note").check()  # asked on the call
    await row.get_by_role("button", name="Save call with Amira").click()  # click 2
    await expect(page.get_by_role("status")).to_have_text("Call recorded.")
    await expect(page.get_by_role("row").filter(has_text="Amira Okafor")).to_have_count(0)
    still_waiting = page.get_by_role("table", name="Who hasn't called in (1)")
    await expect(still_waiting.get_by_role("row").filter(has_text="Ben Lowe")).to_have_count(1)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("API key")).to_be_visible()
    await context.close()
