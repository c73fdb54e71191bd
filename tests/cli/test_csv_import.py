"""`debrief import`: a spreadsheet's rows upserted; bad rows reported, never blocking others."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.test_commands import debrief

CANDIDATES = """external_id,full_name,email,phone,job_search_active
crm-1,Amira Okafor,amira@mail.co.uk,07911 123456,yes
crm-2,Ben Lowe,not-an-email,,no
crm-3,,carla@mail.co.uk,,
crm-4,Dev Patel,dev@mail.co.uk,+44 7912 345678,
crm-1,Amira Again,,,
"""


async def test_candidates_import_reports_bad_rows_and_keeps_the_rest(
    database_url: str, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    sheet = tmp_path / "candidates.csv"
    sheet.write_text(CANDIDATES)
    result = debrief("import", "candidates", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 1, result.stderr
    assert "5 rows: 2 created, 0 updated, 0 unchanged, 3 rejected." in result.stdout
    assert "line 3: email:" in result.stdout
    assert "line 4: full_name:" in result.stdout
    assert "line 6: external_id: repeats item 0" in result.stdout
    stored = {c["external_id"]: c for c in (await admin.get("/v1/candidates")).json()["items"]}
    assert set(stored) == {"crm-1", "crm-4"}
    assert stored["crm-1"]["phone"] == "+447911123456"
    assert stored["crm-1"]["job_search_active"] is True

    sheet.write_text(
        "external_id,full_name,phone\ncrm-1,Amira Okafor,07911 123456\ncrm-4,Dev Patel,\n"
    )
    again = debrief("import", "candidates", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert again.returncode == 0
    assert "2 rows: 0 created, 0 updated, 2 unchanged, 0 rejected." in again.stdout


async def test_interviews_import_with_people_and_references(
    database_url: str, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    await admin.post("/v1/candidates", json={"external_id": "crm-1", "full_name": "Amira Okafor"})
    await admin.post("/v1/clients", json={"external_id": "emp-1", "name": "Acme Ltd"})
    sheet = tmp_path / "interviews.csv"
    sheet.write_text(
        "external_id,candidate_external_id,client_external_id,job_title,stage,format,starts_at,"
        "interviewers,point_of_contact_name,point_of_contact_email\n"
        "int-1,crm-1,emp-1,Controller,first,video,2026-03-09T10:00:00+00:00,"
        "Helen Ward; Tom Reid,Tom Reid,tom@acme.co.uk\n"
        "int-2,crm-9,emp-1,Controller,first,video,2026-03-09T10:00:00+00:00,,,\n"
        "int-3,crm-1,emp-1,Controller,first,video,2026-03-09 10:00,,,\n"
    )
    result = debrief("import", "interviews", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 1
    assert "3 rows: 1 created" in result.stdout
    assert "line 3: candidate_external_id: no candidate has this external_id" in result.stdout
    assert "line 4: starts_at:" in result.stdout
    (interview,) = (await admin.get("/v1/interviews")).json()["items"]
    assert interview["interviewers"] == [{"name": "Helen Ward"}, {"name": "Tom Reid"}]
    assert interview["point_of_contact"] == {"name": "Tom Reid", "email": "tom@acme.co.uk"}


def test_unknown_columns_stop_before_anything_is_read(database_url: str, tmp_path: Path) -> None:
    sheet = tmp_path / "odd.csv"
    sheet.write_text("external_id,full_name,shoe_size\ncrm-1,A,9\n")
    result = debrief("import", "candidates", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 2
    assert "Unknown columns: shoe_size" in result.stderr
