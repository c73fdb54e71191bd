from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from app.auth.keys import hash_key
from app.config import DEFAULT_SECRET, KEY_PURPOSES, Settings, normalise_database_url
from tests.conftest import KeyMaker


@pytest.fixture(autouse=True)
def _newcomers_shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings as a newcomer's shell gives them: no DEBRIEF_* variables (CI exports a
    secret) and no .env file (`make run` writes one in the checkout)."""
    for name in list(os.environ):
        if name.startswith("DEBRIEF_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("sqlite:///./debrief.db", "sqlite+aiosqlite:///./debrief.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValidationError, match="only sqlite"):
        Settings(database_url="mysql://u@h/db", environment="test")


def test_a_pool_of_one_connection_is_refused() -> None:
    # The sweep holds one read connection for its advisory lock and reads with another: with
    # one, every sweep would wait for itself until the pool's timeout.
    with pytest.raises(ValidationError, match="greater than or equal to 2"):
        Settings(db_pool_size=1, environment="test")
    assert Settings(db_pool_size=2, environment="test").db_pool_size == 2


def test_production_refuses_placeholder_secret_and_plain_http() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Settings(environment="production", secret_key=DEFAULT_SECRET)
    message = str(excinfo.value)
    assert "DEBRIEF_SECRET_KEY" in message
    assert "https" in message


def test_production_with_safe_settings_is_accepted() -> None:
    settings = Settings(
        environment="production",
        secret_key="k" * 40,
        public_base_url="https://debrief.agency.co.uk",
        database_url="postgresql://debrief@db/debrief",
    )
    assert settings.database_url == "postgresql+asyncpg://debrief@db/debrief"


@pytest.mark.parametrize("secret", [DEFAULT_SECRET, "changeme", "", "k" * 31])
def test_development_refuses_the_placeholder_or_a_short_secret(secret: str) -> None:
    # Anyone can read the placeholder in the source: a service started with it would
    # hand out board sessions and link tokens anyone can forge, on a laptop as in production.
    with pytest.raises(ValidationError, match="DEBRIEF_SECRET_KEY"):
        Settings(environment="development", secret_key=secret)
    with pytest.raises(ValidationError, match="DEBRIEF_SECRET_KEY"):
        Settings(secret_key=secret)  # development is the default


def test_only_tests_run_with_the_placeholder() -> None:
    assert Settings(environment="test").secret_key.get_secret_value() == DEFAULT_SECRET
    assert Settings(environment="development", secret_key="k" * 32).environment == "development"


def test_each_use_of_the_secret_has_its_own_key() -> None:
    settings = Settings(environment="test", secret_key="k" * 40)
    keys = {settings.derived_key(purpose) for purpose in KEY_PURPOSES}
    assert len(keys) == len(KEY_PURPOSES)
    assert all(len(key) == 32 and b"k" * 32 not in key for key in keys)
    other = Settings(environment="test", secret_key="j" * 40)
    assert other.derived_key("board-session") != settings.derived_key("board-session")


async def test_the_suite_runs_with_the_production_key_cache(
    api: FastAPI, make_key: KeyMaker
) -> None:
    """Tests run what production runs: keys are cached for the default time, so the hot
    reads are answered as they are in production (a test that compares both paths turns
    the cache off for itself only)."""
    production = Settings.model_fields["api_key_cache_seconds"].default
    assert production > 0
    assert api.state.settings.api_key_cache_seconds == api.state.key_cache.ttl == production
    key = await make_key("integration")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        assert (await client.get("/v1/candidates")).status_code == 200
    assert api.state.key_cache.get(hash_key(key)) is not None
