"""Gold units: known-answer items mixed into the review queue, indistinguishable from the sample.

An expert-labeled set (``unit_id``, the truth ``sensitive``, and the item's fields) gives the
annotators' error rates, and those of the final label, under the very review the sample gets
(:mod:`curation.estimation.misclassification`). That only holds if annotators cannot tell gold
tasks apart: a gold task carries exactly the task data fields of the sample's tasks (the same
allow-list, rendered by :func:`annotation.tasks.build_tasks` when the gold table holds raw item
columns), an id from the same id space as the sample's (e.g. the catalogue's item ids — an id
such as ``gold-17`` would give it away), and sits at a random position. The truth never enters a
task; it stays in the local table :func:`mix_gold` returns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas import AnnotationError, SchemaError

from .tasks import build_tasks

MAX_RATE = 0.5
TRUTH = "sensitive"


def gold_count(n_tasks: int, rate: float) -> int:
    """Gold tasks to add to ``n_tasks`` so that they are a share ``rate`` of the queue."""
    return int(round(rate * n_tasks / (1.0 - rate)))


def _check(tasks: list[dict], gold: pd.DataFrame, rate: float, source: str) -> float:
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise AnnotationError(f"the gold rate must be a number in [0, {MAX_RATE}], got "
                              f"{rate!r}") from None
    if not 0.0 <= rate <= MAX_RATE:
        raise AnnotationError(f"the gold rate is the share of gold tasks in the queue and must "
                              f"be in [0, {MAX_RATE}], got {rate!r}")
    missing = [c for c in ("unit_id", TRUTH) if c not in gold.columns]
    if missing:
        raise SchemaError(f"the gold set needs column(s) {missing}: its unit ids and the "
                          f"expert truth", source=source)
    for col in ("unit_id", TRUTH):
        nulls = gold[col].isna().to_numpy()
        if nulls.any():
            raise SchemaError(f"column {col!r} is null in {int(nulls.sum())} gold row(s) "
                              f"(first at row {int(np.argmax(nulls))}): every gold unit needs "
                              f"an id and its truth", source=source)
    truth = pd.to_numeric(gold[TRUTH].astype("object"), errors="coerce")
    if truth.isna().any() or not truth.isin((0, 1)).all():
        raise SchemaError(f"column {TRUTH!r} must be boolean (or 0/1)", source=source)
    ids = gold["unit_id"].astype(str)
    if ids.duplicated().any():
        raise SchemaError(f"duplicate gold unit_id(s) {ids[ids.duplicated()].head(5).tolist()}",
                          source=source)
    sample_ids = {str(t["data"]["unit_id"]) for t in tasks}
    clash = sorted(set(ids) & sample_ids)
    if clash:
        raise SchemaError(f"{len(clash)} gold unit_id(s) are also sample units (e.g. "
                          f"{clash[:5]}): drop them from the gold set (a unit cannot be both)",
                          source=source)
    if any(set(t) - {"data"} for t in tasks):
        raise AnnotationError("the sample's tasks carry pre-annotations (predictions) that gold "
                              "tasks cannot mimic; push gold units without --predictions")
    return rate


def _gold_data(gold: pd.DataFrame, fields: list[str], source: str) -> list[dict]:
    """Task data of the gold rows with exactly ``fields``: the columns as given when all are
    present, else rendered like the sample's (:func:`build_tasks` on the item columns)."""
    if all(f in gold.columns for f in fields):
        rows = gold[fields].astype(object).where(gold[fields].notna(), None)
        data = rows.to_dict("records")
    else:
        items = gold.drop(columns=[TRUTH]).copy()
        items["unit_id"] = items["unit_id"].astype(str)
        try:
            data = [t["data"] for t in build_tasks(pa.Table.from_pandas(items,
                                                                        preserve_index=False),
                                                   source=source)]
        except (KeyError, TypeError, pa.ArrowException):
            data = [{}]
    extra = sorted(set(data[0]) - set(fields)) if data else []
    missing = sorted(set(fields) - set(data[0])) if data else []
    if missing or extra:
        raise SchemaError(f"gold tasks would differ from the sample's: missing task field(s) "
                          f"{missing}, extra {extra}; give the gold set the sample's item "
                          f"columns", source=source)
    for d, unit in zip(data, gold["unit_id"].astype(str), strict=True):
        d["unit_id"] = unit
    return [{k: d[k] for k in fields} for d in data]


def mix_gold(tasks: list[dict], gold: pd.DataFrame, rate: float, seed: int,
             source: str = "gold") -> tuple[list[dict], pd.DataFrame]:
    """The sample's ``tasks`` with gold tasks inserted at random positions, and the local truth.

    ``rate`` is the share of gold tasks in the resulting queue (0 adds none, 0.5 one gold per
    sample task): ``round(rate·n/(1-rate))`` gold units are drawn from ``gold`` without
    replacement, and placed at random among the sample's tasks (whose order is kept). All is a
    function of ``seed``, so a repeated push mixes the same gold units in the same places.

    Returns
    -------
    tasks : the mixed list (new task dicts; the input is not modified).
    truth : the chosen gold units' ``unit_id``, ``sensitive`` and other non-task columns (e.g.
        categories, severity), in queue order: kept locally, never sent.

    Examples
    --------
    >>> import pandas as pd
    >>> tasks = [{"data": {"unit_id": f"it{k}", "title": "t"}} for k in range(6)]
    >>> gold = pd.DataFrame({"unit_id": ["it90", "it91"], "title": ["g", "h"],
    ...                      "sensitive": [True, False]})
    >>> mixed, truth = mix_gold(tasks, gold, rate=0.25, seed=1)
    >>> len(mixed), sorted(truth.unit_id), "sensitive" in mixed[0]["data"]
    (8, ['it90', 'it91'], False)
    """
    rate = _check(tasks, gold, rate, source)
    k = gold_count(len(tasks), rate)
    if k > len(gold):
        raise AnnotationError(f"{len(tasks)} tasks at a gold rate of {rate:g} need {k} gold "
                              f"units but the gold set has {len(gold)}: add gold units or lower "
                              f"the gold rate")
    fields = list(tasks[0]["data"]) if tasks else ["unit_id"]
    rng = np.random.default_rng([int(seed), 0x601D])
    chosen = gold.iloc[np.sort(rng.choice(len(gold), size=k, replace=False))]
    data = _gold_data(chosen.reset_index(drop=True), fields, source) if k else []
    order = rng.permutation(k)
    slots = np.zeros(len(tasks) + k, bool)
    slots[rng.choice(slots.size, size=k, replace=False)] = True
    mixed, s, g = [], 0, 0
    for is_gold in slots:
        if is_gold:
            mixed.append({"data": data[order[g]]})
            g += 1
        else:
            mixed.append({**tasks[s], "data": dict(tasks[s]["data"])})
            s += 1
    task_cols = set(fields) - {"unit_id"}
    keep = [c for c in chosen.columns if c not in task_cols]
    truth = chosen.iloc[order][keep].reset_index(drop=True)
    truth["unit_id"] = truth["unit_id"].astype(str)
    truth[TRUTH] = pd.to_numeric(truth[TRUTH].astype("object")).astype(bool)
    return mixed, truth
