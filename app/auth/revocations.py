"""Revoked keys leave every process's key cache within a second, not after its lifetime.

The transaction that revokes a key (or deactivates the staff member it belongs to) sends
`NOTIFY debrief_key_revoked, '<key id>'`; PostgreSQL delivers it when, and only if, that
transaction commits. Each process keeps one connection LISTENing on the channel and drops
the key from its cache when the notification arrives. While that connection is down the
cache is not used at all (a revocation could be missed); when it is back the cache starts
empty. On SQLite there is one process: the revoking request drops the key itself.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import KeyCache
from app.db.engine import Database
from app.db.transaction import add_post_commit_hook
from app.models import ApiKey

CHANNEL = "debrief_key_revoked"
# How the listening connection is named in pg_stat_activity.
APPLICATION_NAME = "debrief-key-revocations"
# Seconds between checks that the listening connection still answers.
PING_SECONDS = 5.0
_FIRST_RETRY_SECONDS = 0.2
_LAST_RETRY_SECONDS = 5.0

logger = logging.getLogger("debrief.revocations")


async def announce(session: AsyncSession, cache: KeyCache, key_ids: Sequence[uuid.UUID]) -> None:
    """Every process drops these keys from its cache once this transaction commits."""
    if not key_ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        for key_id in key_ids:
            await session.execute(select(func.pg_notify(CHANNEL, str(key_id))))
    ids = tuple(key_ids)
    add_post_commit_hook(session, lambda: cache.revoke(ids))


async def announce_staff_keys(session: AsyncSession, cache: KeyCache, staff_id: uuid.UUID) -> None:
    """As `announce`, for every key of a staff member (deactivated: their keys stop working)."""
    ids = (await session.execute(select(ApiKey.id).where(ApiKey.staff_id == staff_id))).scalars()
    await announce(session, cache, list(ids))


class RevocationListener:
    """PostgreSQL: the connection of this process that LISTENs for revoked keys, opened
    again whenever it is lost, with the cache unused meanwhile."""

    def __init__(self, db: Database, cache: KeyCache) -> None:
        _args, options = db.engine.dialect.create_connect_args(make_url(db.url))
        # SQLAlchemy's own options for its connection wrapper, not asyncpg's.
        options.pop("prepared_statement_cache_size", None)
        options.pop("prepared_statement_name_func", None)
        self._options = dict(options)
        self.cache = cache
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        retry = _FIRST_RETRY_SECONDS
        while True:
            try:
                await self._listen()
                retry = _FIRST_RETRY_SECONDS
            except Exception as exc:  # whatever it was, the cache is unused until we listen
                logger.warning("key revocations: not listening (%s)", type(exc).__name__)
            await asyncio.sleep(retry)
            retry = min(retry * 2, _LAST_RETRY_SECONDS)

    async def _listen(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(
            **self._options,
            server_settings={"application_name": APPLICATION_NAME},
            timeout=PING_SECONDS,
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
            self.cache.listen_again()
            self.connected.set()
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                except TimeoutError:  # no news: make sure the connection still answers
                    await asyncio.wait_for(conn.execute("SELECT 1"), PING_SECONDS)
        finally:
            self.connected.clear()
            self.cache.stop_listening()
            conn.terminate()
        logger.warning("key revocations: the listening connection was lost; reconnecting")

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            key_id = uuid.UUID(payload)
        except ValueError:
            self.cache.forget()
            return
        self.cache.revoke([key_id])
