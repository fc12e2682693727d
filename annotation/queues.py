"""Independent annotator queues and the reviewers' exposure budget: which unit goes to whom,
in which order, and how many high-risk tasks a day.

Label Studio Community has one role: whoever opens a shared project's task sees every other
annotator's answer beside it. So independent votes need one project per annotator (a *queue*,
titled :func:`queue_title`): a unit planned for k votes is imported into k queues, and no queue
holds another annotator's answer. Which queues a unit goes to is a pure function of the unit id
and a seed (hash ranks), so a repeated or extended push assigns every unit as before.

Reviewers of sensitive content are protected at assignment time: a queue receives at most
``budget`` tasks of high-risk units per day (the rest are held back and given by a later push,
on a later day), and a queue's order rotates across the rotation key (e.g. the stratum, or a
predicted category) so that a day's high-risk tasks are not all of one kind.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from schemas.errors import AnnotationError

MAX_QUEUES = 50


def queue_title(project: str, index: int) -> str:
    """The project of annotator queue ``index`` (1-based) of ``project``."""
    return f"{project} / annotator {index}"


def queue_index(title: str, project: str) -> int | None:
    """The queue number of ``title`` when it is a queue of ``project``, else None.

    Examples
    --------
    >>> queue_index(queue_title("audit", 3), "audit"), queue_index("audit-expert", "audit")
    (3, None)
    """
    m = re.fullmatch(re.escape(project) + r" / annotator (\d+)", title)
    return int(m.group(1)) if m else None


def _unit_hash(seed: int, unit: str, salt: str) -> int:
    digest = hashlib.blake2b(f"{seed}\x1f{salt}\x1f{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def check_queues(queues: int, votes: int, overlap: float) -> None:
    """One-line errors for a queue plan that cannot be made."""
    if not isinstance(queues, int) or not 2 <= queues <= MAX_QUEUES:
        raise AnnotationError(f"--queues is the number of annotators, each with their own "
                              f"queue: 2 to {MAX_QUEUES}, got {queues!r}")
    if not isinstance(votes, int) or not 1 <= votes <= queues:
        raise AnnotationError(f"--annotators (votes per overlap unit) must be between 1 and "
                              f"--queues ({queues}), got {votes!r}")
    if not 0.0 <= float(overlap) <= 1.0:
        raise AnnotationError(f"--overlap is a share of units in [0, 1], got {overlap!r}")


def assign(units: Iterable[str], queues: int, votes: int, overlap: float, seed: int = 0
           ) -> dict[str, tuple[int, ...]]:
    """``unit → queues`` (1-based): a share ``overlap`` of units (chosen by hash) goes to
    ``votes`` distinct queues, the others to one; queues are the unit's lowest hash ranks, so
    load is balanced in expectation and a unit's queues never depend on the other units.

    Examples
    --------
    >>> a = assign([f"u{i}" for i in range(1000)], queues=3, votes=2, overlap=0.25)
    >>> sorted({len(q) for q in a.values()}), 200 < sum(len(q) == 2 for q in a.values()) < 300
    ([1, 2], True)
    >>> a["u7"] == assign(["u7"], queues=3, votes=2, overlap=0.25)["u7"]
    True
    """
    check_queues(queues, votes, overlap)
    out = {}
    for unit in units:
        shared = _unit_hash(seed, unit, "overlap") < overlap * 2.0 ** 64
        ranks = sorted(range(1, queues + 1), key=lambda q: _unit_hash(seed, unit, f"q{q}"))
        out[unit] = tuple(sorted(ranks[:votes if shared else 1]))
    return out


def rotate(units: list[str], keys: dict[str, str]) -> list[str]:
    """``units`` reordered round-robin across their rotation keys (each key's units in their
    order), so that consecutive tasks differ in key wherever the mix allows.

    Examples
    --------
    >>> rotate(["a1", "a2", "a3", "b1", "c1"], {"a1": "a", "a2": "a", "a3": "a", "b1": "b",
    ...                                         "c1": "c"})
    ['a1', 'b1', 'c1', 'a2', 'a3']
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for u in units:
        groups[keys.get(u, "")].append(u)
    lanes = list(groups.values())
    out: list[str] = []
    for depth in range(max((len(g) for g in lanes), default=0)):
        out += [g[depth] for g in lanes if depth < len(g)]
    return out


@dataclass(frozen=True)
class Budget:
    """At most ``per_day`` high-risk tasks per queue and day; a unit is high-risk when its
    stratum is in ``strata`` or its risk score is at least ``score``."""

    per_day: int
    strata: frozenset[str] = frozenset()
    score: float | None = None

    def __post_init__(self):
        if isinstance(self.per_day, bool) or not isinstance(self.per_day, int) \
                or self.per_day < 1:
            raise AnnotationError(f"the exposure budget is high-risk tasks per annotator per "
                                  f"day and must be a whole number of 1 or more, got "
                                  f"{self.per_day!r} (to stop assigning, do not push)")
        if not self.strata and self.score is None:
            raise AnnotationError("an exposure budget needs to know what is high-risk: give "
                                  "--high-risk-strata or --high-risk-score")
        if self.score is not None and not 0.0 <= float(self.score) <= 1.0:
            raise AnnotationError(f"--high-risk-score is a risk score in [0, 1], got "
                                  f"{self.score!r}")

    def high_risk(self, stratum: str | None, score: float | None) -> bool:
        """True for a unit of a high-risk stratum or with a high enough risk score."""
        if stratum is not None and str(stratum) in self.strata:
            return True
        return self.score is not None and score is not None and float(score) >= self.score


def within_budget(order: list[str], high_risk: set[str], used_today: int, per_day: int
                  ) -> tuple[list[str], list[str]]:
    """``(give, hold)``: every unit of ``order`` that is not high-risk, and high-risk ones while
    the day's budget lasts (``used_today`` already given); the held ones wait for another day.

    Examples
    --------
    >>> within_budget(["a", "h1", "b", "h2", "h3"], {"h1", "h2", "h3"}, used_today=1,
    ...               per_day=2)
    (['a', 'h1', 'b'], ['h2', 'h3'])
    """
    left = max(per_day - used_today, 0)
    give, hold = [], []
    for u in order:
        if u not in high_risk:
            give.append(u)
        elif left > 0:
            give.append(u)
            left -= 1
        else:
            hold.append(u)
    return give, hold
