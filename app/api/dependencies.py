"""Dependencies every router uses: the database, the request's transaction, the clock.

They are `async def` although they never wait: FastAPI runs a plain `def` dependency in a
worker thread, which costs more than the rest of a simple read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_now(request: Request) -> datetime:
    return request.app.state.clock.now()  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncSession:
    """The write transaction the TransactionMiddleware opened for this request."""
    session: AsyncSession | None = request.scope.get("state", {}).get("db_session")
    if session is None:
        raise RuntimeError("a write session is only available on POST, PUT, PATCH and DELETE")
    return session


DB = Annotated[Database, Depends(get_db)]
Session = Annotated[AsyncSession, Depends(get_session)]
Now = Annotated[datetime, Depends(get_now)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
