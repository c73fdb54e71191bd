"""The conventions every endpoint follows: problem+json, pagination, ETags, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.schemas.base import iso
from tests.conftest import T0
from tests.factories import create_candidate, create_interview

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.text
    return body


async def test_unknown_route_is_a_problem_document(admin: httpx.AsyncClient) -> None:
    assert_problem(await admin.get("/v1/no-such-thing"), 404)


async def test_wrong_method_is_a_problem_document(admin: httpx.AsyncClient) -> None:
    response = await admin.put("/v1/candidates")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_allow_names_the_fixed_path_not_the_one_with_an_id(admin: httpx.AsyncClient) -> None:
    # `/v1/candidates/bulk` also looks like `/v1/candidates/{candidate_id}`.
    response = await admin.get("/v1/candidates/bulk")
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"
    response = await admin.delete("/v1/interviews/" + "0" * 8 + "-0000-7000-8000-" + "0" * 12)
    assert response.headers["allow"] == "GET, HEAD, PATCH"


@pytest.mark.parametrize("since", ["0.5", "1700000000", "2026-03-04", "yesterday"])
async def test_a_timestamp_is_rfc_3339_text_not_a_number(
    admin: httpx.AsyncClient, since: str
) -> None:
    body = assert_problem(await admin.get("/v1/interviews", params={"starts_before": since}), 422)
    assert body["errors"][0]["field"] == "starts_before"
    ok = await admin.get("/v1/interviews", params={"starts_before": "2026-03-04T10:00:00+01:00"})
    assert ok.status_code == 200


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.builds(
            timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
        ),
    )
)
def test_every_timestamp_is_written_in_utc_with_z(moment: datetime) -> None:
    # The one spelling of a time in every body: UTC, `Z`, microseconds only when there are
    # some. Written by orjson for speed; it must spell each instant as isoformat() does.
    expected = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert iso(moment) == expected
    assert iso(moment.astimezone(UTC)) == expected
    assert iso(None) is None


def test_a_datetime_subclass_is_written_the_same_way() -> None:
    class Clocked(datetime):  # as test clocks and date libraries make
        pass

    assert iso(Clocked(2026, 3, 4, 11, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-03-04T10:00:00.000005Z"
    )


async def test_missing_key_is_401_with_bearer_challenge(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/v1/candidates")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_key_is_401(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/v1/candidates", headers={"Authorization": "Bearer dbr_nope"})
    assert_problem(response, 401)


async def test_key_in_query_string_is_refused(admin: httpx.AsyncClient) -> None:
    body = assert_problem(await admin.get("/v1/candidates", params={"api_key": "x"}), 400)
    assert "Authorization header" in body["detail"]


async def test_naive_timestamp_is_422_naming_the_field(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin)
    client = (await admin.post("/v1/clients", json={"name": "Acme"})).json()
    response = await admin.post(
        "/v1/interviews",
        json={
            "candidate_id": candidate["id"],
            "client_id": client["id"],
            "job_title": "Analyst",
            "stage": "first",
            "format": "video",
            "starts_at": "2026-03-04T10:00:00",
        },
    )
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["starts_at"]
    assert (await admin.get("/v1/interviews")).json()["items"] == []


async def test_unknown_field_is_422_and_nothing_is_stored(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/v1/candidates", json={"full_name": "Ann Lee", "favourite_colour": "red"}
    )
    body = assert_problem(response, 422)
    assert body["errors"] == [
        {
            "field": "favourite_colour",
            "location": "body",
            "message": "unknown field",
            "type": "extra_forbidden",
        }
    ]
    assert (await admin.get("/v1/candidates")).json()["items"] == []


async def test_malformed_json_is_422(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/v1/candidates", content=b'{"full_name": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 422)


async def test_body_over_one_mebibyte_is_413(admin: httpx.AsyncClient) -> None:
    big = b'{"full_name": "' + b"x" * (1024 * 1024) + b'"}'
    response = await admin.post(
        "/v1/candidates", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)
    assert (await admin.get("/v1/candidates")).json()["items"] == []


async def test_overlong_text_is_422(admin: httpx.AsyncClient) -> None:
    body = assert_problem(await admin.post("/v1/candidates", json={"full_name": "x" * 201}), 422)
    assert body["errors"][0]["field"] == "full_name"


async def test_malformed_id_in_path_is_404(admin: httpx.AsyncClient) -> None:
    # Ids are UUIDs; a path that holds anything else names no resource at all.
    body = assert_problem(await admin.get("/v1/candidates/not-a-uuid"), 404)
    assert body["instance"] == "/v1/candidates/not-a-uuid"
    assert_problem(await admin.patch("/v1/staff/42", json={}), 404)


async def test_unknown_id_is_404(admin: httpx.AsyncClient) -> None:
    assert_problem(await admin.get("/v1/candidates/01890000-0000-7000-8000-000000000000"), 404)


async def test_pagination_walks_120_objects_once_each(admin: httpx.AsyncClient) -> None:
    created = {(await create_candidate(admin, full_name=f"Person {i}"))["id"] for i in range(120)}
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        params = {"cursor": cursor} if cursor else {}
        page = (await admin.get("/v1/candidates", params=params)).json()
        pages += 1
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3  # default page size 50: 50 + 50 + 20
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == created


async def test_page_is_stable_when_objects_are_added_meanwhile(admin: httpx.AsyncClient) -> None:
    for i in range(5):
        await create_candidate(admin, full_name=f"Early {i}")
    first = (await admin.get("/v1/candidates", params={"limit": 3})).json()
    await create_candidate(admin, full_name="Latecomer")
    second = (
        await admin.get("/v1/candidates", params={"limit": 3, "cursor": first["next_cursor"]})
    ).json()
    names = [c["full_name"] for c in first["items"] + second["items"]]
    assert names == ["Early 0", "Early 1", "Early 2", "Early 3", "Early 4", "Latecomer"]


@pytest.mark.parametrize("limit", [0, 201, -1])
async def test_page_size_outside_1_to_200_is_422(admin: httpx.AsyncClient, limit: int) -> None:
    body = assert_problem(await admin.get("/v1/candidates", params={"limit": limit}), 422)
    assert body["errors"][0]["field"] == "limit"


async def test_forged_cursor_is_422(admin: httpx.AsyncClient) -> None:
    body = assert_problem(await admin.get("/v1/candidates", params={"cursor": "!!!"}), 422)
    assert body["errors"][0]["field"] == "cursor"


async def test_etag_and_if_match(admin: httpx.AsyncClient) -> None:
    candidate = await create_candidate(admin)
    url = f"/v1/candidates/{candidate['id']}"
    read = await admin.get(url)
    etag = read.headers["etag"]
    assert etag == '"1"'

    assert_problem(await admin.patch(url, json={"full_name": "New Name"}), 428)
    assert_problem(
        await admin.patch(url, json={"full_name": "New Name"}, headers={"If-Match": '"99"'}), 412
    )

    ok = await admin.patch(url, json={"full_name": "New Name"}, headers={"If-Match": etag})
    assert ok.status_code == 200
    assert ok.json()["full_name"] == "New Name"
    assert ok.headers["etag"] == '"2"'

    # The first ETag is stale now: a second writer holding it is refused.
    assert_problem(
        await admin.patch(url, json={"full_name": "Lost"}, headers={"If-Match": etag}), 412
    )
    assert (await admin.get(url)).json()["full_name"] == "New Name"


async def test_every_object_read_carries_an_etag(admin: httpx.AsyncClient) -> None:
    interview = await create_interview(admin, starts_at=T0)
    for url in (
        f"/v1/interviews/{interview['id']}",
        f"/v1/candidates/{interview['candidate_id']}",
        f"/v1/clients/{interview['client_id']}",
    ):
        response = await admin.get(url)
        assert response.headers["etag"] == f'"{response.json()["version"]}"'
