"""Alembic, driven from code: the `debrief migrate` command, readiness and the tests."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.db.engine import Database
from app.db.sealed import Sealer


def migrations_dir() -> Path:
    """`DEBRIEF_MIGRATIONS_DIR`, else the `migrations/` folder beside the `app` package."""
    configured = os.environ.get("DEBRIEF_MIGRATIONS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


async def upgrade(
    database_url: str, revision: str = "head", *, sealer: Sealer | None = None
) -> None:
    """Apply migrations up to `revision` (in this event loop). `sealer` holds the install's
    key, for migrations that seal stored secrets (without it, migrations/env.py looks in the
    environment)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_sync, database_url, revision, sealer)
    finally:
        await engine.dispose()


def _upgrade_sync(
    connection: object, database_url: str, revision: str, sealer: Sealer | None
) -> None:
    config = alembic_config(database_url)
    config.attributes["connection"] = connection
    if sealer is not None:
        config.attributes["sealer"] = sealer
    command.upgrade(config, revision)


async def current_revision(conn: AsyncConnection) -> str | None:
    result = await conn.execute(text("SELECT version_num FROM alembic_version"))
    return result.scalar_one_or_none()


async def schema_is_current(db: Database, head: str | None) -> bool:
    async with db.reading() as conn:
        return await current_revision(conn) == head
