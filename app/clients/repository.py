"""SQL for clients."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.engine import RowMapping

from app.db.engine import Database
from app.db.queries import AnySelect, read_one
from app.models import Client


def select_clients(*, external_id: str | None = None, name: str | None = None) -> AnySelect:
    stmt = select(Client.__table__)
    if external_id is not None:
        stmt = stmt.where(Client.external_id == external_id)
    if name is not None:
        stmt = stmt.where(Client.name == name)
    return stmt


async def read_client(db: Database, client_id: uuid.UUID) -> RowMapping | None:
    return await read_one(db, select(Client.__table__).where(Client.id == client_id))
