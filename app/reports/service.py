"""The reports: each is one or two SQL statements of aggregates over the interviews in a
period (plus, for the questions, a bounded merging of already-aggregated groups; see
`questions.py`).

Every report reads through the autocommit read engine. Rows are never brought to Python:
what comes back is one row per recruiter, client, question group, or week and stage, and
Python only shapes those into the answer (adding the pipeline's week-and-stage counts up
into week and period totals).
Erased candidates stay in every count (their interviews, debriefs and follow-ups remain, emptied
of anything personal); no report names or identifies a candidate.

"Held" means: started in the period, not cancelled or a no-show, and over by now.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import RowMapping

from app.db.engine import Database
from app.db.queries import read_one
from app.errors import NotFound
from app.followups import rules
from app.followups import service as followups
from app.models import Candidate, Client, Debrief, EmployerLink, FollowUp, Interview, Staff
from app.reports import questions as clustering
from app.reports.params import DateRange
from app.reports.schemas import (
    ClientDecisions,
    ClientRef,
    Decisions,
    EmployerDecisionsReport,
    InterviewQuestion,
    InterviewQuestions,
    Outcomes,
    Period,
    PipelineBucket,
    PipelineCounts,
    PipelineReport,
    Recruiter,
    RecruiterTimeliness,
    StagePipeline,
    Stages,
    ThankYouGroup,
    ThankYouReport,
    Timeliness,
    TimelinessReport,
)
from app.reports.sql import (
    MEDIAN,
    P90,
    Quantile,
    Total,
    bucket_start,
    count_where,
    days_between_dates,
    per_group_and_overall,
    seconds_between,
    utc_date,
    with_normalised_key,
)
from app.schemas.fields import Outcome, Stage

_interviews: Table = Interview.__table__  # type: ignore[assignment]
_candidates: Table = Candidate.__table__  # type: ignore[assignment]
_debriefs: Table = Debrief.__table__  # type: ignore[assignment]
_follow_ups: Table = FollowUp.__table__  # type: ignore[assignment]
_staff: Table = Staff.__table__  # type: ignore[assignment]
_clients: Table = Client.__table__  # type: ignore[assignment]
_employer_links: Table = EmployerLink.__table__  # type: ignore[assignment]

OUTCOMES: tuple[Outcome, ...] = ("pending", "next_round", "offer", "rejected", "withdrawn")
STAGES: tuple[Stage, ...] = ("screening", "first", "second", "final", "assessment", "other")
EMPLOYER_DECISIONS = ("next_round", "offer", "rejected")
TAKING_PLACE = ("scheduled", "completed")
# Question groups considered for merging (the most reported first); see questions.py.
QUESTION_GROUPS_BOUND = 2000


async def _read_all(db: Database, stmt: Select[Any]) -> list[RowMapping]:
    """The rows of one report statement, through the autocommit read engine. On PostgreSQL
    with two settings changed for it, and put back: JIT compilation off (on a large agency's
    data these one-off aggregates are costed high enough to be compiled, which takes longer
    than it saves), and 32 MB of work memory, so sorting and hashing a large period's rows
    stays in memory instead of spilling to disk."""
    async with db.reading() as conn:
        if db.is_sqlite:
            return list((await conn.execute(stmt)).mappings().all())
        await conn.exec_driver_sql("SET jit = off")
        await conn.exec_driver_sql("SET work_mem = '32MB'")
        try:
            return list((await conn.execute(stmt)).mappings().all())
        finally:
            await conn.exec_driver_sql("RESET jit")
            await conn.exec_driver_sql("RESET work_mem")


def _period(period: DateRange) -> Period:
    return Period(start=period.start, end=period.end)


def _in_period(period: DateRange) -> Any:
    i = _interviews.c
    return and_(i.starts_at >= period.start, i.starts_at < period.end)


def _held(now: datetime) -> Any:
    i = _interviews.c
    return and_(i.status.in_(TAKING_PLACE), i.ends_at <= now)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def _flag(condition: Any, label: str) -> Any:
    """1 where `condition` holds, else 0 (for sums)."""
    return case((condition, 1), else_=0).label(label)


def _split(rows: list[RowMapping]) -> tuple[RowMapping, list[RowMapping]]:
    """The overall row and the group rows of `per_group_and_overall`."""
    overall = next(r for r in rows if r["is_overall"] == 1)
    return overall, [r for r in rows if r["is_overall"] != 1]


# ---------------------------------------------------------------- debrief timeliness


def timeliness_statement(period: DateRange, *, now: datetime, dialect: str) -> Select[Any]:
    """One row per recruiter (the candidates' owner) and one overall: counts and percentiles
    over the held interviews, with their debrief-call follow-ups."""
    i, c, d = _interviews.c, _candidates.c, _debriefs.c
    call = _follow_ups.alias("call")
    on_time = and_(
        d.interview_id.is_not(None),
        or_(call.c.due_at.is_(None), d.called_at <= call.c.due_at),
    )
    per_interview = (
        select(
            c.owner_id,
            seconds_between(d.called_at, i.ends_at, dialect).label("delay"),
            _flag(on_time, "on_time"),
            _flag(call.c.overdue_at.is_not(None), "overdue"),
            _flag(call.c.status == "overdue", "still_overdue"),
            _flag(call.c.escalated_at.is_not(None), "escalated"),
        )
        .select_from(
            _interviews.join(_candidates, c.id == i.candidate_id)
            .outerjoin(_debriefs, d.interview_id == i.id)
            .outerjoin(call, and_(call.c.interview_id == i.id, call.c.kind == "debrief_call"))
        )
        .where(_in_period(period), _held(now))
    )
    groups = per_group_and_overall(
        per_interview,
        "owner_id",
        [
            Total("interviews_held", "rows"),
            Total("debriefs_received", "count", "delay"),
            Total("debriefs_on_time", "sum", "on_time"),
            Total("calls_overdue", "sum", "overdue"),
            Total("calls_still_overdue", "sum", "still_overdue"),
            Total("calls_escalated", "sum", "escalated"),
        ],
        [Quantile("median_delay", "delay", MEDIAN), Quantile("p90_delay", "delay", P90)],
        dialect,
    ).subquery("per_owner")
    return select(groups, _staff.c.full_name).outerjoin(_staff, _staff.c.id == groups.c.owner_id)


def _timeliness(row: RowMapping) -> dict[str, Any]:
    held, received, on_time = (
        row["interviews_held"],
        row["debriefs_received"],
        row["debriefs_on_time"],
    )
    return {
        "interviews_held": held,
        "debriefs_received": received,
        "debriefs_on_time": on_time,
        "debriefs_late": received - on_time,
        "received_share": _share(received, held),
        "on_time_share": _share(on_time, received),
        "median_seconds_to_debrief": _rounded(row["median_delay"]),
        "p90_seconds_to_debrief": _rounded(row["p90_delay"]),
        "debrief_calls_overdue": row["calls_overdue"],
        "debrief_calls_still_overdue": row["calls_still_overdue"],
        "debrief_calls_escalated": row["calls_escalated"],
    }


async def debrief_timeliness(db: Database, period: DateRange, *, now: datetime) -> TimelinessReport:
    rows = await _read_all(db, timeliness_statement(period, now=now, dialect=db.dialect))
    overall, groups = _split(rows)
    recruiters = [
        RecruiterTimeliness(
            recruiter=(
                Recruiter(id=r["owner_id"], full_name=r["full_name"])
                if r["owner_id"] is not None
                else None
            ),
            **_timeliness(r),
        )
        for r in groups
    ]
    recruiters.sort(
        key=lambda r: (
            -r.interviews_held,
            r.recruiter is None,
            r.recruiter.full_name if r.recruiter else "",
            str(r.recruiter.id) if r.recruiter else "",
        )
    )
    return TimelinessReport(
        period=_period(period), overall=Timeliness(**_timeliness(overall)), recruiters=recruiters
    )


# ---------------------------------------------------------------- employer decisions


def decisions_statement(
    period: DateRange, *, now: datetime, dialect: str, limit: int
) -> Select[Any]:
    """The `limit` clients with most interviews held in the period, one row each, and one
    overall row; each row also says how many clients had interviews."""
    i = _interviews.c
    decided = and_(i.outcome.in_(EMPLOYER_DECISIONS), i.outcome_recorded_at.is_not(None))
    promised = and_(decided, i.decision_expected_by.is_not(None))
    days_after_promise = days_between_dates(
        utc_date(i.outcome_recorded_at, dialect), i.decision_expected_by, dialect
    )
    today = now.astimezone(UTC).date()
    # The decision the client gave through their link: hours from that link to the answer.
    lk = _employer_links.c
    link_hours = (
        select(func.min(seconds_between(lk.answered_at, lk.created_at, dialect) / 3600.0))
        .where(lk.interview_id == i.id, lk.answered_at.is_not(None))
        .scalar_subquery()
    )
    per_interview = select(
        i.client_id,
        *(_flag(i.outcome == outcome, outcome) for outcome in OUTCOMES),
        _flag(and_(decided, link_hours.is_not(None)), "via_link"),
        case((decided, link_hours), else_=None).label("link_hours"),
        case(
            (decided, seconds_between(i.outcome_recorded_at, i.ends_at, dialect) / 86400.0),
            else_=None,
        ).label("to_decision"),
        _flag(promised, "promised"),
        _flag(and_(promised, days_after_promise <= 0), "kept"),
        case(
            (and_(promised, days_after_promise > 0), cast(days_after_promise, Float)),
            else_=None,
        ).label("late"),
        _flag(and_(i.outcome == "pending", i.decision_expected_by < today), "awaiting"),
    ).where(_in_period(period), _held(now))
    grouped = per_group_and_overall(
        per_interview,
        "client_id",
        [
            Total("interviews", "rows"),
            *(Total(outcome, "sum", outcome) for outcome in OUTCOMES),
            Total("decided", "count", "to_decision"),
            Total("promised", "sum", "promised"),
            Total("kept", "sum", "kept"),
            Total("awaiting", "sum", "awaiting"),
            Total("via_link", "sum", "via_link"),
        ],
        [
            Quantile("median_days", "to_decision", MEDIAN),
            Quantile("median_link_hours", "link_hours", MEDIAN),
            Quantile("p90_days", "to_decision", P90),
            Quantile("median_late", "late", MEDIAN),
        ],
        dialect,
    ).cte("per_client")
    g = grouped.c
    top = (
        select(grouped)
        .where(g.is_overall == 0)
        .order_by(g.interviews.desc(), g.client_id)
        .limit(limit)
        .subquery("top")
    )
    chosen = union_all(select(top), select(grouped).where(g.is_overall == 1)).subquery("chosen")
    clients_total = select(func.count()).select_from(grouped).where(g.is_overall == 0)
    return select(
        chosen, clients_total.scalar_subquery().label("clients_total"), _clients.c.name
    ).outerjoin(_clients, _clients.c.id == chosen.c.client_id)


def _decisions(row: RowMapping) -> dict[str, Any]:
    return {
        "interviews": row["interviews"],
        "outcomes": Outcomes(**{outcome: row[outcome] for outcome in OUTCOMES}),
        "decided": row["decided"],
        "median_days_to_decision": _rounded(row["median_days"]),
        "p90_days_to_decision": _rounded(row["p90_days"]),
        "decided_with_promised_date": row["promised"],
        "decided_by_promised_date": row["kept"],
        "decided_by_promised_date_share": _share(row["kept"], row["promised"]),
        "median_days_late": _rounded(row["median_late"]),
        "awaiting_past_promised_date": row["awaiting"],
        "decided_via_link": row["via_link"],
        "median_hours_link_to_answer": _rounded(row["median_link_hours"]),
    }


async def employer_decisions(
    db: Database, period: DateRange, *, now: datetime, limit: int
) -> EmployerDecisionsReport:
    stmt = decisions_statement(period, now=now, dialect=db.dialect, limit=limit)
    rows = await _read_all(db, stmt)
    overall, groups = _split(rows)
    clients = [
        ClientDecisions(client=ClientRef(id=r["client_id"], name=r["name"]), **_decisions(r))
        for r in groups
    ]
    clients.sort(key=lambda c: (-c.interviews, str(c.client.id)))
    return EmployerDecisionsReport(
        period=_period(period),
        overall=Decisions(**_decisions(overall)),
        clients=clients,
        clients_total=overall["clients_total"],
    )


# ---------------------------------------------------------------- interview questions


def _question_rows(
    client_id: uuid.UUID, *, job_title: str | None, period: DateRange | None, dialect: str
) -> Any:
    """One row per question reported for this client: who (only to count them), when, the
    wording, and its normalised key."""
    i, d = _interviews.c, _debriefs.c
    if dialect == "postgresql":
        listed = func.jsonb_array_elements_text(d.challenging_questions)
    else:
        listed = func.json_each(d.challenging_questions)
    question = listed.table_valued("value").alias("question")
    stmt = (
        select(i.candidate_id, d.received_at, cast(question.c.value, String).label("wording"))
        .select_from(_interviews.join(_debriefs, d.interview_id == i.id).join(question, true()))
        .where(i.client_id == client_id)
    )
    if job_title is not None:
        stmt = stmt.where(func.lower(i.job_title) == job_title.lower())
    if period is not None:
        stmt = stmt.where(d.received_at >= period.start, d.received_at < period.end)
    return with_normalised_key(stmt, "wording")


def question_groups_statement(
    client_id: uuid.UUID, *, job_title: str | None, period: DateRange | None, dialect: str
) -> Select[Any]:
    """Per normalised question: distinct candidates, mentions, distinct wordings, the latest
    report, and the most frequent wording with its count; most reported first, bounded."""
    reported = _question_rows(client_id, job_title=job_title, period=period, dialect=dialect).cte(
        "reported"
    )
    r = reported.c
    per_wording = (
        select(
            r.key,
            r.wording,
            func.count().label("n"),
            func.max(r.received_at).label("last_at"),
        )
        .group_by(r.key, r.wording)
        .subquery("per_wording")
    )
    w = per_wording.c
    top_wording = (
        select(
            w.key,
            w.wording,
            w.n,
            func.row_number()
            .over(partition_by=w.key, order_by=(w.n.desc(), w.last_at.desc(), w.wording))
            .label("place"),
        )
    ).subquery("top_wording")
    per_key = (
        select(
            r.key,
            func.count(func.distinct(r.candidate_id)).label("candidates"),
            func.count().label("mentions"),
            func.count(func.distinct(r.wording)).label("wordings"),
            func.max(r.received_at).label("last_reported_at"),
        )
        .where(r.key != "")
        .group_by(r.key)
        .subquery("per_key")
    )
    return (
        select(per_key, top_wording.c.wording.label("question"), top_wording.c.n.label("top_n"))
        .join(top_wording, and_(top_wording.c.key == per_key.c.key, top_wording.c.place == 1))
        .order_by(per_key.c.mentions.desc(), per_key.c.key)
        .limit(QUESTION_GROUPS_BOUND)
    )


def merged_candidates_statement(
    client_id: uuid.UUID,
    merged: Mapping[str, int],
    *,
    job_title: str | None,
    period: DateRange | None,
    dialect: str,
) -> Select[Any]:
    """Distinct candidates per cluster of merged keys (a candidate who reported two wordings
    of one question counts once)."""
    reported = _question_rows(client_id, job_title=job_title, period=period, dialect=dialect).cte(
        "reported"
    )
    r = reported.c
    cluster = case(merged, value=r.key)
    return (
        select(cluster.label("cluster"), func.count(func.distinct(r.candidate_id)).label("n"))
        .where(r.key.in_(list(merged)))
        .group_by(cluster)
    )


async def interview_questions(
    db: Database,
    client_id: uuid.UUID,
    *,
    job_title: str | None,
    period: DateRange | None,
    limit: int,
) -> InterviewQuestions:
    """The challenging questions candidates reported for this client, near-identical wordings
    counted together, most candidates first.

    Grouping happens in two stages. In SQL, questions are grouped by a normalised key (lower
    case, punctuation and whitespace removed), each group with its distinct candidates,
    mentions, latest report and most frequent wording. Then, in Python, the groups (at most
    2,000, the most reported; never the rows) whose wordings have the same or nearly the same
    set of significant words (Jaccard >= 0.8 after dropping words such as "the", "your") are
    merged; a merged group's distinct candidates are counted again in SQL, exactly.

    Erasing a candidate empties their debriefs' questions, so an erased candidate's questions
    are no longer counted here (their interviews still count in the other reports).
    """
    client = await read_one(
        db, select(_clients.c.id, _clients.c.name).where(_clients.c.id == client_id)
    )
    if client is None:
        raise NotFound.of("client", client_id)
    rows = await _read_all(
        db,
        question_groups_statement(
            client_id, job_title=job_title, period=period, dialect=db.dialect
        ),
    )
    groups = [clustering.Group.from_row(r) for r in rows]
    clusters = clustering.cluster(groups)
    merged = {g.key: n for n, cluster in enumerate(clusters) if len(cluster) > 1 for g in cluster}
    candidates: dict[int, int] = {}
    if merged:
        recount = merged_candidates_statement(
            client_id, merged, job_title=job_title, period=period, dialect=db.dialect
        )
        candidates = {r["cluster"]: r["n"] for r in await _read_all(db, recount)}
    items = [
        InterviewQuestion(
            question=clustering.representative(cluster),
            candidates=candidates.get(n, cluster[0].candidates),
            mentions=sum(g.mentions for g in cluster),
            wordings=sum(g.wordings for g in cluster),
            last_reported_at=max(g.last_reported_at for g in cluster),
        )
        for n, cluster in enumerate(clusters)
    ]
    items.sort(
        key=lambda q: (-q.candidates, -q.mentions, -q.last_reported_at.timestamp(), q.question)
    )
    return InterviewQuestions(
        client=ClientRef(id=client["id"], name=client["name"]),
        job_title=job_title,
        period=_period(period) if period else None,
        items=items[:limit],
    )


# ---------------------------------------------------------------- pipeline


def pipeline_statement(period: DateRange, *, bucket: str, dialect: str) -> Select[Any]:
    i = _interviews.c
    taking_place = i.status.in_(TAKING_PLACE)
    start = bucket_start(i.starts_at, bucket, dialect).label("start")
    return (
        select(
            start,
            i.stage,
            count_where(taking_place).label("interviews"),
            count_where(i.status == "cancelled").label("cancelled"),
            count_where(i.status == "no_show").label("no_show"),
            *(
                count_where(and_(taking_place, i.outcome == outcome)).label(outcome)
                for outcome in OUTCOMES
            ),
        )
        .where(_in_period(period))
        .group_by(start, i.stage)
    )


def thank_you_statement(
    period: DateRange, *, now: datetime, dialect: str, ideal: timedelta, deadline: timedelta
) -> Select[Any]:
    """Held interviews counted by outcome and by when the thank-you note went out: `timing`
    2 within the `ideal` of the end, 1 later but within the `deadline`, 0 later or never
    (at most fifteen rows)."""
    i, d = _interviews.c, _debriefs.c
    after_end = seconds_between(d.thank_you_sent_at, i.ends_at, dialect)
    timing = case(
        (d.thank_you_sent_at.is_(None), 0),
        (after_end <= ideal.total_seconds(), 2),
        (after_end <= deadline.total_seconds(), 1),
        else_=0,
    ).label("timing")
    return (
        select(timing, i.outcome, func.count().label("n"))
        .select_from(_interviews.outerjoin(_debriefs, d.interview_id == i.id))
        .where(_in_period(period), _held(now))
        .group_by(timing, i.outcome)
    )


def _bucket_starts(period: DateRange, bucket: str) -> list[date]:
    """Every bucket the period touches, so weeks or months without interviews show as 0."""
    first = period.start.date()
    last = (period.end - timedelta(microseconds=1)).date()
    if bucket == "week":
        day = first - timedelta(days=first.weekday())
        starts = []
        while day <= last:
            starts.append(day)
            day += timedelta(days=7)
        return starts
    month = first.replace(day=1)
    starts = []
    while month <= last:
        starts.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return starts


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _stage_counts(row: Any) -> StagePipeline:
    def get(name: str) -> int:
        return int(row[name]) if row is not None else 0

    return StagePipeline(
        interviews=get("interviews"),
        cancelled=get("cancelled"),
        no_show=get("no_show"),
        outcomes=Outcomes(**{o: get(o) for o in OUTCOMES}),
    )


def _pipeline_counts(by_stage: Mapping[str, Any]) -> dict[str, Any]:
    """A bucket's counts: per stage from SQL, and their sums (six numbers each)."""
    stages = {stage: _stage_counts(by_stage.get(stage)) for stage in STAGES}
    values = stages.values()
    return {
        "interviews": sum(s.interviews for s in values),
        "cancelled": sum(s.cancelled for s in values),
        "no_show": sum(s.no_show for s in values),
        "outcomes": Outcomes(**{o: sum(getattr(s.outcomes, o) for s in values) for o in OUTCOMES}),
        "stages": Stages(**stages),
    }


def _thank_you(rows: list[RowMapping], ideal: timedelta, deadline: timedelta) -> ThankYouReport:
    counts: dict[tuple[int, str], int] = {}
    for r in rows:
        counts[(r["timing"], r["outcome"])] = r["n"]

    def group(*timings: int) -> ThankYouGroup:
        by_outcome = {
            outcome: sum(counts.get((timing, outcome), 0) for timing in timings)
            for outcome in OUTCOMES
        }
        interviews = sum(by_outcome.values())
        decided = interviews - by_outcome["pending"]
        advanced = by_outcome["next_round"] + by_outcome["offer"]
        return ThankYouGroup(
            interviews=interviews,
            decided=decided,
            offers=by_outcome["offer"],
            offer_rate=_share(by_outcome["offer"], decided),
            advanced=advanced,
            advanced_rate=_share(advanced, decided),
        )

    best, within, other = group(2), group(2, 1), group(0)
    held = within.interviews + other.interviews
    return ThankYouReport(
        interviews_held=held,
        ideal_hours=ideal / timedelta(hours=1),
        deadline_hours=deadline / timedelta(hours=1),
        sent_within_ideal_share=_share(best.interviews, held),
        sent_within_deadline_share=_share(within.interviews, held),
        sent_within_ideal=best,
        sent_within_deadline=within,
        not_within_deadline=other,
    )


async def pipeline(
    db: Database, period: DateRange, *, bucket: str, now: datetime
) -> PipelineReport:
    """Counts per week or month and stage come from SQL (one row per bucket and stage);
    the bucket and period totals add those few rows up."""
    rows = await _read_all(db, pipeline_statement(period, bucket=bucket, dialect=db.dialect))
    by_bucket: dict[date, dict[str, RowMapping]] = {}
    for row in rows:
        by_bucket.setdefault(_as_date(row["start"]), {})[row["stage"]] = row
    starts = sorted(set(_bucket_starts(period, bucket)) | set(by_bucket))
    buckets = [PipelineBucket(start=s, **_pipeline_counts(by_bucket.get(s, {}))) for s in starts]
    totals_by_stage: dict[str, dict[str, int]] = {}
    for stage_rows in by_bucket.values():
        for stage, row in stage_rows.items():
            total = totals_by_stage.setdefault(stage, {})
            for name in ("interviews", "cancelled", "no_show", *OUTCOMES):
                total[name] = total.get(name, 0) + int(row[name])
    policy, _, _ = await followups.read_policy(db)
    ideal, deadline = rules.thank_you_windows(policy)
    thanks = await _read_all(
        db,
        thank_you_statement(period, now=now, dialect=db.dialect, ideal=ideal, deadline=deadline),
    )
    return PipelineReport(
        period=_period(period),
        bucket=bucket,
        totals=PipelineCounts(**_pipeline_counts(totals_by_stage)),
        buckets=buckets,
        thank_you=_thank_you(thanks, ideal, deadline),
    )
