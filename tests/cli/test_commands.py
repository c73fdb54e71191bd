"""The `debrief` command, run as a newcomer would run it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ClientMaker
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
# What an install has in .env after `make run`: outside `test`, nothing starts without one.
TEST_SECRET = "a-test-install-secret-of-more-than-32-characters"


def debrief(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DEBRIEF_SECRET_KEY": TEST_SECRET, **(env or {})},
        cwd=cwd,
    )


def _clean_env() -> dict[str, str]:
    """The environment of a newcomer's shell: no DEBRIEF_* settings at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBRIEF_")}
    env["PYTHONPATH"] = str(ROOT)
    env["DEBRIEF_SCHEDULER_ENABLED"] = "false"
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


async def test_create_key_prints_the_key_alone_on_its_last_line(
    database_url: str, client_for: ClientMaker
) -> None:
    result = debrief(
        "create-key",
        "--name",
        "CRM",
        "--role",
        "integration",
        env={"DEBRIEF_DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"dbr_[A-Za-z0-9_-]{43}", key)
    anonymous = await client_for(None)
    response = await anonymous.get("/v1/candidates", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200


async def test_create_key_explains_a_refusal(database_url: str, client_for: ClientMaker) -> None:
    await client_for("admin")  # the test's database fixture, so it is wiped afterwards
    result = debrief(
        "create-key",
        "--name",
        "r",
        "--role",
        "recruiter",
        env={"DEBRIEF_DATABASE_URL": database_url},
    )
    assert result.returncode == 1
    assert "staff member" in result.stderr
    bad_role = debrief(
        "create-key", "--name", "r", "--role", "root", env={"DEBRIEF_DATABASE_URL": database_url}
    )
    assert bad_role.returncode == 2


def test_committed_openapi_matches_the_app() -> None:
    result = debrief(
        "export-openapi", "--check", "--output", str(ROOT / "openapi" / "openapi.json")
    )
    assert result.returncode == 0, result.stderr


def test_unsafe_production_settings_are_refused() -> None:
    result = debrief(
        "migrate",
        env={
            "DEBRIEF_ENVIRONMENT": "production",
            "DEBRIEF_DATABASE_URL": "sqlite:///x.db",
            "DEBRIEF_SECRET_KEY": "dev-only-secret-change-me",
        },
    )
    assert result.returncode == 2
    assert "DEBRIEF_SECRET_KEY" in result.stderr
    assert "https" in result.stderr
    # The refusal names the problems, never the values given (the secret among them).
    short = debrief("migrate", env={"DEBRIEF_SECRET_KEY": "a-short-secret-value"})
    assert short.returncode == 2
    assert "DEBRIEF_SECRET_KEY" in short.stderr
    assert "a-short-secret-value" not in short.stderr


def test_the_placeholder_secret_is_refused_outside_tests(tmp_path: Path) -> None:
    """Without a secret (or with the placeholder) nothing starts, in development too."""
    env = _clean_env()
    for secret in (None, "dev-only-secret-change-me", "short-but-not-a-placeholder"):
        if secret is not None:
            env["DEBRIEF_SECRET_KEY"] = secret
        refused = _run([sys.executable, "-m", "app.cli", "migrate"], tmp_path, env)
        assert refused.returncode == 2, refused.stdout
        assert "DEBRIEF_SECRET_KEY" in refused.stderr
        assert not (tmp_path / "debrief.db").exists()


def test_make_keeps_one_random_secret_per_install_that_every_command_reads(
    tmp_path: Path,
) -> None:
    """`make run`'s first step: a random secret in a private, git-ignored .env, made once."""
    env = _clean_env()
    make = ["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path), "secret"]
    made = _run([*make, f"PYTHON={sys.executable}"], tmp_path, env)
    assert made.returncode == 0, made.stderr
    dotenv = tmp_path / ".env"
    assert dotenv.stat().st_mode & 0o777 == 0o600
    (line,) = dotenv.read_text().splitlines()
    name, secret = line.split("=", 1)
    assert name == "DEBRIEF_SECRET_KEY"
    assert len(secret) >= 32
    assert _run([*make, f"PYTHON={sys.executable}"], tmp_path, env).returncode == 0
    assert dotenv.read_text() == f"{line}\n"  # kept: not a new secret at every start
    ignored = _run(["git", "check-ignore", "-q", str(ROOT / ".env")], ROOT, env)
    assert ignored.returncode == 0, "the secret's .env must be git-ignored"
    cli = [sys.executable, "-m", "app.cli"]
    migrated = _run([*cli, "migrate"], tmp_path, env)
    assert migrated.returncode == 0, migrated.stderr
    created = _run([*cli, "create-key", "--name", "me", "--role", "admin"], tmp_path, env)
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"dbr_[A-Za-z0-9_-]{43}", created.stdout.strip().splitlines()[-1])


def test_first_serve_off_a_terminal_writes_the_admin_key_to_a_private_file(
    tmp_path: Path,
) -> None:
    """A new install under a process manager (output to a log, not a terminal): migrate,
    serve; the first admin key is in a file only its owner can read, never in the output."""
    env = _clean_env()
    env["DEBRIEF_SECRET_KEY"] = TEST_SECRET
    migrated = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "debrief.db").exists()  # the SQLite default is ./debrief.db
    # Where the key cannot be written, nothing starts and no key is made.
    nowhere = tmp_path / "no-such-directory" / "key.txt"
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--first-key-file", str(nowhere)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    assert "create-key" in refused.stderr
    assert "dbr_" not in refused.stdout + refused.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        written = None
        assert server.stdout is not None
        deadline = time.monotonic() + 60
        while written is None and time.monotonic() < deadline:
            output.append(server.stdout.readline())
            match = re.search(r"written to (\S+) ", output[-1])
            if match:
                written = Path(match.group(1))
        assert written == tmp_path / "debrief-first-admin-key.txt", output
        assert written.stat().st_mode & 0o777 == 0o600
        key = written.read_text().strip()
        assert re.fullmatch(r"dbr_[A-Za-z0-9_-]{43}", key)
        for _ in range(100):
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v1/staff", headers={"Authorization": f"Bearer {key}"}
                )
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}
    finally:
        server.terminate()
        rest, _ = server.communicate(timeout=30)
    assert "dbr_" not in "".join(output) + rest
    # A second start finds a key and makes none.
    written.unlink()
    again = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(3)
    finally:
        again.terminate()
        output_again, _ = again.communicate(timeout=30)
    assert "dbr_" not in output_again
    assert "admin key was created" not in output_again
    assert not written.exists()


def test_serve_believes_no_forwarded_headers_unless_told(tmp_path: Path) -> None:
    """uvicorn on its own believes X-Forwarded-For from 127.0.0.1 (or FORWARDED_ALLOW_IPS);
    `debrief serve` leaves that to DEBRIEF_TRUSTED_PROXIES, which trusts nobody by default:
    a local guesser cannot buy a new allowance by claiming another address each time."""
    env = _clean_env()
    env["DEBRIEF_SECRET_KEY"] = TEST_SECRET
    env["DEBRIEF_WEBHOOK_DELIVERY_ENABLED"] = "false"
    env["DEBRIEF_AUTH_FAILURES_PER_MINUTE"] = "2"
    env["FORWARDED_ALLOW_IPS"] = "*"
    migrated = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        statuses = []
        for i in range(3):
            headers = {"Authorization": "Bearer dbr_guess", "X-Forwarded-For": f"198.51.100.{i}"}
            for _ in range(200):
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/v1/staff", headers=headers)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            statuses.append(response.status_code)
        assert statuses == [401, 401, 429]
    finally:
        server.terminate()
        server.wait(timeout=30)


def _dockerfile_env() -> dict[str, str]:
    """The ENV settings of the Docker image."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(item.split("=", 1) for item in shlex.split(line[4:]))
    return env


def test_the_docker_image_runs_as_production(tmp_path: Path) -> None:
    """Started with no settings, the image refuses; with a secret and https it starts."""
    image = _dockerfile_env()
    assert image["DEBRIEF_ENVIRONMENT"] == "production"
    env = {**_clean_env(), **image, "DEBRIEF_MIGRATIONS_DIR": str(ROOT / "migrations")}
    refused = _run([sys.executable, "-m", "app.cli", "migrate"], tmp_path, env)
    assert refused.returncode == 2
    assert "DEBRIEF_SECRET_KEY" in refused.stderr
    assert "https" in refused.stderr
    env["DEBRIEF_SECRET_KEY"] = TEST_SECRET
    env["DEBRIEF_PUBLIC_BASE_URL"] = "https://debrief.agency.co.uk"
    started = _run([sys.executable, "-m", "app.cli", "migrate"], tmp_path, env)
    assert started.returncode == 0, started.stderr
