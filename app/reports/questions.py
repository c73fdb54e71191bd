"""Merging question groups that are worded nearly alike.

SQL has already grouped the reported questions by a normalised key (lower case, no
punctuation, no whitespace) and aggregated each group. What is left is to count together
groups such as "What's your greatest weakness?" and "What is your greatest weakness", or
"Tell me about yourself" and "Tell us about yourself": their keys differ, their significant
words do not. This runs over the aggregated groups only (a bounded list), never the rows.

Two groups are merged when the sets of their significant words (words of the most frequent
wording, without stop words such as "the", "is", "your", "me") are equal or nearly so:
Jaccard similarity at least 0.8. Each group joins the first (most reported) cluster it is
similar to; candidate clusters are found through an index of words, so the work stays close
to linear in the number of groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import RowMapping

SIMILARITY = 0.8

STOP_WORDS = frozenset(
    """
    a an the this that these those to of in on at for from by with about as into
    and or but if so than then
    i me my mine we us our ours you your yours
    is are was were be been being am do does did done have has had having
    it its can could would should will shall may might must
    s t d ll re ve m
    """.split()  # noqa: SIM905 - a word list reads best as words
)
_WORD = re.compile(r"[^\W_]+")


def significant_words(wording: str) -> frozenset[str]:
    """The words that carry the question's meaning (all of them if every one is a stop word)."""
    words = frozenset(_WORD.findall(wording.lower()))
    return (words - STOP_WORDS) or words


@dataclass
class Group:
    """One normalised question as SQL aggregated it."""

    key: str
    question: str
    top_n: int
    candidates: int
    mentions: int
    wordings: int
    last_reported_at: datetime
    words: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_row(cls, row: RowMapping) -> Group:
        return cls(
            key=row["key"],
            question=row["question"],
            top_n=row["top_n"],
            candidates=row["candidates"],
            mentions=row["mentions"],
            wordings=row["wordings"],
            last_reported_at=row["last_reported_at"],
            words=significant_words(row["question"]),
        )


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def cluster(groups: list[Group]) -> list[list[Group]]:
    """Groups in clusters of near-identical questions; the most reported group first in each.
    `groups` come most reported first."""
    clusters: list[list[Group]] = []
    by_word: dict[str, list[int]] = {}
    for group in groups:
        candidates = sorted({n for word in group.words for n in by_word.get(word, ())})
        home = next(
            (n for n in candidates if similarity(clusters[n][0].words, group.words) >= SIMILARITY),
            None,
        )
        if home is None:
            home = len(clusters)
            clusters.append([])
            for word in group.words:
                by_word.setdefault(word, []).append(home)
        clusters[home].append(group)
    return clusters


def representative(cluster: list[Group]) -> str:
    """The wording used most often across the cluster. Every wording belongs to exactly one
    group, so this is the most frequent of the groups' own most frequent wordings."""
    best = max(cluster, key=lambda g: (g.top_n, g.last_reported_at))
    return best.question
