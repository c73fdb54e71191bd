"""One settings class, read once from DEBRIEF_* environment variables or a .env file."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "dev-only-secret-change-me"  # noqa: S105 - a placeholder only tests accept
_PLACEHOLDER_SECRETS = {DEFAULT_SECRET, "changethis", "changeme", "secret", ""}
MIN_SECRET_LENGTH = 32
# What each key derived from DEBRIEF_SECRET_KEY is for. A purpose's label never changes
# once stored values depend on it; bump its version to rotate that use alone.
KEY_PURPOSES = {
    "board-session": "debrief:board-session:v1",  # hashes of board session ids
    "board-csrf": "debrief:board-csrf:v1",  # the board's form tokens, sign-in included
    "form-csrf": "debrief:form-csrf:v1",  # the candidate form's tokens
    "decision-csrf": "debrief:decision-csrf:v1",  # the client decision page's tokens
    "link-token": "debrief:link-token:v1",  # hashes of debrief link tokens
    "erased-identity": "debrief:erased-identity:v1",  # fingerprints of erased CRM ids
    "unsubscribe": "debrief:unsubscribe:v1",  # the signatures of one-click unsubscribe links
    "suppression": "debrief:suppression:v1",  # hashes of addresses never mailed again
    "sealed": "debrief:sealed:v1",  # secrets kept sealed at rest (app/db/sealed.py)
}
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, sqlite:///) and pick the async driver."""
    for prefix in (
        "postgres://",
        "postgresql://",
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DEBRIEF_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./debrief.db"
    # At least 2: on PostgreSQL the sweep holds a read connection for its lock while it reads.
    db_pool_size: int = Field(default=10, ge=2, le=200)
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")

    scheduler_enabled: bool = True
    sweep_interval_seconds: int = Field(default=60, ge=1, le=3600)
    webhook_delivery_enabled: bool = True
    webhook_allow_private_targets: bool = False
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # One delivery attempt, from connecting to reading the answer, ends after this (inside
    # the 60 s claim lease); and how many deliveries one process sends at once.
    webhook_attempt_seconds: float = Field(default=15.0, gt=0, le=45)
    webhook_max_in_flight: int = Field(default=32, ge=1, le=50)

    # Notifications (docs/notifications.md). Without an SMTP URL, emails are rendered and
    # stored but not sent (preview mode). smtp:// uses STARTTLS when the server offers it,
    # smtp+starttls:// requires it, smtps:// is TLS from the start.
    smtp_url: SecretStr | None = None
    mail_from: str = Field(default="debrief@localhost", max_length=320)
    mail_reply_to: str | None = Field(default=None, max_length=320)
    agency_name: str = Field(default="Debrief", min_length=1, max_length=200)
    # Emails sent per minute at most, across every process (the agency's mail reputation).
    smtp_max_per_minute: int = Field(default=60, ge=1, le=100_000)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=45)
    notification_delivery_enabled: bool = True
    notification_poll_seconds: float = Field(default=5.0, gt=0, le=60)

    # How long a verified API key is trusted without asking the database again. Revoking a
    # key takes effect at once everywhere: on PostgreSQL every process hears of it (NOTIFY).
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Region used to read phone numbers written without a +country code.
    default_phone_region: str = Field(default="GB", pattern=r"^[A-Z]{2}$")
    # Per API key, in each process: a burst, then a steady rate (0 turns the limit off).
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # Failed API-key checks per client address, in each process, before answering 429.
    auth_failures_per_minute: int = Field(default=30, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Rows in one CSV import (`POST /v1/imports`, `debrief import`). It writes them all in one
    # transaction, like a bulk upsert of 1,000 items (on SQLite, other writers wait meanwhile).
    import_max_rows: int = Field(default=1000, ge=1, le=100_000)
    # Addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed, comma-separated; empty (the default) believes nobody.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Bearer token Prometheus sends to read /metrics. Without one, /metrics is open in
    # development and test and answers 404 in production.
    metrics_token: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        url = normalise_database_url(value)
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("only sqlite (aiosqlite) and postgresql (asyncpg) are supported")
        return url

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise ValueError(
                "DEBRIEF_SMTP_URL must look like smtp://user:password@host:587 "
                f"(schemes: {', '.join(SMTP_SCHEMES)})"
            )
        return value

    @field_validator("mail_from", "mail_reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and (value.count("@") != 1 or any(c in value for c in " <>,\r\n")):
            raise ValueError("must be a bare email address, like debrief@agency.co.uk")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        """Each entry an IP address or network, written the one way the proxy middleware
        compares them (a typo would otherwise silently trust nobody, or a name)."""
        networks = []
        for item in value:
            try:
                network = ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (CIDR) of a proxy"
                ) from None
            single = network.num_addresses == 1
            networks.append(str(network.network_address) if single else str(network))
        return networks

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("DEBRIEF_METRICS_TOKEN must be 16 characters or more")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_settings(self) -> Settings:
        if self.environment == "test":
            return self
        problems = []
        secret = self.secret_key.get_secret_value()
        if secret in _PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            problems.append(
                f"DEBRIEF_SECRET_KEY must be a random value of {MIN_SECRET_LENGTH} characters "
                "or more (`make run` writes one to .env; or generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if self.environment != "production":
            if problems:
                raise ValueError(f"unsafe {self.environment} settings: " + "; ".join(problems))
            return self
        if self.public_base_url.scheme != "https":
            problems.append("DEBRIEF_PUBLIC_BASE_URL must be https in production")
        if self.webhook_allow_private_targets:
            problems.append("DEBRIEF_WEBHOOK_ALLOW_PRIVATE_TARGETS must not be true in production")
        if self.smtp_url is not None and self.mail_from.endswith("@localhost"):
            problems.append("DEBRIEF_MAIL_FROM must be the agency's address when mail is sent")
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        return self

    @property
    def is_https(self) -> bool:
        return self.public_base_url.scheme == "https"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def derived_key(self, purpose: str) -> bytes:
        """The key for one use of the secret: HMAC-SHA256(secret, "debrief:<purpose>:v1").

        Nothing uses DEBRIEF_SECRET_KEY itself, so no two uses share a key.
        """
        label = KEY_PURPOSES[purpose]
        secret = self.secret_key.get_secret_value().encode()
        return hmac.new(secret, label.encode(), hashlib.sha256).digest()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of the environment, read once. An app gets its own as an argument
    (`create_app(settings)`) and hands them on: nothing reads them from a global."""
    return Settings()
