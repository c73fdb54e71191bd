"""The candidate says when the thank-you note went out, in a real browser without JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from playwright.async_api import Browser, expect

from app.clock import FrozenClock
from tests.browser.test_pages import PHONE, _every_field_labelled, _no_sideways_scroll
from tests.factories import create_candidate, create_interview
from tests.followups.helpers import follow_ups, sweep


async def test_a_candidate_says_the_note_went_out_two_hours_after_and_it_counts_on_time(
    admin: httpx.AsyncClient, chromium: Browser, live_server: str, clock: FrozenClock
) -> None:
    # 10:00-11:00 on Wednesday 4 March 2026 (London, GMT); the form comes two days later.
    candidate = await create_candidate(admin, full_name="Amira Okafor")
    interview = await create_interview(
        admin, starts_at=datetime(2026, 3, 4, 10, tzinfo=UTC), candidate_id=candidate["id"]
    )
    url = (await admin.post(f"/v1/interviews/{interview['id']}/debrief-links")).json()["url"]
    clock.set(datetime(2026, 3, 6, 17, 0, tzinfo=UTC))
    await sweep(admin)

    context = await chromium.new_context(viewport=PHONE, java_script_enabled=False, locale="en-GB")
    page = await context.new_page()
    await page.goto(live_server + "/f/" + url.rsplit("/", 1)[1])
    await _no_sideways_scroll(page)
    await _every_field_labelled(page)
    await page.locator("input[name=thank_you_sent][value=yes]").check()
    sent_on = page.get_by_label("Sent on")
    await expect(sent_on).to_have_attribute("type", "date")
    await expect(sent_on).to_have_value("2026-03-04")  # the interview's day
    await expect(page.get_by_text("Your time (Europe/London).")).to_be_visible()
    await page.get_by_label("At about").fill("13:00")
    await page.get_by_role("button", name="Send to my recruiter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, Amira.")
    await expect(page.get_by_text("Thank you for sending a thank-you note")).to_be_visible()
    await context.close()

    debrief = (await admin.get(f"/v1/interviews/{interview['id']}/debrief")).json()
    assert debrief["thank_you_sent_at"] == "2026-03-04T13:00:00Z"
    note = (await follow_ups(admin, interview_id=interview["id"]))["thank_you_note"]
    assert (note["completed_at"], note["late"], note["ideal_by"]) == (
        "2026-03-04T13:00:00Z",
        False,
        "2026-03-04T14:00:00Z",
    )


async def test_a_time_still_to_come_is_shown_back_to_correct(
    admin: httpx.AsyncClient, chromium: Browser, live_server: str, clock: FrozenClock
) -> None:
    interview = await create_interview(admin, starts_at=datetime(2026, 3, 4, 10, tzinfo=UTC))
    url = (await admin.post(f"/v1/interviews/{interview['id']}/debrief-links")).json()["url"]
    clock.set(datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    context = await chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(live_server + "/f/" + url.rsplit("/", 1)[1])
    await page.locator("input[name=thank_you_sent][value=yes]").check()
    await page.get_by_label("At about").fill("16:00")
    await page.get_by_role("button", name="Send to my recruiter").click()
    problems = page.get_by_role("alert")
    await expect(problems).to_contain_text("When you sent your thank-you note")
    await expect(problems).to_contain_text("that time cannot be in the future")
    await expect(page.get_by_label("At about")).to_have_value("16:00")
    await problems.get_by_role("link").click()  # the message leads to the field
    assert page.url.endswith("#thank_you_time")
    await context.close()
    assert (await admin.get(f"/v1/interviews/{interview['id']}/debrief")).status_code == 404
