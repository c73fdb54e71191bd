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
from anyio.abc import TaskGroup
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database
from app.db.sealed import Sealer, Unsealable
from app.db.transaction import transaction
from app.debriefs import employer_links
from app.debriefs import links as debrief_links
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
CLAIM_BATCH = 50
ACTOR = "system:notifications"
PREVIEW = "DEBRIEF_SMTP_URL is not set: rendered and kept, not sent"
UNSEALABLE_CHAT = (
    "not sent: the chat URL was stored under another DEBRIEF_SECRET_KEY; restore that key, or "
    "set the staff member's chat_url again (docs/security.md)"
)


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
    attempt_number: int
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
        self.sealer = Sealer.of(settings)  # opens the staff's chat URLs
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
        reasons = await service.reasons_not_to_send(session, due)
        blocked = await service.suppressed_among(
            session, self.settings, {n.recipient for n in due if n.channel == "email"}
        )
        chat_targets = await repository.staff_members(
            session, {n.staff_id for n in due if n.channel == "chat" and n.staff_id}
        )
        going: list[tuple[Notification, str | None]] = []
        capped = 0
        for notification in due:
            chat_url = None
            if notification.id in reasons:
                self._settle(notification, "cancelled", reasons[notification.id], now)
                continue
            if notification.channel == "email":
                if notification.recipient in blocked:
                    self._settle(notification, "suppressed", "the address is suppressed", now)
                    continue
                if self.previewing:
                    self._settle(notification, "preview", PREVIEW, now)
                    continue
                if room <= 0:
                    capped += 1  # the minute's cap is reached: it stays due
                    continue
                room -= 1
            else:
                staff = chat_targets.get(notification.staff_id) if notification.staff_id else None
                if staff is None or not staff.chat_url or staff.notify_via not in ("chat", "both"):
                    self._settle(notification, "cancelled", "chat is no longer wanted", now)
                    continue
                try:
                    chat_url = self.sealer.open(staff.chat_url)
                except Unsealable:
                    logger.error("notification %s %s", notification.id, UNSEALABLE_CHAT)
                    self._settle(notification, "failed", UNSEALABLE_CHAT, now)
                    continue
            going.append((notification, chat_url))
        # Each candidate email carries a link minted now: the outbox holds no working token.
        links = await debrief_links.create_links_for_sending(
            session=session,
            interview_ids=sorted(
                {
                    n.interview_id
                    for n, _ in going
                    if n.kind in service.LINK_KINDS and n.interview_id
                }
            ),
            settings=self.settings,
            actor=ACTOR,
            now=now,
        )
        # A client chase carries the contact's decision link, minted now too (older ones close).
        client_links: dict[uuid.UUID, str] = {}
        for notification, _ in sorted(going, key=lambda g: str(g[0].interview_id)):
            if notification.kind in service.CLIENT_LINK_KINDS and notification.interview_id:
                url = await employer_links.mint_for_sending(
                    session=session,
                    interview_id=notification.interview_id,
                    settings=self.settings,
                    now=now,
                    days=employer_links.DEFAULT_DAYS,
                )
                if url is not None:
                    client_links[notification.interview_id] = url
        outgoing = []
        for notification, chat_url in going:
            personal = None
            if notification.kind in (*service.LINK_KINDS, *service.CLIENT_LINK_KINDS):
                minted = client_links if notification.kind in service.CLIENT_LINK_KINDS else links
                url = minted.get(notification.interview_id) if notification.interview_id else None
                if url is None:
                    self._settle(
                        notification, "cancelled", "the interview is closed or decided", now
                    )
                    continue
                personal = url.rsplit("/", 1)[1]
            candidate = notification.kind in service.UNSUBSCRIBE_KINDS
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
                    attempt_number=notification.attempts,
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
        async with anyio.create_task_group() as records:
            for message in emails:
                await self._send_email(message, records)

    async def _send_email(self, message: Outgoing, records: TaskGroup) -> None:
        assert self._smtp is not None
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
        # Recorded at once, while the next one is sent.
        records.start_soon(self._record_safely, message, answer)

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
        outcome = answer.outcome
        delay = None
        if outcome == "retry":
            delay = next_delay(message.attempt_number, self.jitter)
            if delay is None:
                outcome = "failed"
        if outcome == "sent":
            change: dict[str, object] = {
                "status": "sent",
                "sent_at": now,
                "status_reason": None,
                "next_attempt_at": None,
            }
        elif outcome == "retry":
            assert delay is not None
            change = {
                "next_attempt_at": now + delay,
                "status_reason": f"will try again: {answer.answer}"[:500],
            }
        else:
            reason = (
                f"gave up after {message.attempt_number} attempts: {answer.answer}"
                if answer.outcome == "retry"
                else answer.answer
            )
            change = {"status": outcome, "status_reason": reason[:500], "next_attempt_at": None}
        async with transaction(self.db, now=now, actor=ACTOR) as session:
            await repository.finish_attempt(
                session,
                message.attempt_id,
                finished_at=now,
                outcome=outcome,
                code=answer.code,
                answer=answer.answer[:1000] or None,
                duration_ms=answer.duration_ms,
            )
            # Not if it was settled meanwhile (the address unsubscribed) or erased.
            changed = await repository.settle_if_pending(
                session, message.notification_id, updated_at=now, **change
            )
            if changed and outcome == "bounced":
                await service.suppress_address(
                    session, self.settings, message.recipient, reason="bounced", now=now
                )
        if outcome in ("failed", "bounced"):
            logger.warning(
                "notification %s %s: %s", message.notification_id, outcome, change["status_reason"]
            )
