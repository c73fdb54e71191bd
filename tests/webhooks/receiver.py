"""A real webhook receiver on loopback that verifies every delivery with `standardwebhooks`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from app.clock import Clock
from tests.loopback import HttpReceiver

TOLERANCE = timedelta(minutes=5)  # what standardwebhooks accepts either side of its "now"


class _Verifier(Webhook):
    """`standardwebhooks`' verification as it is, except that the receiver's "now" is the
    test's clock (the sender's), not the machine's: the library compares the message's
    timestamp with `datetime.now()` in its private `__verify_timestamp`, replaced here."""

    def __init__(self, secret: str, clock: Clock) -> None:
        super().__init__(secret)
        self._clock = clock

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:
        try:
            sent = datetime.fromtimestamp(float(timestamp_header), tz=UTC)
        except ValueError as exc:
            raise WebhookVerificationError("Invalid Signature Headers") from exc
        if sent < self._clock.now() - TOLERANCE:
            raise WebhookVerificationError("Message timestamp too old")
        if sent > self._clock.now() + TOLERANCE:
            raise WebhookVerificationError("Message timestamp too new")
        return sent


@dataclass
class Received:
    webhook_id: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver(HttpReceiver):
    secrets: list[str] = field(default_factory=list)
    # The receiver's "now" for the timestamp check: the test's clock, which the sender uses.
    clock: Clock = field(default_factory=Clock)
    answer: int = 204
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    requests: int = 0

    path = "/hooks/debrief"

    def answer_to(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        self.requests += 1
        status = self.answer
        if 200 <= status < 300:
            try:
                verified = self._verify(body, headers)
            except WebhookVerificationError as exc:
                self.rejected.append(str(exc))
                status = 400
            else:
                self.received.append(Received(headers["webhook-id"], headers, verified))
        return status, b"thanks"

    def _verify(self, body: bytes, headers: dict[str, str]) -> Any:
        """Every secret in force must verify the message on its own."""
        payload = None
        for secret in self.secrets:
            payload = _Verifier(secret, self.clock).verify(body, headers)
        if payload is None:
            raise WebhookVerificationError("no secret configured")
        return payload

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]


class RawReceiver:
    """A receiver that misbehaves below HTTP frameworks: a plain asyncio server on loopback
    that reads each request, then answers however `mode` says.

    - "huge": 200 with a `size`-byte body, written in 64 KiB chunks as fast as it is read;
    - "trickle": a complete, valid answer sent one byte every `interval` seconds;
    - "nul": 200 with a short body full of NUL bytes;
    - "ok": 204 at once."""

    def __init__(self, mode: str, *, size: int = 0, interval: float = 1.0) -> None:
        self.mode, self.size, self.interval = mode, size, interval
        self.requests = 0
        self.bytes_sent = 0
        self.finished = 0  # answers written to the end
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/raw"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            self.requests += 1
            await self._answer(writer)
            self.finished += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: that is what these receivers are for
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        if self.mode == "huge":
            writer.write(
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/plain\r\n"
                + f"content-length: {self.size}\r\n\r\n".encode()
            )
            chunk = b"x" * 65536
            left = self.size
            while left > 0:
                piece = chunk[: min(left, len(chunk))]
                writer.write(piece)
                await writer.drain()
                self.bytes_sent += len(piece)
                left -= len(piece)
        elif self.mode == "trickle":
            answer = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
            for i in range(len(answer)):
                writer.write(answer[i : i + 1])
                await writer.drain()
                self.bytes_sent += 1
                await asyncio.sleep(self.interval)
        elif self.mode == "nul":
            body = b"ok\x00\x00 received\x00"
            writer.write(
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/plain\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
        else:
            writer.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
        await writer.drain()
