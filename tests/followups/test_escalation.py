"""Escalation goes up: to the owner's manager, else the policy's contact, never the owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from app.clock import FrozenClock
from app.followups.rules import escalation_target
from tests.conftest import T0
from tests.factories import create_candidate, create_interview, create_staff, patch_current
from tests.followups.helpers import all_events, follow_ups, sweep

# ------------------------------------------------------------------ the rule

ROSA, LEAD, DIRECTOR, CONTACT = (uuid.UUID(int=n) for n in (1, 2, 3, 4))


def test_the_nearest_active_manager_gets_it() -> None:
    chain = [(LEAD, True), (DIRECTOR, True)]
    assert escalation_target(owner_id=ROSA, managers=chain, contact=(CONTACT, True)) == (
        LEAD,
        "manager",
    )
    chain = [(LEAD, False), (DIRECTOR, True)]
    assert escalation_target(owner_id=ROSA, managers=chain, contact=None) == (DIRECTOR, "manager")


def test_without_a_manager_the_policy_contact_gets_it_if_active() -> None:
    assert escalation_target(owner_id=ROSA, managers=[], contact=(CONTACT, True)) == (
        CONTACT,
        "escalation_contact",
    )
    assert escalation_target(owner_id=None, managers=[], contact=(CONTACT, True)) == (
        CONTACT,
        "escalation_contact",
    )
    assert (
        escalation_target(owner_id=ROSA, managers=[(LEAD, False)], contact=(CONTACT, False)) is None
    )
    assert escalation_target(owner_id=ROSA, managers=[], contact=None) is None


def test_the_owner_is_never_named() -> None:
    assert escalation_target(owner_id=CONTACT, managers=[], contact=(CONTACT, True)) is None


staff_ids = st.integers(min_value=1, max_value=6).map(lambda n: uuid.UUID(int=n))


@settings(max_examples=300, deadline=None)
@given(
    owner=st.none() | staff_ids,
    managers=st.lists(st.tuples(staff_ids, st.booleans()), max_size=5),
    contact=st.none() | st.tuples(staff_ids, st.booleans()),
)
def test_an_escalation_names_an_active_person_above_else_the_contact(
    owner: uuid.UUID | None,
    managers: list[tuple[uuid.UUID, bool]],
    contact: tuple[uuid.UUID, bool] | None,
) -> None:
    target = escalation_target(owner_id=owner, managers=managers, contact=contact)
    candidates = [m for m, active in managers if active and m != owner]
    if candidates:
        assert target == (candidates[0], "manager")
    elif contact is not None and contact[1] and contact[0] != owner:
        assert target == (contact[0], "escalation_contact")
    else:
        assert target is None
    assert target is None or target[0] != owner


# ------------------------------------------------------------------ through the API

STARTS = T0 - timedelta(hours=3)  # Wednesday: the debrief call is due 17:00 UTC
DUE = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
# With no reminders the escalation comes one reminder interval after the overdue notice:
# Friday at the same time.
ESCALATES = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)


async def _policy(admin: httpx.AsyncClient, **fields: Any) -> None:
    put = await admin.put("/v1/settings/follow-up-policy", json={"max_reminders": 0, **fields})
    assert put.status_code == 200, put.text


async def _escalated_calls(admin: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The debrief calls' escalation events by candidate id."""
    events = await all_events(admin, "follow_up.escalated")
    return {
        e["data"]["follow_up"]["candidate_id"]: e["data"]
        for e in events
        if e["data"]["follow_up"]["kind"] == "debrief_call"
    }


async def _run_to_escalation(admin: httpx.AsyncClient, clock: FrozenClock) -> None:
    clock.set(DUE)
    await sweep(admin)
    clock.set(ESCALATES - timedelta(minutes=1))
    await sweep(admin)
    assert await _escalated_calls(admin) == {}
    clock.set(ESCALATES)
    await sweep(admin)


async def test_an_escalation_goes_to_the_owners_manager_else_the_policy_contact(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    director = await create_staff(admin, full_name="Dana Director")
    lead = await create_staff(admin, full_name="Luis Lead", manager_id=director["id"])
    rosa = await create_staff(admin, full_name="Rosa Recruiter", manager_id=lead["id"])
    sam = await create_staff(admin, full_name="Sam Solo")
    maria = await create_staff(admin, full_name="Maria Contact")
    await _policy(admin, escalation_contact_id=maria["id"])
    owners = {"rosa": rosa["id"], "sam": sam["id"], "nobody": None, "maria": maria["id"]}
    candidates = {}
    for name, owner in owners.items():
        candidates[name] = (await create_candidate(admin, owner_id=owner))["id"]
        await create_interview(admin, starts_at=STARTS, candidate_id=candidates[name])

    await _run_to_escalation(admin, clock)

    escalated = await _escalated_calls(admin)
    expected = {
        "rosa": {"staff_id": lead["id"], "via": "manager", "owner_id": rosa["id"]},
        "sam": {"staff_id": maria["id"], "via": "escalation_contact", "owner_id": sam["id"]},
        "nobody": {"staff_id": maria["id"], "via": "escalation_contact", "owner_id": None},
        # Maria is the contact but owns this one herself: there is nobody above her.
        "maria": {"staff_id": None, "via": None, "owner_id": maria["id"]},
    }
    for name, who in expected.items():
        event = escalated[candidates[name]]
        assert event["escalated_to"] == who, name
        assert event["follow_up"]["escalated_to"] == who["staff_id"]
        assert event["follow_up"]["escalated_at"] == "2026-03-06T17:00:00Z"
        call = (await follow_ups(admin, candidate_id=candidates[name]))["debrief_call"]
        assert (call["escalated_to"], call["escalated_at"]) == (
            who["staff_id"],
            "2026-03-06T17:00:00Z",
        )
    # The manager's list of what was escalated to them.
    listed = (await admin.get("/v1/follow-ups", params={"escalated_to": lead["id"]})).json()
    assert [(s["candidate_id"], s["kind"]) for s in listed["items"]] == [
        (candidates["rosa"], "debrief_call")
    ]
    # Other events carry the field too, null before an escalation.
    overdue = await all_events(admin, "follow_up.overdue")
    assert len(overdue) == 8  # the calls and the thank-you notes
    assert all(e["data"]["follow_up"]["escalated_to"] is None for e in overdue)


async def test_a_manager_who_left_passes_escalations_to_the_policy_contact(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    lead = await create_staff(admin)
    rosa = await create_staff(admin, manager_id=lead["id"])
    maria = await create_staff(admin)
    await _policy(admin, escalation_contact_id=maria["id"])
    candidate = await create_candidate(admin, owner_id=rosa["id"])
    await create_interview(admin, starts_at=STARTS, candidate_id=candidate["id"])
    clock.set(DUE)
    await sweep(admin)
    await patch_current(admin, f"/v1/staff/{lead['id']}", {"active": False})

    await _run_to_escalation(admin, clock)
    assert (await _escalated_calls(admin))[candidate["id"]]["escalated_to"] == {
        "staff_id": maria["id"],
        "via": "escalation_contact",
        "owner_id": rosa["id"],
    }


async def test_with_nobody_above_and_no_contact_an_escalation_names_nobody(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    rosa = await create_staff(admin)
    await _policy(admin)
    candidate = await create_candidate(admin, owner_id=rosa["id"])
    await create_interview(admin, starts_at=STARTS, candidate_id=candidate["id"])
    await _run_to_escalation(admin, clock)
    event = (await _escalated_calls(admin))[candidate["id"]]
    assert event["escalated_to"] == {"staff_id": None, "via": None, "owner_id": rosa["id"]}
    assert event["follow_up"]["escalated_at"] == "2026-03-06T17:00:00Z"


async def test_a_rescheduled_follow_up_forgets_its_escalation(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    lead = await create_staff(admin)
    rosa = await create_staff(admin, manager_id=lead["id"])
    candidate = await create_candidate(admin, owner_id=rosa["id"])
    await _policy(admin)
    interview = await create_interview(admin, starts_at=STARTS, candidate_id=candidate["id"])
    await _run_to_escalation(admin, clock)
    assert (await follow_ups(admin, candidate_id=candidate["id"]))["debrief_call"][
        "escalated_to"
    ] == lead["id"]
    later = ESCALATES + timedelta(days=1)
    moved = await patch_current(
        admin, f"/v1/interviews/{interview['id']}", {"starts_at": later.isoformat()}
    )
    assert moved.status_code == 200, moved.text
    call = (await follow_ups(admin, candidate_id=candidate["id"]))["debrief_call"]
    assert (call["status"], call["escalated_at"], call["escalated_to"]) == ("pending", None, None)
