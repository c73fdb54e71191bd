from __future__ import annotations

import httpx

from app.db.migrations import head_revision


async def test_healthz_needs_no_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_schema_at_the_newest_migration(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema": head_revision()}
