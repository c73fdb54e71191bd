"""A steady load from a second process: `python -m tests.faults.load URL KEY SECONDS RATE`.

Alternates creating a candidate (a unique external_id each) and reading a page of them, at
RATE requests per second, and prints one JSON line per request: when it was sent (seconds
since the start), what it was, and the status (or the transport error)."""

from __future__ import annotations

import json
import sys
import time

import httpx


def main(url: str, key: str, seconds: float, rate: float) -> None:
    interval = 1 / rate
    start = time.monotonic()
    number = 0
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=5
    ) as client:
        while (sent := time.monotonic() - start) < seconds:
            record: dict[str, object] = {"t": round(sent, 3)}
            try:
                if number % 2 == 0:
                    external_id = f"load-{number}"
                    record.update(op="create", external_id=external_id)
                    body = {"full_name": f"Person {number}", "external_id": external_id}
                    response = client.post("/v1/candidates", json=body)
                else:
                    record.update(op="read")
                    response = client.get("/v1/candidates", params={"limit": 5})
                record["status"] = response.status_code
            except httpx.TransportError as exc:
                record["error"] = type(exc).__name__
            print(json.dumps(record), flush=True)
            number += 1
            time.sleep(max(0.0, start + number * interval - time.monotonic()))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
