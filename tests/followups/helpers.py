from __future__ import annotations

from typing import Any

import httpx


async def sweep(admin: httpx.AsyncClient) -> dict[str, Any]:
    response = await admin.post("/v1/admin/sweeps")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_events(admin: httpx.AsyncClient, *types: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if types:
            params["type"] = list(types)
        if cursor:
            params["cursor"] = cursor
        page = (await admin.get("/v1/events", params=params)).json()
        events.extend(page["items"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return events


async def follow_ups(admin: httpx.AsyncClient, **filters: Any) -> dict[str, dict[str, Any]]:
    """The interview's steps by kind (one interview per call)."""
    items = (await admin.get("/v1/follow-ups", params={"limit": 200, **filters})).json()["items"]
    return {follow_up["kind"]: follow_up for follow_up in items}
