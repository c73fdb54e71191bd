from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings, normalise_database_url


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
        Settings(database_url="mysql://u@h/db")


def test_a_pool_of_one_connection_is_refused() -> None:
    # The sweep holds one read connection for its advisory lock and reads with another: with
    # one, every sweep would wait for itself until the pool's timeout.
    with pytest.raises(ValidationError, match="greater than or equal to 2"):
        Settings(db_pool_size=1)
    assert Settings(db_pool_size=2).db_pool_size == 2


def test_production_refuses_placeholder_secret_and_plain_http() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Settings(environment="production")
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
