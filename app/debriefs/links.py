"""The candidate's personal debrief link: one interview, one purpose, expiring, used once.

Opening the link does not use it (mail scanners fetch links before people do); submitting
the form does. Only an HMAC of the token is stored, and the token is never an API key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import link_token_hash, new_link_token
from app.candidates.erased import refuse_if_candidate_erased
from app.config import Settings
from app.db.engine import Database
from app.db.queries import get_for_update, read_one
from app.db.unit_of_work import unit_of_work
from app.debriefs import service as debriefs
from app.debriefs.schemas import DebriefIn, DebriefOut
from app.errors import Conflict, Gone, NotFound
from app.followups import rules
from app.followups import service as followups
from app.followups.policy import FollowUpPolicy
from app.models import Candidate, Client, DebriefLink, Interview
from app.schemas.fields import local_zone

State = Literal["open", "used", "expired"]


@dataclass(frozen=True)
class LinkView:
    """What the form shows: whose interview, with whom, and whether the link still works."""

    link_id: uuid.UUID
    token_hash: str
    interview_id: uuid.UUID
    state: State
    expires_at: datetime
    candidate_first_name: str
    job_title: str
    client_name: str
    stage: str
    ends_at: datetime
    interviewers: list[str]
    asks_salary: bool
    starts_at: datetime
    # The candidate's IANA time zone, if known: the form shows times in it.
    candidate_timezone: str | None


def link_url(settings: Settings, token: str) -> str:
    return f"{str(settings.public_base_url).rstrip('/')}/f/{token}"


def state_of(used_at: datetime | None, expires_at: datetime, now: datetime) -> State:
    if used_at is not None:
        return "used"
    return "expired" if expires_at <= now else "open"


async def create_link(
    *, session: AsyncSession, interview_id: uuid.UUID, settings: Settings, actor: str, now: datetime
) -> tuple[DebriefLink, str]:
    """A new link for this interview's debrief, closing older ones; returns it with its URL."""
    interview = await get_for_update(session, Interview, interview_id, "interview")
    await refuse_if_candidate_erased(session, interview.candidate_id)
    if interview.status in ("cancelled", "no_show"):
        raise Conflict(
            f"This interview is {interview.status.replace('_', ' ')}; there is nothing to debrief."
        )
    await _close_open_links(session, [interview.id], now)
    policy = await followups.get_policy(session)
    link, url = _new_link(session, interview.id, settings, policy, actor=actor, now=now)
    await session.flush()
    return link, url


async def _close_open_links(
    session: AsyncSession, interview_ids: list[uuid.UUID], now: datetime
) -> None:
    """Only the newest link works: an older one (sent by mistake, to an old address, or
    forwarded) closes, as an expired link does."""
    await session.execute(
        update(DebriefLink)
        .where(
            DebriefLink.interview_id.in_(interview_ids),
            DebriefLink.used_at.is_(None),
            DebriefLink.expires_at > now,
        )
        .values(expires_at=now),
        execution_options={"synchronize_session": False},  # no link is loaded in the session
    )


def _new_link(
    session: AsyncSession,
    interview_id: uuid.UUID,
    settings: Settings,
    policy: FollowUpPolicy,
    *,
    actor: str,
    now: datetime,
) -> tuple[DebriefLink, str]:
    """A new link row (its token stored only as a keyed hash), and its URL."""
    token = new_link_token()
    link = DebriefLink(
        interview_id=interview_id,
        token_hash=link_token_hash(settings, token),
        purpose="debrief",
        created_at=now,
        created_by=actor,
        expires_at=now + timedelta(days=policy.debrief_link_days),
        used_at=None,
    )
    session.add(link)
    return link, link_url(settings, token)


async def view(db: Database, settings: Settings, token: str, *, now: datetime) -> LinkView:
    """The link's interview, for the form; NotFound if no such link exists."""
    token_hash = link_token_hash(settings, token)
    row = await read_one(
        db,
        select(
            DebriefLink.id,
            DebriefLink.interview_id,
            DebriefLink.used_at,
            DebriefLink.expires_at,
            Candidate.full_name,
            Candidate.erased_at,
            Candidate.timezone,
            Interview.starts_at,
            Interview.job_title,
            Interview.stage,
            Interview.ends_at,
            Interview.interviewers,
            Interview.outcome,
            Interview.next_stage,
            Client.name.label("client_name"),
        )
        .join(Interview, Interview.id == DebriefLink.interview_id)
        .join(Candidate, Candidate.id == Interview.candidate_id)
        .join(Client, Client.id == Interview.client_id)
        .where(DebriefLink.token_hash == token_hash, DebriefLink.purpose == "debrief"),
    )
    if row is None:
        raise NotFound("This link is not one of ours.")
    return LinkView(
        link_id=row["id"],
        token_hash=token_hash,
        interview_id=row["interview_id"],
        # An erased person's links closed with the erasure, whatever their date says.
        state="expired"
        if row["erased_at"] is not None
        else state_of(row["used_at"], row["expires_at"], now),
        expires_at=row["expires_at"],
        candidate_first_name=(row["full_name"] or "").split(" ")[0],
        job_title=row["job_title"],
        client_name=row["client_name"],
        stage=row["stage"],
        ends_at=row["ends_at"],
        interviewers=[p.get("name", "") for p in row["interviewers"] or [] if p.get("name")],
        asks_salary=row["stage"] in ("second", "final") or row["next_stage"] == "final",
        starts_at=row["starts_at"],
        candidate_timezone=row["timezone"],
    )


async def submit(
    *, session: AsyncSession, settings: Settings, token: str, data: DebriefIn, now: datetime
) -> tuple[DebriefOut, Interview]:
    """Record the candidate's debrief as the API would, and use the link up. A debrief
    already recorded keeps its answers: the form only fills in what it left empty."""
    token_hash = link_token_hash(settings, token)
    interview_id = (
        await session.execute(
            select(DebriefLink.interview_id).where(DebriefLink.token_hash == token_hash)
        )
    ).scalar_one_or_none()
    if interview_id is None:
        raise NotFound("This link is not one of ours.")
    # The interview first, then the link: the order an erasure takes them in.
    await get_for_update(session, Interview, interview_id, "interview")
    link = (
        await session.execute(
            select(DebriefLink)
            .where(DebriefLink.token_hash == token_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if state_of(link.used_at, link.expires_at, now) != "open":
        raise Gone("This link has already been used or has expired.")
    unit_of_work(session).actor = f"candidate_link:{link.id}"
    debrief, _, _ = await debriefs.record_debrief(
        session=session,
        interview_id=link.interview_id,
        data=data,
        via="candidate_link",
        actor=f"candidate_link:{link.id}",
        now=now,
        fill_only_empty=True,  # what staff already recorded stands
    )
    link.used_at = now
    interview = await get_for_update(session, Interview, link.interview_id, "interview")
    await session.flush()
    return debrief, interview


def _when(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%A} {local.day} {local:%B}, {local:%H:%M} {local:%Z}"


async def next_steps(
    session: AsyncSession,
    interview: Interview,
    debrief: DebriefOut,
    client_name: str,
    *,
    now: datetime,
) -> list[str]:
    """What happens next, in plain words, from the agency's policy and the open follow-ups; times
    in the candidate's time zone when known, else the agency's."""
    policy = await followups.get_policy(session)
    candidate_zone = (
        await session.execute(
            select(Candidate.timezone).where(Candidate.id == interview.candidate_id)
        )
    ).scalar_one_or_none()
    tz = local_zone(candidate_zone, policy.timezone)
    follow_ups = {s.kind: s for s in await followups.follow_ups_still_open(session, interview.id)}
    facts = await followups.facts_for(session, interview)
    lines = []
    if interview.outcome == "pending":
        chase = follow_ups.get("employer_follow_up")
        due = chase.due_at if chase else rules.due_at("employer_follow_up", facts, policy)
        promised = (
            f" (they said they would decide by {interview.decision_expected_by:%A} "
            f"{interview.decision_expected_by.day} {interview.decision_expected_by:%B})"
            if interview.decision_expected_by
            else ""
        )
        lines.append(
            f"We will ask {client_name} for their decision around {_when(due, tz)}{promised}. "
            "You don't need to chase them yourself."
        )
    if debrief.thank_you_sent_at is None:
        note = follow_ups.get("thank_you_note")
        due = note.due_at if note else rules.due_at("thank_you_note", facts, policy)
        people = (
            ", ".join(p["name"] for p in interview.interviewers if p.get("name"))
            or "your interviewers"
        )
        lines.append(
            f"Send a short thank-you email to {people} by {_when(due, tz)}, ideally within a few "
            "hours: thank them for their time and say again why you want the role."
        )
    else:
        lines.append("Thank you for sending a thank-you note: interviewers do notice.")
    if debrief.other_applications_active:
        lines.append(
            "Keep your other applications going, and tell us if another offer comes in so we "
            "can help you compare."
        )
    else:
        lines.append(
            "Keep applying elsewhere until you have an offer in writing: decisions often take "
            "longer than planned."
        )
    if debrief.still_interested == "no":
        lines.append(
            "You said you are no longer interested: your recruiter will call you before "
            f"telling {client_name}."
        )
    elif debrief.still_interested == "unsure":
        lines.append(
            "You said you are not sure: your recruiter will call you to talk it through before "
            f"telling {client_name} anything."
        )
    return lines


async def create_links_for_sending(
    *,
    session: AsyncSession,
    interview_ids: list[uuid.UUID],
    settings: Settings,
    actor: str,
    now: datetime,
) -> dict[uuid.UUID, str]:
    """A new link for each of these interviews, as `create_link` makes one (older links
    close), for emails about to be sent; an interview called off or whose candidate was
    erased gets none. Returns each URL by interview."""
    if not interview_ids:
        return {}
    # Locked in id order, the order every batch takes them in.
    rows = await session.execute(
        select(Interview.id, Interview.status, Candidate.erased_at)
        .join(Candidate, Candidate.id == Interview.candidate_id)
        .where(Interview.id.in_(interview_ids))
        .order_by(Interview.id)
        .with_for_update(of=Interview)
    )
    open_ids = [
        iid
        for iid, status, erased_at in rows.all()
        if erased_at is None and status not in ("cancelled", "no_show")
    ]
    if not open_ids:
        return {}
    await _close_open_links(session, open_ids, now)
    policy = await followups.get_policy(session)
    urls = {
        interview_id: _new_link(session, interview_id, settings, policy, actor=actor, now=now)[1]
        for interview_id in open_ids
    }
    await session.flush()
    return urls
