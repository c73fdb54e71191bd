"""Who is told what, and when: messages planned into the outbox in the transaction that
causes them (an ended interview, a debrief, an escalation, the sweep's late calls and
morning digests), resending by hand, and one-click unsubscribe.

Candidate emails are planned for the policy's delay after the interview, in the candidate's
waking hours (`app.followups.rules`); the delivery worker checks again, as each goes, that
it still applies (`why_not_now`)."""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import Database
from app.errors import Conflict, NotFound
from app.followups import rules
from app.followups import service as followups
from app.followups.policy import FollowUpPolicy
from app.ids import uuid7
from app.models import Notification, Staff
from app.notifications import chat, repository, tokens
from app.notifications.render import (
    PERSONAL_LINK,
    UNSUBSCRIBE_LINK,
    Rendered,
    TemplateName,
    day_name,
    first_name,
    interviewed_on,
    names_of,
    render,
    samples,
    step_name,
    when,
)

CANDIDATE_KINDS = ("candidate_debrief_link", "candidate_nudge")
# Sent again as each attempt goes: the interview's own link, minted then.
LINK_KINDS = CANDIDATE_KINDS
NUDGE_BATCH = 200


# ---------------------------------------------------------------------------- people


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_of(own: str | None, policy: FollowUpPolicy) -> str:
    """A person's own time zone if it is one we know (a row stored before zones were
    checked may hold anything), else the agency's."""
    return own if own and own in _known_zones() else policy.timezone


def staff_zone(staff: Staff, policy: FollowUpPolicy) -> str:
    """The staff member's time zone: their own when they have one, else the agency's."""
    return zone_of(staff.timezone, policy)


async def escalation_recipients(
    session: AsyncSession, escalated_to: dict[str, Any], policy: FollowUpPolicy
) -> list[Staff]:
    """Whom an escalation goes to: the staff member the event names (the owner's manager, else
    the policy's escalation contact; never the owner), if active."""
    staff_id = escalated_to.get("staff_id") if isinstance(escalated_to, dict) else None
    if not staff_id:
        return []
    found = await repository.staff_members(session, [uuid.UUID(str(staff_id))])
    return [s for s in found.values() if s.active]


def staff_targets(staff: Staff) -> list[tuple[str, str]]:
    """(channel, recipient as shown) for each channel the staff member wants."""
    targets = []
    if staff.notify_via in ("email", "both"):
        targets.append(("email", staff.email))
    if staff.notify_via in ("chat", "both") and staff.chat_url:
        targets.append(("chat", chat.host_of(staff.chat_url)))
    return targets


def hours_text(hours: float) -> str:
    """3 -> "3 hours", 1 -> "an hour", 2.5 -> "2.5 hours"."""
    if hours == 1:
        return "an hour"
    return f"{hours:g} hours"


def base_url(settings: Settings) -> str:
    return str(settings.public_base_url).rstrip("/")


# ---------------------------------------------------------------------------- the outbox


def message_id_for(notification_id: uuid.UUID, settings: Settings) -> str:
    return f"<{notification_id}@{settings.mail_from.rsplit('@', 1)[1]}>"


class Plan:
    """Messages to write in one go, with the candidates each is about."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.settings = settings
        self.now = now
        self.rows: list[dict[str, Any]] = []
        self.subjects: dict[uuid.UUID, set[uuid.UUID]] = {}

    def add(
        self,
        *,
        kind: TemplateName,
        channel: str,
        recipient: str,
        recipient_name: str | None,
        rendered: Rendered,
        send_after: datetime,
        dedupe_key: str | None,
        about: Iterable[uuid.UUID] = (),
        candidate_id: uuid.UUID | None = None,
        staff_id: uuid.UUID | None = None,
        interview_id: uuid.UUID | None = None,
        status: str = "pending",
        status_reason: str | None = None,
    ) -> None:
        ident = uuid7()
        self.rows.append(
            {
                "id": ident,
                "kind": kind,
                "channel": channel,
                "recipient": recipient,
                "recipient_name": recipient_name,
                "candidate_id": candidate_id,
                "staff_id": staff_id,
                "interview_id": interview_id,
                "subject": rendered.subject,
                "body_text": rendered.text,
                "body_html": rendered.html if channel == "email" else None,
                "message_id": message_id_for(ident, self.settings),
                "status": status,
                "status_reason": status_reason,
                "send_after": send_after,
                "next_attempt_at": send_after if status == "pending" else None,
                "attempts": 0,
                "sent_at": None,
                "dedupe_key": dedupe_key,
                "resent_from": None,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        people = set(about) | ({candidate_id} if candidate_id else set())
        if people:
            self.subjects[ident] = people

    async def write(self, session: AsyncSession) -> int:
        return len(await repository.add_notifications(session, self.rows, self.subjects))


def install(db: Database, settings: Settings) -> None:
    """Plan the messages each transaction's events call for, in that transaction."""

    async def plan_for_events(session: AsyncSession, events: list[dict[str, Any]]) -> None:
        await plan_from_events(session, events, settings=settings)

    db.event_observers.append(plan_for_events)


async def plan_from_events(
    session: AsyncSession, events: list[dict[str, Any]], *, settings: Settings
) -> int:
    """Link emails for debrief calls just opened, alerts for cooling candidates, and
    escalations; written beside the events."""
    opened: list[uuid.UUID] = []
    debriefs: list[dict[str, Any]] = []
    escalated: list[dict[str, Any]] = []
    for event in events:
        data = event["data"]
        if event["type"] == "follow_up.opened" and data["follow_up"]["kind"] == "debrief_call":
            opened.append(uuid.UUID(str(data["follow_up"]["interview_id"])))
        elif event["type"] == "debrief.received":
            debriefs.append(data["debrief"])
        elif event["type"] == "follow_up.escalated":
            escalated.append(data)
    if not (opened or debriefs or escalated):
        return 0
    now: datetime = events[0]["occurred_at"]
    plan = Plan(settings, now)
    # Alerts need no policy: a transaction with only debriefs does not read it.
    policy = await followups.get_policy(session) if opened or escalated else None
    if opened:
        assert policy is not None
        await _plan_link_emails(session, plan, opened, policy)
    for debrief in debriefs:
        await _plan_alerts(session, plan, debrief)
    for data in escalated:
        assert policy is not None
        await _plan_escalation(session, plan, data, policy)
    return await plan.write(session)


def _candidate_context(row: Any, policy: FollowUpPolicy, settings: Settings) -> dict[str, Any]:
    return {
        "agency": settings.agency_name,
        "first_name": first_name(row["full_name"]),
        "client": row["client"],
        "job_title": row["job_title"],
        "recruiter_name": row["owner_name"] or f"the team at {settings.agency_name}",
        "link_url": f"{base_url(settings)}/f/{PERSONAL_LINK}",
        "link_days": policy.debrief_link_days,
        "unsubscribe_url": f"{base_url(settings)}/u/{UNSUBSCRIBE_LINK}",
    }


def _reachable(row: Any) -> bool:
    """A candidate we may still write to about this interview."""
    return bool(
        row["email"]
        and row["erased_at"] is None
        and row["candidate_status"] == "active"
        and row["interview_status"] not in ("cancelled", "no_show")
        and not row["debrief_in"]
    )


async def _suppressed_addresses(
    session: AsyncSession, settings: Settings, addresses: Iterable[str]
) -> set[str]:
    by_hash = {tokens.address_hash(settings, a): a for a in addresses}
    return {by_hash[h] for h in await repository.suppressed(session, by_hash)}


async def _plan_link_emails(
    session: AsyncSession, plan: Plan, interview_ids: list[uuid.UUID], policy: FollowUpPolicy
) -> None:
    rows = [r for r in await repository.link_email_facts(session, interview_ids) if _reachable(r)]
    blocked = await _suppressed_addresses(session, plan.settings, (r["email"] for r in rows))
    for row in rows:
        zone = zone_of(row["timezone"], policy)
        send_at = rules.link_email_at(row["ends_at"], policy, zone=zone, now=plan.now)
        if send_at is None or row["email"] in blocked:
            continue  # history, or an address that asked not to be mailed
        thank_you_by = row["ends_at"] + timedelta(hours=policy.thank_you_note_hours)
        context = {
            **_candidate_context(row, policy, plan.settings),
            "interviewed": interviewed_on(row["ends_at"], send_at, zone),
            "interviewers_text": names_of(row["interviewers"]),
            "thank_you_by": when(thank_you_by, zone),
            "ideal_hours": hours_text(policy.thank_you_note_ideal_hours),
        }
        plan.add(
            kind="candidate_debrief_link",
            channel="email",
            recipient=row["email"],
            recipient_name=row["full_name"],
            rendered=render("candidate_debrief_link", context),
            send_after=send_at,
            dedupe_key=f"candidate_debrief_link:{row['interview_id']}",
            candidate_id=row["candidate_id"],
            interview_id=row["interview_id"],
        )


async def _plan_alerts(session: AsyncSession, plan: Plan, debrief: dict[str, Any]) -> None:
    """The owner hears at once when a candidate cools: not interested, or a rating of 1-2."""
    reasons = []
    if debrief.get("still_interested") == "no":
        reasons.append("not_interested")
    if debrief.get("overall_rating") in (1, 2):
        reasons.append("low_rating")
    if not reasons:
        return
    found = await repository.interview_facts(session, uuid.UUID(str(debrief["interview_id"])))
    if found is None:
        return
    facts, owner = found
    if facts["erased_at"] is not None or owner is None or not owner.active:
        return
    for reason in reasons:
        context = {
            "agency": plan.settings.agency_name,
            "reason": reason,
            "candidate": facts["full_name"],
            "phone": facts["phone"],
            "job_title": facts["job_title"],
            "client": facts["client"],
            "rating": debrief.get("overall_rating"),
            "board_url": f"{base_url(plan.settings)}/board",
        }
        rendered = render("staff_alert", context)
        for channel, recipient in staff_targets(owner):
            plan.add(
                kind="staff_alert",
                channel=channel,
                recipient=recipient,
                recipient_name=owner.full_name,
                rendered=rendered,
                send_after=plan.now,
                dedupe_key=f"staff_alert:{reason}:{debrief['id']}:{owner.id}:{channel}",
                about=[facts["candidate_id"]],
                staff_id=owner.id,
                interview_id=facts["interview_id"],
            )


async def _plan_escalation(
    session: AsyncSession, plan: Plan, data: dict[str, Any], policy: FollowUpPolicy
) -> None:
    step = await repository.step_facts(session, uuid.UUID(str(data["follow_up"]["id"])))
    if step is None or step["erased_at"] is not None:
        return
    owners = await repository.staff_members(session, [step["owner_id"]] if step["owner_id"] else [])
    owner = owners.get(step["owner_id"]) if step["owner_id"] else None
    for target in await escalation_recipients(session, data.get("escalated_to") or {}, policy):
        context = {
            "agency": plan.settings.agency_name,
            "what": step_name(step["kind"]),
            "candidate": step["full_name"],
            "job_title": step["job_title"],
            "client": step["client"],
            "due": when(step["due_at"], staff_zone(target, policy)),
            "reminders": step["reminders_sent"],
            "owner": owner.full_name if owner is not None and owner.id != target.id else None,
            "board_url": f"{base_url(plan.settings)}/board",
        }
        rendered = render("staff_escalation", context)
        for channel, recipient in staff_targets(target):
            plan.add(
                kind="staff_escalation",
                channel=channel,
                recipient=recipient,
                recipient_name=target.full_name,
                rendered=rendered,
                send_after=plan.now,
                dedupe_key=f"staff_escalation:{step['id']}:{target.id}:{channel}",
                about=[step["candidate_id"]],
                staff_id=target.id,
                interview_id=step["interview_id"],
            )


# ---------------------------------------------------------------------------- the sweep's


async def plan_nudges(session: AsyncSession, *, settings: Settings, now: datetime) -> int:
    """One nudge, with a fresh link, for each debrief call gone late after its link email."""
    policy = await followups.get_policy(session)
    if policy.candidate_nudges < 1:
        return 0
    late = await repository.late_calls_awaiting_nudge(session, limit=NUDGE_BATCH)
    if not late:
        return 0
    facts = {
        r["interview_id"]: r
        for r in await repository.link_email_facts(session, [r["interview_id"] for r in late])
    }
    blocked = await _suppressed_addresses(
        session, settings, (f["email"] for f in facts.values() if f["email"])
    )
    plan = Plan(settings, now)
    seen = set()
    for call in late:
        if call["interview_id"] in seen:
            continue  # its link email was resent: one nudge all the same
        seen.add(call["interview_id"])
        row = facts[call["interview_id"]]
        zone = zone_of(row["timezone"], policy)
        first = call["first_sent_at"] or call["first_planned_at"]
        send_at = max(rules.nudge_at(first, call["overdue_at"], policy, zone=zone), now)
        status, reason = "pending", None
        if not _reachable(row):
            status, reason = (
                "cancelled",
                "no longer applies (debrief in, interview off, or candidate not active)",
            )
        elif row["email"] in blocked:
            status, reason = "suppressed", "the address asked not to be mailed, or bounced"
        plan.add(
            kind="candidate_nudge",
            channel="email",
            recipient=row["email"] or "",
            recipient_name=row["full_name"] or None,
            rendered=render("candidate_nudge", _candidate_context(row, policy, settings)),
            send_after=send_at,
            dedupe_key=f"candidate_nudge:{row['interview_id']}",
            candidate_id=row["candidate_id"],
            interview_id=row["interview_id"],
            status=status,
            status_reason=reason,
        )
    return await plan.write(session)


async def plan_digests(session: AsyncSession, *, settings: Settings, now: datetime) -> int:
    """Each staff member's morning digest, on working days, when it has something in it."""
    policy = await followups.get_policy(session)
    plan = Plan(settings, now)
    for staff, last_day in await repository.digest_candidates(session):
        zone = staff_zone(staff, policy)
        day = rules.digest_day(now, policy, zone=zone, last_day=last_day)
        if day is None:
            continue
        await repository.mark_digest_day(session, staff.id, day)
        targets = staff_targets(staff)
        start, end = rules.local_day_bounds(day, zone)
        late, today = await repository.digest_items(session, staff.id, day_start=start, day_end=end)
        if not targets or not (late or today):
            continue
        context = {
            "agency": settings.agency_name,
            "first_name": first_name(staff.full_name),
            "day": day_name(now, zone),
            "board_url": f"{base_url(settings)}/board",
            "overdue_calls": [
                {
                    "candidate": r["full_name"],
                    "phone": r["phone"],
                    "job_title": r["job_title"],
                    "client": r["client"],
                    "due": when(r["due_at"], zone),
                }
                for r in late
            ],
            "due_today": [
                {
                    "when": when(r["due_at"], zone).rsplit(", ", 1)[1],
                    "what": step_name(r["kind"]).capitalize(),
                    "candidate": r["full_name"],
                    "job_title": r["job_title"],
                    "client": r["client"],
                }
                for r in today
            ],
        }
        rendered = render("staff_digest", context)
        for channel, recipient in targets:
            plan.add(
                kind="staff_digest",
                channel=channel,
                recipient=recipient,
                recipient_name=staff.full_name,
                rendered=rendered,
                send_after=now,
                dedupe_key=f"staff_digest:{staff.id}:{day.isoformat()}:{channel}",
                about={r["candidate_id"] for r in (*late, *today)},
                staff_id=staff.id,
            )
    return await plan.write(session)


# ---------------------------------------------------------------------------- as it goes


def why_not_now(notification: Notification, state: Any) -> str | None:
    """Why a candidate message must not go now (None if it may): the debrief is in, the
    interview was called off, the candidate is no longer active or was erased. `state` is
    its row from `repository.candidate_states`."""
    if notification.kind not in CANDIDATE_KINDS or notification.candidate_id is None:
        return None
    if state is None or state["erased_at"] is not None or not state["email"]:
        return "the candidate was erased or has no email address"
    if state["interview_status"] in ("cancelled", "no_show"):
        return f"the interview is {state['interview_status'].replace('_', ' ')}"
    if state["status"] != "active":
        return f"the candidate is {state['status']}"
    if notification.resent_from is None:  # a resend is a person's decision: it goes
        if state["debrief_in"]:
            return "the debrief is already in"
        if notification.kind == "candidate_nudge" and state["call_status"] != "overdue":
            return "the debrief call is no longer late"
    return None


async def reasons_not_to_send(
    session: AsyncSession, due: list[Notification]
) -> dict[uuid.UUID, str]:
    """For the messages about to go, those that no longer apply, with why."""
    candidate_messages = [n for n in due if n.kind in CANDIDATE_KINDS and n.candidate_id]
    states = await repository.candidate_states(session, [n.id for n in candidate_messages])
    reasons = {}
    for notification in candidate_messages:
        reason = why_not_now(notification, states.get(notification.id))
        if reason is not None:
            reasons[notification.id] = reason
    return reasons


async def suppressed_among(
    session: AsyncSession, settings: Settings, addresses: Iterable[str]
) -> set[str]:
    """Those of these addresses that are never to be mailed."""
    return await _suppressed_addresses(session, settings, addresses)


async def is_suppressed(session: AsyncSession, settings: Settings, address: str) -> bool:
    return bool(await repository.suppressed(session, [tokens.address_hash(settings, address)]))


async def suppress_address(
    session: AsyncSession, settings: Settings, address: str, *, reason: str, now: datetime
) -> None:
    """Never mail this address again; what is still waiting for it is held back."""
    await repository.suppress(session, tokens.address_hash(settings, address), reason, now)
    await repository.hold_pending_to(
        session,
        address,
        "the address unsubscribed" if reason == "unsubscribed" else "the address bounced",
        now,
    )


# ---------------------------------------------------------------------------- by hand


async def get_notification(session: AsyncSession, notification_id: uuid.UUID) -> Notification:
    notification = await repository.get(session, notification_id)
    if notification is None:
        raise NotFound(f"There is no notification with id {notification_id}.")
    return notification


async def resend(
    *, session: AsyncSession, notification_id: uuid.UUID, settings: Settings, now: datetime
) -> Notification:
    """The same message again, now, as a new one (its own Message-ID); a candidate's link in
    it is a fresh one. Never to an address that unsubscribed or bounced."""
    original = await get_notification(session, notification_id)
    if original.status == "pending":
        raise Conflict("This message is still waiting to be sent; it will be tried again.")
    if original.channel == "email" and await is_suppressed(session, settings, original.recipient):
        raise Conflict("This address unsubscribed or bounced; it is never mailed again.")
    if original.channel == "chat" and original.staff_id is not None:
        url, _ = await repository.chat_url_of(session, original.staff_id)
        if not url:
            raise Conflict("The staff member has no chat URL any more.")
    ident = uuid7()
    again = Notification(
        id=ident,
        kind=original.kind,
        channel=original.channel,
        recipient=original.recipient,
        recipient_name=original.recipient_name,
        candidate_id=original.candidate_id,
        staff_id=original.staff_id,
        interview_id=original.interview_id,
        subject=original.subject,
        body_text=original.body_text,
        body_html=original.body_html,
        message_id=message_id_for(ident, settings),
        status="pending",
        send_after=now,
        next_attempt_at=now,
        attempts=0,
        resent_from=original.id,
        created_at=now,
        updated_at=now,
    )
    session.add(again)
    await session.flush()
    subjects = await repository.subjects_of(session, original.id)
    await repository.add_subjects(session, again.id, subjects)
    return again


async def unsubscribe(
    *, session: AsyncSession, settings: Settings, token: str, now: datetime
) -> None:
    """One-click unsubscribe: the address the message went to is never mailed again."""
    notification_id = tokens.notification_of(settings, token)
    if notification_id is None:
        raise NotFound("This unsubscribe link is not one of ours.")
    notification = await repository.get(session, notification_id)
    if notification is None:
        return  # the person was erased: nothing is held, nothing will be sent
    if notification.channel != "email":
        raise NotFound("This unsubscribe link is not one of ours.")
    await suppress_address(
        session, settings, notification.recipient, reason="unsubscribed", now=now
    )


def preview(name: TemplateName, settings: Settings) -> Rendered:
    """A template rendered with made-up data."""
    return render(name, samples(settings.agency_name, base_url(settings))[name])
