"""Operations: Prometheus metrics, and JSON logs with a request id and no personal data."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from app.api.observability import RequestContextMiddleware, configure_logging
from app.auth.tokens import new_link_token
from app.clock import FrozenClock
from app.db import slices
from app.main import create_app
from app.notifications.tokens import unsubscribe_token
from tests.conftest import T0, make_settings, on_postgres
from tests.factories import create_interview
from tests.followups.helpers import sweep
from tests.test_conventions import assert_problem


async def test_metrics_cover_requests_sweeps_webhooks_and_the_backlog(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await admin.get("/v1/candidates")
    await create_interview(admin, starts_at=T0 - timedelta(hours=3))
    await sweep(admin)
    response = await anonymous.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert (
        'debrief_http_request_duration_seconds_count{method="GET",route="/v1/candidates",status="200"}'
        in body
    )
    assert "debrief_sweep_duration_seconds_count" in body
    assert 'debrief_sweep_steps_total{what="opened"}' in body
    assert "debrief_webhook_pending_deliveries 0.0" in body
    assert "debrief_outbox_events_not_fanned_out" in body


async def test_every_response_carries_a_request_id(anonymous: httpx.AsyncClient) -> None:
    first = await anonymous.get("/healthz")
    assert len(first.headers["x-request-id"]) == 32
    echoed = await anonymous.get("/healthz", headers={"X-Request-ID": "crm-trace-12345"})
    assert echoed.headers["x-request-id"] == "crm-trace-12345"
    unsafe = await anonymous.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert unsafe.headers["x-request-id"] != "bad id\nwith newline"


async def test_logs_are_json_lines_with_the_request_id_and_no_personal_data(
    admin: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    try:
        response = await admin.post(
            "/v1/candidates",
            json={
                "full_name": "Priya Raman",
                "email": "priya@mail.co.uk",
                "phone": "+447911123456",
            },
        )
        interview = await create_interview(admin, starts_at=T0 - timedelta(hours=3))
        link = await admin.post(f"/v1/interviews/{interview['id']}/debrief-links")
        url = link.json()["url"]
        token = url.rsplit("/", 1)[1]
        await admin.get(f"/f/{token}")
    finally:
        logging.getLogger().handlers[:] = []
        logging.getLogger("debrief.access").handlers[:] = []
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("logger") == "debrief.access"]
    assert access
    assert all(line["request_id"] and line["route"] for line in access)
    mine = [line for line in access if line["request_id"] == response.headers["x-request-id"]]
    assert mine[0]["route"] == "/v1/candidates"
    assert mine[0]["status"] == 201
    everything = "\n".join(json.dumps(line) for line in lines)
    for secret in ("Priya", "priya@mail.co.uk", "+447911123456", token):
        assert secret not in everything
    assert any(line["route"] == "/f/{token}" for line in access)


METRICS_TOKEN = secrets.token_urlsafe(32)


MetricsOf = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def metrics_of(api: FastAPI, database_url: str) -> MetricsOf:
    """GET /metrics on a replica started with the given settings, with optional headers."""

    async def get(headers: dict[str, str] | None = None, **overrides: object) -> httpx.Response:
        app = create_app(make_settings(database_url, **overrides), clock=api.state.clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                return await client.get("/metrics", headers=headers or {})

    return get


PRODUCTION = {
    "environment": "production",
    "secret_key": secrets.token_urlsafe(48),
    "public_base_url": "https://debrief.example.com",
}


async def test_metrics_are_not_public_in_production(metrics_of: MetricsOf) -> None:
    response = await metrics_of(**PRODUCTION)
    assert_problem(response, 404)
    assert "debrief_http_request_duration_seconds" not in response.text


async def test_metrics_in_production_want_the_metrics_token(metrics_of: MetricsOf) -> None:
    settings = {**PRODUCTION, "metrics_token": METRICS_TOKEN}
    assert_problem(await metrics_of(**settings), 401)
    wrong = {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}x"}
    assert_problem(await metrics_of(wrong, **settings), 401)
    right = await metrics_of({"Authorization": f"Bearer {METRICS_TOKEN}"}, **settings)
    assert right.status_code == 200
    assert "debrief_http_request_duration_seconds" in right.text


async def test_metrics_outside_production_are_open_unless_a_token_is_set(
    metrics_of: MetricsOf,
) -> None:
    assert (await metrics_of()).status_code == 200
    assert_problem(await metrics_of(metrics_token=METRICS_TOKEN), 401)
    api_key_is_not_enough = {"Authorization": "Bearer dbr_some_api_key"}
    assert_problem(await metrics_of(api_key_is_not_enough, metrics_token=METRICS_TOKEN), 401)
    right = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert (await metrics_of(right, metrics_token=METRICS_TOKEN)).status_code == 200


async def test_a_link_token_never_appears_in_a_log_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Error paths log the request's path; a form's path holds the candidate's token."""
    dead = (
        "postgresql://postgres@127.0.0.1:1/debrief"
        if on_postgres()
        else f"sqlite:///{tmp_path}/no-such-directory/debrief.db"
    )
    settings = make_settings(dead)
    app = create_app(settings, clock=FrozenClock(T0))
    token = new_link_token()
    unsubscribe = unsubscribe_token(settings, uuid.uuid4())  # signed: it unsubscribes
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as browser,
        ):
            assert (await browser.get(f"/f/{token}")).status_code == 503
            sent = await browser.post(f"/f/{token}", data={"overall_rating": "4"})
            assert sent.status_code == 503
            assert (await browser.get(f"/e/{token}")).status_code == 503  # a client's link
            logging.getLogger("debrief").error("failed on http://testserver/f/%s", token)
            logging.getLogger("debrief").error("failed on http://testserver/e/%s", token)
            assert (await browser.post(f"/u/{unsubscribe}")).status_code == 503
            logging.getLogger("debrief").error("failed on http://testserver/u/%s", unsubscribe)
    finally:
        logging.getLogger().handlers[:] = []
        logging.getLogger("debrief.access").handlers[:] = []
    written = capsys.readouterr().err
    assert "/f/<redacted>" in written  # the error lines were written, without the token
    assert "/e/<redacted>" in written
    assert "/u/<redacted>" in written
    assert token not in written
    assert unsubscribe.split(".")[1] not in written
    assert token[:12] not in written


async def test_reads_are_counted_in_flight_for_the_bulk_calls_to_wait_for() -> None:
    """The outermost middleware counts each GET and HEAD while it is answered (a batch's ticks
    wait for them, app/db/slices.py); a write is not counted."""
    seen: list[tuple[str, int]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope["method"], slices._slices.reads))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RequestContextMiddleware(inner)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        for method in ("GET", "HEAD", "POST", "PATCH", "DELETE"):
            assert (await client.request(method, "/anything")).status_code == 200
    assert seen == [("GET", 1), ("HEAD", 1), ("POST", 0), ("PATCH", 0), ("DELETE", 0)]
    assert slices._slices.reads == 0
