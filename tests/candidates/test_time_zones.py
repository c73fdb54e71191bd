"""Every `timezone` is an IANA name, however it arrives: API, bulk upsert, CSV import."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.cli.test_commands import debrief
from tests.factories import create_candidate, create_staff, patch_current
from tests.followups.helpers import all_events
from tests.test_conventions import assert_problem

# Not zones: a made-up one, the wrong case, empty, an offset (the IANA name is Etc/GMT-1),
# the server's own `localtime` (a file in /usr/share/zoneinfo, not a name).
NOT_ZONES = ["Mars/Olympus", "europe/london", "", "UTC+01:00", "localtime"]


@pytest.mark.parametrize("zone", NOT_ZONES)
async def test_a_candidate_time_zone_that_is_not_an_iana_name_is_422(
    integration: httpx.AsyncClient, zone: str
) -> None:
    body = assert_problem(
        await integration.post("/v1/candidates", json={"full_name": "Zed", "timezone": zone}), 422
    )
    assert body["errors"][0]["field"] == "timezone"
    assert (await integration.get("/v1/candidates")).json()["items"] == []


async def test_iana_names_are_kept_and_a_bad_patch_changes_nothing(
    integration: httpx.AsyncClient,
) -> None:
    zoe = await create_candidate(integration, timezone="America/New_York")
    assert zoe["timezone"] == "America/New_York"
    url = f"/v1/candidates/{zoe['id']}"
    for zone in NOT_ZONES:
        assert_problem(await patch_current(integration, url, {"timezone": zone}), 422)
    assert (await integration.get(url)).json()["version"] == zoe["version"]
    moved = await patch_current(integration, url, {"timezone": "Asia/Kolkata"})
    assert moved.json()["timezone"] == "Asia/Kolkata"
    cleared = await patch_current(integration, url, {"timezone": None})
    assert cleared.json()["timezone"] is None


async def test_bulk_upserts_check_the_time_zone_of_every_item(
    integration: httpx.AsyncClient,
) -> None:
    items = [
        {"external_id": "crm-1", "full_name": "Ana", "timezone": "Europe/Lisbon"},
        {"external_id": "crm-2", "full_name": "Ben", "timezone": "Lisbon"},
        {"external_id": "crm-3", "full_name": "Cai", "timezone": "localtime"},
    ]
    body = assert_problem(await integration.post("/v1/candidates/bulk", json={"items": items}), 422)
    assert [e["field"] for e in body["errors"]] == ["items.1.timezone", "items.2.timezone"]
    assert (await integration.get("/v1/candidates")).json()["items"] == []
    assert await all_events(integration) == []

    partial = await integration.post(
        "/v1/candidates/bulk", params={"atomic": "false"}, json={"items": items}
    )
    assert [r["status"] for r in partial.json()["results"]] == ["created", "error", "error"]
    (stored,) = (await integration.get("/v1/candidates")).json()["items"]
    assert (stored["external_id"], stored["timezone"]) == ("crm-1", "Europe/Lisbon")


async def test_a_csv_import_refuses_a_file_with_a_bad_time_zone(
    database_url: str, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    sheet = tmp_path / "candidates.csv"
    sheet.write_text(
        "external_id,full_name,timezone\n"
        "crm-1,Amira Okafor,Africa/Lagos\n"
        "crm-2,Ben Lowe,GMT+1\n"
        "crm-3,Carla Reyes,\n"
    )
    result = debrief("import", "candidates", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 1, result.stderr
    # An import is all or nothing: the bad row is named and no row is written.
    assert "nothing was imported" in result.stderr
    assert "row 3, timezone: not an IANA time zone name" in result.stdout
    assert (await admin.get("/v1/candidates")).json()["items"] == []


async def test_staff_and_policy_time_zones_are_iana_names_too(admin: httpx.AsyncClient) -> None:
    sam = await create_staff(admin, timezone="Australia/Sydney")
    assert sam["timezone"] == "Australia/Sydney"
    for zone in NOT_ZONES:
        assert_problem(
            await patch_current(admin, f"/v1/staff/{sam['id']}", {"timezone": zone}), 422
        )
        assert_problem(
            await admin.put("/v1/settings/follow-up-policy", json={"timezone": zone}), 422
        )
    assert (await admin.get("/v1/settings/follow-up-policy")).json()["version"] == 0
