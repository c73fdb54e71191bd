"""Messages from Jinja2 templates: a subject, a plain-text part and an HTML part each
(`app/notifications/templates/<name>.subject|.txt|.html`); chat sends the plain text.

A candidate's personal link and unsubscribe link are not written into the stored message:
it holds placeholders, replaced with fresh links as each attempt is sent (`with_links`), so
the outbox never holds a working token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TemplateName = Literal[
    "candidate_debrief_link",
    "candidate_nudge",
    "candidate_feedback",
    "staff_digest",
    "staff_alert",
    "staff_escalation",
    "staff_client_answer",
    "client_chase",
]
TEMPLATES: tuple[TemplateName, ...] = (
    "candidate_debrief_link",
    "candidate_nudge",
    "candidate_feedback",
    "staff_digest",
    "staff_alert",
    "staff_escalation",
    "staff_client_answer",
    "client_chase",
)
# Where the personal links go in a stored message; see the module's docstring.
PERSONAL_LINK = "{personal-link}"
UNSUBSCRIBE_LINK = "{unsubscribe-link}"

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=False,
    keep_trailing_newline=False,
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(name: TemplateName, context: dict[str, Any]) -> Rendered:
    """The message `name` with `context` (every name the templates use must be given)."""
    subject = _env.get_template(f"{name}.subject").render(context)
    return Rendered(
        subject=" ".join(subject.split())[:500],
        text=_env.get_template(f"{name}.txt").render(context).strip() + "\n",
        html=_env.get_template(f"{name}.html").render({**context, "subject": subject}),
    )


def with_links(body: str, *, personal: str | None, unsubscribe: str | None) -> str:
    """A stored body with its placeholders replaced by this attempt's links."""
    if personal is not None:
        body = body.replace(PERSONAL_LINK, personal)
    if unsubscribe is not None:
        body = body.replace(UNSUBSCRIBE_LINK, unsubscribe)
    return body


def when(moment: datetime, zone: str) -> str:
    """A time as people read it, in their zone: "Thursday 5 March, 11:00"."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%A} {local.day} {local:%B}, {local:%H:%M}"


def day_name(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%A} {local.day} {local:%B}"


def interviewed_on(ends_at: datetime, sent_at: datetime, zone: str) -> str:
    """ "today", "yesterday" or "on Monday", from where the candidate reads it."""
    tz = ZoneInfo(zone)
    days = (sent_at.astimezone(tz).date() - ends_at.astimezone(tz).date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"on {ends_at.astimezone(tz):%A}"


def names_of(interviewers: list[dict[str, Any]] | None) -> str:
    names = [str(p["name"]) for p in interviewers or [] if isinstance(p, dict) and p.get("name")]
    if not names:
        return "your interviewers"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def first_name(full_name: str | None) -> str:
    return (full_name or "").split(" ")[0] or "there"


FOLLOW_UP_NAMES = {
    "debrief_call": "the debrief call",
    "thank_you_note": "the thank-you note",
    "employer_follow_up": "chasing the employer",
    "employer_feedback": "relaying the employer's feedback",
    "final_round_prep": "final-round preparation",
    "candidate_call": "calling the candidate",
}


def follow_up_name(kind: str) -> str:
    return FOLLOW_UP_NAMES.get(kind, kind.replace("_", " "))


def samples(agency: str, base_url: str) -> dict[TemplateName, dict[str, Any]]:
    """Made-up contexts for each template, for `GET /v1/notifications/templates/{name}/preview`."""
    board = f"{base_url}/board"
    candidate = {
        "agency": agency,
        "first_name": "Amira",
        "client": "Harlow & Finch",
        "job_title": "Senior Accountant",
        "recruiter_name": "Rosa Patel",
        "link_url": f"{base_url}/f/{PERSONAL_LINK}",
        "link_days": 7,
        "unsubscribe_url": f"{base_url}/u/{UNSUBSCRIBE_LINK}",
    }
    return {
        "candidate_debrief_link": {
            **candidate,
            "interviewed": "today",
            "interviewers_text": "Dana Whitfield and Tom Okoro",
            "thank_you_by": "Thursday 5 March, 11:00",
            "ideal_hours": "3 hours",
        },
        "candidate_nudge": candidate,
        "candidate_feedback": {
            **candidate,
            "strengths": "A clear, structured answer on consolidating a new subsidiary.",
            "improvements": "More depth on audit planning would have helped.",
        },
        "staff_client_answer": {
            "agency": agency,
            "contact": "Dana Whitfield",
            "client": "Harlow & Finch",
            "candidate": "Amira Okafor",
            "job_title": "Senior Accountant",
            "answer_text": "not going ahead",
            "decide_by": None,
            "strengths": "A clear, structured answer on consolidating a new subsidiary.",
            "improvements": "More depth on audit planning would have helped.",
            "has_feedback": True,
            "relay_allowed": True,
            "interview_id": "0190f1de-0000-7000-8000-000000000000",
            "feedback_id": "0190f1de-0000-7000-8000-000000000001",
            "board_url": board,
        },
        "client_chase": {
            "agency": agency,
            "contact_first_name": "Dana",
            "candidate": "Amira Okafor",
            "job_title": "Senior Accountant",
            "promised": "Friday 20 March",
            "recruiter_name": "Rosa Patel",
            "link_url": f"{base_url}/e/{PERSONAL_LINK}",
            "link_days": 14,
        },
        "staff_digest": {
            "agency": agency,
            "first_name": "Rosa",
            "day": "Wednesday 4 March",
            "board_url": board,
            "overdue_calls": [
                {
                    "candidate": "Amira Okafor",
                    "phone": "+447812345678",
                    "job_title": "Senior Accountant",
                    "client": "Harlow & Finch",
                    "due": "Tuesday 3 March, 17:30",
                }
            ],
            "due_today": [
                {
                    "when": "11:00",
                    "what": "The thank-you note",
                    "candidate": "Jon Bell",
                    "job_title": "Payroll Lead",
                    "client": "Quarry Bank Foods",
                },
                {
                    "when": "15:30",
                    "what": "Chasing the employer",
                    "candidate": "Li Wei",
                    "job_title": "Financial Controller",
                    "client": "Northgate Health",
                },
            ],
        },
        "staff_alert": {
            "agency": agency,
            "reason": "not_interested",
            "candidate": "Amira Okafor",
            "phone": "+447812345678",
            "job_title": "Senior Accountant",
            "client": "Harlow & Finch",
            "rating": None,
            "board_url": board,
        },
        "staff_escalation": {
            "agency": agency,
            "what": "the debrief call",
            "candidate": "Amira Okafor",
            "job_title": "Senior Accountant",
            "client": "Harlow & Finch",
            "due": "Tuesday 3 March, 17:30",
            "reminders": 3,
            "owner": "Rosa Patel",
            "board_url": board,
        },
    }
