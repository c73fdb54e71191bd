"""Clients: the employers candidates interview with."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from app.bulk import service as bulk
from app.bulk.schemas import BulkOut
from app.clients.schemas import ClientCreate, ClientPatch, ClientUpsert
from app.db.patch import apply_changes, patch_values
from app.db.queries import external_id_taken, get_for_update
from app.db.slices import batched
from app.db.versions import require_if_match
from app.debrief_queue import service as debrief_queue
from app.errors import Conflict
from app.models import Client


async def _check_external_id(
    session: AsyncSession, external_id: str | None, client_id: uuid.UUID | None
) -> None:
    if external_id and await external_id_taken(session, Client, external_id, excluding=client_id):
        raise Conflict(f"A client with external_id {external_id!r} already exists.")


async def create_client(*, session: AsyncSession, data: ClientCreate, now: datetime) -> Client:
    """Add a client."""
    await _check_external_id(session, data.external_id, None)
    client = Client(**data.model_dump(), created_at=now, updated_at=now)
    session.add(client)
    await session.flush()
    return client


async def update_client(
    *,
    session: AsyncSession,
    client_id: uuid.UUID,
    patch: ClientPatch,
    if_match: str | None,
    now: datetime,
) -> Client:
    """Change a client's name, external id, contact, time zone or `auto_chase` (If-Match
    required)."""
    client = await get_for_update(session, Client, client_id, "client")
    require_if_match(if_match, client.version)
    values = patch_values(patch, not_null=("name", "auto_chase"))
    await _check_external_id(session, values.get("external_id"), client.id)
    changed = apply_changes(client, values, now=now)
    await session.flush()
    await debrief_queue.clients_changed(session, [client.id], changed)
    return client


_UPSERT = TypeAdapter(ClientUpsert)


@batched  # its ticks wait for the reads in flight (app/db/slices.py)
async def upsert_clients(
    *, session: AsyncSession, items: list[dict[str, Any]], atomic: bool, now: datetime
) -> BulkOut:
    """Create or update up to 1,000 clients by external_id, in one transaction."""
    out = await bulk.upsert(
        session=session, model=Client, items=items, adapter=_UPSERT, atomic=atomic, now=now
    )
    await debrief_queue.clients_changed(session, bulk.updated_ids(out))
    return out
