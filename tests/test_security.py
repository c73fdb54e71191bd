"""OWASP API Security Top 10 (2023), the items that apply, checked over every route of the
committed OpenAPI document: broken object/function level authorisation (API1, API5), broken
authentication (API2), mass assignment (API3), resource limits (API4, elsewhere), security
misconfiguration such as stack traces (API8), and an inventory of every route (API9)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tests.conftest import ClientMaker

ROOT = Path(__file__).resolve().parent.parent
OPENAPI: dict[str, Any] = json.loads((ROOT / "openapi" / "openapi.json").read_text())
NO_KEY = {"/healthz", "/readyz", "/metrics"}  # no API key (/metrics: its own token)
# HTML pages: a link token, an unsubscribe token or the board's session cookie, never a key
PAGES = ("/f/", "/e/", "/u/", "/board")
ADMIN_ONLY = (
    ("POST", "/v1/staff"),
    ("PATCH", "/v1/staff/{staff_id}"),
    ("*", "/v1/api-keys"),
    ("*", "/v1/settings/"),
    ("*", "/v1/admin/"),
    ("*", "/v1/audit"),
    ("*", "/v1/imports"),
    ("DELETE", "/v1/candidates/{candidate_id}"),
    ("GET", "/v1/candidates/{candidate_id}/export"),
)
ADMIN_AND_INTEGRATION = (("*", "/v1/events"), ("*", "/v1/webhooks"), ("POST", "/bulk"))
STAFF_ONLY = (
    ("*", "/v1/reports/"),
    ("GET", "/v1/clients/{client_id}/interview-questions"),
    ("*", "/v1/notifications"),
    # A person confirms that the employer's words go to the candidate.
    ("POST", "/v1/interviews/{interview_id}/employer-feedback/{feedback_id}/relay"),
)


def allowed_roles(method: str, path: str) -> set[str]:
    for m, prefix in ADMIN_ONLY:
        if (m in ("*", method)) and (path.startswith(prefix) if m == "*" else path == prefix):
            return {"admin"}
    for m, part in ADMIN_AND_INTEGRATION:
        if m in ("*", method) and (path.startswith(part) if m == "*" else path.endswith(part)):
            return {"admin", "integration"}
    for m, prefix in STAFF_ONLY:
        if (m in ("*", method)) and (path.startswith(prefix) if m == "*" else path == prefix):
            return {"admin", "recruiter"}
    return {"admin", "recruiter", "integration"}


def operations() -> list[tuple[str, str]]:
    found = []
    for path, item in OPENAPI["paths"].items():
        for method in item:
            if path in NO_KEY or path.startswith(PAGES):
                continue
            found.append((method.upper(), path))
    return sorted(found)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    if method in ("POST", "PUT", "PATCH") and "json" not in kwargs:
        kwargs["json"] = {}
    return await client.request(method, concrete(path), **kwargs)


@pytest.mark.parametrize(("method", "path"), operations())
async def test_every_api_route_needs_a_key(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await call(anonymous, method, path)
    assert response.status_code == 401, (method, path, response.text)
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path"), operations())
async def test_each_role_gets_exactly_its_rights(
    client_for: ClientMaker, method: str, path: str
) -> None:
    allowed = allowed_roles(method, path)
    for role in ("admin", "recruiter", "integration"):
        client = await client_for(role)
        response = await call(client, method, path)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)


async def test_a_candidate_link_token_is_never_an_api_key(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    candidate = (await admin.post("/v1/candidates", json={"full_name": "Link Holder"})).json()
    client = (await admin.post("/v1/clients", json={"name": "Acme"})).json()
    interview = (
        await admin.post(
            "/v1/interviews",
            json={
                "candidate_id": candidate["id"],
                "client_id": client["id"],
                "job_title": "Analyst",
                "stage": "first",
                "format": "video",
                "starts_at": "2026-03-04T07:00:00Z",
            },
        )
    ).json()
    token = (
        (await admin.post(f"/v1/interviews/{interview['id']}/debrief-links"))
        .json()["url"]
        .rsplit("/", 1)[1]
    )
    decision = (
        (await admin.post(f"/v1/interviews/{interview['id']}/employer-links"))
        .json()["url"]
        .rsplit("/", 1)[1]
    )
    for method, path in operations():
        for secret in (token, decision):
            response = await call(
                anonymous, method, path, headers={"Authorization": f"Bearer {secret}"}
            )
            assert response.status_code == 401, (method, path)
    sign_in_page = (await anonymous.get("/board")).text
    csrf = sign_in_page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    board = await anonymous.post("/board/sign-in", data={"api_key": token, "csrf": csrf})
    assert board.status_code == 401
    other = await anonymous.get("/f/" + token[:-4] + "AAAA")
    assert other.status_code == 404  # a token opens its own form and nothing near it
    assert (await anonymous.get("/f/" + decision)).status_code == 404  # nor the other page
    assert (await anonymous.get("/e/" + token)).status_code == 404


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    return OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


def writable_operations() -> list[tuple[str, str, list[str]]]:
    """Operations with a JSON body, and the fields their answer has that the body may not set."""
    found = []
    for path, item in OPENAPI["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None or path.startswith(PAGES):
                continue
            accepted = set(_schema(body["schema"]).get("properties", {}))
            answer = next((r for s, r in op["responses"].items() if s.startswith("2")), {})
            answer_schema = answer.get("content", {}).get("application/json", {}).get("schema")
            shown = set(_schema(answer_schema).get("properties", {})) if answer_schema else set()
            read_only = sorted((shown | {"id", "created_at", "updated_at", "version"}) - accepted)
            found.append((method.upper(), path, read_only))
    return sorted(found)


@pytest.mark.parametrize(("method", "path", "read_only"), writable_operations())
async def test_read_only_fields_cannot_be_written(
    admin: httpx.AsyncClient, method: str, path: str, read_only: list[str]
) -> None:
    for field in read_only:
        response = await call(admin, method, path, json={field: "x"})
        assert response.status_code == 422, (method, path, field, response.status_code)
        assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]}, (
            method,
            path,
            field,
        )


async def test_no_stack_trace_ever_reaches_a_client(
    api: FastAPI, make_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.candidates import service

    async def broken(**_: Any) -> None:
        raise RuntimeError("internal detail: connection string postgres://secret@db")

    monkeypatch.setattr(service, "create_candidate", broken)
    # As a real server does: the answer goes out, the error is logged, nothing is re-raised.
    transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(
            "/v1/candidates",
            json={"full_name": "Anyone"},
            headers={"Authorization": f"Bearer {await make_key('admin')}"},
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    for leak in ("Traceback", "RuntimeError", "internal detail", "secret", 'File "'):
        assert leak not in response.text


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app routes, whether FastAPI keeps routes flat (APIRoute) or
    as included routers (0.16x: `effective_route_contexts`)."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for context in contexts:
            if isinstance(context, APIRoute) or hasattr(context, "original_route"):
                # `{x_id:uuid}` is a routing converter; the document names it `{x_id}`.
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", context.path)
                found |= {(m, path) for m in (context.methods or set()) - {"HEAD"}}
    return found


def test_every_route_is_in_the_committed_openapi_document(api: FastAPI) -> None:
    documented = {(m.upper(), p) for p, item in OPENAPI["paths"].items() for m in item}
    served = served_routes(api)
    assert len(served) > 40
    assert served - documented == set()
    assert documented - served == set()
