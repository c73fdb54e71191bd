"""GET /v1/reports/debrief-timeliness on hand-made data with known answers."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.db.engine import Database
from tests.reports.seed import Agency

FEB = {"from": "2026-02-01", "to": "2026-02-28"}


def feb(day: int, hour: int = 11) -> datetime:
    return datetime(2026, 2, day, hour, tzinfo=UTC)


def h(n: float) -> timedelta:
    return timedelta(hours=n)


async def seed(db: Database) -> dict[str, Any]:
    """Ann: 4 held (3 debriefs: 1 h, 2 h, 10 h; the 10 h one late and escalated; one missing
    and still overdue). Bob: 2 held (0.5 h, 1.5 h; the first logged after 20 h), one candidate
    later erased. No owner: 1
    held, debriefed after 10 minutes before its follow-ups were opened. Plus what must not count."""
    agency = Agency()
    ann, bob = agency.recruiter("Ann Archer"), agency.recruiter("Bob Baker")
    acme = agency.client("Acme Ltd")
    anns, bobs = agency.candidate(ann), agency.candidate(bob)
    erased = agency.candidate(bob, name="Zephyrine Quillfeather")
    nobody = agency.candidate(None)

    a1 = agency.interview(anns, acme, ends_at=feb(2))
    agency.debrief(a1, after=h(1))
    agency.follow_up(a1)
    a2 = agency.interview(anns, acme, ends_at=feb(3))
    agency.debrief(a2, after=h(2))
    agency.follow_up(a2)
    a3 = agency.interview(anns, acme, ends_at=feb(4))
    agency.debrief(a3, after=h(10))
    agency.follow_up(a3, overdue_after=h(8), escalated_after=h(9.5))
    a4 = agency.interview(anns, acme, ends_at=feb(5))
    agency.follow_up(a4, status="overdue", overdue_after=h(8))
    agency.follow_up(a4, "thank_you_note", due_after=h(24))
    # Not held: cancelled, a no-show; out of the period: started 31 January.
    agency.interview(anns, acme, ends_at=feb(6), status="cancelled")
    agency.interview(anns, acme, ends_at=feb(7), status="no_show")
    outside = agency.interview(anns, acme, ends_at=datetime(2026, 1, 31, 12, tzinfo=UTC))
    agency.debrief(outside, after=h(100))

    b1 = agency.interview(bobs, acme, ends_at=feb(10))
    agency.debrief(b1, after=h(0.5), logged_after=h(20))  # logged late: on time by the call
    agency.follow_up(b1)
    b2 = agency.interview(erased, acme, ends_at=feb(11))
    agency.debrief(b2, after=h(1.5), questions=["Why does Zephyrine want to move?"])
    agency.follow_up(b2)

    # Still "scheduled" (the sweep has not run) but over: held.
    n1 = agency.interview(nobody, acme, ends_at=feb(12), status="scheduled")
    agency.debrief(n1, after=timedelta(minutes=10))
    await agency.save(db)
    return {"ann": ann, "bob": bob, "erased": erased}


def by_recruiter(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {
        (r["recruiter"]["full_name"] if r["recruiter"] else None): r for r in body["recruiters"]
    }


async def test_per_recruiter_and_overall(recruiter: httpx.AsyncClient, db: Database) -> None:
    ids = await seed(db)
    response = await recruiter.get("/v1/reports/debrief-timeliness", params=FEB)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {"start": "2026-02-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}
    assert [
        r["recruiter"]["full_name"] if r["recruiter"] else None for r in body["recruiters"]
    ] == [
        "Ann Archer",
        "Bob Baker",
        None,
    ]
    rows = by_recruiter(body)
    assert rows["Ann Archer"] == {
        "recruiter": {"id": str(ids["ann"]), "full_name": "Ann Archer"},
        "interviews_held": 4,
        "debriefs_received": 3,
        "debriefs_on_time": 2,
        "debriefs_late": 1,
        "received_share": 0.75,
        "on_time_share": 0.6667,
        "median_seconds_to_debrief": 7200.0,
        # n = 3: position 1 + 0.9 x 2 = 2.8, so 7200 + 0.8 x (36000 - 7200)
        "p90_seconds_to_debrief": 30240.0,
        "debrief_calls_overdue": 2,
        "debrief_calls_still_overdue": 1,
        "debrief_calls_escalated": 1,
    }
    assert rows["Bob Baker"] | {"recruiter": None} == {
        "recruiter": None,
        "interviews_held": 2,
        "debriefs_received": 2,
        "debriefs_on_time": 2,
        "debriefs_late": 0,
        "received_share": 1.0,
        "on_time_share": 1.0,
        "median_seconds_to_debrief": 3600.0,
        "p90_seconds_to_debrief": 5040.0,
        "debrief_calls_overdue": 0,
        "debrief_calls_still_overdue": 0,
        "debrief_calls_escalated": 0,
    }
    # No follow-up yet when the debrief came: on time.
    assert rows[None]["interviews_held"] == 1
    assert rows[None]["debriefs_on_time"] == 1
    assert rows[None]["median_seconds_to_debrief"] == 600.0
    assert rows[None]["p90_seconds_to_debrief"] == 600.0
    # Overall: 600, 1800, 3600, 5400, 7200, 36000 s. Median at 3.5, p90 at 5.5.
    assert body["overall"] == {
        "interviews_held": 7,
        "debriefs_received": 6,
        "debriefs_on_time": 5,
        "debriefs_late": 1,
        "received_share": 0.8571,
        "on_time_share": 0.8333,
        "median_seconds_to_debrief": 4500.0,
        "p90_seconds_to_debrief": 21600.0,
        "debrief_calls_overdue": 2,
        "debrief_calls_still_overdue": 1,
        "debrief_calls_escalated": 1,
    }


async def test_erased_candidates_count_but_are_not_identified(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient, db: Database
) -> None:
    ids = await seed(db)
    before = (await recruiter.get("/v1/reports/debrief-timeliness", params=FEB)).json()
    assert (await admin.delete(f"/v1/candidates/{ids['erased']}")).status_code == 204
    response = await recruiter.get("/v1/reports/debrief-timeliness", params=FEB)
    after = response.json()
    assert after == before  # still counted, in the same place
    assert by_recruiter(after)["Bob Baker"]["interviews_held"] == 2
    for leak in (str(ids["erased"]), "Zephyrine", "Quillfeather"):
        assert leak not in response.text


async def test_an_empty_period_has_no_rows(recruiter: httpx.AsyncClient, db: Database) -> None:
    await seed(db)
    body = (
        await recruiter.get(
            "/v1/reports/debrief-timeliness", params={"from": "2025-06-01", "to": "2025-06-30"}
        )
    ).json()
    assert body["recruiters"] == []
    assert body["overall"] == {
        "interviews_held": 0,
        "debriefs_received": 0,
        "debriefs_on_time": 0,
        "debriefs_late": 0,
        "received_share": None,
        "on_time_share": None,
        "median_seconds_to_debrief": None,
        "p90_seconds_to_debrief": None,
        "debrief_calls_overdue": 0,
        "debrief_calls_still_overdue": 0,
        "debrief_calls_escalated": 0,
    }


@pytest.mark.parametrize(
    ("params", "held"),
    [
        # Timestamps with offsets: 2 February 10:00 UTC up to 4 February 10:00 UTC.
        ({"from": "2026-02-02T11:00:00+01:00", "to": "2026-02-04T10:00:00Z"}, 2),
        # `to` as a date includes that day.
        ({"from": "2026-02-02", "to": "2026-02-02"}, 1),
        ({"from": "2026-02-03", "to": "2026-02-02T23:59:59Z"}, None),
    ],
)
async def test_ranges(
    recruiter: httpx.AsyncClient, db: Database, params: dict[str, str], held: int | None
) -> None:
    await seed(db)
    response = await recruiter.get("/v1/reports/debrief-timeliness", params=params)
    if held is None:
        assert response.status_code == 422
    else:
        assert response.status_code == 200, response.text
        assert response.json()["overall"]["interviews_held"] == held


def percentile_cont(values: list[float], p: float) -> float:
    """PostgreSQL's percentile_cont, by the book: position 1 + p(n - 1), interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(p * 100) - 1]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 10, 11, 37])
async def test_percentiles_are_percentile_cont(
    recruiter: httpx.AsyncClient, db: Database, n: int
) -> None:
    rng = random.Random(n)
    delays = [float(rng.randrange(60, 200_000)) for _ in range(n)]
    agency = Agency()
    client, candidate = agency.client("Acme"), agency.candidate(agency.recruiter("Pat Lee"))
    for k, seconds in enumerate(delays):
        interview = agency.interview(candidate, client, ends_at=feb(2) + timedelta(minutes=k))
        agency.debrief(interview, after=timedelta(seconds=seconds))
    await agency.save(db)
    body = (await recruiter.get("/v1/reports/debrief-timeliness", params=FEB)).json()
    for row in (body["overall"], body["recruiters"][0]):
        assert row["median_seconds_to_debrief"] == pytest.approx(
            statistics.median(delays), abs=0.001
        )
        assert row["p90_seconds_to_debrief"] == pytest.approx(
            percentile_cont(delays, 0.9), abs=0.001
        )
