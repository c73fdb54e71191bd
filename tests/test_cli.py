"""The `debrief` command, run as a newcomer would run it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ClientMaker

ROOT = Path(__file__).resolve().parent.parent


def debrief(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


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
        env={"DEBRIEF_ENVIRONMENT": "production", "DEBRIEF_DATABASE_URL": "sqlite:///x.db"},
    )
    assert result.returncode == 2
    assert "DEBRIEF_SECRET_KEY" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_first_serve_off_a_terminal_writes_the_admin_key_to_a_private_file(
    tmp_path: Path,
) -> None:
    """A new install under a process manager (output to a log, not a terminal): migrate,
    serve; the first admin key is in a file only its owner can read, never in the output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBRIEF_")}
    env["PYTHONPATH"] = str(ROOT)
    env["DEBRIEF_SCHEDULER_ENABLED"] = "false"
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
    port = _free_port()
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
        [sys.executable, "-m", "app.cli", "serve", "--port", str(_free_port())],
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBRIEF_")}
    env["PYTHONPATH"] = str(ROOT)
    env["DEBRIEF_SCHEDULER_ENABLED"] = "false"
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
    port = _free_port()
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
