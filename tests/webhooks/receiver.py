"""A real webhook receiver on loopback that verifies every delivery with `standardwebhooks`."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    answer: int = 204
    extra_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    requests: int = 0
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/debrief"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.requests += 1
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status = self.answer
        if 200 <= status < 300:
            try:
                verified = self._verify(body, headers)
            except WebhookVerificationError as exc:
                self.rejected.append(str(exc))
                status = 400
            else:
                self.received.append(Received(headers["webhook-id"], headers, verified))
        response_headers = [(b"content-type", b"text/plain")] + [
            (k.encode(), v.encode()) for k, v in self.extra_headers.items()
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": b"thanks"})

    def _verify(self, body: bytes, headers: dict[str, str]) -> Any:
        """Every secret in force must verify the message on its own."""
        payload = None
        for secret in self.secrets:
            payload = Webhook(secret).verify(body, headers)
        if payload is None:
            raise WebhookVerificationError("no secret configured")
        return payload

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn exposes only this flag
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = self._task = None

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]
