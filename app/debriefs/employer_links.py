"""The client contact's decision link: one interview, expiring, revocable, no sign-in.

The contact answers "still deciding" (with a new date), "next round" (with the stage),
"offer" or "not going ahead", with feedback for the candidate. The answer goes through the
very services the API uses: `PATCH /v1/interviews/{id}` (`interviews.apply_patch`) for a new
date, `POST .../employer-feedback` (`service.record_employer_feedback`) for a decision, so
the follow-ups, events and webhooks are the API's; the audit names `client_link:<id>`. As for the
candidate's link, only an HMAC of the token is stored, and opening the page uses nothing up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import link_token_hash, new_link_token
from app.candidates.erased import refuse_if_candidate_erased
from app.config import Settings
from app.db.engine import Database
from app.db.queries import get_for_update, read_one
from app.db.unit_of_work import unit_of_work
from app.debriefs import service
from app.debriefs.schemas import EmployerAnswer, EmployerFeedbackIn
from app.errors import Conflict, Gone, NotFound
from app.interviews import service as interviews
from app.interviews.schemas import InterviewPatch
from app.models import Candidate, Client, EmployerLink, Interview
from app.schemas.fields import Stage

State = Literal["open", "answered", "expired", "revoked"]
DECISIONS = ("next_round", "offer", "rejected")
DEFAULT_DAYS = 14  # a decision takes longer than a debrief: two weeks, not one


def link_url(settings: Settings, token: str) -> str:
    return f"{str(settings.public_base_url).rstrip('/')}/e/{token}"


def actor_of(link_id: uuid.UUID) -> str:
    return f"client_link:{link_id}"


def state_of(
    *,
    revoked_at: datetime | None,
    answered_at: datetime | None,
    expires_at: datetime,
    now: datetime,
) -> State:
    if revoked_at is not None:
        return "revoked"
    if answered_at is not None:
        return "answered"
    return "expired" if expires_at <= now else "open"


def contact_of(
    point_of_contact: dict[str, Any] | None, client_name: str | None, client_email: str | None
) -> tuple[str | None, str | None]:
    """Whom to ask: the interview's point of contact, else the client's default contact."""
    if point_of_contact and point_of_contact.get("name"):
        return point_of_contact["name"], point_of_contact.get("email")
    return client_name, client_email


async def _close_open_links(
    session: AsyncSession, interview_ids: list[uuid.UUID], now: datetime
) -> None:
    """Only the newest link of an interview works (an older one may have been forwarded)."""
    await session.execute(
        update(EmployerLink)
        .where(
            EmployerLink.interview_id.in_(interview_ids),
            EmployerLink.answered_at.is_(None),
            EmployerLink.revoked_at.is_(None),
            EmployerLink.expires_at > now,
        )
        .values(expires_at=now),
        execution_options={"synchronize_session": False},
    )


def _refuse_if_closed(interview: Interview) -> None:
    if interview.status in ("cancelled", "no_show"):
        raise Conflict(
            f"This interview is {interview.status.replace('_', ' ')}; "
            "there is no decision to ask for."
        )
    if interview.outcome == "withdrawn":
        raise Conflict("The candidate withdrew; there is no decision to ask for.")


async def create_link(
    *,
    session: AsyncSession,
    interview_id: uuid.UUID,
    settings: Settings,
    actor: str,
    now: datetime,
    days: int,
) -> tuple[EmployerLink, str]:
    """A new decision link for this interview's client contact, closing older ones; returns
    it with its URL (the token is not kept)."""
    interview = await get_for_update(session, Interview, interview_id, "interview")
    await refuse_if_candidate_erased(session, interview.candidate_id)
    _refuse_if_closed(interview)
    client = await session.get(Client, interview.client_id)
    assert client is not None  # a foreign key
    await _close_open_links(session, [interview.id], now)
    token = new_link_token()
    name, email = contact_of(interview.point_of_contact, client.contact_name, client.contact_email)
    link = EmployerLink(
        interview_id=interview.id,
        token_hash=link_token_hash(settings, token),
        contact_name=name,
        contact_email=email,
        created_at=now,
        created_by=actor,
        expires_at=now + timedelta(days=days),
    )
    session.add(link)
    await session.flush()
    return link, link_url(settings, token)


async def mint_for_sending(
    *, session: AsyncSession, interview_id: uuid.UUID, settings: Settings, now: datetime, days: int
) -> str | None:
    """A fresh link for a chase email about to go (older ones close), or None if the
    interview no longer waits for a decision or its candidate was erased."""
    interview = await get_for_update(session, Interview, interview_id, "interview")
    candidate = await session.get(Candidate, interview.candidate_id)
    if candidate is None or candidate.erased_at is not None:
        return None
    if interview.status in ("cancelled", "no_show") or interview.outcome != "pending":
        return None
    _, url = await create_link(
        session=session,
        interview_id=interview_id,
        settings=settings,
        actor="system:auto_chase",
        now=now,
        days=days,
    )
    return url


async def revoke(
    *, session: AsyncSession, interview_id: uuid.UUID, link_id: uuid.UUID, now: datetime
) -> EmployerLink:
    """Close a link at once (sent to the wrong person, say); an answered one stays as it is."""
    await get_for_update(session, Interview, interview_id, "interview")
    link = await session.get(EmployerLink, link_id, with_for_update=True)
    if link is None or link.interview_id != interview_id:
        raise NotFound(f"There is no employer link {link_id} on interview {interview_id}.")
    if link.answered_at is not None:
        raise Conflict("This link was already answered; there is nothing to revoke.")
    if link.revoked_at is None:
        link.revoked_at = now
        await session.flush()
    return link


@dataclass(frozen=True)
class LinkView:
    """What the page shows: whose interview, for which role, and whether the link works."""

    link_id: uuid.UUID
    token_hash: str
    interview_id: uuid.UUID
    state: State
    expires_at: datetime
    contact_name: str | None
    candidate_name: str
    job_title: str
    client_name: str
    stage: str
    starts_at: datetime
    decision_expected_by: date | None


async def view(db: Database, settings: Settings, token: str, *, now: datetime) -> LinkView:
    """The link's interview, for the page; NotFound if no such link exists."""
    token_hash = link_token_hash(settings, token)
    row = await read_one(
        db,
        select(
            EmployerLink.id,
            EmployerLink.interview_id,
            EmployerLink.revoked_at,
            EmployerLink.answered_at,
            EmployerLink.expires_at,
            EmployerLink.contact_name,
            Candidate.full_name,
            Candidate.erased_at,
            Interview.job_title,
            Interview.stage,
            Interview.starts_at,
            Interview.status,
            Interview.decision_expected_by,
            Client.name.label("client_name"),
        )
        .join(Interview, Interview.id == EmployerLink.interview_id)
        .join(Candidate, Candidate.id == Interview.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .where(EmployerLink.token_hash == token_hash),
    )
    if row is None:
        raise NotFound("This link is not one of ours.")
    state = state_of(
        revoked_at=row["revoked_at"],
        answered_at=row["answered_at"],
        expires_at=row["expires_at"],
        now=now,
    )
    if state == "open" and (
        row["erased_at"] is not None or row["status"] in ("cancelled", "no_show")
    ):
        state = "expired"  # nothing is left to decide about
    return LinkView(
        link_id=row["id"],
        token_hash=token_hash,
        interview_id=row["interview_id"],
        state=state,
        expires_at=row["expires_at"],
        contact_name=row["contact_name"],
        candidate_name=row["full_name"],
        job_title=row["job_title"],
        client_name=row["client_name"],
        stage=row["stage"],
        starts_at=row["starts_at"],
        decision_expected_by=row["decision_expected_by"],
    )


@dataclass(frozen=True)
class Answer:
    """The contact's answer, as the page read it (already checked)."""

    answer: EmployerAnswer
    decision_expected_by: date | None = None
    next_stage: Stage | None = None
    strengths: str | None = None
    improvements: str | None = None
    relay_allowed: bool | None = None


async def submit(
    *, session: AsyncSession, settings: Settings, token: str, answer: Answer, now: datetime
) -> EmployerLink:
    """Apply the contact's answer exactly as the API would, audited as the link."""
    token_hash = link_token_hash(settings, token)
    interview_id = (
        await session.execute(
            select(EmployerLink.interview_id).where(EmployerLink.token_hash == token_hash)
        )
    ).scalar_one_or_none()
    if interview_id is None:
        raise NotFound("This link is not one of ours.")
    # The interview first, then the link: the order an erasure takes them in.
    interview = await get_for_update(session, Interview, interview_id, "interview")
    link = (
        await session.execute(
            select(EmployerLink)
            .where(EmployerLink.token_hash == token_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    state = state_of(
        revoked_at=link.revoked_at,
        answered_at=link.answered_at,
        expires_at=link.expires_at,
        now=now,
    )
    if state != "open":
        raise Gone("This link has been answered, revoked or has expired.")
    await refuse_if_candidate_erased(session, interview.candidate_id)
    _refuse_if_closed(interview)
    actor = actor_of(link.id)
    unit_of_work(session).actor = actor
    if answer.answer == "still_deciding":
        await interviews.apply_patch(
            session,
            interview,
            InterviewPatch(decision_expected_by=answer.decision_expected_by),
            actor=actor,
            now=now,
        )
        link.deferred_at = now
    else:
        feedback, _ = await service.record_employer_feedback(
            session=session,
            interview_id=interview.id,
            data=EmployerFeedbackIn(
                outcome=answer.answer,
                next_stage=answer.next_stage,
                strengths=answer.strengths,
                improvements=answer.improvements,
                relay_allowed=answer.relay_allowed,
            ),
            actor=actor,
            now=now,
        )
        link.answered_at = now
        link.feedback_id = feedback.id
    link.answer = answer.answer
    await session.flush()
    return link
