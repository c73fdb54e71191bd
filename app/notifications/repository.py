"""SQL for the notifications outbox: writing messages, claiming them to send, recording each
attempt, the suppression list, and what the planners read."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.queries import AnySelect, read_one
from app.db.statements import Statement
from app.models import (
    Candidate,
    Client,
    Debrief,
    DigestDay,
    EmployerFeedback,
    EmployerLink,
    FollowUp,
    Interview,
    Notification,
    NotificationAttempt,
    NotificationSubject,
    Staff,
    Suppression,
)

# pg_advisory_xact_lock key: one claim at a time across processes, so the sending cap holds.
CLAIM_LOCK = 0x44_4E_54_46  # "DNTF"


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


_notifications = Notification.__table__
_COLUMNS = [c.name for c in _notifications.c]
# A few messages (an owner's alert: one a channel) are written one statement each on the driver
# (app/db/statements.py); a sweep's many in one statement through the session.
_FEW = 4
_ADD_ONE = {
    name: Statement(
        dialect.insert(_notifications)
        .values({c: bindparam(c) for c in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_notifications.c.id)
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_ADD_SUBJECTS = Statement(
    insert(NotificationSubject).values(
        notification_id=bindparam("notification_id"), candidate_id=bindparam("candidate_id")
    )
)


async def add_notifications(
    session: AsyncSession, rows: list[dict[str, Any]], subjects: dict[uuid.UUID, set[uuid.UUID]]
) -> list[uuid.UUID]:
    """Write messages, skipping any whose dedupe key is taken; returns the ids written."""
    if not rows:
        return []
    if len(rows) <= _FEW:
        add = _ADD_ONE[session.get_bind().dialect.name]
        written = [r[0] for row in rows for r in await add.fetch(session, **row)]
    else:
        # The rows as parameters (one statement, its SQL compiled once and cached), never
        # written into the statement with `.values(rows)`, which compiles it on every call.
        stmt = (
            _insert(session, _notifications)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_notifications.c.id)
        )
        written = list((await session.execute(stmt, rows)).scalars())
    pairs = [
        {"notification_id": n, "candidate_id": c} for n in written for c in subjects.get(n, ())
    ]
    await _ADD_SUBJECTS.executemany(session, pairs)
    return written


async def taken_dedupe_keys(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    if not wanted:
        return set()
    stmt = select(Notification.dedupe_key).where(Notification.dedupe_key.in_(wanted))
    return {k for k in (await session.execute(stmt)).scalars() if k is not None}


# ---------------------------------------------------------------------------- suppression


async def suppressed(session: AsyncSession, hashes: Iterable[str]) -> set[str]:
    wanted = list(hashes)
    if not wanted:
        return set()
    stmt = select(Suppression.address_hash).where(Suppression.address_hash.in_(wanted))
    return set((await session.execute(stmt)).scalars())


async def suppress(session: AsyncSession, address_hash: str, reason: str, now: datetime) -> None:
    stmt = (
        _insert(session, Suppression.__table__)
        .values(address_hash=address_hash, reason=reason, created_at=now)
        .on_conflict_do_nothing(index_elements=["address_hash"])
    )
    await session.execute(stmt)


async def hold_pending_to(session: AsyncSession, address: str, reason: str, now: datetime) -> int:
    """Mark every email still waiting for this address suppressed."""
    result = await session.execute(
        update(Notification)
        .where(
            Notification.status == "pending",
            Notification.channel == "email",
            func.lower(Notification.recipient) == address.strip().lower(),
        )
        .values(status="suppressed", status_reason=reason, next_attempt_at=None, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- planning reads


async def link_email_facts(
    session: AsyncSession, interview_ids: Iterable[uuid.UUID]
) -> list[RowMapping]:
    """What the candidate's link email needs about each interview, with whether a debrief is
    already in."""
    owner = Staff.__table__.alias("owner")
    stmt = (
        select(
            Interview.id.label("interview_id"),
            Interview.ends_at,
            Interview.job_title,
            Interview.interviewers,
            Interview.status.label("interview_status"),
            Candidate.id.label("candidate_id"),
            Candidate.full_name,
            Candidate.email,
            Candidate.timezone,
            Candidate.status.label("candidate_status"),
            Candidate.erased_at,
            Client.name.label("client"),
            owner.c.full_name.label("owner_name"),
            exists().where(Debrief.interview_id == Interview.id).label("debrief_in"),
        )
        .join(Candidate, Candidate.id == Interview.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .outerjoin(owner, owner.c.id == Candidate.owner_id)
        .where(Interview.id.in_(list(interview_ids)))
    )
    return list((await session.execute(stmt)).mappings().all())


_INTERVIEW_FACTS = Statement(
    select(
        Interview.id.label("interview_id"),
        Interview.job_title,
        Candidate.id.label("candidate_id"),
        Candidate.full_name,
        Candidate.phone,
        Candidate.owner_id,
        Candidate.erased_at,
        Client.name.label("client"),
    )
    .join(Candidate, Candidate.id == Interview.candidate_id)
    .join(Client, Client.id == Interview.client_id)
    .where(Interview.id == bindparam("interview_id"))
)


async def interview_facts(session: AsyncSession, interview_id: uuid.UUID) -> dict[str, Any] | None:
    """The candidate, their owner and the client of one interview, for a message to staff
    (a statement on the driver, app/db/statements.py: a debrief that cools a candidate asks)."""
    return await _INTERVIEW_FACTS.fetch_one(session, interview_id=interview_id)


async def client_answer_facts(session: AsyncSession, link_id: uuid.UUID) -> RowMapping | None:
    """A decision link's answer, with its interview, candidate, owner and feedback."""
    stmt = (
        select(
            EmployerLink.id.label("link_id"),
            EmployerLink.answer,
            EmployerLink.contact_name,
            EmployerLink.feedback_id,
            Interview.id.label("interview_id"),
            Interview.job_title,
            Interview.decision_expected_by,
            Interview.next_stage,
            Candidate.id.label("candidate_id"),
            Candidate.full_name,
            Candidate.owner_id,
            Candidate.erased_at,
            Client.name.label("client"),
            EmployerFeedback.strengths,
            EmployerFeedback.improvements,
            EmployerFeedback.relay_allowed,
        )
        .join(Interview, Interview.id == EmployerLink.interview_id)
        .join(Candidate, Candidate.id == Interview.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .outerjoin(EmployerFeedback, EmployerFeedback.id == EmployerLink.feedback_id)
        .where(EmployerLink.id == link_id)
    )
    return (await session.execute(stmt)).mappings().first()


async def chase_facts(
    session: AsyncSession, interview_ids: Iterable[uuid.UUID]
) -> list[RowMapping]:
    """What a client chase email needs about each interview: the client's opt-in and contact,
    the interview's own point of contact, the candidate and their owner."""
    owner = Staff.__table__.alias("owner")
    stmt = (
        select(
            Interview.id.label("interview_id"),
            Interview.job_title,
            Interview.status.label("interview_status"),
            Interview.outcome,
            Interview.point_of_contact,
            Interview.decision_expected_by,
            Candidate.id.label("candidate_id"),
            Candidate.full_name,
            Candidate.status.label("candidate_status"),
            Candidate.erased_at,
            Client.contact_name,
            Client.contact_email,
            Client.auto_chase,
            Client.timezone.label("client_timezone"),
            owner.c.full_name.label("owner_name"),
        )
        .join(Candidate, Candidate.id == Interview.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .outerjoin(owner, owner.c.id == Candidate.owner_id)
        .where(Interview.id.in_(list(interview_ids)))
    )
    return list((await session.execute(stmt)).mappings().all())


async def employer_chases_awaiting_email(
    session: AsyncSession, *, since: datetime, most: int, limit: int
) -> list[RowMapping]:
    """Employer chases flagged overdue since `since` and not yet emailed, at clients that
    opted in to chase emails and have a contact address (or the interview names one), on
    interviews still awaiting the decision, of live candidates, with fewer than `most` chase
    emails so far."""
    emails = Notification.__table__.alias("chase_email")
    this_interviews = and_(
        emails.c.interview_id == FollowUp.interview_id,
        emails.c.kind == "client_chase",
        emails.c.status.in_(("pending", "sent", "preview")),
    )
    stmt = (
        select(FollowUp.id, FollowUp.interview_id, FollowUp.overdue_at)
        .join(Interview, Interview.id == FollowUp.interview_id)
        .join(Client, Client.id == Interview.client_id)
        .join(Candidate, Candidate.id == Interview.candidate_id)
        .where(
            FollowUp.kind == "employer_follow_up",
            FollowUp.status == "overdue",
            FollowUp.overdue_at >= since,
            Client.auto_chase.is_(True),
            or_(Client.contact_email.is_not(None), Interview.point_of_contact.is_not(None)),
            Interview.outcome == "pending",
            Interview.status.not_in(("cancelled", "no_show")),
            Candidate.erased_at.is_(None),
            Candidate.status == "active",
            ~exists().where(this_interviews, emails.c.created_at >= FollowUp.overdue_at),
            select(func.count(emails.c.id)).where(this_interviews).scalar_subquery() < most,
        )
        .order_by(FollowUp.overdue_at, FollowUp.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).mappings().all())


async def client_chases(session: AsyncSession, interview_id: uuid.UUID) -> list[datetime]:
    """When each chase email of this interview went, or is to go (those not held back)."""
    stmt = (
        select(Notification.send_after)
        .where(
            Notification.interview_id == interview_id,
            Notification.kind == "client_chase",
            Notification.status.in_(("pending", "sent", "preview")),
        )
        .order_by(Notification.send_after)
    )
    return list((await session.execute(stmt)).scalars())


_STAFF_MEMBERS = select(Staff).where(Staff.id.in_(bindparam("ids", expanding=True)))
_STAFF_MEMBER = Statement(select(Staff.__table__).where(Staff.id == bindparam("staff_id")))


async def staff_member(session: AsyncSession, staff_id: uuid.UUID) -> Staff | None:
    """One staff member read on the driver (app/db/statements.py), for a message to them: a
    `Staff` outside the session, to read, not to change."""
    row = await _STAFF_MEMBER.fetch_one(session, staff_id=staff_id)
    return Staff(**row) if row else None


async def staff_members(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Staff]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = await session.execute(_STAFF_MEMBERS, {"ids": wanted})
    return {s.id: s for s in rows.scalars()}


async def late_calls_awaiting_nudge(
    session: AsyncSession, *, since: datetime, limit: int
) -> list[RowMapping]:
    """Debrief calls flagged overdue since `since`, still overdue, whose link email went and
    that have had no nudge yet."""
    first = Notification.__table__.alias("first")
    nudge = Notification.__table__.alias("nudge")
    stmt = (
        select(
            FollowUp.interview_id,
            FollowUp.overdue_at,
            first.c.sent_at.label("first_sent_at"),
            first.c.send_after.label("first_planned_at"),
        )
        .join(
            first,
            (first.c.interview_id == FollowUp.interview_id)
            & (first.c.kind == "candidate_debrief_link")
            & first.c.status.in_(("sent", "preview")),
        )
        .where(
            FollowUp.status == "overdue",
            FollowUp.kind == "debrief_call",
            FollowUp.overdue_at >= since,
            ~exists().where(
                nudge.c.interview_id == FollowUp.interview_id, nudge.c.kind == "candidate_nudge"
            ),
        )
        .order_by(FollowUp.overdue_at)
        .limit(limit)
    )
    return list((await session.execute(stmt)).mappings().all())


async def digest_candidates(session: AsyncSession) -> list[tuple[Staff, date | None]]:
    """Active staff who want messages, with the last day their digest was considered."""
    stmt = (
        select(Staff, DigestDay.day)
        .outerjoin(DigestDay, DigestDay.staff_id == Staff.id)
        .where(Staff.active.is_(True), Staff.notify_via != "none")
        .order_by(Staff.id)
    )
    return [(s, d) for s, d in (await session.execute(stmt)).all()]


async def mark_digest_day(session: AsyncSession, staff_id: uuid.UUID, day: date) -> None:
    stmt = _insert(session, DigestDay.__table__).values(staff_id=staff_id, day=day)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["staff_id"], set_={"day": day})
    )


async def digest_items(
    session: AsyncSession, owner_id: uuid.UUID, *, day_start: datetime, day_end: datetime
) -> tuple[list[RowMapping], list[RowMapping]]:
    """The owner's overdue debrief calls, and their follow-ups due in [day_start, day_end)."""
    columns = (
        FollowUp.id,
        FollowUp.kind,
        FollowUp.due_at,
        FollowUp.candidate_id,
        Candidate.full_name,
        Candidate.phone,
        Interview.job_title,
        Client.name.label("client"),
    )
    base = (
        select(*columns)
        .join(Candidate, Candidate.id == FollowUp.candidate_id)
        .join(Interview, Interview.id == FollowUp.interview_id)
        .join(Client, Client.id == Interview.client_id)
        .where(Candidate.owner_id == owner_id, Candidate.erased_at.is_(None))
    )
    late = base.where(FollowUp.status == "overdue", FollowUp.kind == "debrief_call").order_by(
        FollowUp.due_at, FollowUp.id
    )
    today = base.where(
        FollowUp.status == "pending", FollowUp.due_at >= day_start, FollowUp.due_at < day_end
    ).order_by(FollowUp.due_at, FollowUp.id)
    return (
        list((await session.execute(late)).mappings().all()),
        list((await session.execute(today)).mappings().all()),
    )


async def follow_up_facts(session: AsyncSession, follow_up_id: uuid.UUID) -> RowMapping | None:
    stmt = (
        select(
            FollowUp.id,
            FollowUp.kind,
            FollowUp.due_at,
            FollowUp.reminders_sent,
            FollowUp.interview_id,
            FollowUp.candidate_id,
            Candidate.full_name,
            Candidate.owner_id,
            Candidate.erased_at,
            Interview.job_title,
            Client.name.label("client"),
        )
        .join(Candidate, Candidate.id == FollowUp.candidate_id)
        .join(Interview, Interview.id == FollowUp.interview_id)
        .join(Client, Client.id == Interview.client_id)
        .where(FollowUp.id == follow_up_id)
    )
    return (await session.execute(stmt)).mappings().first()


# ---------------------------------------------------------------------------- sending


async def take_claim_lock(session: AsyncSession) -> None:
    """PostgreSQL: claims one at a time, so the count under the sending cap is exact."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})


async def anything_due(db: Database, now: datetime) -> bool:
    """A read, before a write transaction is opened for nothing."""
    stmt = (
        select(Notification.id)
        .where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .limit(1)
    )
    return await read_one(db, stmt) is not None


async def emails_attempted_since(session: AsyncSession, since: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(NotificationAttempt)
        .join(Notification, Notification.id == NotificationAttempt.notification_id)
        .where(NotificationAttempt.attempted_at > since, Notification.channel == "email")
    )
    return int((await session.execute(stmt)).scalar_one())


async def claim_due(session: AsyncSession, *, now: datetime, limit: int) -> list[Notification]:
    """Due messages, locked; rows another process holds are skipped."""
    stmt = (
        select(Notification)
        .where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def close_unrecorded_attempts(
    session: AsyncSession, notification_ids: list[uuid.UUID], now: datetime
) -> None:
    """Attempts a process claimed and never recorded (it stopped): say so."""
    if not notification_ids:
        return
    await session.execute(
        update(NotificationAttempt)
        .where(
            NotificationAttempt.notification_id.in_(notification_ids),
            NotificationAttempt.outcome.is_(None),
        )
        .values(
            outcome="unknown",
            finished_at=now,
            answer="the sending process stopped before it recorded this attempt",
        ),
        execution_options={"synchronize_session": False},
    )


def add_attempt(session: AsyncSession, **values: Any) -> NotificationAttempt:
    attempt = NotificationAttempt(**values)
    session.add(attempt)
    return attempt


async def candidate_states(
    session: AsyncSession, notification_ids: list[uuid.UUID]
) -> dict[uuid.UUID, RowMapping]:
    """What decides whether each candidate message still applies as it is about to go."""
    if not notification_ids:
        return {}
    call = (
        select(FollowUp.status)
        .where(FollowUp.interview_id == Notification.interview_id, FollowUp.kind == "debrief_call")
        .scalar_subquery()
    )
    stmt = (
        select(
            Notification.id,
            Candidate.email,
            Candidate.status,
            Candidate.erased_at,
            Interview.status.label("interview_status"),
            exists().where(Debrief.interview_id == Notification.interview_id).label("debrief_in"),
            call.label("call_status"),
        )
        .join(Candidate, Candidate.id == Notification.candidate_id)
        .outerjoin(Interview, Interview.id == Notification.interview_id)
        .where(Notification.id.in_(notification_ids))
    )
    return {row["id"]: row for row in (await session.execute(stmt)).mappings()}


async def chat_url_of(session: AsyncSession, staff_id: uuid.UUID) -> tuple[str | None, str]:
    row = (
        await session.execute(select(Staff.chat_url, Staff.notify_via).where(Staff.id == staff_id))
    ).first()
    return (row[0], row[1]) if row else (None, "none")


async def finish_attempt(session: AsyncSession, attempt_id: uuid.UUID, **values: Any) -> None:
    await session.execute(
        update(NotificationAttempt).where(NotificationAttempt.id == attempt_id).values(**values),
        execution_options={"synchronize_session": False},
    )


async def settle_if_pending(
    session: AsyncSession, notification_id: uuid.UUID, **values: Any
) -> bool:
    """Change a message still pending (not settled meanwhile, nor erased); whether it was."""
    result = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "pending")
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- reading


def select_notifications(
    *,
    recipient: str | None,
    candidate_id: uuid.UUID | None,
    staff_id: uuid.UUID | None,
    status: str | None,
    kind: str | None,
) -> AnySelect:
    table = Notification.__table__
    stmt = select(table)
    if recipient is not None:
        stmt = stmt.where(func.lower(table.c.recipient) == recipient.strip().lower())
    if candidate_id is not None:
        stmt = stmt.where(
            or_(
                table.c.candidate_id == candidate_id,
                table.c.id.in_(
                    select(NotificationSubject.notification_id).where(
                        NotificationSubject.candidate_id == candidate_id
                    )
                ),
            )
        )
    for column, value in (
        (table.c.staff_id, staff_id),
        (table.c.status, status),
        (table.c.kind, kind),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def select_attempts(notification_ids: list[uuid.UUID]) -> AnySelect:
    return (
        select(NotificationAttempt.__table__)
        .where(NotificationAttempt.notification_id.in_(notification_ids))
        .order_by(NotificationAttempt.attempted_at, NotificationAttempt.id)
    )


async def get(session: AsyncSession, notification_id: uuid.UUID) -> Notification | None:
    return await session.get(Notification, notification_id)


async def subjects_of(session: AsyncSession, notification_id: uuid.UUID) -> set[uuid.UUID]:
    stmt = select(NotificationSubject.candidate_id).where(
        NotificationSubject.notification_id == notification_id
    )
    return set((await session.execute(stmt)).scalars())


async def add_subjects(
    session: AsyncSession, notification_id: uuid.UUID, candidate_ids: set[uuid.UUID]
) -> None:
    if candidate_ids:
        await session.execute(
            _insert(session, NotificationSubject.__table__).values(
                [{"notification_id": notification_id, "candidate_id": c} for c in candidate_ids]
            )
        )
