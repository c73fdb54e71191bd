"""Erasing a candidate: every personal field, everywhere it is held, irreversibly.

The candidate's row stays, emptied, so reports can still count what happened (interviews
held, debriefs received, how late); nothing in it identifies the person. The CRM's id is
remembered only as a keyed hash, so a later upsert cannot silently bring them back.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.api import idempotency
from app.audit import service as audit
from app.config import Settings
from app.db.engine import Database
from app.db.queries import among
from app.db.slices import tick
from app.db.transaction import add_post_commit_hook, transaction
from app.debrief_queue import service as debrief_queue
from app.errors import CandidateErased, NotFound
from app.events import service as events
from app.followups import service as followups
from app.followups.rules import WAIVER_REASONS
from app.models import (
    Candidate,
    Debrief,
    DebriefLink,
    EmployerFeedback,
    EmployerLink,
    ErasedIdentity,
    Event,
    FollowUp,
    Interview,
    Notification,
    NotificationSubject,
    WebhookAttempt,
    WebhookDelivery,
)


def identity_hash(settings: Settings, external_id: str) -> str:
    return _fingerprint(settings.derived_key("erased-identity"), external_id)


def _key_before_derived_keys(settings: Settings) -> bytes:
    """The key of the fingerprints erasures wrote before each use of the secret had its own
    key (HMAC with the secret itself): still looked up, so nobody erased then comes back."""
    return settings.secret_key.get_secret_value().encode()


def _fingerprint(key: bytes, external_id: str) -> str:
    return hmac.digest(key, external_id.encode(), hashlib.sha256).hex()


async def erased_external_ids(
    session: AsyncSession, settings: Settings, external_ids: list[str]
) -> dict[str, datetime]:
    """Which of these CRM ids belonged to an erased candidate, with when."""
    if not external_ids:
        return {}
    by_hash: dict[str, str] = {}
    for key in (settings.derived_key("erased-identity"), _key_before_derived_keys(settings)):
        for external_id in external_ids:
            await tick()  # a bulk call hashes 1,000 ids twice (app/db/slices.py)
            by_hash[_fingerprint(key, external_id)] = external_id
    rows = await session.execute(
        select(ErasedIdentity.external_id_hash, ErasedIdentity.erased_at).where(
            among(session, ErasedIdentity.external_id_hash, list(by_hash))
        )
    )
    return {by_hash[h]: when for h, when in rows.all()}


async def refuse_if_erased(
    session: AsyncSession, settings: Settings, external_id: str | None
) -> None:
    if external_id is None:
        return
    erased = await erased_external_ids(session, settings, [external_id])
    if external_id in erased:
        raise CandidateErased(
            f"external_id {external_id!r} belonged to a candidate erased on "
            f"{erased[external_id]:%Y-%m-%d}; an erased person is not recreated."
        )


async def erase(
    *,
    session: AsyncSession,
    db: Database,
    settings: Settings,
    candidate_id: uuid.UUID,
    now: datetime,
) -> None:
    """Erase one candidate's personal data everywhere; irreversible."""
    # FOR NO KEY UPDATE: writes holding one of their interviews (a debrief that inserts a
    # follow-up, say) still pass the foreign-key check on the candidate instead of waiting for
    # this transaction while it waits for their interview.
    candidate = await session.get(Candidate, candidate_id, with_for_update={"key_share": True})
    if candidate is None or candidate.erased_at is not None:
        raise NotFound.of("candidate", candidate_id)
    await _erase(session, settings, candidate, now)
    await debrief_queue.candidates_changed(session, [candidate.id])
    add_post_commit_hook(session, db.forget_old_pages)


async def _erase(
    session: AsyncSession, settings: Settings, candidate: Candidate, now: datetime
) -> None:
    if candidate.external_id:
        session.add(
            ErasedIdentity(
                external_id_hash=identity_hash(settings, candidate.external_id), erased_at=now
            )
        )
    interviews = select(Interview.id).where(Interview.candidate_id == candidate.id)
    # Their interviews first: every write about them (debrief, feedback, link, form) holds
    # the interview, so it either finished before this (and is emptied below) or waits and
    # then finds them erased (app/candidates/erased.py).
    await session.execute(
        update(Interview).where(Interview.candidate_id == candidate.id).values(next_step=None),
        execution_options={"synchronize_session": False},
    )
    # Their links close now: an old link opens nothing and records nothing.
    await session.execute(
        update(DebriefLink)
        .where(DebriefLink.interview_id.in_(interviews), DebriefLink.expires_at > now)
        .values(expires_at=now),
        execution_options={"synchronize_session": False},
    )
    await session.execute(
        update(EmployerLink)
        .where(EmployerLink.interview_id.in_(interviews), EmployerLink.expires_at > now)
        .values(expires_at=now),
        execution_options={"synchronize_session": False},
    )
    await session.execute(
        update(Debrief)
        .where(Debrief.interview_id.in_(interviews))
        .values(
            went_well=None,
            went_badly=None,
            challenging_questions=[],
            strengths=None,
            weaknesses=None,
            notes=None,
            salary_amount=None,
            salary_currency=None,
        ),
        execution_options={"synchronize_session": False},
    )
    await session.execute(
        update(EmployerFeedback)
        .where(EmployerFeedback.interview_id.in_(interviews))
        .values(strengths=None, improvements=None),
        execution_options={"synchronize_session": False},
    )
    # A waiver's reason typed by hand is free text about them; the follow-up itself stays, for the
    # counts (as do the service's own reasons, such as `candidate_withdrawn`).
    await session.execute(
        update(FollowUp)
        .where(
            FollowUp.candidate_id == candidate.id,
            FollowUp.waived_reason.is_not(None),
            FollowUp.waived_reason.not_in(WAIVER_REASONS),
        )
        .values(waived_reason=None),
        execution_options={"synchronize_session": False},
    )
    # The candidate's own fields last. Their overdue-queue rows are written after all of this
    # (by the callers): that locks their open debrief calls, which a reschedule holding one
    # of the interviews above re-dates; taking a call before that interview would deadlock.
    for field in ("external_id", "email", "phone", "linkedin_url", "timezone"):
        setattr(candidate, field, None)
    candidate.full_name = ""
    candidate.status = "archived"
    candidate.job_search_active = False
    candidate.erased_at = now
    candidate.updated_at = now
    # Events (and so every webhook payload, which is built from them) keep only ids.
    about_them = select(Event.id).where(Event.candidate_id == candidate.id)
    await session.execute(
        update(Event)
        .where(Event.candidate_id == candidate.id, ~Event.type.startswith("follow_up."))
        .values(data={"erased": True, "candidate_id": str(candidate.id)}),
        execution_options={"synchronize_session": False},
    )
    await _scrub_follow_up_events(session, candidate.id)
    # What receivers answered to deliveries about them may echo the payload.
    await session.execute(
        update(WebhookAttempt)
        .where(
            WebhookAttempt.delivery_id.in_(
                select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(about_them))
            )
        )
        .values(response_excerpt=None),
        execution_options={"synchronize_session": False},
    )
    # Messages to them or about them, with their attempts (a digest naming them goes whole);
    # the suppression list keeps only a keyed hash of an address, as erased CRM ids are kept.
    await session.execute(
        delete(Notification).where(
            or_(
                Notification.candidate_id == candidate.id,
                Notification.id.in_(
                    select(NotificationSubject.notification_id).where(
                        NotificationSubject.candidate_id == candidate.id
                    )
                ),
            )
        ),
        execution_options={"synchronize_session": False},
    )
    # Stored Idempotency-Key answers about the person (by any of their objects' ids).
    await idempotency.forget_about(session, candidate.id)
    await session.flush()
    # Nobody is chased about them any more: their open follow-ups are waived (`candidate_erased`).
    await followups.candidate_changed(session, candidate.id, now=now)
    audit.record(session, Candidate, "erase", [(candidate.id, [])])
    events.record(session, "candidate.erased", {"candidate": {"id": str(candidate.id)}}, now=now)


async def _scrub_follow_up_events(session: AsyncSession, candidate_id: uuid.UUID) -> None:
    """Follow-up events keep their payload (ids, times, states: no personal data) without
    the waiver's reason."""
    rows = await session.execute(
        select(Event.seq, Event.data).where(
            Event.candidate_id == candidate_id, Event.type.startswith("follow_up.")
        )
    )
    for seq, data in rows.all():
        follow_up = data.get("follow_up") if isinstance(data, dict) else None
        if isinstance(follow_up, dict) and follow_up.get("waived_reason") not in (
            None,
            *WAIVER_REASONS,
        ):
            await session.execute(
                update(Event)
                .where(Event.seq == seq)
                .values(data={**data, "follow_up": {**follow_up, "waived_reason": None}}),
                execution_options={"synchronize_session": False},
            )


async def inactive_candidates(
    session: AsyncSession, *, inactive_since: datetime, limit: int
) -> list[Candidate]:
    """Candidates with no change and no interview since `inactive_since`, not yet erased."""
    recent = exists().where(
        Interview.candidate_id == Candidate.id,
        or_(Interview.updated_at >= inactive_since, Interview.ends_at >= inactive_since),
    )
    stmt = (
        select(Candidate)
        .where(and_(Candidate.erased_at.is_(None), Candidate.updated_at < inactive_since), ~recent)
        .order_by(Candidate.updated_at)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )
    return list((await session.execute(stmt)).scalars())


async def retention_sweep(
    db: Database, settings: Settings, *, retention_days: int, now: datetime
) -> int:
    """Erase everyone inactive longer than the policy keeps them. Run again: nothing new."""
    erased = 0
    while True:
        async with transaction(db, now=now, actor="system:retention") as session:
            batch = await inactive_candidates(
                session, inactive_since=now - timedelta(days=retention_days), limit=100
            )
            for candidate in batch:
                await _erase(session, settings, candidate, now)
            await debrief_queue.candidates_changed(session, [c.id for c in batch])
        erased += len(batch)
        if len(batch) < 100:
            break
    if erased:
        await db.forget_old_pages()
    return erased
