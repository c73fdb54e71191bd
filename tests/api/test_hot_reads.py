"""The hot reads (`GET /v1/candidates/{id}`, `GET /v1/debriefs/overdue` and `GET /v1/events`)
answer exactly as the FastAPI routes do, and leave everything else to them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.api.ratelimit import RateLimiter
from app.auth.dependencies import KeyCache
from app.clock import FrozenClock
from app.db.queries import Prepared
from app.hot_reads import HotReads
from tests.conftest import T0, ClientMaker
from tests.factories import create_candidate, create_client, create_interview, create_staff
from tests.followups.helpers import sweep
from tests.test_conventions import assert_problem

QUEUE = "/v1/debriefs/overdue"
FEED = "/v1/events"


class Answered(list[bool]):
    """Per GET of a candidate (or, in `queue` and `feed`, of the queue and the feed) that the
    fast path tried: whether it answered. With `route_only` set, it is not tried (not
    recorded): the route answers, for a test that compares the two."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: list[bool] = []
        self.feed: list[bool] = []
        self.route_only = False


@pytest.fixture
def fast(api: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Answered]:
    """Keys cached for a minute, with a spy on which requests the fast path answers."""
    saved = api.state.key_cache
    api.state.key_cache = KeyCache(60)
    answered = Answered()
    original = HotReads.answer

    async def spy(self: HotReads, scope: Any) -> Any:
        if answered.route_only:
            return None
        response = await original(self, scope)
        if scope["path"] == QUEUE:
            answered.queue.append(response is not None)
        elif scope["path"] == FEED:
            answered.feed.append(response is not None)
        elif scope["path"].startswith("/v1/candidates/"):
            answered.append(response is not None)
        return response

    monkeypatch.setattr(HotReads, "answer", spy)
    yield answered
    api.state.key_cache = saved


async def test_the_fast_answer_is_the_routes_answer(
    fast: Answered, client_for: ClientMaker
) -> None:
    admin = await client_for("admin")
    created = (
        await admin.post(
            "/v1/candidates", json={"full_name": "Lena Fox", "email": "lena@mail.co.uk"}
        )
    ).json()
    url = f"/v1/candidates/{created['id']}"
    crm = await client_for("integration")
    fast.route_only = True
    first = await crm.get(url)
    fast.route_only = False
    second = await crm.get(url)
    assert fast == [True]
    assert second.status_code == first.status_code == 200
    assert second.content == first.content
    for header in ("etag", "content-type", "content-length"):
        assert second.headers[header] == first.headers[header]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert second.json()["full_name"] == "Lena Fox"


async def test_what_the_fast_path_cannot_answer_goes_to_the_route(
    fast: Answered, client_for: ClientMaker, anonymous: httpx.AsyncClient
) -> None:
    admin = await client_for("admin")
    missing = "/v1/candidates/01890000-0000-7000-8000-000000000000"
    answers = []
    for route_only in (True, False):
        fast.route_only = route_only
        answers.append(
            [
                await admin.get(missing),
                await anonymous.get(missing),
                await admin.get(f"/v1/candidates/{'0' * 32}?x=1"),
                await admin.get(f"{missing}?api_key=dbr_secret"),
            ]
        )
    for by_route, by_fast, status in zip(*answers, (404, 401, 404, 400), strict=True):
        assert_problem(by_fast, status)
        assert by_fast.content == by_route.content
    assert fast == [True] * 4  # answered by the route's handlers
    assert_problem(await admin.get("/v1/candidates/not-a-uuid"), 404)  # not a candidate's path
    assert_problem(await admin.get("/v1/candidates/bulk"), 405)
    assert fast == [True] * 4 + [False, False]


async def test_a_revoked_key_is_refused_at_once(
    fast: Answered, admin: httpx.AsyncClient, client_for: ClientMaker
) -> None:
    crm = await client_for("integration")
    created = (await crm.post("/v1/candidates", json={"full_name": "Sam Reed"})).json()
    url = f"/v1/candidates/{created['id']}"
    assert (await crm.get(url)).status_code == 200
    keys = (await admin.get("/v1/api-keys", params={"role": "integration"})).json()["items"]
    for key in keys:
        await admin.delete(f"/v1/api-keys/{key['id']}")
    assert_problem(await crm.get(url), 401)
    assert fast == [True, True]


async def test_the_fast_path_keeps_the_rate_limit(
    api: FastAPI, fast: Answered, client_for: ClientMaker
) -> None:
    crm = await client_for("integration")
    created = (await crm.post("/v1/candidates", json={"full_name": "Ola Berg"})).json()
    url = f"/v1/candidates/{created['id']}"
    saved = api.state.key_limiter
    api.state.key_limiter = RateLimiter(per_minute=60, burst=3)
    try:
        statuses = [(await crm.get(url)).status_code for _ in range(4)]
        limited = await crm.get(url)
    finally:
        api.state.key_limiter = saved
    assert statuses == [200, 200, 200, 429]
    assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert fast == [True] * 5


async def _queue_of_two(admin: httpx.AsyncClient, clock: FrozenClock) -> dict[str, str]:
    """Two overdue debrief calls, one owned by a recruiter at a named client."""
    rosa = await create_staff(admin)
    acme = await create_client(admin, name="Acme Ltd")
    early = await create_candidate(
        admin, full_name="Early Bird", phone="+447911123456", owner_id=rosa["id"]
    )
    late = await create_candidate(admin, full_name="Late Comer")
    starts = T0 - timedelta(hours=3)
    await create_interview(
        admin, starts_at=starts - timedelta(days=1), candidate_id=early["id"], client_id=acme["id"]
    )
    await create_interview(admin, starts_at=starts, candidate_id=late["id"])
    clock.set(datetime(2026, 3, 5, 9, 0, 0, 250_000, tzinfo=UTC))
    await sweep(admin)
    return {"owner_id": rosa["id"], "client_id": acme["id"]}


async def test_the_fast_queue_is_the_routes_queue(
    api: FastAPI,
    fast: Answered,
    admin: httpx.AsyncClient,
    client_for: ClientMaker,
    clock: FrozenClock,
) -> None:
    ids = await _queue_of_two(admin, clock)
    recruiter = await client_for("recruiter")
    first_page = (await recruiter.get(QUEUE, params={"limit": 1})).json()
    assert len(first_page["items"]) == 1
    assert first_page["next_cursor"]
    variants: list[dict[str, Any]] = [
        {},
        {"owner_id": ids["owner_id"]},
        {"client_id": ids["client_id"].upper(), "limit": 200},
        {"limit": 1},
        {"limit": 1, "cursor": first_page["next_cursor"]},
    ]
    for params in variants:
        fast.route_only = True
        by_route = await recruiter.get(QUEUE, params=params)
        fast.route_only = False
        by_fast = await recruiter.get(QUEUE, params=params)
        assert by_route.status_code == by_fast.status_code == 200
        assert by_fast.content == by_route.content, params
        assert by_fast.headers["content-type"] == by_route.headers["content-type"]
        assert by_fast.json()["items"], params
    assert fast.queue == [True] * (1 + len(variants))
    whole = by_fast.json()["items"][0]
    assert whole["candidate"]["full_name"] == "Late Comer"
    assert whole["due_at"] == "2026-03-04T17:00:00Z"  # written as every other time is
    assert whole["overdue_seconds"] == 16 * 3600


@pytest.mark.parametrize(
    ("query", "status", "answered"),
    [
        ("limit=0", 422, False),
        ("limit=201", 422, False),
        ("limit=07", 200, True),
        ("owner_id=not-an-id", 422, False),
        ("owner_id=", 422, False),
        ("cursor=123", 422, False),
        ("limit=1&limit=2", 200, True),
        ("limit=1&limit=0", 422, False),
        ("colour=red", 200, True),
        ("api_key=dbr_secret", 400, True),
    ],
)
async def test_a_queue_request_is_read_as_the_route_reads_it(
    fast: Answered, client_for: ClientMaker, query: str, status: int, answered: bool
) -> None:
    """The fast path validates the query with the route's own `OverdueQuery`, and leaves
    what it refuses to the route, which answers the 422 with its field errors."""
    recruiter = await client_for("recruiter")
    fast.route_only = True
    by_route = await recruiter.get(f"{QUEUE}?{query}")
    fast.route_only = False
    response = await recruiter.get(f"{QUEUE}?{query}")
    assert response.status_code == status, response.text
    if status != 200:
        assert_problem(response, status)
    assert response.content == by_route.content
    assert fast.queue == [answered]


async def test_the_fast_queue_keeps_the_rate_limit(
    api: FastAPI, fast: Answered, client_for: ClientMaker
) -> None:
    recruiter = await client_for("recruiter")
    saved = api.state.key_limiter
    api.state.key_limiter = RateLimiter(per_minute=60, burst=2)
    try:
        statuses = [(await recruiter.get(QUEUE)).status_code for _ in range(3)]
    finally:
        api.state.key_limiter = saved
    assert statuses == [200, 200, 429]
    assert fast.queue == [True, True, True]


async def test_a_database_failure_on_the_fast_path_is_answered_503_once(
    fast: Answered, client_for: ClientMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not sent on to the route: it would wait for a connection a second time.
    reads: list[str] = []

    async def refused(self: Prepared, db: object, **params: object) -> list[Any]:
        reads.append("read")
        raise ConnectionRefusedError("the database is restarting")

    recruiter = await client_for("recruiter")
    assert (await recruiter.get(QUEUE)).status_code == 200
    monkeypatch.setattr(Prepared, "rows", refused)
    response = await recruiter.get(QUEUE)
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "2"
    assert fast.queue == [True, True]
    assert reads == ["read"]


async def test_the_fast_feed_is_the_routes_feed(fast: Answered, client_for: ClientMaker) -> None:
    admin = await client_for("admin")
    for name in ("Ada One", "Ben Two", "Cy Three"):
        await create_candidate(admin, full_name=name)
    crm = await client_for("integration")
    first = (await crm.get(FEED, params={"limit": 2})).json()
    assert first["has_more"] is True
    variants: list[dict[str, Any]] = [
        {},
        {"limit": 2},
        {"limit": 2, "cursor": first["next_cursor"]},
        {"since": "2026-03-02T00:00:00+01:00"},
        {"cursor": "999999"},  # past the end: an empty page that says where to poll from
    ]
    for params in variants:
        fast.route_only = True
        by_route = await crm.get(FEED, params=params)
        fast.route_only = False
        by_fast = await crm.get(FEED, params=params)
        assert by_route.status_code == by_fast.status_code == 200
        assert by_fast.content == by_route.content, params
        assert by_fast.headers["content-type"] == by_route.headers["content-type"]
    assert fast.feed == [True] * (1 + len(variants))
    items = (await crm.get(FEED)).json()["items"]
    assert [item["data"]["candidate"]["full_name"] for item in items] == [
        "Ada One",
        "Ben Two",
        "Cy Three",
    ]
    assert items[0]["type"] == "candidate.created"
    assert items[0]["occurred_at"] == "2026-03-04T10:00:00Z"


@pytest.mark.parametrize(
    ("query", "status", "answered"),
    [
        ("type=candidate.created", 200, False),  # a list: the route reads repeated keys
        ("type=no.such", 422, False),
        ("limit=0", 422, False),
        ("cursor=abc", 422, False),
        ("since=2026-03-02T09:00:00", 422, False),  # no offset
        ("limit=1&colour=red", 200, True),
    ],
)
async def test_a_feed_request_is_read_as_the_route_reads_it(
    fast: Answered, client_for: ClientMaker, query: str, status: int, answered: bool
) -> None:
    admin = await client_for("admin")
    await create_candidate(admin, full_name="Ada One")
    crm = await client_for("integration")
    fast.route_only = True
    by_route = await crm.get(f"{FEED}?{query}")
    fast.route_only = False
    response = await crm.get(f"{FEED}?{query}")
    assert response.status_code == status, response.text
    if status != 200:
        assert_problem(response, status)
    assert response.content == by_route.content
    assert fast.feed == [answered]


async def test_the_fast_feed_refuses_a_recruiter_as_the_route_does(
    fast: Answered, client_for: ClientMaker
) -> None:
    recruiter = await client_for("recruiter")
    fast.route_only = True
    by_route = await recruiter.get(FEED)
    fast.route_only = False
    response = await recruiter.get(FEED)
    assert_problem(response, 403)
    assert response.content == by_route.content
    assert fast.feed == [True]


async def test_a_nul_in_the_query_is_refused_before_the_hot_reads(
    fast: Answered, client_for: ClientMaker
) -> None:
    """Every request passes the storable-text check first, the hot reads' included."""
    crm = await client_for("integration")
    response = await crm.get(f"{FEED}?limit=1&colour=%00")
    assert_problem(response, 422)
    queue = await crm.get(f"{QUEUE}?colour=%00")
    assert_problem(queue, 422)
    assert fast.feed == fast.queue == []
