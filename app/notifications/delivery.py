"""Sending the outbox. Each round claims what is due (skipping what another process holds,
and leasing the rest, so replicas share the work and each message goes once), checks that
it still applies, mints a candidate's fresh debrief link, sends, and records the attempt
with the server's answer. What fails is tried again with backoff for about a day; a hard
bounce suppresses the address. Without DEBRIEF_SMTP_URL, emails are previewed: kept as
rendered, not sent. A sending cap per minute holds across every process."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database
from app.db.transaction import transaction
from app.debriefs import links
from app.errors import AppError
from app.ids import uuid7
from app.models import Notification
from app.notifications import chat, mail, repository, service, tokens
from app.notifications.render import with_links

logger = logging.getLogger("debrief.notifications")

# Tried again after each failure, with ±10% jitter: about 28 hours in all.
RETRY_SCHEDULE = tuple(
    timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 2 * 60, 4 * 60, 8 * 60, 12 * 60)
)
# A claimed message is another process's to retry only after this (a round of CLAIM_BATCH
# emails at their timeout each fits well inside it).
LEASE = timedelta(minutes=30)
CLAIM_BATCH = 20
ACTOR = "system:notifications"
PREVIEW = "DEBRIEF_SMTP_URL is not set: rendered and kept, not sent"


def next_delay(attempts_made: int, jitter: Callable[[], float]) -> timedelta | None:
    """When to try again after `attempts_made` failed attempts; None when the schedule is
    spent."""
    if attempts_made > len(RETRY_SCHEDULE):
        return None
    return RETRY_SCHEDULE[attempts_made - 1] * jitter()


@dataclass(frozen=True)
class Outgoing:
    """A claimed message as this attempt sends it."""

    attempt_id: uuid.UUID
    notification_id: uuid.UUID
    kind: str
    channel: str
    recipient: str
    recipient_name: str | None
    subject: str
    text: str
    html: str | None
    message_id: str
    chat_url: str | None
    unsubscribe_url: str | None


def chat_outcome(answer: object) -> mail.MailAnswer:
    """A chat target's HTTP answer in the terms of the outbox."""
    code: int | None = getattr(answer, "status_code", None)
    words = getattr(answer, "error", None) or getattr(answer, "excerpt", None) or ""
    duration = int(getattr(answer, "duration_ms", 0))
    if code is not None and 200 <= code < 300:
        return mail.MailAnswer("sent", code, words or "ok", duration)
    permanent = code is not None and 400 <= code < 500 and code not in (408, 425, 429)
    return mail.MailAnswer("failed" if permanent else "retry", code, str(words)[:1000], duration)


class Sender:
    """One process's share of the sending."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.settings = settings
        self.http = http
        self.clock = clock
        self.jitter: Callable[[], float] = lambda: random.uniform(0.9, 1.1)  # noqa: S311 - not crypto
        self._smtp: mail.SmtpSession | None = None

    @property
    def previewing(self) -> bool:
        return self.settings.smtp_url is None

    async def run_once(self) -> int:
        """One round, then close the SMTP connection. Returns how many messages it settled
        or tried."""
        try:
            return await self.round()
        finally:
            await self.close()

    async def round(self) -> int:
        now = self.clock()
        if not await repository.anything_due(self.db, now):
            return 0
        async with transaction(self.db, now=now, actor=ACTOR) as session:
            due = await repository.claim_due(session, now=now, limit=CLAIM_BATCH)
            outgoing, capped = await self._claim(session, due, now) if due else ([], 0)
        if outgoing:
            await self._send(outgoing)
        return len(due) - capped

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            await smtp.close()

    async def _claim(
        self, session: AsyncSession, due: list[Notification], now: datetime
    ) -> tuple[list[Outgoing], int]:
        """Settle what no longer applies or is previewed, lease the rest; returns what this
        attempt sends, and how many the sending cap held back."""
        await repository.take_claim_lock(session)
        room = self.settings.smtp_max_per_minute - await repository.emails_attempted_since(
            session, now - timedelta(minutes=1)
        )
        await repository.close_unrecorded_attempts(
            session, [n.id for n in due if n.attempts > 0], now
        )
        outgoing = []
        capped = 0
        for notification in due:
            reason = await service.still_applies(session, notification)
            if reason is not None:
                self._settle(notification, "cancelled", reason, now)
                continue
            chat_url = None
            if notification.channel == "email":
                if await service.is_suppressed(session, self.settings, notification.recipient):
                    self._settle(notification, "suppressed", "the address is suppressed", now)
                    continue
                if self.previewing:
                    self._settle(notification, "preview", PREVIEW, now)
                    continue
                if room <= 0:
                    capped += 1  # the minute's cap is reached: it stays due
                    continue
                room -= 1
            elif notification.staff_id is not None:
                chat_url, via = await repository.chat_url_of(session, notification.staff_id)
                if not chat_url or via not in ("chat", "both"):
                    self._settle(notification, "cancelled", "chat is no longer wanted", now)
                    continue
            personal = None
            if notification.kind in service.LINK_KINDS and notification.interview_id is not None:
                try:
                    _, url = await links.create_link(
                        session=session,
                        interview_id=notification.interview_id,
                        settings=self.settings,
                        actor=ACTOR,
                        now=now,
                    )
                except AppError as exc:
                    self._settle(notification, "cancelled", exc.detail, now)
                    continue
                personal = url.rsplit("/", 1)[1]
            candidate = notification.kind in service.CANDIDATE_KINDS
            unsubscribe = tokens.unsubscribe_token(self.settings, notification.id)

            unsubscribe_token = unsubscribe if candidate else None
            notification.attempts += 1
            notification.next_attempt_at = now + LEASE
            notification.updated_at = now
            attempt = repository.add_attempt(
                session, id=uuid7(), notification_id=notification.id, attempted_at=now
            )
            outgoing.append(
                Outgoing(
                    attempt_id=attempt.id,
                    notification_id=notification.id,
                    kind=notification.kind,
                    channel=notification.channel,
                    recipient=notification.recipient,
                    recipient_name=notification.recipient_name,
                    subject=notification.subject,
                    text=with_links(
                        notification.body_text, personal=personal, unsubscribe=unsubscribe_token
                    ),
                    html=with_links(
                        notification.body_html, personal=personal, unsubscribe=unsubscribe_token
                    )
                    if notification.body_html
                    else None,
                    message_id=notification.message_id,
                    chat_url=chat_url,
                    unsubscribe_url=tokens.unsubscribe_url(self.settings, notification.id)
                    if candidate
                    else None,
                )
            )
        await session.flush()
        return outgoing, capped

    @staticmethod
    def _settle(notification: Notification, status: str, reason: str, now: datetime) -> None:
        notification.status = status
        notification.status_reason = reason[:500]
        notification.next_attempt_at = None
        notification.updated_at = now

    async def _send(self, outgoing: list[Outgoing]) -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._send_emails, [o for o in outgoing if o.channel == "email"])
            for message in outgoing:
                if message.channel == "chat":
                    tasks.start_soon(self._send_chat, message)

    async def _send_emails(self, emails: list[Outgoing]) -> None:
        if not emails:
            return
        assert self.settings.smtp_url is not None
        if self._smtp is None:
            server = mail.server_of(self.settings.smtp_url.get_secret_value())
            self._smtp = mail.SmtpSession(server, timeout=self.settings.smtp_timeout_seconds)
        for message in emails:
            email = mail.build(
                from_name=self.settings.agency_name,
                from_address=self.settings.mail_from,
                reply_to=self.settings.mail_reply_to,
                to_name=message.recipient_name,
                to_address=message.recipient,
                subject=message.subject,
                text=message.text,
                html=message.html,
                message_id=message.message_id,
                date=self.clock(),
                unsubscribe_url=message.unsubscribe_url,
            )
            answer = await self._smtp.send(
                email, sender=self.settings.mail_from, recipient=message.recipient
            )
            await self._record_safely(message, answer)

    async def _send_chat(self, message: Outgoing) -> None:
        assert message.chat_url is not None
        answer = await chat.post_chat(
            self.http,
            message.chat_url,
            f"{message.subject}\n\n{message.text}",
            deadline=self.settings.webhook_attempt_seconds,
        )
        await self._record_safely(message, chat_outcome(answer))

    async def _record_safely(self, message: Outgoing, answer: mail.MailAnswer) -> None:
        try:
            await self._record(message, answer)
        except Exception:
            # The database may be restarting: the lease runs out and the message is retried.
            logger.exception("notification %s could not be recorded", message.notification_id)

    async def _record(self, message: Outgoing, answer: mail.MailAnswer) -> None:
        now = self.clock()
        async with transaction(self.db, now=now, actor=ACTOR) as session:
            found = await repository.open_attempt(session, message.attempt_id)
            if found is None:
                return  # erased meanwhile
            notification, attempt = found
            outcome = answer.outcome
            delay = None
            if outcome == "retry":
                delay = next_delay(notification.attempts, self.jitter)
                if delay is None:
                    outcome = "failed"
            attempt.finished_at = now
            attempt.outcome = outcome
            attempt.code = answer.code
            attempt.answer = answer.answer[:1000] or None
            attempt.duration_ms = answer.duration_ms
            if notification.status != "pending":
                return  # settled meanwhile (the address unsubscribed, say)
            notification.updated_at = now
            if outcome == "sent":
                notification.status, notification.sent_at = "sent", now
                notification.status_reason = None
                notification.next_attempt_at = None
            elif outcome == "retry":
                assert delay is not None
                notification.next_attempt_at = now + delay
                notification.status_reason = f"will try again: {answer.answer}"[:500]
            else:
                reason = (
                    f"gave up after {notification.attempts} attempts: {answer.answer}"
                    if answer.outcome == "retry"
                    else answer.answer
                )
                self._settle(notification, outcome, reason, now)
                if outcome == "bounced":
                    await service.suppress_address(
                        session, self.settings, notification.recipient, reason="bounced", now=now
                    )
                logger.warning("notification %s %s: %s", notification.id, outcome, reason)
