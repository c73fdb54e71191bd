"""The unit of commit.

Writes run in one transaction per request or job (`transaction`), committed in one place
(`commit`), never by services.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import (
    AsyncSession,
)

from app.db.engine import Database

PreCommitHook = Callable[[AsyncSession], Awaitable[None]]


def add_pre_commit_hook(session: AsyncSession, hook: PreCommitHook) -> None:
    """Run `hook` once, just before this session's transaction commits."""
    hooks: list[PreCommitHook] = session.info.setdefault("pre_commit", [])
    if hook not in hooks:
        hooks.append(hook)


PostCommitHook = Callable[[], Awaitable[None] | None]


def add_post_commit_hook(session: AsyncSession, hook: PostCommitHook) -> None:
    """Run `hook` after this session's transaction has committed (never on rollback); a
    coroutine function is awaited before the answer goes out."""
    hooks: list[PostCommitHook] = session.info.setdefault("post_commit", [])
    if hook not in hooks:
        hooks.append(hook)


async def commit(session: AsyncSession) -> None:
    """The one place a transaction commits: pre-commit hooks (the event outbox), then COMMIT."""
    hooks: list[PreCommitHook] = session.info.pop("pre_commit", [])
    for hook in hooks:
        await hook(session)
    after: list[PostCommitHook] = session.info.pop("post_commit", [])
    await session.commit()
    for done in after:
        result = done()
        if result is not None:
            await result


async def rollback(session: AsyncSession) -> None:
    session.info.clear()
    await session.rollback()


@asynccontextmanager
async def transaction(db: Database, *, now: datetime | None = None) -> AsyncIterator[AsyncSession]:
    """A unit of work for jobs and the command line: commits on success, else rolls back.

    `now` (the app's clock) is when the audit log says its changes were made; work that
    changes audited objects must give it."""
    async with db.sessionmaker() as session:
        if now is not None:
            session.info["now"] = now
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise
        await commit(session)
