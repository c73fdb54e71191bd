"""GET /v1/reports/employer-decisions on hand-made data with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from app.db.engine import Database
from tests.conftest import T0
from tests.debriefs.test_employer_links import answer, make_link
from tests.factories import create_client, create_employer_feedback, create_interview
from tests.reports.seed import Agency

FEB = {"from": "2026-02-01", "to": "2026-02-28"}


def feb(day: int, hour: int = 11) -> datetime:
    return datetime(2026, 2, day, hour, tzinfo=UTC)


async def seed(db: Database) -> dict[str, Any]:
    """Globex decides in 3.5, 4.5 and 10 days, promising dates it keeps once (on the day) and
    misses by 1 and 4 days; one decision is still awaited past its date. Initech decides
    the same day (0.25 days) without promising a date."""
    agency = Agency()
    globex, initech = agency.client("Globex"), agency.client("Initech")
    candidate = agency.candidate(agency.recruiter("Ann Archer"))
    other = agency.candidate(None)
    agency.interview(
        candidate,
        globex,
        ends_at=feb(2),
        outcome="next_round",
        outcome_recorded_at=feb(5, 23),  # 3.5 days, on the promised day: kept
        decision_expected_by=date(2026, 2, 5),
    )
    agency.interview(
        candidate,
        globex,
        ends_at=feb(3),
        outcome="offer",
        outcome_recorded_at=feb(7, 23),  # 4.5 days, a day late
        decision_expected_by=date(2026, 2, 6),
    )
    agency.interview(
        other,
        globex,
        ends_at=feb(4),
        outcome="rejected",
        outcome_recorded_at=feb(14),  # 10 days, 4 days late
        decision_expected_by=date(2026, 2, 10),
    )
    agency.interview(other, globex, ends_at=feb(5), decision_expected_by=date(2026, 2, 20))
    # The candidate's decision, not the employer's: counted, not timed.
    agency.interview(other, globex, ends_at=feb(6), outcome="withdrawn", outcome_recorded_at=feb(7))
    agency.interview(other, globex, ends_at=feb(7), decision_expected_by=date(2026, 3, 10))
    agency.interview(other, globex, ends_at=feb(8), status="cancelled")
    agency.interview(
        other, initech, ends_at=feb(10), outcome="rejected", outcome_recorded_at=feb(10, 17)
    )
    await agency.save(db)
    return {"globex": globex, "initech": initech}


async def test_per_client_and_overall(recruiter: httpx.AsyncClient, db: Database) -> None:
    ids = await seed(db)
    response = await recruiter.get("/v1/reports/employer-decisions", params=FEB)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["clients_total"] == 2
    globex, initech = body["clients"]
    assert globex == {
        "client": {"id": str(ids["globex"]), "name": "Globex"},
        "interviews": 6,
        "outcomes": {"pending": 2, "next_round": 1, "offer": 1, "rejected": 1, "withdrawn": 1},
        "decided": 3,
        "median_days_to_decision": 4.5,
        "p90_days_to_decision": 8.9,  # 4.5 + 0.8 x (10 - 4.5)
        "decided_with_promised_date": 3,
        "decided_by_promised_date": 1,
        "decided_by_promised_date_share": 0.3333,
        "median_days_late": 2.5,
        "awaiting_past_promised_date": 1,
        "decided_via_link": 0,
        "median_hours_link_to_answer": None,
    }
    assert initech == {
        "client": {"id": str(ids["initech"]), "name": "Initech"},
        "interviews": 1,
        "outcomes": {"pending": 0, "next_round": 0, "offer": 0, "rejected": 1, "withdrawn": 0},
        "decided": 1,
        "median_days_to_decision": 0.25,
        "p90_days_to_decision": 0.25,
        "decided_with_promised_date": 0,
        "decided_by_promised_date": 0,
        "decided_by_promised_date_share": None,
        "median_days_late": None,
        "awaiting_past_promised_date": 0,
        "decided_via_link": 0,
        "median_hours_link_to_answer": None,
    }
    # Overall: 0.25, 3.5, 4.5, 10 days.
    assert body["overall"] == {
        "interviews": 7,
        "outcomes": {"pending": 2, "next_round": 1, "offer": 1, "rejected": 2, "withdrawn": 1},
        "decided": 4,
        "median_days_to_decision": 4.0,
        "p90_days_to_decision": 8.35,  # position 3.7: 4.5 + 0.7 x 5.5
        "decided_with_promised_date": 3,
        "decided_by_promised_date": 1,
        "decided_by_promised_date_share": 0.3333,
        "median_days_late": 2.5,
        "awaiting_past_promised_date": 1,
        "decided_via_link": 0,
        "median_hours_link_to_answer": None,
    }


async def test_limit_keeps_the_busiest_clients(recruiter: httpx.AsyncClient, db: Database) -> None:
    await seed(db)
    body = (await recruiter.get("/v1/reports/employer-decisions", params=FEB | {"limit": 1})).json()
    assert [c["client"]["name"] for c in body["clients"]] == ["Globex"]
    assert body["clients_total"] == 2
    assert body["overall"]["interviews"] == 7


async def test_erased_candidates_still_count(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient, db: Database
) -> None:
    await seed(db)
    before = (await recruiter.get("/v1/reports/employer-decisions", params=FEB)).json()
    candidates = (await admin.get("/v1/candidates")).json()["items"]
    for candidate in candidates:
        assert (await admin.delete(f"/v1/candidates/{candidate['id']}")).status_code == 204
    response = await recruiter.get("/v1/reports/employer-decisions", params=FEB)
    assert response.json() == before
    assert all(c["id"] not in response.text for c in candidates)


async def test_decisions_through_the_clients_link_and_how_soon_they_came(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Two of Globex's decisions come through its links, 6 and 30 hours after each link was
    made; one by phone. Initech answers "still deciding" only: no decision."""
    globex = await create_client(admin, name="Globex")
    initech = await create_client(admin, name="Initech")
    for hours in (6, 30):
        _, _, token = await make_link(admin, client_id=globex["id"])
        clock.advance(timedelta(hours=hours))
        assert (await answer(anonymous, token, answer="offer")).status_code == 200
        clock.set(T0)
    by_phone = await create_interview(
        admin, starts_at=T0 - timedelta(hours=3), client_id=globex["id"]
    )
    await create_employer_feedback(admin, by_phone["id"], outcome="rejected")
    _, _, token = await make_link(admin, client_id=initech["id"])
    await answer(anonymous, token, answer="still_deciding", decision_expected_by="2026-03-20")
    clock.set(T0 + timedelta(days=3))
    body = (
        await admin.get(
            "/v1/reports/employer-decisions", params={"from": "2026-03-01", "to": "2026-03-31"}
        )
    ).json()
    by_name = {c["client"]["name"]: c for c in body["clients"]}
    assert (by_name["Globex"]["decided"], by_name["Globex"]["decided_via_link"]) == (3, 2)
    assert by_name["Globex"]["median_hours_link_to_answer"] == 18.0
    assert (
        by_name["Initech"]["decided_via_link"],
        by_name["Initech"]["median_hours_link_to_answer"],
    ) == (0, None)
    assert body["overall"]["decided_via_link"] == 2
