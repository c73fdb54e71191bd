"""GET /v1/reports/pipeline on hand-made data with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.db.engine import Database
from tests.reports.seed import Agency

ZERO = {"pending": 0, "next_round": 0, "offer": 0, "rejected": 0, "withdrawn": 0}


def day(month: int, d: int) -> datetime:
    return datetime(2026, month, d, 11, tzinfo=UTC)


async def seed(db: Database) -> None:
    agency = Agency()
    acme = agency.client("Acme")
    c = agency.candidate(None)
    j10 = agency.interview(c, acme, ends_at=day(1, 10), outcome="next_round")
    agency.debrief(j10, after=timedelta(hours=3), thank_you_after=timedelta(hours=2))
    j20 = agency.interview(c, acme, ends_at=day(1, 20), stage="second", outcome="offer")
    agency.debrief(j20, after=timedelta(hours=3), thank_you_after=timedelta(hours=24))  # just
    agency.interview(c, acme, ends_at=day(1, 25), status="cancelled")
    f2 = agency.interview(c, acme, ends_at=day(2, 2), outcome="rejected")
    agency.debrief(f2, after=timedelta(hours=3), thank_you_after=timedelta(hours=30))
    agency.interview(c, acme, ends_at=day(2, 3), stage="final", outcome="rejected")
    agency.interview(c, acme, ends_at=day(2, 9), stage="screening", status="no_show")
    f10 = agency.interview(c, acme, ends_at=day(2, 10))
    agency.debrief(f10, after=timedelta(hours=3), thank_you_after=timedelta(hours=1))
    await agency.save(db)


def stage(interviews: int = 0, cancelled: int = 0, no_show: int = 0, **outcomes: int) -> Any:
    return {
        "interviews": interviews,
        "cancelled": cancelled,
        "no_show": no_show,
        "outcomes": ZERO | outcomes,
    }


async def test_months(recruiter: httpx.AsyncClient, db: Database) -> None:
    await seed(db)
    response = await recruiter.get(
        "/v1/reports/pipeline", params={"from": "2026-01-01", "to": "2026-02-28"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bucket"] == "month"
    january, february = body["buckets"]
    assert january["start"] == "2026-01-01"
    assert january["interviews"] == 2
    assert january["cancelled"] == 1
    assert january["outcomes"] == ZERO | {"next_round": 1, "offer": 1}
    assert january["stages"]["first"] == stage(1, cancelled=1, next_round=1)
    assert january["stages"]["second"] == stage(1, offer=1)
    assert january["stages"]["final"] == stage()
    assert february["start"] == "2026-02-01"
    assert february["stages"]["first"] == stage(2, rejected=1, pending=1)
    assert february["stages"]["final"] == stage(1, rejected=1)
    assert february["stages"]["screening"] == stage(no_show=1)
    assert body["totals"]["interviews"] == 5
    assert body["totals"]["cancelled"] == 1
    assert body["totals"]["no_show"] == 1
    assert body["totals"]["outcomes"] == ZERO | {
        "pending": 1,
        "next_round": 1,
        "offer": 1,
        "rejected": 2,
    }
    assert body["totals"]["stages"]["first"] == stage(
        3, cancelled=1, next_round=1, rejected=1, pending=1
    )
    # Within the ideal 3 h: 10 Jan (2 h, next round), 10 Feb (1 h, pending). Within the
    # 24 h deadline, besides: 20 Jan (24 h exactly, offer). Not: 2 Feb (30 h, rejected),
    # 3 Feb (no note, rejected).
    assert body["thank_you"] == {
        "interviews_held": 5,
        "ideal_hours": 3.0,
        "deadline_hours": 24.0,
        "sent_within_ideal_share": 0.4,
        "sent_within_deadline_share": 0.6,
        "sent_within_ideal": {
            "interviews": 2,
            "decided": 1,
            "offers": 0,
            "offer_rate": 0.0,
            "advanced": 1,
            "advanced_rate": 1.0,
        },
        "sent_within_deadline": {
            "interviews": 3,
            "decided": 2,
            "offers": 1,
            "offer_rate": 0.5,
            "advanced": 2,
            "advanced_rate": 1.0,
        },
        "not_within_deadline": {
            "interviews": 2,
            "decided": 2,
            "offers": 0,
            "offer_rate": 0.0,
            "advanced": 0,
            "advanced_rate": 0.0,
        },
    }


async def test_the_thank_you_shares_read_the_policy(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient, db: Database
) -> None:
    await seed(db)
    policy = {"thank_you_note_hours": 30, "thank_you_note_ideal_hours": 1}
    assert (await admin.put("/v1/settings/follow-up-policy", json=policy)).status_code == 200
    body = (
        await recruiter.get(
            "/v1/reports/pipeline", params={"from": "2026-01-01", "to": "2026-02-28"}
        )
    ).json()["thank_you"]
    # Within 1 h: 10 Feb (1 h exactly). Within 30 h: 10 Jan, 20 Jan, 2 Feb (30 h exactly)
    # too. Not: 3 Feb (no note).
    assert (body["ideal_hours"], body["deadline_hours"]) == (1.0, 30.0)
    assert (body["sent_within_ideal_share"], body["sent_within_deadline_share"]) == (0.2, 0.8)
    assert body["sent_within_ideal"]["interviews"] == 1
    assert body["sent_within_deadline"]["interviews"] == 4
    assert body["not_within_deadline"]["interviews"] == 1


async def test_weeks_include_empty_ones(recruiter: httpx.AsyncClient, db: Database) -> None:
    await seed(db)
    body = (
        await recruiter.get(
            "/v1/reports/pipeline",
            params={"from": "2026-02-04", "to": "2026-02-22", "bucket": "week"},
        )
    ).json()
    # 4 Feb is a Wednesday: its week starts on Monday 2 Feb (the 2 Feb interview is before
    # the period, the 3 Feb one too).
    assert [(b["start"], b["interviews"], b["no_show"]) for b in body["buckets"]] == [
        ("2026-02-02", 0, 0),
        ("2026-02-09", 1, 1),
        ("2026-02-16", 0, 0),
    ]
    assert body["buckets"][1]["stages"]["first"] == stage(1, pending=1)


async def test_weeks_start_on_monday(recruiter: httpx.AsyncClient, db: Database) -> None:
    await seed(db)
    body = (
        await recruiter.get(
            "/v1/reports/pipeline",
            params={"from": "2026-02-01", "to": "2026-02-15", "bucket": "week"},
        )
    ).json()
    # Sunday 1 Feb belongs to the week of Monday 26 January.
    assert [(b["start"], b["interviews"]) for b in body["buckets"]] == [
        ("2026-01-26", 0),
        ("2026-02-02", 2),
        ("2026-02-09", 1),
    ]
