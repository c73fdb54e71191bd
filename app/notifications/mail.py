"""Email: the message as it goes out (headers, plain and HTML parts) and the SMTP client
(aiosmtplib) that sends a batch over one connection, reading each answer: 2xx sent, 4xx or
no answer try again later, 5xx on a recipient a hard bounce, other 5xx a failure."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib

Outcome = Literal["sent", "retry", "failed", "bounced"]


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None  # None: when the server offers it


def server_of(url: str) -> SmtpServer:
    """smtp://user:pass@host:587 (STARTTLS when offered), smtp+starttls:// (required),
    smtps://host:465 (TLS from the first byte)."""
    parts = urlsplit(url)
    use_tls = parts.scheme == "smtps"
    start_tls = {"smtp": None, "smtp+starttls": True, "smtps": False}[parts.scheme]
    return SmtpServer(
        hostname=parts.hostname or "localhost",
        port=parts.port or (465 if use_tls else 587),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
        start_tls=start_tls,
    )


def one_line(value: str) -> str:
    return " ".join(value.split())


def build(
    *,
    from_name: str,
    from_address: str,
    reply_to: str | None,
    to_name: str | None,
    to_address: str,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    date: datetime,
    unsubscribe_url: str | None,
) -> EmailMessage:
    """One email, plain text with an HTML alternative. Candidate emails carry one-click
    unsubscribe (RFC 8058); staff emails say they were sent automatically."""
    message = EmailMessage()
    message["From"] = formataddr((one_line(from_name), from_address))
    message["To"] = formataddr((one_line(to_name), to_address)) if to_name else to_address
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


@dataclass(frozen=True)
class MailAnswer:
    outcome: Outcome
    code: int | None
    answer: str
    duration_ms: int


class SmtpSession:
    """One connection to the server for a batch of messages, opened when the first is sent
    and again after a failure."""

    def __init__(self, server: SmtpServer, *, timeout: float) -> None:
        self.server = server
        self.timeout = timeout
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is None or not self._smtp.is_connected:
            self._smtp = aiosmtplib.SMTP(
                hostname=self.server.hostname,
                port=self.server.port,
                username=self.server.username,
                password=self.server.password,
                use_tls=self.server.use_tls,
                start_tls=self.server.start_tls,
                timeout=self.timeout,
            )
            await self._smtp.connect()
        return self._smtp

    async def send(self, message: EmailMessage, *, sender: str, recipient: str) -> MailAnswer:
        started = time.perf_counter()

        def answer(outcome: Outcome, code: int | None, words: str) -> MailAnswer:
            elapsed = int((time.perf_counter() - started) * 1000)
            return MailAnswer(outcome, code, one_line(words)[:1000], elapsed)

        try:
            smtp = await self._connected()
            _, words = await smtp.send_message(message, sender=sender, recipients=[recipient])
            return answer("sent", 250, words)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            hard = 500 <= refused.code < 600
            return answer("bounced" if hard else "retry", refused.code, refused.message)
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPAuthenticationError) as exc:
            # The server or our settings: nothing about this message; try again later.
            await self.close()
            return answer("retry", getattr(exc, "code", None), f"{type(exc).__name__}: {exc}")
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            if exc.code in (-1, 421) or isinstance(exc, aiosmtplib.SMTPServerDisconnected):
                await self.close()
            return answer("failed" if permanent else "retry", exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()
            return answer("retry", None, f"{type(exc).__name__}: {exc}")

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                smtp.close()
