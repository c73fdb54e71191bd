"""Real servers for the notification tests: an SMTP server (aiosmtpd) that keeps every
message it accepts, and an HTTP receiver standing in for a chat service's incoming webhook."""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

import orjson
from aiosmtpd.controller import Controller

from tests.loopback import HttpReceiver, free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


@dataclass
class MailServer:
    """aiosmtpd on loopback. `refuse` maps recipients to the RCPT answer they get."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    _controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return f"250 Message accepted for delivery as {len(self.received)}"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]


@dataclass
class ChatReceiver(HttpReceiver):
    """An incoming-webhook stand-in on loopback: keeps each JSON body, answers `answer`."""

    answer: int = 200
    bodies: list[dict[str, Any]] = field(default_factory=list)

    path = "/services/T000/B000/chat"

    def answer_to(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if 200 <= self.answer < 300:
            self.bodies.append(orjson.loads(body))
        return self.answer, b"ok"
