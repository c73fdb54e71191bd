"""The `debrief` command: serve, migrate, create-key, export-openapi."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import SecretStr, ValidationError

from app.config import Settings, get_settings
from app.db.engine import Database
from app.db.transaction import transaction
from app.schemas.fields import Role

T = TypeVar("T")

cli = typer.Typer(
    name="debrief",
    help="Debrief: post-interview follow-ups for recruitment agencies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        # The messages only: pydantic's own text repeats the input, secret included.
        problems = "\n".join(f"  {error['msg']}" for error in exc.errors())
        typer.echo(f"Configuration error:\n{problems}", err=True)
        raise typer.Exit(2) from None


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    from app.audit.service import install
    from app.notifications import service as notifications

    async def run() -> T:
        db = Database(settings.database_url, pool_size=2)
        install(db)  # what the command changes is audited, as through the API
        notifications.install(db, settings)  # and the messages it causes are planned
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


@cli.command()
def migrate() -> None:
    """Apply database migrations up to the newest."""
    from app.db.migrations import upgrade
    from app.db.sealed import Sealer

    settings = _settings()
    # The install's key: stored secrets are sealed with it (migration 0018).
    asyncio.run(upgrade(settings.database_url, sealer=Sealer.of(settings)))
    typer.echo("Database schema is up to date.")


class _SecretFileError(Exception):
    pass


def _write_secret_file(path: Path, secret: str) -> None:
    """Write `secret` to `path`, readable by its owner only (never through a symlink)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)  # a file that existed keeps its mode otherwise
            os.write(fd, (secret + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise _SecretFileError(f"Cannot write the first admin key to {path} ({exc}).") from exc


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    first_key_file: Annotated[
        Path,
        typer.Option(
            envvar="DEBRIEF_FIRST_KEY_FILE",
            help="Where a new install's first admin key is written (mode 600) when the output "
            "is not a terminal, so that it never reaches a log.",
        ),
    ] = Path("debrief-first-admin-key.txt"),
) -> None:
    """Serve the API. On a new install with no keys, first creates an admin key: shown once on
    a terminal, otherwise written to --first-key-file (only its path is printed)."""
    import uvicorn

    from app.auth.service import bootstrap_admin_key
    from app.clock import Clock

    settings = _settings()
    on_terminal = sys.stdout.isatty()

    async def bootstrap(db: Database) -> str | None:
        now = Clock().now()
        async with transaction(db, now=now) as session:
            secret = await bootstrap_admin_key(session=session, now=now)
            if secret and not on_terminal:  # a failed write rolls the new key back
                _write_secret_file(first_key_file, secret)
            return secret

    try:
        secret = _with_database(settings, bootstrap)
    except _SecretFileError as exc:
        typer.echo(str(exc), err=True)
        typer.echo(
            "Give a writable --first-key-file, or run `debrief create-key --name admin "
            "--role admin` first.",
            err=True,
        )
        raise typer.Exit(1) from exc
    except Exception as exc:  # the usual cause: migrations not applied yet
        typer.echo(f"Cannot open the database ({type(exc).__name__}: {exc}).", err=True)
        typer.echo("Run `debrief migrate` first.", err=True)
        raise typer.Exit(1) from exc
    if secret and on_terminal:
        typer.echo("\n" + "=" * 72)
        typer.echo("No API keys existed, so an admin key was created. It is shown ONCE:")
        typer.echo(f"\n    {secret}\n")
        typer.echo(f"Try:  curl -H 'Authorization: Bearer <key>' http://{host}:{port}/v1/staff")
        typer.echo("=" * 72 + "\n")
    elif secret:
        typer.echo(
            f"No API keys existed, so an admin key was created and written to "
            f"{first_key_file.resolve()} (readable by this user only). Read it, store it, "
            "then delete the file."
        )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        # uvicorn's own proxy handling would believe X-Forwarded-* from 127.0.0.1 (or
        # FORWARDED_ALLOW_IPS); only DEBRIEF_TRUSTED_PROXIES decides, in the app.
        proxy_headers=False,
        access_log=False,  # the app writes its own access line, without raw paths
    )


@cli.command("create-key")
def create_key(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'CRM sync'.")],
    role: Annotated[str, typer.Option(help="admin, recruiter or integration.")],
    staff_id: Annotated[
        str | None, typer.Option(help="Staff member (required for recruiter).")
    ] = None,
) -> None:
    """Create an API key; the key alone is printed on the last line."""
    import uuid

    from app.auth.service import issue_key
    from app.clock import Clock
    from app.errors import AppError

    if role not in ("admin", "recruiter", "integration"):
        typer.echo("--role must be admin, recruiter or integration", err=True)
        raise typer.Exit(2)
    try:
        staff_uuid = uuid.UUID(staff_id) if staff_id else None
    except ValueError as exc:
        typer.echo("--staff-id must be a staff member's id (a UUID)", err=True)
        raise typer.Exit(2) from exc
    settings = _settings()

    async def work(db: Database) -> str:
        now = Clock().now()
        async with transaction(db, now=now) as session:
            key, secret = await issue_key(
                session=session, name=name, role=role_value, staff_id=staff_uuid, now=now
            )
            typer.echo(f"Created {role} key {key.id} ({key.prefix}…)", err=True)
            return secret

    role_value: Role = role  # type: ignore[assignment]
    try:
        secret = _with_database(settings, work)
    except AppError as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from exc
    typer.echo(secret)


@cli.command()
def sweep(
    wait: Annotated[float, typer.Option(help="Seconds to wait for another replica's sweep.")] = 30,
) -> None:
    """Run one follow-up sweep now and print its counts as JSON."""
    from dataclasses import asdict

    from app.clock import Clock
    from app.sweep.jobs import sweep as run_sweep

    settings = _settings()
    counts = _with_database(
        settings, lambda db: run_sweep(db, Clock().now, wait_seconds=wait, settings=settings)
    )
    typer.echo(json.dumps(asdict(counts)))
    if not counts.swept:
        typer.echo("Another sweep held the lock; nothing was done here.", err=True)
        raise typer.Exit(3)


@cli.command("rebuild-queue")
def rebuild_queue() -> None:
    """Write the overdue queue's rows again from the tables (after changing follow-ups,
    candidates, interviews or clients by hand in SQL, or restoring some of them)."""
    from app.debrief_queue.service import rebuild

    async def work(db: Database) -> int:
        async with transaction(db) as session:
            return await rebuild(session)

    rows = _with_database(_settings(), work)
    typer.echo(f"The overdue queue holds {rows} debrief calls.")


@cli.command("import")
def import_csv(
    kind: Annotated[str, typer.Argument(help="clients, candidates or interviews")],
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A CSV file.")
    ],
) -> None:
    """Create or update clients, candidates or interviews from a CSV file (headings = field
    names), as `POST /v1/imports` does.

    Rows match existing ones by external_id. The whole file is checked first; if any row is
    refused nothing is written (exit code 1, each row listed), and a file that cannot be read
    or has unknown columns is exit code 2."""
    from rich.console import Console
    from rich.progress import Progress

    from app.clock import Clock
    from app.errors import AppError
    from app.imports import service as imports
    from app.imports.csv_file import KINDS, BadFile, ImportKind
    from app.imports.jobs import CHUNK_ROWS, run_import
    from app.imports.schemas import ImportJobOut

    if kind not in KINDS:
        typer.echo("KIND must be clients, candidates or interviews", err=True)
        raise typer.Exit(2)
    what: ImportKind = kind
    settings = _settings()
    try:
        sheet = asyncio.run(imports.read_file(what, file.read_bytes(), settings=settings))
    except BadFile as bad:
        typer.echo(bad.detail, err=True)
        for bad_row in bad.rows:
            typer.echo(_row_error(bad_row.row, bad_row.field, bad_row.message))
        raise typer.Exit(1 if bad.rows else 2) from None
    actor = imports.CLI_ACTOR

    async def work(db: Database) -> ImportJobOut | None:
        clock = Clock()
        now = clock.now()
        async with transaction(db, now=now, actor=actor) as session:
            job = await imports.queue_import(
                session=session, file=sheet, actor=actor, now=now, start=lambda _: None
            )
        with Progress(console=Console(stderr=True)) as bar:
            task = bar.add_task(f"Importing {kind}", total=len(sheet.rows))

            async def checked(_: object) -> None:
                bar.advance(task, CHUNK_ROWS)

            await run_import(
                db, settings, job.id, sheet, actor=actor, clock=clock.now, after_chunk=checked
            )
        return await imports.get_job(db, job.id)

    try:
        job = _with_database(settings, work)
    except AppError as exc:  # another import is running
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from exc
    assert job is not None
    rows = job.rows
    if job.status == "succeeded":
        typer.echo(
            f"{rows.total} rows: {rows.created} created, {rows.updated} updated, "
            f"{rows.unchanged} unchanged."
        )
        return
    typer.echo(f"{rows.total} rows: nothing imported. {job.detail}")
    for error in job.errors:
        typer.echo(_row_error(error.row, error.field, error.message))
    if job.error_count > len(job.errors):
        typer.echo(f"  … and {job.error_count - len(job.errors)} more")
    raise typer.Exit(1)


def _row_error(row: int, field: str, message: str) -> str:
    return f"  row {row}, {field}: {message}" if field else f"  row {row}: {message}"


@cli.command("export-openapi")
def export_openapi(
    output: Annotated[Path, typer.Option(help="Where to write the document.")] = Path(
        "openapi/openapi.json"
    ),
    check: Annotated[bool, typer.Option(help="Fail if the file differs from the app.")] = False,
) -> None:
    """Write the OpenAPI document generated from the app (or check it is up to date)."""
    from app.main import create_app

    # The document does not depend on the secret: a throwaway one, so a fresh clone needs none.
    settings = Settings(secret_key=SecretStr(secrets.token_urlsafe(48)))
    document = json.dumps(create_app(settings).openapi(), indent=2, ensure_ascii=False) + "\n"
    if check:
        current = output.read_text() if output.exists() else ""
        if current != document:
            typer.echo(f"{output} is out of date: run `debrief export-openapi`.", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} matches the app.")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document)
    typer.echo(f"Wrote {output}.")


def main() -> None:
    from app.schemas.fields import cache_phone_patterns

    cache_phone_patterns()  # the CSV import validates phones in this process
    cli(prog_name="debrief")
