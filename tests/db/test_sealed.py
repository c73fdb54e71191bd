"""Secrets sealed at rest: what a sealed value is, what a wrong key does, and migration 0018,
which seals the secrets an install already stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings, get_settings
from app.db.columns import JSONType, UTCDateTime
from app.db.engine import Database
from app.db.migrations import upgrade
from app.db.sealed import Sealer, Unsealable
from app.models import Staff
from tests.db.test_migrations import downgrade, scratch_url  # noqa: F401 - a fixture

SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTI0Ynl0"
CHAT_URL = "https://hooks.slack.com/services/T0001/B0002/XXXXtokenXXXX"
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def test_a_sealed_value_opens_with_its_key_only() -> None:
    sealer = Sealer.of(Settings(environment="test", secret_key="k" * 40))
    sealed = sealer.seal(CHAT_URL)
    assert sealed.startswith("sealed:v1:")
    assert "slack" not in sealed
    assert "token" not in sealed
    assert sealer.seal(CHAT_URL) != sealed  # a fresh nonce each time
    assert sealer.open(sealed) == CHAT_URL
    other = Sealer.of(Settings(environment="test", secret_key="j" * 40))
    with pytest.raises(Unsealable, match="another DEBRIEF_SECRET_KEY"):
        other.open(sealed)
    assert not other.opens(sealed)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(Unsealable):
        sealer.open(tampered)
    with pytest.raises(Unsealable, match="not sealed"):
        sealer.open(CHAT_URL)


async def test_a_plain_secret_is_never_written(db: Database) -> None:
    with pytest.raises(sa.exc.StatementError, match="never in plain text"):
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.insert(Staff).values(
                    id=uuid.uuid4(),
                    full_name="Rosa",
                    email="rosa@agency.co.uk",
                    chat_url=CHAT_URL,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


_endpoints = sa.table(
    "webhook_endpoints",
    *(sa.column(c) for c in ("url", "secret", "previous_secret", "enabled", "last_event_seq")),
    *(sa.column(c) for c in ("version",)),
    sa.column("id", sa.Uuid()),
    sa.column("event_types", JSONType),
    sa.column("previous_secret_expires_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
_staff = sa.table(
    "staff",
    *(sa.column(c) for c in ("full_name", "email", "active", "notify_via", "chat_url", "version")),
    sa.column("id", sa.Uuid()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


async def _stored(url: str) -> tuple[list[tuple[str, str | None]], list[str | None]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            secrets = [
                (row[0], row[1])
                for row in await conn.execute(
                    sa.text("SELECT secret, previous_secret FROM webhook_endpoints")
                )
            ]
            urls = [row[0] for row in await conn.execute(sa.text("SELECT chat_url FROM staff"))]
    finally:
        await engine.dispose()
    return secrets, urls


async def test_migration_0018_seals_what_is_stored_and_needs_the_key_to_do_it(
    scratch_url: str,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await upgrade(scratch_url, "0016")
    engine = create_async_engine(scratch_url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(_endpoints).values(
                id=uuid.uuid4(),
                url="https://crm.example.com/hooks",
                event_types=[],
                secret=SECRET,
                previous_secret="whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZA",
                previous_secret_expires_at=NOW,
                enabled=True,
                last_event_seq=0,
                version=1,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await conn.execute(
            sa.insert(_staff).values(
                id=uuid.uuid4(),
                full_name="Rosa Patel",
                email="rosa@agency.co.uk",
                active=True,
                notify_via="chat",
                chat_url=CHAT_URL,
                version=1,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    await engine.dispose()
    plain = await _stored(scratch_url)

    # No key from the runner, none in the environment: it stops, and nothing changes.
    monkeypatch.setenv("DEBRIEF_ENVIRONMENT", "production")
    monkeypatch.setenv("DEBRIEF_SECRET_KEY", "too-short")
    get_settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="DEBRIEF_SECRET_KEY"):
            await upgrade(scratch_url)
    finally:
        get_settings.cache_clear()
    assert await _stored(scratch_url) == plain

    sealer = Sealer.of(Settings(environment="test", secret_key="k" * 40))
    await upgrade(scratch_url, sealer=sealer)
    (secrets,), (chat_url,) = await _stored(scratch_url)
    assert chat_url is not None
    assert sealer.open(chat_url) == CHAT_URL
    assert [sealer.open(s) for s in secrets if s] == list(plain[0][0])
    assert all(s.startswith("sealed:v1:") for s in (*secrets, chat_url) if s)
    engine = create_async_engine(scratch_url)
    async with engine.connect() as conn:
        host = (await conn.execute(sa.text("SELECT chat_host FROM staff"))).scalar_one()
    await engine.dispose()
    assert host == "hooks.slack.com"

    # And back: the older code reads them in plain text again.
    await downgrade(scratch_url, "0016", sealer=sealer)
    assert await _stored(scratch_url) == plain
