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
from app.db.transaction import add_post_commit_hook
from app.db.unit_of_work import unit_of_work
from app.debriefs import employer_links
from app.debriefs import service as debriefs
from app.errors import Conflict, NotFound
from app.followups import rules
from app.followups import service as followups
from app.followups.policy import FollowUpPolicy
from app.ids import uuid7
from app.models import EmployerFeedback, Notification, Staff
from app.notifications import repository, tokens
from app.notifications.render import (
    PERSONAL_LINK,
    UNSUBSCRIBE_LINK,
    Rendered,
    TemplateName,
    day_name,
    first_name,
    follow_up_name,
    interviewed_on,
    names_of,
    render,
    samples,
    when,
)

CANDIDATE_KINDS = ("candidate_debrief_link", "candidate_nudge")
# Sent again as each attempt goes: the interview's own link, minted then.
LINK_KINDS = CANDIDATE_KINDS
# Emails to a candidate that carry one-click unsubscribe.
UNSUBSCRIBE_KINDS = (*CANDIDATE_KINDS, "candidate_feedback")
# The client contact's chase: their decision link, minted as it goes.
CLIENT_LINK_KINDS = ("client_chase",)
ANSWER_TEXTS = {
    "still_deciding": "still deciding",
    "next_round": "a next round",
    "offer": "an offer",
    "rejected": "not going ahead",
}
NUDGE_BATCH = 200
CHASE_BATCH = 200
# A chase flagged longer ago than this is not emailed any more (it was, or could not be).
CHASE_LOOKBACK = timedelta(days=14)
# Nor is a debrief call that went late longer ago than this nudged: it was, or a nudge weeks
# after the interview (the policy turned nudges on later, say) would only nag.
NUDGE_LOOKBACK = timedelta(days=14)


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
        targets.append(("chat", staff.chat_host or ""))
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

    def add_for_staff(
        self,
        staff: Staff,
        *,
        kind: TemplateName,
        rendered: Rendered,
        dedupe_key: str,
        about: Iterable[uuid.UUID],
        interview_id: uuid.UUID | None = None,
    ) -> None:
        """The message, now, on each channel the staff member wants (one dedupe key each)."""
        for channel, recipient in staff_targets(staff):
            self.add(
                kind=kind,
                channel=channel,
                recipient=recipient,
                recipient_name=staff.full_name,
                rendered=rendered,
                send_after=self.now,
                dedupe_key=f"{dedupe_key}:{channel}",
                about=about,
                staff_id=staff.id,
                interview_id=interview_id,
            )

    async def write(self, session: AsyncSession) -> list[uuid.UUID]:
        """Store the planned messages but those whose dedupe key is taken, and wake this
        process's sending loop when the transaction commits; the ids written."""
        written = await repository.add_notifications(session, self.rows, self.subjects)
        if written:
            send_after_commit(session)
        return written


def send_after_commit(session: AsyncSession) -> None:
    """This process's sending loop looks for messages due as soon as the transaction that
    wrote them commits, not at its next poll."""
    add_post_commit_hook(session, unit_of_work(session).notifications_committed.notify)


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
    received: list[dict[str, Any]] = []
    escalated: list[dict[str, Any]] = []
    for event in events:
        data = event["data"]
        if event["type"] == "follow_up.opened" and data["follow_up"]["kind"] == "debrief_call":
            opened.append(uuid.UUID(str(data["follow_up"]["interview_id"])))
        elif event["type"] == "debrief.received":
            received.append(data["debrief"])
        elif event["type"] == "follow_up.escalated":
            escalated.append(data)
    # A client's answer through their link: the transaction is audited as that link.
    actor = unit_of_work(session).actor
    answered = actor.removeprefix("client_link:") if actor.startswith("client_link:") else None
    if not (opened or received or escalated or answered):
        return 0
    now: datetime = events[0]["occurred_at"]
    plan = Plan(settings, now)
    # The policy is read where needed (once per transaction): a debrief's alerts need none.
    if opened:
        await _plan_link_emails(session, plan, opened, await followups.get_policy(session))
    for debrief in received:
        await _plan_alerts(session, plan, debrief)
    for data in escalated:
        await _plan_escalation(session, plan, data, await followups.get_policy(session))
    if answered:
        policy = await followups.get_policy(session)
        await _plan_client_answer(session, plan, uuid.UUID(answered), policy)
    return len(await plan.write(session))


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
    facts = await repository.interview_facts(session, uuid.UUID(str(debrief["interview_id"])))
    if facts is None or facts["erased_at"] is not None or facts["owner_id"] is None:
        return
    owner = await repository.staff_member(session, facts["owner_id"])
    if owner is None or not owner.active:
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
        plan.add_for_staff(
            owner,
            kind="staff_alert",
            rendered=render("staff_alert", context),
            dedupe_key=f"staff_alert:{reason}:{debrief['id']}:{owner.id}",
            about=[facts["candidate_id"]],
            interview_id=facts["interview_id"],
        )


async def _plan_escalation(
    session: AsyncSession, plan: Plan, data: dict[str, Any], policy: FollowUpPolicy
) -> None:
    follow_up = await repository.follow_up_facts(session, uuid.UUID(str(data["follow_up"]["id"])))
    if follow_up is None or follow_up["erased_at"] is not None:
        return
    owners = await repository.staff_members(
        session, [follow_up["owner_id"]] if follow_up["owner_id"] else []
    )
    owner = owners.get(follow_up["owner_id"]) if follow_up["owner_id"] else None
    for target in await escalation_recipients(session, data.get("escalated_to") or {}, policy):
        context = {
            "agency": plan.settings.agency_name,
            "what": follow_up_name(follow_up["kind"]),
            "candidate": follow_up["full_name"],
            "job_title": follow_up["job_title"],
            "client": follow_up["client"],
            "due": when(follow_up["due_at"], staff_zone(target, policy)),
            "reminders": follow_up["reminders_sent"],
            "owner": owner.full_name if owner is not None and owner.id != target.id else None,
            "board_url": f"{base_url(plan.settings)}/board",
        }
        plan.add_for_staff(
            target,
            kind="staff_escalation",
            rendered=render("staff_escalation", context),
            dedupe_key=f"staff_escalation:{follow_up['id']}:{target.id}",
            about=[follow_up["candidate_id"]],
            interview_id=follow_up["interview_id"],
        )


async def _plan_client_answer(
    session: AsyncSession, plan: Plan, link_id: uuid.UUID, policy: FollowUpPolicy
) -> None:
    """The owner hears at once what the client answered through their link."""
    facts = await repository.client_answer_facts(session, link_id)
    if facts is None or facts["answer"] is None or facts["erased_at"] is not None:
        return
    if facts["owner_id"] is None:
        return
    owner = (await repository.staff_members(session, [facts["owner_id"]])).get(facts["owner_id"])
    if owner is None or not owner.active:
        return
    answer_text = ANSWER_TEXTS[facts["answer"]]
    if facts["answer"] == "next_round" and facts["next_stage"]:
        answer_text = f"a next round ({facts['next_stage']})"
    decide_by = facts["decision_expected_by"] if facts["answer"] == "still_deciding" else None
    context = {
        "agency": plan.settings.agency_name,
        "contact": facts["contact_name"] or "Their contact",
        "client": facts["client"],
        "candidate": facts["full_name"],
        "job_title": facts["job_title"],
        "answer_text": answer_text,
        "decide_by": f"{decide_by:%A} {decide_by.day} {decide_by:%B}" if decide_by else None,
        "strengths": facts["strengths"],
        "improvements": facts["improvements"],
        "has_feedback": bool(facts["strengths"] or facts["improvements"]),
        "relay_allowed": bool(facts["relay_allowed"]),
        "interview_id": facts["interview_id"],
        "feedback_id": facts["feedback_id"],
        "board_url": f"{base_url(plan.settings)}/board",
    }
    rendered = render("staff_client_answer", context)
    for channel, recipient in staff_targets(owner):
        plan.add(
            kind="staff_client_answer",
            channel=channel,
            recipient=recipient,
            recipient_name=owner.full_name,
            rendered=rendered,
            send_after=plan.now,
            # One per answer: a "still deciding" and the later decision are two.
            dedupe_key=f"staff_client_answer:{link_id}:{facts['answer']}:{owner.id}:{channel}",
            about=[facts["candidate_id"]],
            staff_id=owner.id,
            interview_id=facts["interview_id"],
        )


def chase_at(
    now: datetime, earlier: list[datetime], policy: FollowUpPolicy, zone: str | None = None
) -> datetime:
    """When a client chase email goes: now, moved into the contact's working hours (the
    policy's business hours in the client's time zone, `zone`, else the policy's), and never
    on a working day that already had one."""
    calendar = rules.calendar_for(policy, zone)
    at = calendar.add(now, timedelta(0))
    if earlier and calendar.local_date(max(earlier)) >= calendar.local_date(at):
        at = calendar.next_working_day_opens(max(earlier))
    return at


async def plan_client_chases(session: AsyncSession, *, settings: Settings, now: datetime) -> int:
    """Employer chases that fell due (flagged overdue by the sweep) at clients that opted in
    (`auto_chase`): one polite email each to the contact with their decision link, at most
    the policy's number of chase emails per interview, never two in one working day."""
    policy = await followups.get_policy(session)
    due = await repository.employer_chases_awaiting_email(
        session, since=now - CHASE_LOOKBACK, most=policy.max_employer_follow_ups, limit=CHASE_BATCH
    )
    # One email each time a chase falls due: a chase re-dated by "still deciding" that falls
    # due again is flagged again, and may be emailed again (up to the policy's number).
    keys = {f"client_chase:{row['id']}:{row['overdue_at'].isoformat()}": row for row in due}
    taken = await repository.taken_dedupe_keys(session, keys)
    # Each interview's chase awaiting its email, by its dedupe key.
    by_interview = {row["interview_id"]: key for key, row in keys.items() if key not in taken}
    plan = Plan(settings, now)
    for row in await repository.chase_facts(session, by_interview):
        if not row["auto_chase"] or row["outcome"] != "pending":
            continue
        if row["erased_at"] is not None or row["candidate_status"] != "active":
            continue
        if row["interview_status"] in ("cancelled", "no_show"):
            continue
        name, email = employer_links.contact_of(
            row["point_of_contact"], row["contact_name"], row["contact_email"]
        )
        if not email:
            continue
        earlier = await repository.client_chases(session, row["interview_id"])
        if len(earlier) >= policy.max_employer_follow_ups:
            continue
        promised = row["decision_expected_by"]
        context = {
            "agency": plan.settings.agency_name,
            "contact_first_name": first_name(name),
            "candidate": row["full_name"],
            "job_title": row["job_title"],
            "promised": f"{promised:%A} {promised.day} {promised:%B}" if promised else None,
            "recruiter_name": row["owner_name"] or f"the team at {plan.settings.agency_name}",
            "link_url": f"{base_url(plan.settings)}/e/{PERSONAL_LINK}",
            "link_days": employer_links.DEFAULT_DAYS,
        }
        plan.add(
            kind="client_chase",
            channel="email",
            recipient=email,
            recipient_name=name,
            rendered=render("client_chase", context),
            send_after=chase_at(plan.now, earlier, policy, row["client_timezone"]),
            dedupe_key=by_interview[row["interview_id"]],
            about=[row["candidate_id"]],
            interview_id=row["interview_id"],
        )
    return len(await plan.write(session))


# ---------------------------------------------------------------------------- the sweep's


async def plan_nudges(session: AsyncSession, *, settings: Settings, now: datetime) -> int:
    """One nudge, with a fresh link, for each debrief call gone late after its link email."""
    policy = await followups.get_policy(session)
    if policy.candidate_nudges < 1:
        return 0
    late = await repository.late_calls_awaiting_nudge(
        session, since=now - NUDGE_LOOKBACK, limit=NUDGE_BATCH
    )
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
    return len(await plan.write(session))


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
        start, end = rules.local_day_bounds(day, zone)
        late, today = await repository.digest_items(session, staff.id, day_start=start, day_end=end)
        if not staff_targets(staff) or not (late or today):
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
                    "what": follow_up_name(r["kind"]).capitalize(),
                    "candidate": r["full_name"],
                    "job_title": r["job_title"],
                    "client": r["client"],
                }
                for r in today
            ],
        }
        plan.add_for_staff(
            staff,
            kind="staff_digest",
            rendered=render("staff_digest", context),
            dedupe_key=f"staff_digest:{staff.id}:{day.isoformat()}",
            about={r["candidate_id"] for r in (*late, *today)},
        )
    return len(await plan.write(session))


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


async def relay_feedback(
    *,
    session: AsyncSession,
    settings: Settings,
    interview_id: uuid.UUID,
    feedback_id: uuid.UUID,
    actor: str,
    now: datetime,
) -> tuple[EmployerFeedback, Notification]:
    """Staff confirm: the employer's feedback goes to the candidate by email, word for word,
    and is marked relayed (completing `employer_feedback`). Only when the employer allowed
    it; never on its own."""
    feedback, interview = await debriefs.relay_employer_feedback(
        session=session, interview_id=interview_id, feedback_id=feedback_id, actor=actor, now=now
    )
    (row,) = await repository.link_email_facts(session, [interview.id])
    if not row["email"]:
        raise Conflict("The candidate has no email address; tell them by phone instead.")
    if await is_suppressed(session, settings, row["email"]):
        raise Conflict("The candidate's address unsubscribed or bounced; tell them by phone.")
    policy = await followups.get_policy(session)
    context = {
        **_candidate_context(row, policy, settings),
        "strengths": feedback.strengths,
        "improvements": feedback.improvements,
    }
    plan = Plan(settings, now)
    plan.add(
        kind="candidate_feedback",
        channel="email",
        recipient=row["email"],
        recipient_name=row["full_name"],
        rendered=render("candidate_feedback", context),
        send_after=now,
        dedupe_key=f"candidate_feedback:{feedback.id}",
        candidate_id=row["candidate_id"],
        interview_id=row["interview_id"],
    )
    (written,) = await plan.write(session)
    return feedback, await get_notification(session, written)


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
    send_after_commit(session)
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
