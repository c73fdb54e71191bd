"""A process keeps the queue's pages and answers them again while the queue's stamp holds
(app/db/stamps.py): a refresh with nothing changed reads the stamp, not the rows. These tests
hold that a kept page is never older than the last change made through any replica, that its
`overdue_seconds` still follow the clock, and that only a change to the queue's rows gives it a
new stamp. Both databases."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.clock import FrozenClock
from app.db.engine import Database
from app.db.page_cache import PageCache
from app.db.stamps import read_stamp, touch
from app.db.transaction import transaction
from app.debrief_queue import service as debrief_queue
from app.debrief_queue.repository import STAMP
from tests.conftest import KeyMaker, client_of, make_settings, replica
from tests.factories import create_candidate, patch_current
from tests.followups.test_queue_table import DEBRIEF, overdue_call, page


async def hand_written(db: Database, sql: str) -> None:
    """A change to the queue's table made outside the service, which gives it no stamp."""
    async with db.engine.begin() as conn:
        await conn.execute(text(sql))


async def touched_then_rolled_back(db: Database, clock: FrozenClock) -> None:
    async with transaction(db, now=clock.now()) as session:
        touch(session, STAMP)
        raise RuntimeError("rolled back")


async def test_a_kept_page_is_answered_until_the_queue_changes(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    person, _, _ = await overdue_call(admin, clock, full_name="Early Bird")
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["Early Bird"]

    # Kept: a change made behind the service's back is not read (rebuild-queue is the remedy).
    await hand_written(db, "UPDATE debrief_queue SET full_name = 'Behind Its Back'")
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["Early Bird"]
    # Another page (a filter, a size) is kept apart, and read afresh.
    assert [r["candidate"]["full_name"] for r in await page(admin, limit=10)] == ["Behind Its Back"]

    # A change through the service gives the queue a new stamp: the next page is read again.
    renamed = await patch_current(admin, f"/v1/candidates/{person['id']}", {"full_name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["Renamed"]
    assert [r["candidate"]["full_name"] for r in await page(admin, limit=10)] == ["Renamed"]


async def test_a_kept_page_counts_the_overdue_seconds_from_each_refresh(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    await overdue_call(admin, clock)
    first = await page(admin)
    assert await read_stamp(db, STAMP) is not None  # the sweep's flagging stamped the queue
    clock.advance(timedelta(seconds=90))
    again = await page(admin)
    assert again[0]["overdue_seconds"] == first[0]["overdue_seconds"] + 90
    assert {**again[0], "overdue_seconds": 0} == {**first[0], "overdue_seconds": 0}


async def test_a_change_through_another_replica_reaches_this_ones_kept_pages(
    api: FastAPI,
    admin: httpx.AsyncClient,
    clock: FrozenClock,
    database_url: str,
    make_key: KeyMaker,
) -> None:
    """Each replica keeps its own pages; the stamp they read is the database's."""
    _, employer, interview = await overdue_call(admin, clock, full_name="Early Bird")
    assert [r["client"]["name"] for r in await page(admin)] == ["Acme Ltd"]
    async with (
        replica(api, make_settings(database_url)) as other,
        client_of(other, await make_key("admin")) as elsewhere,
    ):
        assert [r["client"]["name"] for r in await page(elsewhere)] == ["Acme Ltd"]  # kept there

        renamed = await patch_current(elsewhere, f"/v1/clients/{employer['id']}", {"name": "Acme"})
        assert renamed.status_code == 200, renamed.text
        assert [r["client"]["name"] for r in await page(admin)] == ["Acme"]

        called = await admin.post(f"/v1/interviews/{interview['id']}/debrief", json=DEBRIEF)
        assert called.status_code == 201, called.text
        assert await page(elsewhere) == []


async def test_only_a_change_to_the_queues_rows_gives_it_a_new_stamp(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    person, _, interview = await overdue_call(admin, clock, full_name="Early Bird")
    stamp = await read_stamp(db, STAMP)
    assert stamp is not None

    # Writes that change nothing the queue shows: the kept pages stay good.
    await create_candidate(admin, full_name="Someone Else")
    emailed = await patch_current(
        admin, f"/v1/candidates/{person['id']}", {"email": "early@example.com"}
    )
    assert emailed.status_code == 200, emailed.text
    assert await read_stamp(db, STAMP) == stamp

    # A rolled-back change leaves the stamp as it was.
    with pytest.raises(RuntimeError):
        await touched_then_rolled_back(db, clock)
    assert await read_stamp(db, STAMP) == stamp

    # The call taken off the queue: a new stamp.
    called = await admin.post(f"/v1/interviews/{interview['id']}/debrief", json=DEBRIEF)
    assert called.status_code == 201, called.text
    assert await read_stamp(db, STAMP) not in (None, stamp)


async def test_a_queue_never_stamped_is_read_afresh(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    """With no stamp (the table emptied and filled outside the service), no page is kept."""
    await overdue_call(admin, clock, full_name="Early Bird")
    await hand_written(db, "DELETE FROM read_model_stamps")
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["Early Bird"]
    await hand_written(db, "UPDATE debrief_queue SET full_name = 'Filled By Hand'")
    assert [r["candidate"]["full_name"] for r in await page(admin)] == ["Filled By Hand"]
    await hand_written(db, "UPDATE debrief_queue SET full_name = 'Early Bird'")  # as it was


def test_the_page_cache_keeps_the_pages_of_the_last_stamp_seen() -> None:
    cache = PageCache(max_bytes=20)
    cache.PAGE_OVERHEAD = 0  # the sizes below are the pages' own
    assert cache.get("queue", "a", 1) is None  # stamp 1 seen
    cache.put("queue", "a", 1, "page a", 10)
    cache.put("queue", "b", 1, "page b", 10)
    assert cache.get("queue", "a", 1) == "page a"  # a is now the most recently used
    cache.put("queue", "c", 1, "page c", 10)  # 30 bytes: the least recently used goes
    assert [cache.get("queue", k, 1) for k in "abc"] == ["page a", None, "page c"]
    cache.put("queue", "c", 1, "page c again", 10)  # replaced, not counted twice
    assert [cache.get("queue", k, 1) for k in "ac"] == ["page a", "page c again"]
    cache.put("queue", "big", 1, "a page too big", 21)
    assert cache.get("queue", "big", 1) is None
    assert cache.get("other", "a", 7) is None  # another model's stamp is its own
    cache.put("other", "a", 7, "other page", 20)
    assert (cache.get("queue", "a", 1), cache.get("other", "a", 7)) == ("page a", "other page")

    # A new stamp drops every page kept under the old one; a page read under the old one is
    # no longer kept.
    assert cache.get("queue", "c", 2) is None
    cache.put("queue", "a", 1, "late page a", 10)
    assert [cache.get("queue", k, 2) for k in "ac"] == [None, None]
    assert cache.get("queue", "a", 1) is None  # and back: nothing is kept under 1 either
    # No stamp: nothing is kept.
    assert cache.get("queue", "d", None) is None
    cache.put("queue", "d", None, "page d", 10)
    assert cache.get("queue", "d", None) is None


def test_the_page_cache_keeps_a_bounded_number_of_pages() -> None:
    """A page is counted with its overhead, and there are at most `max_pages`: keys nobody
    asked for twice (random filters) cannot fill the memory with empty pages."""
    cache = PageCache(max_bytes=10 * PageCache.PAGE_OVERHEAD, max_pages=3)
    cache.get("queue", "seen", 1)
    for key in range(5):
        cache.put("queue", key, 1, f"page {key}", 0)
    assert cache.count("queue") == 3
    assert [cache.get("queue", k, 1) for k in range(5)] == [
        None,
        None,
        "page 2",
        "page 3",
        "page 4",
    ]
    big = PageCache(max_bytes=2 * PageCache.PAGE_OVERHEAD)
    big.get("queue", "seen", 1)
    for key in range(3):
        big.put("queue", key, 1, f"page {key}", 1)  # each counts as its overhead and a byte
    assert big.count("queue") == 1


async def test_a_process_nobody_asks_drops_its_pages_once_the_queue_changed(
    admin: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    """The sweep tick of each process calls `forget_changed_pages`: what a change replaced (a
    name erased, say) does not stay in a replica's memory until someone asks it for a page."""
    person, _, _ = await overdue_call(admin, clock, full_name="Early Bird")
    await page(admin)
    assert db.pages.count(STAMP) == 1
    await debrief_queue.forget_changed_pages(db)  # nothing changed: kept
    assert db.pages.count(STAMP) == 1
    erased = await admin.delete(f"/v1/candidates/{person['id']}")
    assert erased.status_code in (200, 204), erased.text
    await debrief_queue.forget_changed_pages(db)
    assert db.pages.count(STAMP) == 0
