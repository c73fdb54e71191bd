"""`POST /v1/imports`: a CSV file of clients, candidates or interviews, checked whole, then
written by a job, every row or none."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import ClientMaker
from tests.factories import create_candidate, create_client
from tests.followups.helpers import all_events
from tests.imports.helpers import Hold, finished, imported, upload
from tests.test_conventions import assert_problem

CLIENTS = "external_id,name\nemp-1,Acme Ltd\nemp-2,Birch & Co\n"
CANDIDATES = (
    "external_id,full_name,email,phone,job_search_active,timezone\n"
    "crm-1,Amira Okafor,amira@mail.co.uk,07911 123456,yes,Europe/London\n"
    "crm-2,Ben Lowe,,,no,\n"
)


async def _items(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    response = await client.get(path, params={"limit": 200, **params})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_clients_file_is_imported_and_again_changes_only_what_changed(
    admin: httpx.AsyncClient,
) -> None:
    response = await upload(admin, "clients", CLIENTS)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/v1/imports/{job['id']}"
    assert job["status"] == "queued"
    assert job["rows"] == {"total": 2, "processed": 0, "created": 0, "updated": 0, "unchanged": 0}
    done = await finished(admin, job["id"])
    assert done["status"] == "succeeded"
    assert done["rows"] == {"total": 2, "processed": 2, "created": 2, "updated": 0, "unchanged": 0}
    assert done["errors"] == []
    assert done["detail"] is None
    assert done["started_at"] == done["finished_at"] == "2026-03-04T10:00:00Z"
    names = {c["external_id"]: c["name"] for c in await _items(admin, "/v1/clients")}
    assert names == {"emp-1": "Acme Ltd", "emp-2": "Birch & Co"}

    again = await imported(admin, "clients", CLIENTS.replace("Birch & Co", "Birch and Co"))
    assert again["rows"] == {"total": 2, "processed": 2, "created": 0, "updated": 1, "unchanged": 1}
    listed = await _items(admin, "/v1/imports")
    assert [j["id"] for j in listed] == [job["id"], again["id"]]
    assert [
        j["id"] for j in await _items(admin, "/v1/imports", status="succeeded", kind="clients")
    ] == [
        job["id"],
        again["id"],
    ]
    assert await _items(admin, "/v1/imports", status="failed") == []


async def test_the_import_and_what_it_wrote_are_audited_as_the_admin_who_sent_it(
    admin: httpx.AsyncClient,
) -> None:
    job = await imported(admin, "clients", CLIENTS)
    entries = await _items(admin, "/v1/audit")
    (started,) = [e for e in entries if e["object_type"] == "import"]
    assert started["object_id"] == job["id"]
    assert started["action"] == "create"
    assert started["actor"] == job["created_by"]
    assert started["role"] == "admin"
    clients = [e for e in entries if e["object_type"] == "client"]
    assert len(clients) == 2
    # Written by the job in the background, named after the upload that asked for it.
    assert {(e["actor"], e["request_id"]) for e in clients} == {
        (started["actor"], started["request_id"])
    }


async def test_a_candidates_file_is_imported_with_their_events(admin: httpx.AsyncClient) -> None:
    job = await imported(admin, "candidates", CANDIDATES)
    assert job["status"] == "succeeded", job
    assert job["rows"]["created"] == 2
    stored = {c["external_id"]: c for c in await _items(admin, "/v1/candidates")}
    assert stored["crm-1"]["phone"] == "+447911123456"
    assert stored["crm-1"]["job_search_active"] is True
    assert stored["crm-1"]["timezone"] == "Europe/London"
    assert stored["crm-2"]["job_search_active"] is False
    assert stored["crm-2"]["email"] is None
    events = await all_events(admin, "candidate.created")
    assert sorted(e["data"]["candidate"]["external_id"] for e in events) == ["crm-1", "crm-2"]


async def test_imported_interviews_go_through_the_interview_service(
    admin: httpx.AsyncClient,
) -> None:
    """An interview imported gets exactly what the same one created through the API gets:
    its events and its follow-ups (the policy decides which, for both)."""
    candidate = await create_candidate(admin, external_id="crm-1")
    client = await create_client(admin, external_id="emp-1")
    fields = {
        "job_title": "Financial Controller",
        "stage": "first",
        "format": "video",
        "starts_at": "2026-03-03T10:00:00+00:00",
        "decision_expected_by": "2026-03-20",
    }
    twin = await admin.post(
        "/v1/interviews",
        json={**fields, "candidate_id": candidate["id"], "client_id": client["id"]},
    )
    assert twin.status_code == 201, twin.text
    sheet = (
        "external_id,candidate_external_id,client_external_id,job_title,stage,format,starts_at,"
        "decision_expected_by,interviewers,point_of_contact_name,point_of_contact_email\n"
        "int-1,crm-1,emp-1,Financial Controller,first,video,2026-03-03T10:00:00+00:00,"
        "2026-03-20,Helen Ward; Tom Reid,Tom Reid,tom@acme.co.uk\n"
    )
    job = await imported(admin, "interviews", sheet)
    assert job["status"] == "succeeded", job
    assert job["rows"]["created"] == 1
    (interview,) = await _items(admin, "/v1/interviews", external_id="int-1")
    assert interview["candidate_id"] == candidate["id"]
    assert interview["interviewers"] == [{"name": "Helen Ward"}, {"name": "Tom Reid"}]
    assert interview["point_of_contact"] == {"name": "Tom Reid", "email": "tom@acme.co.uk"}
    assert interview["status"] == twin.json()["status"]

    async def follow_ups(interview_id: str) -> list[tuple[str, str, str]]:
        found = await _items(admin, "/v1/follow-ups", interview_id=interview_id)
        return sorted((s["kind"], s["status"], s["due_at"]) for s in found)

    assert await follow_ups(interview["id"]) == await follow_ups(twin.json()["id"])
    assert await follow_ups(interview["id"])  # it ended yesterday: its follow-ups are open
    scheduled = await all_events(admin, "interview.scheduled")
    assert sorted(e["data"]["interview"]["external_id"] or "" for e in scheduled) == ["", "int-1"]


async def test_a_bad_file_is_refused_whole_with_its_rows_and_nothing_is_created(
    admin: httpx.AsyncClient,
) -> None:
    sheet = (
        "external_id,full_name,email,phone,status\n"
        "crm-1,Amira Okafor,amira@mail.co.uk,07911 123456,active\n"
        "crm-2,Ben Lowe,ben-at-mail.co.uk,,\n"
        "crm-3,,carla@mail.co.uk,+44 55,\n"
        "crm-4,Dev Patel,,,hired\n"
        "crm-1,Amira Again,,,\n"
    )
    body = assert_problem(await upload(admin, "candidates", sheet), 422)
    assert (
        body["detail"] == "4 of 5 rows of this candidates file are not valid; nothing was imported."
    )
    errors = {(e["field"], e["type"]) for e in body["errors"]}
    assert {field for field, _ in errors} == {
        "file.3.email",
        "file.4.full_name",
        "file.4.phone",
        "file.5.status",
        "file.6.external_id",
    }
    by_field = {e["field"]: e["message"] for e in body["errors"]}
    assert by_field["file.6.external_id"] == "repeats row 2"
    # Person data is never repeated back in an error.
    assert "ben-at-mail.co.uk" not in str(body)
    assert "+44 55" not in str(body)
    assert await _items(admin, "/v1/candidates") == []
    assert await _items(admin, "/v1/imports") == []
    assert await all_events(admin) == []


async def test_rows_the_database_refuses_fail_the_job_and_nothing_is_written(
    admin: httpx.AsyncClient,
) -> None:
    await create_candidate(admin, external_id="crm-1")
    await create_client(admin, external_id="emp-1")
    before = len(await all_events(admin))
    good = "crm-1,emp-1,Controller,first,video,2026-03-09T10:00:00+00:00"
    sheet = (
        "external_id,candidate_external_id,client_external_id,job_title,stage,format,starts_at\n"
        f"int-1,{good}\n"
        "int-2,crm-9,emp-1,Controller,first,video,2026-03-09T10:00:00+00:00\n"
        f"int-3,{good}\n"
        "int-4,crm-1,emp-1,,,,\n"
    )
    response = await upload(admin, "interviews", sheet)
    assert response.status_code == 202, response.text  # the file itself is well-formed
    job = await finished(admin, response.json()["id"])
    assert job["status"] == "failed"
    assert job["detail"] == (
        "2 of 4 rows were refused; nothing was written. Fix them and send the file again."
    )
    assert job["rows"] == {"total": 4, "processed": 4, "created": 0, "updated": 0, "unchanged": 0}
    assert job["errors"][0] == {
        "row": 3,
        "field": "candidate_external_id",
        "message": "no candidate has this external_id",
    }
    assert {(e["row"], e["field"]) for e in job["errors"][1:]} == {
        (5, "job_title"),
        (5, "stage"),
        (5, "format"),
        (5, "starts_at"),
    }
    assert job["error_count"] == 5
    assert await _items(admin, "/v1/interviews") == []
    assert await _items(admin, "/v1/follow-ups") == []
    assert len(await all_events(admin)) == before


async def test_only_admins_import(client_for: ClientMaker, admin: httpx.AsyncClient) -> None:
    for role in ("recruiter", "integration"):
        client = await client_for(role)
        assert_problem(await upload(client, "clients", CLIENTS), 403)
        assert_problem(await client.get("/v1/imports"), 403)
    assert_problem(await upload(await client_for(None), "clients", CLIENTS), 401)
    job = await imported(admin, "clients", CLIENTS)
    assert_problem(await (await client_for("recruiter")).get(f"/v1/imports/{job['id']}"), 403)
    assert await _items(admin, "/v1/imports") == [job]


async def test_a_file_over_the_size_limit_is_413(admin: httpx.AsyncClient) -> None:
    row = "emp-{},Employer number {} Limited\n"
    sheet = "external_id,name\n" + "".join(row.format(i, i) for i in range(40_000))
    assert len(sheet) > 1024 * 1024
    assert_problem(await upload(admin, "clients", sheet), 413)
    assert await _items(admin, "/v1/imports") == []


async def test_only_a_multipart_csv_upload_is_accepted(admin: httpx.AsyncClient) -> None:
    refused = await admin.post("/v1/imports", json={"kind": "clients", "file": CLIENTS})
    assert assert_problem(refused, 415)["type"].endswith("/unsupported-media-type")
    assert_problem(await upload(admin, "clients", b"\x89PNG\r\n", media_type="image/png"), 415)
    missing = await admin.post("/v1/imports", files={"file": ("a.csv", CLIENTS.encode())})
    assert assert_problem(missing, 422)["errors"][0]["field"] == "kind"
    wrong_kind = assert_problem(await upload(admin, "staff", CLIENTS), 422)
    assert wrong_kind["errors"][0]["field"] == "kind"
    extra = await admin.post(
        "/v1/imports",
        data={"kind": "clients", "dry_run": "true"},
        files={"file": ("a.csv", CLIENTS.encode(), "text/csv")},
    )
    assert assert_problem(extra, 422)["errors"][0]["field"] == "dry_run"
    not_a_file = await admin.post(
        "/v1/imports", data={"kind": "clients", "file": CLIENTS}, files={"x": ("", b"")}
    )
    assert_problem(not_a_file, 422)
    assert await _items(admin, "/v1/imports") == []


async def test_a_file_that_cannot_be_read_is_422(admin: httpx.AsyncClient) -> None:
    cases = {
        "Acme,Ltd\n".encode("utf-16"): "is not UTF-8 text",
        "external_id,name\nemp-1,Caf\xe9\n".encode("latin-1"): "is not UTF-8 text",
        b"external_id,name\nemp-1,A\x00B\n": "contains a NUL character",
        b"": "is empty",
        b"external_id,name\n,\n": "has a heading row but no rows",
        b"external_id,name,shoe_size\nemp-1,A,9\n": "unknown columns: shoe_size.",
        b"name\nAcme\n": "no external_id column.",
        b"external_id,name,name\nemp-1,A,B\n": "repeated columns: name.",
        b'external_id,name\nemp-1,"Acme "Ltd""\n': "row 2 cannot be read as CSV",
    }
    for content, message in cases.items():
        body = assert_problem(await upload(admin, "clients", content), 422)
        assert body["errors"][0]["field"] == "file", content
        assert message in body["errors"][0]["message"], (content, body)
    long_row = assert_problem(await upload(admin, "clients", "external_id,name\ne,A,extra\n"), 422)
    assert long_row["errors"][0] == {
        "field": "file.2",
        "location": "body",
        "message": "has more cells than the heading row",
        "type": "value_error",
    }
    assert await _items(admin, "/v1/imports") == []


async def test_a_bom_and_blank_rows_from_a_spreadsheet_are_fine(admin: httpx.AsyncClient) -> None:
    sheet = "\ufeffexternal_id,name\r\nemp-1,Acme Ltd\r\n,\r\n\r\n"
    job = await imported(admin, "clients", sheet)
    assert job["status"] == "succeeded"
    assert job["rows"]["total"] == 1


async def test_a_file_over_the_row_limit_is_422(api: FastAPI, admin: httpx.AsyncClient) -> None:
    settings = api.state.settings
    api.state.settings = settings.model_copy(update={"import_max_rows": 2})
    try:
        body = assert_problem(await upload(admin, "clients", CLIENTS + "emp-3,Cedar Ltd\n"), 422)
    finally:
        api.state.settings = settings
    assert body["errors"][0]["message"] == "has more than 2 rows; split it into several files"


async def test_one_import_runs_at_a_time(admin: httpx.AsyncClient, hold: Hold) -> None:
    first = await upload(admin, "clients", CLIENTS + "emp-3,Cedar Ltd\n")
    await hold.first_chunk()
    second = assert_problem(await upload(admin, "candidates", CANDIDATES), 409)
    assert first.json()["id"] in second["detail"]
    hold.released.set()
    assert (await finished(admin, first.json()["id"]))["status"] == "succeeded"
    assert (await imported(admin, "candidates", CANDIDATES))["status"] == "succeeded"


async def test_a_retry_with_the_same_idempotency_key_gets_the_same_job(
    admin: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "import-clients-1"}
    first = await upload(admin, "clients", CLIENTS, headers=headers)
    assert first.status_code == 202
    await finished(admin, first.json()["id"])
    # httpx draws a new multipart boundary for each request: the same upload all the same.
    again = await upload(admin, "clients", CLIENTS, headers=headers)
    assert again.status_code == 202
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()
    other = await upload(admin, "clients", CLIENTS + "emp-3,Cedar Ltd\n", headers=headers)
    assert_problem(other, 422)
    assert len(await _items(admin, "/v1/imports")) == 1
    assert len(await _items(admin, "/v1/clients")) == 2


async def test_an_unknown_import_is_404(admin: httpx.AsyncClient) -> None:
    assert_problem(await admin.get("/v1/imports/01a23f1e-22d8-729c-9279-5154130b85ae"), 404)
