"""The unit of commit.

Writes run in one transaction per request or job (`transaction`), committed in one place
(`commit`), never by services. Each carries a `UnitOfWork` (app.db.unit_of_work).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db.engine import Database
from app.db.stamps import write_stamps
from app.db.unit_of_work import (
    SYSTEM,
    PostCommitHook,
    PreCommitHook,
    UnitOfWork,
    bind,
    unit_of_work,
)


def add_pre_commit_hook(session: AsyncSession | Session, hook: PreCommitHook) -> None:
    """Run `hook` once, just before this session's transaction commits."""
    hooks = unit_of_work(session).pre_commit
    if hook not in hooks:
        hooks.append(hook)


def add_post_commit_hook(session: AsyncSession, hook: PostCommitHook) -> None:
    """Run `hook` after this session's transaction has committed (never on rollback); a
    coroutine function is awaited before the answer goes out."""
    hooks = unit_of_work(session).post_commit
    if hook not in hooks:
        hooks.append(hook)


async def commit(session: AsyncSession) -> None:
    """The one place a transaction commits: the last flush, the pre-commit hooks (the outbox
    of events and audit rows), the stamps of the read models it changed, then COMMIT.

    A flush queues its audit rows for the outbox, so changes are flushed before the hooks run,
    and again after any hook that changed objects, until nothing is left to flush: COMMIT's
    own flush then finds nothing, and no audit row is left unwritten."""
    work = unit_of_work(session)
    while True:
        if session.new or session.dirty or session.deleted:
            await session.flush()
        if not work.pre_commit:
            break
        hooks, work.pre_commit = work.pre_commit, []
        for hook in hooks:
            await hook(session)
    if work.touched:  # last: a stamp's row stays locked only until COMMIT
        touched, work.touched = work.touched, set()
        await write_stamps(session, touched)
    after, work.post_commit = work.post_commit, []
    await session.commit()
    for done in after:
        result = done()
        if result is not None:
            await result


async def rollback(session: AsyncSession) -> None:
    unit_of_work(session).discard()
    await session.rollback()


def open_unit_of_work(
    session: AsyncSession, db: Database, *, now: datetime | None, actor: str = SYSTEM
) -> UnitOfWork:
    """Give a session just opened on `db` its unit of work."""
    return bind(
        session,
        UnitOfWork(
            db.events_committed,
            db.notifications_committed,
            now=now,
            actor=actor,
            event_observers=db.event_observers,
        ),
    )


@asynccontextmanager
async def transaction(
    db: Database, *, now: datetime | None = None, actor: str = SYSTEM
) -> AsyncIterator[AsyncSession]:
    """A unit of work for jobs and the command line: commits on success, else rolls back.

    `now` (the app's clock) is when the audit log says its changes were made; work that
    changes audited objects must give it. `actor` is who the audit log says made them."""
    async with db.sessionmaker() as session:
        open_unit_of_work(session, db, now=now, actor=actor)
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise
        await commit(session)
