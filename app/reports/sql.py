"""Dialect-aware SQL pieces the reports share: time differences, UTC dates, week and month
buckets, text normalisation, and per-group figures with percentiles computed in SQL.

The reports that need percentiles describe them once, the same way on both databases: a
select of one row per interview, the column to group by, additive totals and quantiles
(`per_group_and_overall`); only that helper differs by database. Both compute
`percentile_cont`: the p-th percentile of n sorted values x1..xn is at position 1 + p(n - 1),
interpolated linearly between its neighbours.

- PostgreSQL: the rows are grouped by hashing (no sort of the rows), each group collecting
  its values in an array; `percentile_cont(ARRAY[...]) WITHIN GROUP (ORDER BY value)` over
  `unnest` then sorts just those values, once for every percentile asked of them. The
  overall row is computed from the group rows, so the interviews are read once.
- SQLite has no percentile function: the values are ranked with window functions
  (`row_number()` and `count()` over the group, and over all rows) and an ordinary aggregate
  picks the one or two values each percentile falls between. The position is worked out in
  integer arithmetic (p is a fraction such as 9/10), so no rounding of floats can pick the
  wrong row.

The window way works on PostgreSQL too and gives the same answers, but sorts whole rows by
group and value, which is slower on large periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import (
    Date,
    Float,
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.elements import ColumnElement

Dialect = str  # "sqlite" or "postgresql", as Database.dialect names them

MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)

# Removed before questions are compared: punctuation (ASCII and typographic) and whitespace.
PUNCTUATION = "?.,!;:'\"`()[]{}<>-_/\\|&*#@%+=~^$\u2018\u2019\u201c\u201d\u2013\u2014\u2026"
WHITESPACE = " \t\n\r"
_REPLACES_PER_LEVEL = 12


def seconds_between(later: Any, earlier: Any, dialect: Dialect) -> ColumnElement[Any]:
    """`later - earlier` in seconds (millisecond precision), as a float; NULL if either is."""
    if dialect == "postgresql":
        # date_part() answers a float; extract() a numeric, which is slower to compute.
        return func.date_part("epoch", later - earlier, type_=Float)
    # julianday() keeps milliseconds; rounding the difference to whole milliseconds removes
    # the error of the floating-point day numbers, so equal spans compare equal.
    millis = cast(
        func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000), Integer
    )
    return cast(millis, Float) / literal(1000.0, Float)


def utc_date(moment: Any, dialect: Dialect) -> ColumnElement[Any]:
    """The UTC calendar date of a stored timestamp."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", moment), Date)
    return func.date(moment, type_=Date)


def days_between_dates(later: Any, earlier: Any, dialect: Dialect) -> ColumnElement[int]:
    """Whole days from the date `earlier` to the date `later` (negative if before)."""
    if dialect == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def bucket_start(moment: Any, bucket: str, dialect: Dialect) -> ColumnElement[Any]:
    """The first day (UTC) of the ISO week (Monday) or the month `moment` falls in."""
    if dialect == "postgresql":
        return cast(func.date_trunc(bucket, func.timezone("UTC", moment)), Date)
    if bucket == "week":
        # Back six days, then forward to the next Monday (or stay on it): this week's Monday.
        return func.date(moment, "-6 days", "weekday 1", type_=Date)
    return func.date(moment, "start of month", type_=Date)


def with_normalised_key(stmt: Select[Any], source: str) -> Select[Any]:
    """`stmt` with one more column, `key`: its column `source` in lower case without
    punctuation or whitespace, so 'Tell me about yourself?' and 'tell me about  yourself'
    share a key. One replace() per character, on both databases (PostgreSQL's translate()
    does the same but is much slower in a UTF-8 database). SQLite's parser refuses
    some 35 nested calls, hence a dozen per subquery level; both databases flatten the
    levels again when they plan."""
    removed = PUNCTUATION + WHITESPACE
    stmt = stmt.add_columns(func.lower(cast(stmt.selected_columns[source], String)).label("key"))
    for start in range(0, len(removed), _REPLACES_PER_LEVEL):
        level = stmt.subquery()
        key: ColumnElement[str] = level.c.key
        for char in removed[start : start + _REPLACES_PER_LEVEL]:
            key = func.replace(key, char, "")
        stmt = select(*(c for c in level.c if c.key != "key"), key.label("key"))
    return stmt


def count_where(condition: Any) -> ColumnElement[int]:
    """How many rows of the group meet `condition` (0, never NULL, for an empty match)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class Total:
    """An additive aggregate of a per-row column: `count` of its non-NULL values, or its
    `sum`; with no column, the number of rows. The overall figure is the groups' sum."""

    label: str
    how: Literal["rows", "count", "sum"]
    column: str | None = None

    def per_group(self, rows: Any) -> ColumnElement[Any]:
        if self.how == "rows":
            return func.count().label(self.label)
        value = rows.c[self.column]
        if self.how == "count":
            return func.count(value).label(self.label)
        return func.coalesce(func.sum(value), 0).label(self.label)


@dataclass(frozen=True)
class Quantile:
    """The p-th percentile (as percentile_cont) of a per-row column's non-NULL values."""

    label: str
    column: str
    p: Fraction


def per_group_and_overall(
    rows: Select[Any],
    key: str,
    totals: Sequence[Total],
    quantiles: Sequence[Quantile],
    dialect: Dialect,
) -> CompoundSelect[Any]:
    """From a select of one row per item, one row per value of its column `key` and one
    overall row (`is_overall` 1, `key` NULL), each with `totals` and `quantiles`.

    PostgreSQL: one pass groups the rows (hash aggregation, no sort), collecting each
    group's values in an array; the percentiles sort only those values
    (`percentile_cont(p) WITHIN GROUP` over `unnest`), and the overall row is computed from
    the group rows. SQLite: the rows are ranked with window functions and an aggregate picks
    the one or two values each percentile falls between (see the module's docstring), per
    group and then over all rows."""
    if dialect == "postgresql":
        return _grouped_with_arrays(rows, key, totals, quantiles)
    return _grouped_with_windows(rows, key, totals, quantiles)


def _overall_marker(is_overall: bool) -> ColumnElement[int]:
    return literal_column("1" if is_overall else "0").label("is_overall")


def _grouped_with_arrays(
    rows: Select[Any], key: str, totals: Sequence[Total], quantiles: Sequence[Quantile]
) -> CompoundSelect[Any]:
    source = rows.subquery("per_row")
    columns = sorted({q.column for q in quantiles})
    groups = (
        select(
            source.c[key],
            *(t.per_group(source) for t in totals),
            *(
                func.array_agg(cast(source.c[c], Float))
                .filter(source.c[c].is_not(None))
                .label(f"{c}_values")
                for c in columns
            ),
        )
        .group_by(source.c[key])
        .cte("groups")
    )
    g = groups.c

    def percentiles(column: str, *, of: Any = None) -> ColumnElement[Any]:
        """Every percentile asked of `column`, as an array, from one sort of its values: the
        group's own, or (`of` the groups) all of them."""
        ps = [float(q.p) for q in quantiles if q.column == column]
        unnested = func.unnest(
            of.c[f"{column}_values"] if of is not None else g[f"{column}_values"]
        )
        values = unnested.table_valued("value").render_derived(name="unnested")
        stmt = select(func.percentile_cont(pg_array(ps)).within_group(values.c.value))
        if of is None:
            found = stmt.select_from(values).scalar_subquery()
        else:  # every group's values, not the asking row's: no correlation
            found = stmt.select_from(of.join(values, true())).correlate(None).scalar_subquery()
        return type_coerce(found, ARRAY(Float))

    def picked(level: Any) -> list[ColumnElement[Any]]:
        """Each quantile's element of its column's array (PostgreSQL arrays start at 1)."""
        place: dict[str, int] = {}
        picks = []
        for q in quantiles:
            place[q.column] = place.get(q.column, 0) + 1
            picks.append(level.c[f"{q.column}_percentiles"][place[q.column]].label(q.label))
        return picks

    per_group = select(
        _overall_marker(False),
        g[key],
        *(g[t.label] for t in totals),
        *(percentiles(c).label(f"{c}_percentiles") for c in columns),
    ).subquery("per_group")
    overall = select(
        _overall_marker(True),
        cast(null(), source.c[key].type).label(key),
        *(func.coalesce(func.sum(g[t.label]), 0).label(t.label) for t in totals),
        *(percentiles(c, of=groups).label(f"{c}_percentiles") for c in columns),
    ).subquery("overall")
    return union_all(
        *(
            select(
                level.c.is_overall,
                level.c[key],
                *(level.c[t.label] for t in totals),
                *picked(level),
            )
            for level in (per_group, overall)
        )
    )


def _grouped_with_windows(
    rows: Select[Any], key: str, totals: Sequence[Total], quantiles: Sequence[Quantile]
) -> CompoundSelect[Any]:
    columns = sorted({q.column for q in quantiles})
    plain = rows.subquery("plain")
    ranks = []
    for c in columns:
        value = plain.c[c]
        for scope, partition in (("group", [plain.c[key]]), ("all", None)):
            order = value.asc().nulls_last()
            ranks.append(
                func.row_number()
                .over(partition_by=partition, order_by=order)
                .label(f"{c}_{scope}_rank")
            )
            ranks.append(func.count(value).over(partition_by=partition).label(f"{c}_{scope}_n"))
    ranked = select(plain, *ranks).cte("ranked")
    r = ranked.c

    def percentile(q: Quantile, scope: str) -> ColumnElement[Any]:
        value = cast(r[q.column], Float)
        rank, count = r[f"{q.column}_{scope}_rank"], r[f"{q.column}_{scope}_n"]
        steps = (count - 1) * q.p.numerator
        lower = 1 + steps // q.p.denominator  # integer division
        weight = cast(steps % q.p.denominator, Float) / literal(float(q.p.denominator), Float)
        return func.sum(
            case(
                (rank == lower, value * (1.0 - weight)),
                (rank == lower + 1, value * weight),
                else_=None,
            )
        ).label(q.label)

    per_group = select(
        _overall_marker(False),
        r[key],
        *(t.per_group(ranked) for t in totals),
        *(percentile(q, "group") for q in quantiles),
    ).group_by(r[key])
    overall = select(
        _overall_marker(True),
        cast(null(), r[key].type).label(key),
        *(t.per_group(ranked) for t in totals),
        *(percentile(q, "all") for q in quantiles),
    )
    return union_all(per_group, overall)
