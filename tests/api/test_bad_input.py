"""Bad input is the client's fault (4xx), never an outage: text the databases cannot store,
timestamps at the edge of the calendar, bodies over the limit however they are sent, and
database errors caused by a value (422) as against a database that is away (503)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Query
from sqlalchemy import text
from starlette.responses import Response

from app.clock import FrozenClock
from app.main import create_app
from tests.conftest import T0, make_settings, on_postgres
from tests.factories import create_candidate, create_client, create_interview
from tests.test_conventions import assert_problem

# Python's datetime ends at 9999-12-31T23:59:59.999999 UTC and begins at 0001-01-01: at an
# offset, these two are a valid RFC 3339 text whose UTC value does not exist.
EDGE_TIMES = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]
FAR_TIMES = [*EDGE_TIMES, "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1000-01-01T00:00:00Z"]


@contextmanager
def _logged(name: str = "debrief.errors") -> Iterator[list[str]]:
    """The messages logged to `name` meanwhile (the app configures the root's handlers)."""
    lines: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def _fields(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["location"]) for e in body["errors"]]


# --- Text the databases cannot store --------------------------------------------------------


async def test_a_nul_in_a_json_string_is_422_naming_the_field(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/v1/candidates", json={"full_name": "A\u0000B", "email": "ab@mail.co.uk"}
    )
    body = assert_problem(response, 422)
    assert _fields(body) == [("full_name", "body")]
    assert body["errors"][0]["type"] == "unstorable_character"
    assert (await admin.get("/v1/candidates")).json()["items"] == []
    # A lone surrogate is valid JSON but no Unicode text: refused too.
    response = await admin.post(
        "/v1/candidates",
        content=b'{"full_name": "Ada \\ud800 Lovelace"}',
        headers={"content-type": "application/json"},
    )
    assert _fields(assert_problem(response, 422)) == [("full_name", "body")]
    # `\\u0000` in JSON is a backslash and the letters u0000; a surrogate pair is one
    # character (an emoji). Both are stored as they are.
    for raw, stored in [
        (b'{"full_name": "Ada \\\\u0000 Lovelace"}', "Ada \\u0000 Lovelace"),
        (b'{"full_name": "Ada \\ud83d\\ude00"}', "Ada \U0001f600"),
    ]:
        response = await admin.post(
            "/v1/candidates", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["full_name"] == stored


async def test_a_nul_deep_in_a_bulk_body_names_its_item(admin: httpx.AsyncClient) -> None:
    items = [
        {"external_id": "c-1", "full_name": "Ada Lovelace"},
        {"external_id": "c-2", "full_name": "Grace\u0000 Hopper"},
    ]
    response = await admin.post("/v1/candidates/bulk", json={"items": items})
    body = assert_problem(response, 422)
    assert _fields(body) == [("items.1.full_name", "body")]


async def test_a_nul_in_a_json_object_key_is_refused(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/v1/candidates", json={"full_name": "Ada", "no\u0000such": "x"})
    body = assert_problem(response, 422)
    assert body["errors"] == [
        {
            "field": "no\\u0000such",
            "location": "body",
            "message": "contains a NUL character (U+0000), which cannot be stored as text",
            "type": "unstorable_character",
        }
    ]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/audit", "actor"),
        ("/v1/audit", "object_type"),
        ("/v1/candidates", "external_id"),
        ("/v1/interviews", "external_id"),
    ],
)
async def test_a_nul_in_a_query_parameter_is_422_naming_it(
    admin: httpx.AsyncClient, path: str, name: str
) -> None:
    response = await admin.get(path, params={name: "a\u0000b"})
    body = assert_problem(response, 422)
    assert _fields(body) == [(name, "query")]


async def test_a_nul_in_a_form_field_is_422(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post("/board/sign-in", data={"api_key": "x\u0000y"})
    body = assert_problem(response, 422)
    assert _fields(body) == [("api_key", "body")]


async def test_a_nul_in_a_patch_is_refused_and_nothing_changes(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin, full_name="Ada Lovelace")
    url = f"/v1/candidates/{candidate['id']}"
    etag = (await admin.get(url)).headers["etag"]
    response = await admin.patch(url, json={"full_name": "x\u0000"}, headers={"If-Match": etag})
    assert _fields(assert_problem(response, 422)) == [("full_name", "body")]
    assert (await admin.get(url)).headers["etag"] == etag


# --- Timestamps at the edge of the calendar -------------------------------------------------


async def test_an_interview_at_the_edge_of_the_calendar_is_422(
    admin: httpx.AsyncClient, clock: FrozenClock
) -> None:
    candidate = await create_candidate(admin)
    client = await create_client(admin)
    body = {
        "candidate_id": candidate["id"],
        "client_id": client["id"],
        "job_title": "Analyst",
        "stage": "first",
        "format": "video",
    }
    for moment in FAR_TIMES:
        response = await admin.post("/v1/interviews", json={**body, "starts_at": moment})
        assert _fields(assert_problem(response, 422)) == [("starts_at", "body")], moment
        response = await admin.post(
            "/v1/interviews",
            json={**body, "starts_at": "2026-03-05T10:00:00Z", "ends_at": moment},
        )
        assert ("ends_at", "body") in _fields(assert_problem(response, 422)), moment
    assert (await admin.get("/v1/interviews")).json()["items"] == []
    # The first and last accepted moments, plus every duration the rules add, still compute.
    early = await create_interview(
        admin, starts_at=datetime(1900, 1, 1, tzinfo=UTC), track_follow_ups=True
    )
    assert early["starts_at"] == "1900-01-01T00:00:00Z"
    clock.set(datetime(2999, 12, 31, 23, 30, tzinfo=UTC))
    late = await create_interview(admin, starts_at=datetime(2999, 12, 31, 22, tzinfo=UTC))
    assert late["starts_at"] == "2999-12-31T22:00:00Z"
    for interview in (early, late):
        found = await admin.get("/v1/follow-ups", params={"interview_id": interview["id"]})
        assert found.status_code == 200, found.text
        assert len(found.json()["items"]) == 3


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
async def test_a_decision_date_at_the_edge_of_the_calendar_is_422(
    admin: httpx.AsyncClient, day: str
) -> None:
    candidate = await create_candidate(admin)
    client = await create_client(admin)
    body = {
        "candidate_id": candidate["id"],
        "client_id": client["id"],
        "job_title": "Analyst",
        "stage": "first",
        "format": "video",
        "starts_at": "2026-03-05T10:00:00Z",
        "decision_expected_by": day,
    }
    problem = assert_problem(await admin.post("/v1/interviews", json=body), 422)
    assert _fields(problem) == [("decision_expected_by", "body")]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/events", "since"),
        ("/v1/follow-ups", "due_before"),
        ("/v1/interviews", "starts_after"),
        ("/v1/interviews", "starts_before"),
        ("/v1/audit", "since"),
        ("/v1/reports/debrief-timeliness", "from"),
        ("/v1/reports/debrief-timeliness", "to"),
    ],
)
async def test_a_query_timestamp_at_the_edge_of_the_calendar_is_422(
    admin: httpx.AsyncClient, path: str, name: str
) -> None:
    for moment in FAR_TIMES:
        problem = assert_problem(await admin.get(path, params={name: moment}), 422)
        assert _fields(problem) == [(name, "query")], moment


async def test_a_debrief_time_at_the_edge_of_the_calendar_is_422(
    admin: httpx.AsyncClient,
) -> None:
    interview = await create_interview(admin, starts_at=T0 + timedelta(days=1))
    response = await admin.post(
        f"/v1/interviews/{interview['id']}/employer-feedback",
        json={"strengths": "Clear", "received_at": EDGE_TIMES[0]},
    )
    problem = assert_problem(response, 422)
    assert ("received_at", "body") in _fields(problem)


# --- Bodies over the limit ------------------------------------------------------------------


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    yield b'{"full_name": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
async def test_a_chunked_body_over_the_limit_is_413(
    admin: httpx.AsyncClient, content_type: str | None
) -> None:
    # No Content-Length: the body arrives in pieces (Transfer-Encoding: chunked) and the
    # limit is found only while reading it.
    headers = {"content-type": content_type} if content_type else {}
    request = admin.build_request(
        "POST", "/v1/candidates", content=_chunks(2 * 1024 * 1024), headers=headers
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await admin.send(request)
    assert_problem(response, 413)
    # The same with an Idempotency-Key (read before the route, to fingerprint the request).
    request = admin.build_request(
        "POST",
        "/v1/candidates",
        content=_chunks(2 * 1024 * 1024),
        headers={**headers, "Idempotency-Key": f"big-{content_type}"},
    )
    assert_problem(await admin.send(request), 413)
    assert (await admin.get("/v1/candidates")).json()["items"] == []

    async def small() -> AsyncIterator[bytes]:
        yield b'{"full_name": '
        yield b'"Ada Lovelace"}'

    response = await admin.post(
        "/v1/candidates", content=small(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


# --- Database errors: the input's fault (422) or the database away (503) --------------------


@pytest.fixture
async def probe(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app with two extra routes that send a value to the database as the routes do:
    through SQLAlchemy (`db.reading()`) and, on PostgreSQL, through the hot-read pool."""
    application = create_app(make_settings(database_url), clock=FrozenClock(T0))

    async def engine_read(value: str = Query(), sql: str = Query()) -> Response:
        async with application.state.db.reading() as conn:
            await conn.execute(text(sql), {"value": value})
        return Response(status_code=204)

    async def hot_read(value: str = Query(), sql: str = Query()) -> Response:
        await application.state.db.hot_pool.fetch(sql.replace(":value", "$1"), [value])
        return Response(status_code=204)

    application.add_api_route("/probe/engine", engine_read)
    application.add_api_route("/probe/hot", hot_read)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as client,
    ):
        yield client


def _paths() -> list[str]:
    return ["/probe/engine", "/probe/hot"] if on_postgres() else ["/probe/engine"]


async def test_a_value_the_database_refuses_is_422_not_503(probe: httpx.AsyncClient) -> None:
    if on_postgres():  # 22003 numeric value out of range
        sql = "SELECT CAST(CAST(:value AS text) AS smallint)"
    else:  # SQLITE_TOOBIG: a string over the connection's length limit
        sql = "SELECT 1 WHERE length(CAST(:value AS text)) > 0 AND zeroblob(2000000000) IS NULL"
    for path in _paths():
        response = await probe.get(path, params={"value": "100000", "sql": sql})
        body = assert_problem(response, 422)
        assert "retry-after" not in response.headers
        assert "nothing was changed" in body["detail"] or "cannot" in body["detail"]


@pytest.mark.postgres
async def test_a_statement_timeout_is_503_and_the_log_names_the_sqlstate(
    probe: httpx.AsyncClient,
) -> None:
    # Cancelled as a statement timeout cancels it: SQLSTATE 57014.
    sql = "SELECT CAST(:value AS text), pg_cancel_backend(pg_backend_pid()), pg_sleep(1)"
    for path in _paths():
        with _logged() as lines:
            response = await probe.get(path, params={"value": "x", "sql": sql})
        assert_problem(response, 503)
        assert response.headers["retry-after"] == "2"
        assert any("SQLSTATE 57014" in line for line in lines), lines


@pytest.mark.postgres
async def test_a_nul_that_reached_postgresql_would_be_422(probe: httpx.AsyncClient) -> None:
    # The database's own refusal (22021 / 22P05) maps to 422 as well, for any text that gets
    # past the request check (here `chr(0)` is made in SQL).
    sql = "SELECT CAST(:value AS text) || chr(0)"
    for path in _paths():
        response = await probe.get(path, params={"value": "x", "sql": sql})
        assert_problem(response, 422)


async def test_a_database_that_is_not_there_is_503_and_the_log_says_why(
    database_url: str,
) -> None:
    if on_postgres():  # 3D000 invalid_catalog_name
        missing = f"{database_url.rsplit('/', 1)[0]}/debrief_no_such_{uuid.uuid4().hex[:8]}"
        code = "3D000"
    else:
        missing = "sqlite+aiosqlite:////nonexistent-dir/debrief.db"
        code = "SQLITE_CANTOPEN"
    application: FastAPI = create_app(make_settings(missing), clock=FrozenClock(T0))
    with _logged() as lines:
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url="http://testserver"
            ) as client,
        ):
            response = await client.get(
                "/v1/candidates", headers={"Authorization": "Bearer dbk_nothing"}
            )
    assert_problem(response, 503)
    assert any(f"SQLSTATE {code}" in line for line in lines), lines
