"""The expert queue: units the annotators did not settle, for a second, expert-stage project.

A unit is queued when adjudication of its review annotations leaves it ``unresolved`` (a tie,
or only skipped, unsure or undecided answers). Units nobody has labeled yet are not queued:
they still wait in the review project, as do ``incomplete`` ones. The expert's task shows
what the annotators answered; the expert's decision wins in adjudication (stage ``expert``).
"""

from __future__ import annotations

import pandas as pd

from schemas.labels import STAGES, categories_of, counted, no_decision

from .adjudication import adjudicate, latest_versions


def _summary(group: pd.DataFrame) -> str:
    votes = group[counted(group)]
    yes = int(votes["sensitive"].astype(bool).sum())
    parts = [f"{yes} sensitive", f"{len(votes) - yes} not sensitive",
             f"{int(group['unsure'].astype(bool).sum())} unsure",
             f"{int(group['skipped'].astype(bool).sum())} skipped"]
    undecided = int(no_decision(group).sum())
    if undecided:
        parts.append(f"{undecided} without a decision")
    return f"{len(group)} annotations: " + ", ".join(parts)


def expert_queue(labels: pd.DataFrame) -> dict[str, str]:
    """``unit_id → what the annotators answered`` for every unresolved unit of ``labels``.

    Units an expert has already decided are not queued again.

    Examples
    --------
    >>> rows = [dict(unit_id=u, annotation_id=i, updated_at=0, stage="review", sensitive=s,
    ...              skipped=False, unsure=n, severity=None)
    ...         for i, (u, s, n) in enumerate([("u1", True, False), ("u1", False, False),
    ...                                        ("u2", True, False), ("u3", False, True)])]
    >>> expert_queue(pd.DataFrame(rows))
    {'u1': '2 annotations: 1 sensitive, 1 not sensitive, 0 unsure, 0 skipped', \
'u3': '1 annotations: 0 sensitive, 0 not sensitive, 1 unsure, 0 skipped'}
    """
    if labels.empty:
        return {}
    decided = adjudicate(labels, categories_of(labels))
    open_units = decided.loc[decided["adjudication"] == "unresolved", "unit_id"]
    latest = latest_versions(labels)
    stage = latest["stage"] if "stage" in latest else pd.Series("review", index=latest.index)
    review = latest[stage.fillna(STAGES[0]) != "expert"]
    groups = dict(tuple(review.groupby("unit_id", sort=True)))
    return {u: _summary(groups[u]) for u in sorted(open_units) if u in groups}


def push_expert_queue(sample_path, labels: pd.DataFrame, project: str, **options):
    """Push the unresolved units of ``labels`` (with what the annotators answered) to the
    expert-stage ``project``; returns ``(queue, PushResult)``, the result None when no unit is
    unresolved. ``options`` go to :func:`annotation.push.push`."""
    from .push import push

    queue = expert_queue(labels)
    if not queue:
        return queue, None
    return queue, push(sample_path, project, stage="expert", units=list(queue), review=queue,
                       **options)
