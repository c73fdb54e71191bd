"""PostgreSQL restarted under load (about 50 requests/s from a second process): the service
answers again within seconds of the database's return, with no 5xx afterwards, and every
created candidate has exactly one event in the feed, none lost and none twice.

The test runs its own PostgreSQL cluster (initdb into a temporary folder, on a free port), so
restarting it disturbs nobody else's databases."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.server import ROOT, Server, debrief, free_port

pytestmark = pytest.mark.postgres

RATE = 50  # requests per second
SECONDS = 24
DOWN_AT = 6.0  # seconds into the load
DOWN_FOR = 3.0
SETTLE = 5.0  # "within seconds of its return"


def _bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    path = shutil.which(name)
    assert path, f"{name} (PostgreSQL's server programs) is needed"
    return path


class Cluster:
    """A throwaway PostgreSQL cluster. As root, it runs as the `postgres` user."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/debrief"

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}{done.stderr}"

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self.start()
        self._run(
            _bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "debrief"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.folder / "pg.log"),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Not under pytest's temporary folder: that one is private to root, and the cluster's
    # files belong to the `postgres` user.
    with tempfile.TemporaryDirectory(prefix="debrief-pg-") as name:
        folder = Path(name)
        folder.chmod(0o755)
        cluster = Cluster(folder)
        cluster.create()
        try:
            yield cluster
        finally:
            with contextlib.suppress(AssertionError):
                cluster.stop("immediate")


def test_the_service_rides_out_a_postgresql_restart(cluster: Cluster, tmp_path: Path) -> None:
    debrief("migrate", database_url=cluster.url)
    printed = debrief(
        "create-key", "--name", "load", "--role", "integration", database_url=cluster.url
    )
    key = printed.strip().splitlines()[-1]
    server = Server(cluster.url, tmp_path / "server.log").start()
    try:
        load = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.load", server.url, key, str(SECONDS), str(RATE)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        time.sleep(DOWN_AT)
        cluster.stop("fast")
        time.sleep(DOWN_FOR)
        cluster.start()
        back = time.monotonic() - started
        out, _ = load.communicate(timeout=SECONDS + 60)
        records = [json.loads(line) for line in out.splitlines()]

        # The load really was about 50 requests/s, and the outage was felt.
        assert len(records) >= RATE * SECONDS * 0.6
        during = [r for r in records if DOWN_AT <= r["t"] < back]
        assert any(r.get("status") == 503 or "error" in r for r in during)
        # While it is away, the service says so (503 and Retry-After), never a bare 500.
        assert {r["status"] for r in records if "status" in r} <= {200, 201, 503}
        # Within seconds of the return, and ever after: answers, and no 5xx.
        after = [r for r in records if r["t"] >= back + SETTLE]
        assert len(after) >= RATE * 5
        failures = [r for r in after if "error" in r or r["status"] >= 500]
        assert failures == [], failures[:5]
        assert {r["status"] for r in after} <= {200, 201}
        # The first good answer came soon after the database did.
        first_ok = min(r["t"] for r in records if r["t"] >= back and r.get("status") in (200, 201))
        assert first_ok - back < SETTLE

        # Events: every candidate the service said it created is there with exactly one
        # `candidate.created` in the feed; no event for anything else; none twice.
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as api:
            feed = walk(api, "/v1/events")
            candidates = {c["external_id"]: c["id"] for c in walk(api, "/v1/candidates")}
    finally:
        server.stop()

    created = [r["external_id"] for r in records if r["op"] == "create" and r.get("status") == 201]
    assert set(created) <= set(candidates)
    events = [e for e in feed if e["type"] == "candidate.created"]
    assert len({e["id"] for e in feed}) == len(feed)
    per_candidate = Counter(e["data"]["candidate"]["id"] for e in events)  # type: ignore[index]
    assert set(per_candidate) == set(candidates.values())
    assert set(per_candidate.values()) == {1}


def walk(api: httpx.Client, path: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = api.get(path, params=params).raise_for_status().json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not page["items"] or not cursor or page.get("has_more") is False:
            return items
