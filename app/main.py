"""create_app(): routers, error handlers, middleware and the lifespan of shared resources."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import __version__
from app.api.middleware import (
    BodyLimitMiddleware,
    PhoneRegionMiddleware,
    StorableTextMiddleware,
    TransactionMiddleware,
)
from app.api.observability import RequestContextMiddleware, configure_logging
from app.api.openapi import finish as finish_openapi
from app.api.problems import install_error_handlers
from app.api.ratelimit import RateLimiter
from app.audit import service as audit
from app.audit.router import router as audit_router
from app.auth.dependencies import KeyCache, authenticate
from app.auth.revocations import RevocationListener
from app.auth.router import router as api_keys_router
from app.board.router import router as board_router
from app.candidates.router import router as candidates_router
from app.clients.router import router as clients_router
from app.clock import Clock
from app.config import Settings, get_settings
from app.db.engine import Database
from app.db.migrations import head_revision
from app.db.sealed import Sealer
from app.debriefs.employer_page import router as decision_page_router
from app.debriefs.public_router import router as public_form_router
from app.debriefs.router import router as debriefs_router
from app.events.router import router as events_router
from app.followups import router as followups
from app.health.router import router as health_router
from app.hot_reads import HotReads
from app.imports.jobs import ImportRunner
from app.imports.router import router as imports_router
from app.interviews.router import router as interviews_router
from app.notifications import service as notifications
from app.notifications.delivery import Sender
from app.notifications.jobs import SendingLoop
from app.notifications.public_router import router as unsubscribe_router
from app.notifications.router import relay_router
from app.notifications.router import router as notifications_router
from app.privacy.router import router as privacy_router
from app.reports.router import router as reports_router
from app.scheduler import start_scheduler
from app.schemas.fields import cache_phone_patterns
from app.staff.router import router as staff_router
from app.sweep.router import router as sweep_router
from app.webhooks.delivery import Deliverer
from app.webhooks.jobs import DeliveryLoop
from app.webhooks.router import router as webhooks_router
from app.webhooks.ssrf import GuardedTransport

DESCRIPTION = """Debrief keeps track of what must happen after each job interview a candidate
attends through the agency (the candidate's debrief call, the thank-you note, chasing the
employer, relaying feedback), flags what is late and tells the agency's CRM about it.

Authenticate with `Authorization: Bearer <key>`. Errors are RFC 9457 problem documents."""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    cache_phone_patterns()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        db = Database(settings.database_url, pool_size=settings.db_pool_size)
        audit.install(db)
        notifications.install(db, settings)  # messages planned beside the events causing them
        app.state.db = db
        revocations = None
        if not db.is_sqlite and settings.api_key_cache_seconds > 0:
            revocations = RevocationListener(db, app.state.key_cache)
            revocations.start()
        app.state.revocations = revocations
        http = httpx.AsyncClient(
            transport=GuardedTransport(allow_private=settings.webhook_allow_private_targets),
            follow_redirects=False,
            timeout=httpx.Timeout(10.0, connect=5.0),
        )
        app.state.deliverer = Deliverer(
            db,
            http,
            lambda: app.state.clock.now(),  # the app's clock, whichever it is at the time
            sealer=Sealer.of(settings),
            attempt_seconds=settings.webhook_attempt_seconds,
            max_in_flight=settings.webhook_max_in_flight,
        )
        delivery = DeliveryLoop(app.state.deliverer, poll_seconds=settings.webhook_poll_seconds)
        # CSV imports run in the background of the process that received the file.
        app.state.imports = ImportRunner(db, settings, lambda: app.state.clock.now())
        if settings.webhook_delivery_enabled:
            delivery.start()
        app.state.sender = Sender(db, settings, http, lambda: app.state.clock.now())
        sending = SendingLoop(app.state.sender, poll_seconds=settings.notification_poll_seconds)
        if settings.notification_delivery_enabled:
            sending.start()
        scheduler = start_scheduler(app) if settings.scheduler_enabled else None
        # Everything built so far (models, schemas, routes, SQLAlchemy's metadata) lives as
        # long as the process: keep it out of the collector's full passes, which otherwise
        # rescan it often under load and stall every request in flight while they run.
        gc.collect()
        gc.freeze()
        # A request allocates a few thousand objects, nearly all freed by reference counting:
        # collect the young generation less often than every 700 allocations.
        gc.set_threshold(50_000, 20, 10)
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            # An attempt in flight may take its whole deadline; a cancelled one is sent again.
            await delivery.stop(grace_seconds=settings.webhook_attempt_seconds + 5)
            await app.state.imports.stop()  # each running import ends failed, nothing written
            await sending.stop(grace_seconds=settings.smtp_timeout_seconds + 5)
            if revocations is not None:
                await revocations.stop()
            await http.aclose()
            await db.dispose()

    app = FastAPI(
        title="Debrief",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # The service has its own metrics (/metrics) and logs. FastAPI's built-in
        # OpenTelemetry hooks would otherwise ask for a tracer on every request, and
        # wrap each dependency and endpoint in a span of a provider nobody set up.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.clock = clock or Clock()
    # On PostgreSQL other processes revoke keys too: the cache needs to hear of it.
    app.state.key_cache = KeyCache(
        settings.api_key_cache_seconds, needs_listener=not settings.is_sqlite
    )
    app.state.key_limiter = (
        RateLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
        if settings.rate_limit_per_minute
        else None
    )
    app.state.failure_limiter = RateLimiter(
        per_minute=settings.auth_failures_per_minute, burst=settings.auth_failures_per_minute
    )
    app.state.schema_head = head_revision()

    install_error_handlers(app)
    app.add_middleware(PhoneRegionMiddleware, region=settings.default_phone_region)
    app.add_middleware(TransactionMiddleware, authenticate=authenticate)
    # The hot reads answer before routing, but after the checks every request passes.
    app.add_middleware(HotReads)
    app.add_middleware(StorableTextMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, hsts=settings.is_https)
    if settings.trusted_proxies:
        # Outermost: the client address and scheme every layer below sees are the ones a
        # trusted proxy forwarded; from any other peer the headers are ignored.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in (
        health_router,
        public_form_router,
        decision_page_router,
        unsubscribe_router,
        board_router,
        staff_router,
        api_keys_router,
        candidates_router,
        privacy_router,
        clients_router,
        interviews_router,
        debriefs_router,
        followups.router,
        followups.queue_router,
        followups.settings_router,
        sweep_router,
        events_router,
        webhooks_router,
        notifications_router,
        relay_router,
        audit_router,
        reports_router,
        imports_router,
    ):
        app.include_router(router)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    """Finish FastAPI's OpenAPI document (problems, security, Idempotency-Key, links)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = finish_openapi(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
