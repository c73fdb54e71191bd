"""The unit of work: what one transaction carries besides its SQL.

Whoever opens a transaction (the transaction middleware for a request, `transaction()` for a
job or the command line) creates one `UnitOfWork` and binds it to the session; code that
holds only the session reaches it through `unit_of_work(session)`. It is the one thing kept
in `session.info`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

SYSTEM = "system"

PreCommitHook = Callable[[AsyncSession], Awaitable[None]]
# Told a transaction's events just before they are written, in that transaction (the
# notifications outbox writes the messages an event calls for beside it).
EventObserver = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]
PostCommitHook = Callable[[], Awaitable[None] | None]

_KEY = "unit_of_work"


class Notifier:
    """Listeners called after something happened (a commit that wrote events, or messages);
    owned by one `Database`, so two apps in one process do not hear each other."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on each `notify`; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()


@dataclass(eq=False)
class UnitOfWork:
    """One transaction's actor, time, pending events and hooks around its commit.

    `now` is when the audit log says its changes were made (the app's clock); `actor` is who
    made them. `events` and `audit` are the rows the transaction appends to the event feed and
    the audit log, written together just before COMMIT (app/events/service.py).
    `events_committed` is told after a commit that wrote events, `notifications_committed`
    after one that wrote messages to send."""

    events_committed: Notifier
    notifications_committed: Notifier
    now: datetime | None = None
    actor: str = SYSTEM
    events: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    pre_commit: list[PreCommitHook] = field(default_factory=list)
    post_commit: list[PostCommitHook] = field(default_factory=list)
    event_observers: list[EventObserver] = field(default_factory=list)
    # The read models whose tables the transaction changed: new stamps at commit
    # (app/db/stamps.py), so the pages the processes keep of them are read again.
    touched: set[str] = field(default_factory=set)
    # What the transaction reads once and uses often (the follow-up policy), by name; whoever
    # changes such a thing in the transaction puts the new value here.
    memo: dict[str, Any] = field(default_factory=dict)
    # The transaction's driver connection (asyncpg's, or SQLite's `sqlite3` one), found by
    # its first `Statement` and used by the next ones (app/db/statements.py), with the
    # SQLAlchemy transaction it is for.
    driver: tuple[Any, Any] | None = None

    def discard(self) -> None:
        """Forget the pending work of a transaction rolled back."""
        self.memo.clear()
        self.driver = None
        self.events.clear()
        self.audit.clear()
        self.touched.clear()
        self.pre_commit.clear()
        self.post_commit.clear()

    def mark(self) -> tuple[int, int]:
        """How many events and audit rows are pending now, for `rewind`."""
        return len(self.events), len(self.audit)

    def rewind(self, mark: tuple[int, int]) -> None:
        """Drop the events and audit rows pending since `mark` (a savepoint rolled back)."""
        del self.events[mark[0] :]
        del self.audit[mark[1] :]


def bind(session: AsyncSession, work: UnitOfWork) -> UnitOfWork:
    """Make `work` the unit of work of `session` (done by whoever opens the transaction)."""
    session.info[_KEY] = work
    return work


def unit_of_work(session: AsyncSession | Session) -> UnitOfWork:
    """The unit of work `session` was opened with."""
    work: UnitOfWork | None = session.info.get(_KEY)
    if work is None:
        raise RuntimeError("this session was opened without a unit of work (transaction())")
    return work
