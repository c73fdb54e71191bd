"""`debrief import`: a spreadsheet's rows through the same import jobs as `POST /v1/imports`:
checked whole, then every row written or none."""

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


async def test_clients_import(database_url: str, admin: httpx.AsyncClient, tmp_path: Path) -> None:
    sheet = tmp_path / "clients.csv"
    sheet.write_text("external_id,name\nemp-1,Acme Ltd\nemp-2,Birch & Co\n")
    result = debrief("import", "clients", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert "2 rows: 2 created, 0 updated, 0 unchanged." in result.stdout
    stored = {c["external_id"]: c["name"] for c in (await admin.get("/v1/clients")).json()["items"]}
    assert stored == {"emp-1": "Acme Ltd", "emp-2": "Birch & Co"}
    (job,) = (await admin.get("/v1/imports")).json()["items"]
    assert (job["kind"], job["status"], job["created_by"]) == (
        "clients",
        "succeeded",
        "system:import",
    )
    audit = (await admin.get("/v1/audit", params={"object_type": "client"})).json()["items"]
    assert {e["actor"] for e in audit} == {"system:import"}

    sheet.write_text("external_id,name\nemp-1,Acme Ltd\nemp-2,Birch and Co\n")
    again = debrief("import", "clients", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert again.returncode == 0
    assert "2 rows: 0 created, 1 updated, 1 unchanged." in again.stdout


async def test_a_candidates_file_with_bad_rows_writes_nothing(
    database_url: str, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    sheet = tmp_path / "candidates.csv"
    sheet.write_text(CANDIDATES)
    result = debrief("import", "candidates", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 1, result.stderr
    assert (
        "3 of 5 rows of this candidates file are not valid; nothing was imported." in result.stderr
    )
    assert "  row 3, email: not a valid email address" in result.stdout
    assert "  row 4, full_name: Field required" in result.stdout
    assert "  row 6, external_id: repeats row 2" in result.stdout
    assert "not-an-email" not in result.stdout
    assert (await admin.get("/v1/candidates")).json()["items"] == []

    sheet.write_text(
        "external_id,full_name,phone,job_search_active\n"
        "crm-1,Amira Okafor,07911 123456,yes\ncrm-4,Dev Patel,,\n"
    )
    good = debrief("import", "candidates", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert good.returncode == 0, good.stdout
    assert "2 rows: 2 created, 0 updated, 0 unchanged." in good.stdout
    stored = {c["external_id"]: c for c in (await admin.get("/v1/candidates")).json()["items"]}
    assert stored["crm-1"]["phone"] == "+447911123456"
    assert stored["crm-1"]["job_search_active"] is True


async def test_interviews_the_database_refuses_write_nothing(
    database_url: str, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    await admin.post("/v1/candidates", json={"external_id": "crm-1", "full_name": "Amira Okafor"})
    await admin.post("/v1/clients", json={"external_id": "emp-1", "name": "Acme Ltd"})
    sheet = tmp_path / "interviews.csv"
    header = (
        "external_id,candidate_external_id,client_external_id,job_title,stage,format,starts_at,"
        "interviewers,point_of_contact_name,point_of_contact_email\n"
    )
    good = (
        "int-1,crm-1,emp-1,Controller,first,video,2026-03-09T10:00:00+00:00,"
        "Helen Ward; Tom Reid,Tom Reid,tom@acme.co.uk\n"
    )
    sheet.write_text(
        header + good + "int-2,crm-9,emp-1,Controller,first,video,2026-03-09T10:00:00+00:00,,,\n"
    )
    result = debrief("import", "interviews", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 1
    assert "2 rows: nothing imported. 1 of 2 rows were refused" in result.stdout
    assert "  row 3, candidate_external_id: no candidate has this external_id" in result.stdout
    assert (await admin.get("/v1/interviews")).json()["items"] == []

    sheet.write_text(header + good)
    result = debrief("import", "interviews", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stdout
    (interview,) = (await admin.get("/v1/interviews")).json()["items"]
    assert interview["interviewers"] == [{"name": "Helen Ward"}, {"name": "Tom Reid"}]
    assert interview["point_of_contact"] == {"name": "Tom Reid", "email": "tom@acme.co.uk"}


def test_unknown_columns_stop_before_anything_is_read(database_url: str, tmp_path: Path) -> None:
    sheet = tmp_path / "odd.csv"
    sheet.write_text("external_id,full_name,shoe_size\ncrm-1,A,9\n")
    result = debrief("import", "candidates", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert result.returncode == 2
    assert "unknown columns: shoe_size. The columns of a candidates file: external_id," in (
        result.stderr
    )
    wrong = debrief("import", "staff", str(sheet), env={"DEBRIEF_DATABASE_URL": database_url})
    assert wrong.returncode == 2
    assert "KIND must be clients, candidates or interviews" in wrong.stderr
