"""What the reports answer. Counts, shares and times only: no candidate is ever named."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import ConfigDict, Field

from app.schemas.base import OutputModel


class ReportModel(OutputModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


Share = float | None


class Period(ReportModel):
    start: datetime = Field(description="Included.")
    end: datetime = Field(description="Excluded.")


class Recruiter(ReportModel):
    id: uuid.UUID
    full_name: str


class ClientRef(ReportModel):
    id: uuid.UUID
    name: str


# ------------------------------------------------------------------ debrief timeliness


class Timeliness(ReportModel):
    interviews_held: int = Field(
        description="Interviews that started in the period and have ended (not cancelled, "
        "not a no-show)."
    )
    debriefs_received: int
    debriefs_on_time: int = Field(
        description="Called in (the debrief's `called_at`) by the `debrief_call` follow-up's due "
        "time (or before the follow-up opened)."
    )
    debriefs_late: int
    received_share: Share = Field(description="debriefs_received / interviews_held.")
    on_time_share: Share = Field(description="debriefs_on_time / debriefs_received.")
    median_seconds_to_debrief: float | None = Field(
        description="From the interview's end to the call (`called_at`), over the debriefs "
        "received."
    )
    p90_seconds_to_debrief: float | None
    debrief_calls_overdue: int = Field(
        description=(
            "`debrief_call` follow-ups of these interviews flagged overdue (done since or not)."
        )
    )
    debrief_calls_still_overdue: int = Field(description="Of those, still overdue now.")
    debrief_calls_escalated: int = Field(
        description="`debrief_call` follow-ups escalated to the candidate's owner."
    )


class RecruiterTimeliness(Timeliness):
    recruiter: Recruiter | None = Field(description="The candidates' owner; null: no owner.")


class TimelinessReport(ReportModel):
    period: Period
    overall: Timeliness
    recruiters: list[RecruiterTimeliness] = Field(description="Most interviews first.")


# ------------------------------------------------------------------ employer decisions


class Outcomes(ReportModel):
    pending: int
    next_round: int
    offer: int
    rejected: int
    withdrawn: int


class Decisions(ReportModel):
    interviews: int = Field(description="Interviews held in the period.")
    outcomes: Outcomes
    decided: int = Field(
        description="Employer decisions recorded: next_round, offer or rejected "
        "(withdrawn is the candidate's decision and is not timed)."
    )
    median_days_to_decision: float | None = Field(
        description="From the interview's end to the decision being recorded."
    )
    p90_days_to_decision: float | None
    decided_with_promised_date: int = Field(
        description="Decisions on interviews with a `decision_expected_by`."
    )
    decided_by_promised_date: int = Field(
        description="Recorded on or before that date (UTC dates compared)."
    )
    decided_by_promised_date_share: Share
    median_days_late: float | None = Field(
        description="Days after the promised date, over the decisions that came after it."
    )
    awaiting_past_promised_date: int = Field(
        description="No decision yet, and the promised date has passed."
    )
    decided_via_link: int = Field(
        description="Decisions the client's contact gave through their decision link."
    )
    median_hours_link_to_answer: float | None = Field(
        description="Over those: hours from the link being made (or emailed, for a chase) "
        "to the answer."
    )


class ClientDecisions(Decisions):
    client: ClientRef


class EmployerDecisionsReport(ReportModel):
    period: Period
    overall: Decisions
    clients: list[ClientDecisions] = Field(description="Most interviews first, up to `limit`.")
    clients_total: int = Field(description="Clients with interviews in the period.")


# ------------------------------------------------------------------ interview questions


class InterviewQuestion(ReportModel):
    question: str = Field(description="The wording candidates used most often.")
    candidates: int = Field(description="Distinct candidates who reported it.")
    mentions: int = Field(description="Times it was reported (one per debrief listing it).")
    wordings: int = Field(description="Distinct wordings counted together as this question.")
    last_reported_at: datetime = Field(description="When the latest debrief reporting it came.")


class InterviewQuestions(ReportModel):
    client: ClientRef
    job_title: str | None
    period: Period | None = Field(description="Null: every debrief on record.")
    items: list[InterviewQuestion] = Field(description="Most candidates first.")


# ------------------------------------------------------------------ pipeline


class StagePipeline(ReportModel):
    interviews: int = Field(description="Scheduled or held (not cancelled, not a no-show).")
    cancelled: int
    no_show: int
    outcomes: Outcomes = Field(description="Of the interviews counted in `interviews`.")


class Stages(ReportModel):
    screening: StagePipeline
    first: StagePipeline
    second: StagePipeline
    final: StagePipeline
    assessment: StagePipeline
    other: StagePipeline


class PipelineCounts(StagePipeline):
    stages: Stages


class PipelineBucket(PipelineCounts):
    start: date = Field(description="First day (UTC) of the week (a Monday) or month.")


class ThankYouGroup(ReportModel):
    interviews: int
    decided: int = Field(description="With an outcome other than pending.")
    offers: int
    offer_rate: Share = Field(description="offers / decided.")
    advanced: int = Field(description="Outcome next_round or offer.")
    advanced_rate: Share = Field(description="advanced / decided.")


class ThankYouReport(ReportModel):
    interviews_held: int
    ideal_hours: float = Field(
        description="The ideal the shares are measured by: the policy's "
        "`thank_you_note_ideal_hours` now."
    )
    deadline_hours: float = Field(
        description="The deadline the shares are measured by: the policy's "
        "`thank_you_note_hours` now."
    )
    sent_within_ideal_share: Share = Field(
        description="Share of held interviews whose thank-you note went out within "
        "`ideal_hours` of the end."
    )
    sent_within_deadline_share: Share = Field(
        description="Share of held interviews whose thank-you note went out within "
        "`deadline_hours` of the end (those within the ideal included)."
    )
    sent_within_ideal: ThankYouGroup
    sent_within_deadline: ThankYouGroup = Field(description="Those within the ideal included.")
    not_within_deadline: ThankYouGroup = Field(description="Sent later, or not recorded.")


class PipelineReport(ReportModel):
    period: Period
    bucket: str
    totals: PipelineCounts
    buckets: list[PipelineBucket] = Field(
        description="Every week or month of the period, in order."
    )
    thank_you: ThankYouReport
