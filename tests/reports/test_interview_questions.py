"""GET /v1/clients/{id}/interview-questions: near-identical wordings counted together, who
reported them never shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.db.engine import Database
from app.reports.questions import Group, cluster, significant_words
from tests.reports.seed import Agency
from tests.test_conventions import assert_problem


def feb(day: int) -> datetime:
    return datetime(2026, 2, day, 11, tzinfo=UTC)


async def seed(db: Database) -> dict[str, Any]:
    agency = Agency()
    globex, initech = agency.client("Globex"), agency.client("Initech")
    c1, c2, c3 = (agency.candidate(None) for _ in range(3))
    c4 = agency.candidate(None)
    c5 = agency.candidate(None, name="Zephyrine Quillfeather")

    def debrief(candidate: uuid.UUID, day: int, questions: list[str], **kw: Any) -> None:
        interview = agency.interview(candidate, kw.pop("client", globex), ends_at=feb(day), **kw)
        agency.debrief(interview, after=timedelta(hours=2), questions=questions)

    debrief(c1, 2, ["Tell me about yourself?", "Why do you want to leave your current job?"])
    debrief(c2, 3, ["tell me about yourself", "What is your greatest weakness?"])
    debrief(c3, 4, ["Tell us about yourself.", "What's your greatest weakness"])
    debrief(c1, 5, ["Tell me about yourself"], stage="second")
    debrief(
        c4, 6, ["Tell me about yourself", "What is your greatest strength?"], job_title="Analyst"
    )
    debrief(c5, 7, ["Describe a difficult client you handled, Zephyrine."])
    debrief(c2, 8, ["What is the capital of Peru?"], client=initech)
    await agency.save(db)
    return {"globex": globex, "initech": initech, "erased": c5, "candidates": [c1, c2, c3, c4, c5]}


def received(day: int) -> str:
    return f"2026-02-{day:02d}T13:00:00Z"


async def test_grouped_most_candidates_first(recruiter: httpx.AsyncClient, db: Database) -> None:
    ids = await seed(db)
    response = await recruiter.get(f"/v1/clients/{ids['globex']}/interview-questions")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["client"] == {"id": str(ids["globex"]), "name": "Globex"}
    assert body["job_title"] is None
    assert body["period"] is None
    assert body["items"] == [
        {
            # c1 (twice), c2, c3 ("Tell us ..."), c4: four candidates, five mentions.
            "question": "Tell me about yourself",
            "candidates": 4,
            "mentions": 5,
            "wordings": 4,
            "last_reported_at": received(6),
        },
        {
            # "What is" and "What's": the same significant words. Equally frequent: the
            # wording reported last stands for them.
            "question": "What's your greatest weakness",
            "candidates": 2,
            "mentions": 2,
            "wordings": 2,
            "last_reported_at": received(4),
        },
        {
            "question": "Describe a difficult client you handled, Zephyrine.",
            "candidates": 1,
            "mentions": 1,
            "wordings": 1,
            "last_reported_at": received(7),
        },
        {
            "question": "What is your greatest strength?",
            "candidates": 1,
            "mentions": 1,
            "wordings": 1,
            "last_reported_at": received(6),
        },
        {
            "question": "Why do you want to leave your current job?",
            "candidates": 1,
            "mentions": 1,
            "wordings": 1,
            "last_reported_at": received(2),
        },
    ]
    for candidate in ids["candidates"]:
        assert str(candidate) not in response.text


async def test_job_title_period_and_limit(recruiter: httpx.AsyncClient, db: Database) -> None:
    ids = await seed(db)
    url = f"/v1/clients/{ids['globex']}/interview-questions"
    body = (await recruiter.get(url, params={"job_title": "  senior ACCOUNTANT "})).json()
    assert body["job_title"] == "senior ACCOUNTANT"
    # c1 (twice), c2, c3; each wording once: the group reported last stands for them.
    first = body["items"][0]
    assert (first["question"], first["candidates"], first["mentions"], first["wordings"]) == (
        "Tell me about yourself",
        3,
        4,
        4,
    )
    assert "What is your greatest strength?" not in {q["question"] for q in body["items"]}

    body = (await recruiter.get(url, params={"from": "2026-02-05", "to": "2026-02-06"})).json()
    assert body["period"] == {"start": "2026-02-05T00:00:00Z", "end": "2026-02-07T00:00:00Z"}
    assert [(q["question"], q["candidates"]) for q in body["items"]] == [
        ("Tell me about yourself", 2),
        ("What is your greatest strength?", 1),
    ]

    body = (await recruiter.get(url, params={"limit": 2})).json()
    assert [q["candidates"] for q in body["items"]] == [4, 2]

    other = (await recruiter.get(f"/v1/clients/{ids['initech']}/interview-questions")).json()
    assert [q["question"] for q in other["items"]] == ["What is the capital of Peru?"]


async def test_an_erased_candidates_questions_are_gone(
    admin: httpx.AsyncClient, recruiter: httpx.AsyncClient, db: Database
) -> None:
    ids = await seed(db)
    url = f"/v1/clients/{ids['globex']}/interview-questions"
    assert (await admin.delete(f"/v1/candidates/{ids['erased']}")).status_code == 204
    response = await recruiter.get(url)
    assert "Zephyrine" not in response.text
    assert len(response.json()["items"]) == 4
    # Their interview still counts elsewhere.
    timeliness = (
        await recruiter.get(
            "/v1/reports/debrief-timeliness", params={"from": "2026-02-01", "to": "2026-02-28"}
        )
    ).json()
    assert timeliness["overall"]["debriefs_received"] == 7


async def test_unknown_client_is_404(recruiter: httpx.AsyncClient) -> None:
    assert_problem(await recruiter.get(f"/v1/clients/{uuid.uuid4()}/interview-questions"), 404)


async def test_no_debriefs_no_questions(recruiter: httpx.AsyncClient, db: Database) -> None:
    agency = Agency()
    client = agency.client("Quiet Ltd")
    agency.interview(agency.candidate(None), client, ends_at=feb(2))
    await agency.save(db)
    body = (await recruiter.get(f"/v1/clients/{client}/interview-questions")).json()
    assert body["items"] == []


def _group(question: str, mentions: int = 1) -> Group:
    return Group(
        key=question.lower(),
        question=question,
        top_n=mentions,
        candidates=mentions,
        mentions=mentions,
        wordings=1,
        last_reported_at=feb(1),
        words=significant_words(question),
    )


def test_what_counts_as_near_identical() -> None:
    groups = [
        _group("Tell me about yourself", 5),
        _group("What is your greatest weakness?", 4),
        _group("Describe a time you handled conflict in a team", 3),
        _group("Tell us about yourself"),
        _group("What's your greatest weakness"),
        _group("Describe a time you handled conflict within your team"),
        _group("What is your greatest strength?"),
        _group("Tell me about it"),
        _group("Why?"),
    ]
    clusters = [[g.question for g in c] for c in cluster(groups)]
    assert clusters == [
        ["Tell me about yourself", "Tell us about yourself"],
        ["What is your greatest weakness?", "What's your greatest weakness"],
        [
            "Describe a time you handled conflict in a team",
            "Describe a time you handled conflict within your team",
        ],
        ["What is your greatest strength?"],
        ["Tell me about it"],
        ["Why?"],
    ]
