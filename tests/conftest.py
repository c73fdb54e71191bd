"""Test fixtures: a migrated database per run (SQLite file, or a fresh PostgreSQL database),
the app with a clock the tests move, and clients holding keys of each role.

DEBRIEF_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres runs everything on
PostgreSQL: the suite creates its own database there and drops it at the end.
DEBRIEF_TEST_FORBID_SKIPS=1 (set by CI) turns any skipped test into a failed run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.auth.dependencies import KeyCache
from app.auth.service import issue_key
from app.clock import FrozenClock
from app.config import Settings, normalise_database_url
from app.db.base import Base
from app.db.engine import Database
from app.db.migrations import upgrade
from app.db.transaction import transaction
from app.main import create_app
from app.models import Staff
from app.schemas.fields import Role
from tests.queue_check import assert_in_follow_up

# A Wednesday, inside business hours in London.
T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
_skipped: list[str] = []


def _configured_url() -> str | None:
    url = os.environ.get("DEBRIEF_TEST_DATABASE_URL")
    return normalise_database_url(url) if url else None


def on_postgres() -> bool:
    url = _configured_url()
    return bool(url and url.startswith("postgresql"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DEBRIEF_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("DEBRIEF_TEST_FORBID_SKIPS") == "1" and _skipped:
        print(f"\nDEBRIEF_TEST_FORBID_SKIPS=1 but {len(_skipped)} tests were skipped:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def asyncpg_dsn(url: str) -> str:
    """The suite's PostgreSQL URL as asyncpg itself takes it."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def new_postgres_database(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `server_url` (its URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(asyncpg_dsn(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    configured = _configured_url()
    if not configured or configured.startswith("sqlite"):
        path = Path(tmp_path_factory.mktemp("db")) / "debrief-test.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade(url)
        yield url
        return
    async with new_postgres_database(configured, "debrief_test") as url:
        await upgrade(url)
        yield url


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "scheduler_enabled": False,
        "webhook_delivery_enabled": False,
        "notification_delivery_enabled": False,
        "db_pool_size": 5,
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 10_000,
        "auth_failures_per_minute": 100_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def replica(api: FastAPI, settings: Settings) -> AsyncIterator[FastAPI]:
    """Another process of the service on the suite's database and clock, with its own
    settings, its lifespan running (its loops started as those settings say)."""
    other = create_app(settings, clock=api.state.clock)
    async with other.router.lifespan_context(other):
        yield other


def client_of(app: FastAPI, key: str | None = None) -> httpx.AsyncClient:
    """An HTTP client of `app` over ASGI, sending `key` as its Bearer credential."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
    )


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url), clock=FrozenClock(T0))
    async with application.router.lifespan_context(application):
        revocations = application.state.revocations
        if revocations is not None:  # PostgreSQL: the key cache is used once it is listening
            await asyncio.wait_for(revocations.connected.wait(), 30)
        yield application


@pytest.fixture
async def hooks_app(api: FastAPI, database_url: str) -> AsyncIterator[FastAPI]:
    """A replica allowed to reach loopback (where the test receiver listens); its delivery
    loop is off, so each test decides when a delivery round runs."""
    settings = make_settings(database_url, webhook_allow_private_targets=True)
    async with replica(api, settings) as hooks:
        yield hooks


async def wipe(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for name in tables:
                await conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            await conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))


_PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


@pytest.fixture
async def api(app: FastAPI, request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    """The app with a fresh clock at T0; every row the test wrote is removed afterwards, and
    the key cache is emptied and put back as production has it (a test may change it).

    After a test that passed, the overdue queue must equal the live join of what it shows,
    whatever the test changed (tests/queue_check.py): every path that writes is covered."""
    app.state.clock = FrozenClock(T0)
    cache: KeyCache = app.state.key_cache
    try:
        yield app
        if request.node.stash.get(_PASSED, False):
            await assert_in_follow_up(app.state.db)
    finally:
        await wipe(app.state.db)
        app.state.key_cache = cache
        cache.ttl = app.state.settings.api_key_cache_seconds
        cache.after_lookup = None
        cache.forget()


@pytest.fixture
def clock(api: FastAPI) -> FrozenClock:
    clock: FrozenClock = api.state.clock
    return clock


@pytest.fixture
def db(api: FastAPI) -> Database:
    database: Database = api.state.db
    return database


KeyMaker = Callable[..., Awaitable[str]]


@pytest.fixture
def make_key(db: Database, clock: FrozenClock) -> KeyMaker:
    async def make(
        role: Role = "admin", *, staff_id: uuid.UUID | None = None, name: str = "test"
    ) -> str:
        async with transaction(db, now=clock.now()) as session:
            if role == "recruiter" and staff_id is None:
                staff = Staff(
                    full_name="Rosa Recruiter",
                    email=f"rosa-{uuid.uuid4().hex[:8]}@agency.co.uk",
                    active=True,
                    created_at=clock.now(),
                    updated_at=clock.now(),
                )
                session.add(staff)
                await session.flush()
                staff_id = staff.id
            _, secret = await issue_key(
                session=session, name=name, role=role, staff_id=staff_id, now=clock.now()
            )
        return secret

    return make


ClientMaker = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def client_for(api: FastAPI, make_key: KeyMaker) -> AsyncIterator[ClientMaker]:
    opened: list[httpx.AsyncClient] = []

    async def make(role: Role | None = "admin", **kwargs: object) -> httpx.AsyncClient:
        client = client_of(api, await make_key(role, **kwargs) if role is not None else None)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
async def admin(client_for: ClientMaker) -> httpx.AsyncClient:
    return await client_for("admin")


@pytest.fixture
async def recruiter(client_for: ClientMaker) -> httpx.AsyncClient:
    return await client_for("recruiter")


@pytest.fixture
async def integration(client_for: ClientMaker) -> httpx.AsyncClient:
    return await client_for("integration")


@pytest.fixture
async def anonymous(client_for: ClientMaker) -> httpx.AsyncClient:
    return await client_for(None)
