"""SQLite: the one write connection of a process, taken by its writers in turn."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util.concurrency import await_

from app.db.slices import writer_waiting
from app.db.turns import Turns


class WriterQueue(AsyncAdaptedQueuePool):
    """SQLite: one write connection, handed to the process's writers first come, first served.

    SQLite lets one transaction write at a time. Left to race for its lock, writers on
    separate connections each retried on `busy_timeout`'s sleeps, and whoever retried at the
    right moment won: under load most writes took milliseconds and some seconds. Every
    write transaction of the process (requests, the sweep, the webhook and notification
    loops, imports, the command line) opens its session on the write engine, so they all
    meet here: a writer waits for its turn (`Turns`, first come first served, 503 after
    POOL_TIMEOUT seconds) when its transaction's first statement needs the connection, and
    gives the turn to the next when the transaction has ended (commit or rollback) and the
    connection is back. Reads use the read engine's connections and never wait here.
    """

    # Logs under SQLAlchemy's logger, as its own pools do (app/db/fair_pool.py).
    _sqla_logger_namespace = "sqlalchemy.pool.impl.WriterQueue"

    def __init__(self, creator: Any, **kw: Any) -> None:
        kw.update(pool_size=1, max_overflow=0)
        super().__init__(creator, **kw)
        self._writers = Turns(1)
        self._held: asyncio.Semaphore | None = None

    def _do_get(self) -> ConnectionPoolEntry:
        with writer_waiting():  # a batch holding the writer stops waiting for reads
            turn = await_(self._writers.take())
        try:
            entry = super()._do_get()
        except BaseException:
            turn.release()
            raise
        self._held = turn
        return entry

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            turn, self._held = self._held, None
            if turn is not None:
                turn.release()
