"""The finishing touches FastAPI does not put into the OpenAPI document by itself.

- the `Problem` schema that every error response points at;
- `400` on every API operation and `413` on every one with a body: both can happen anywhere
  (an ill-formed header, a body over the limit) and are answered before any route runs;
- the bearer-key security scheme on every `/v1` operation;
- `Idempotency-Key` on every `/v1` POST, with exactly the form the middleware accepts;
- links from each `201 Created` (or `202 Accepted`, a job) to the operations on the object it
  created (the `id` in its body), so clients and stateful testers (Schemathesis) can follow them.
"""

from __future__ import annotations

import re
from typing import Any

from app.api import idempotency
from app.api.problems import Problem
from app.errors import FieldError

API = "/v1/"
BODY_METHODS = ("post", "put", "patch")

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send the same key again (within 24 hours) to get the first answer "
    "replayed instead of repeating the change; the same key with another body is 422. "
    "Keys belong to the API key that sent them, and are replayed only to it while it is "
    "live. An answer that carries a secret shown once (a new API key, a webhook secret, a "
    "debrief link) is not kept: a retry is 409 `idempotency-not-replayable`, nothing is "
    "done again. 1 to 255 printable ASCII characters.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_LENGTH,
        "pattern": idempotency.KEY_PATTERN,
    },
}
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (`dbf_…`), created by an admin with `POST /v1/api-keys` or "
    "`debrief create-key`. Keys in query strings are refused.",
}


def problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


UNPROCESSABLE = "Validation failed; `errors` lists the fields at fault"


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    schemas.setdefault("FieldError", FieldError.model_json_schema())
    components.setdefault("securitySchemes", {})["bearer"] = BEARER

    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for path, operations in paths.items():
        for operation in operations.values():
            # Any request can be answered 422 with a problem document: a query parameter or
            # body text no database can store (`app.api.middleware.StorableTextMiddleware`), or
            # a value the database refuses; pages document theirs beside it.
            refused = operation["responses"].setdefault("422", problem(UNPROCESSABLE))
            content = refused.setdefault("content", {})
            content.pop("application/json", None)  # FastAPI's own shape, never sent
            content.update(problem(UNPROCESSABLE)["content"])
        if "{" in path:  # an id that is not a UUID, or names nothing
            for operation in operations.values():
                operation["responses"].setdefault("404", problem("Nothing at this address"))
        if not path.startswith(API):
            continue
        for method, operation in operations.items():
            operation["security"] = [{"bearer": []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("400", problem("The request cannot be understood"))
            if method in BODY_METHODS:
                responses.setdefault("413", problem("The body is over the size limit"))
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    _link_created_objects(paths)
    return schema


def _link_created_objects(paths: dict[str, dict[str, Any]]) -> None:
    """`POST /v1/x` → 201 (or 202) with `id` links to every operation on `/v1/x/{x_id}` and below
    (one path parameter deep), passing the new id."""
    for path, operations in paths.items():
        answers = operations.get("post", {}).get("responses", {})
        created = answers.get("201", answers.get("202"))  # 202: a job, e.g. an import
        if created is None or not path.startswith(API) or "{" in path:
            continue
        links: dict[str, Any] = {}
        child = re.compile(re.escape(path) + r"/\{(\w+)\}(/[\w-]+)*$")
        for target, target_operations in paths.items():
            match = child.match(target)
            if match is None or target.count("{") != 1:
                continue
            for method, operation in target_operations.items():
                links[_link_name(method, target, path)] = {
                    "operationId": operation["operationId"],
                    "parameters": {match.group(1): "$response.body#/id"},
                }
        if links:
            created["links"] = links


def _link_name(method: str, target: str, base: str) -> str:
    rest = re.sub(r"\{\w+\}", "", target[len(base) :]).strip("/")
    words = [method.capitalize(), *(w.capitalize() for w in re.split(r"[/-]", rest) if w)]
    return "".join(words) or method.capitalize()
