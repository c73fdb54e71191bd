"""A real `debrief serve` process on loopback, for tests that kill or starve it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.test_commands import TEST_SECRET
from tests.cli.test_commands import debrief as run_cli
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]


def debrief(*args: str, database_url: str) -> str:
    """Run the command line against this database; its standard output."""
    done = run_cli(*args, env={"DEBRIEF_DATABASE_URL": database_url}, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Server:
    """`debrief serve` in its own process: background jobs and rate limits off."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Server:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DEBRIEF_DATABASE_URL": self.database_url,
            "DEBRIEF_SECRET_KEY": TEST_SECRET,
            "DEBRIEF_SCHEDULER_ENABLED": "false",
            "DEBRIEF_WEBHOOK_DELIVERY_ENABLED": "false",
            "DEBRIEF_RATE_LIMIT_PER_MINUTE": "0",
            "DEBRIEF_LOG_LEVEL": "WARNING",
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
