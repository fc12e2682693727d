"""The label fields of sensitive-content review, shared by annotation, curation and estimation.

A ``labels`` table (one row per annotation version, never overwritten) holds, beside the
columns of :data:`schemas.tables.LABELS`:

* ``server`` (str): identity of the Label Studio server (see
  ``annotation.connection.server_identity``; null in files pulled before it was recorded);
  ``project`` (str): the project title; ``stage`` (str): ``review`` for the annotators'
  project, ``expert`` for the adjudication project. An annotation is identified by
  :data:`LABEL_KEY` (annotation ids are unique on one server only);
* ``planned_votes`` (int64, nullable): how many annotations the server planned for the task
  (its overlap: k for the overlap share, 1 for the rest; with annotator queues, the number of
  queues holding the unit);
* ``sensitive`` (bool, nullable): the annotator's decision; **null when no decision was made**
  (e.g. only "Show the content" ticked): such an annotation is no vote, never a negative;
* ``cat_<category>`` (bool) for every category of :data:`DEFAULT_CATEGORIES` (or the list the
  project was created with);
* ``severity`` (int64, nullable): 1 low, 2 medium, 3 high; null when nothing is sensitive;
* ``unsure`` (bool): the annotator chose "unsure / needs expert";
* ``skipped`` (bool): the annotation was cancelled (skipped) in Label Studio;
* ``note`` (str, nullable): free text.

A **counted vote** (:func:`counted`) is an annotation that is not skipped, not unsure and has
a decision; everything else is annotation nonresponse at the level of one annotation.

A ``curated`` table has one row per sampled unit: the sample's columns, the final
``sensitive``, ``cat_*`` and ``severity``, ``n_annotations`` (counted review votes),
``planned_votes``, ``agreement`` (share of counted votes agreeing with the final
``sensitive``) and ``adjudication`` (see :data:`schemas.tables.ADJUDICATIONS`). An
``incomplete`` unit (fewer counted votes than planned) is a respondent with the label of the
votes it has; units whose adjudication is ``unresolved`` or ``unlabeled`` are annotation
nonresponse (:data:`NONRESPONSE`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "sexual_content", "hate_harassment", "self_harm", "violence", "dangerous_acts",
    "misinformation",
)
SEVERITIES = {1: "low", 2: "medium", 3: "high"}
STAGES = ("review", "expert")
NONRESPONSE = ("unresolved", "unlabeled")
#: The label fields every labels table must have (besides the ``labels`` contract columns).
REQUIRED_FIELDS = ("sensitive", "severity", "unsure", "skipped")
#: What identifies one annotation; its versions differ by ``updated_at``.
LABEL_KEY = ("server", "project", "annotation_id")


def category_columns(categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES) -> list[str]:
    """``cat_<name>`` column of every category."""
    return [f"cat_{c}" for c in categories]


def categories_of(table) -> list[str]:
    """The categories of a labels or curated table (a DataFrame, an Arrow table or a list of
    column names), from its ``cat_<name>`` columns in column order.

    Examples
    --------
    >>> categories_of(["unit_id", "sensitive", "cat_violence", "cat_self_harm"])
    ['violence', 'self_harm']
    """
    names = getattr(table, "column_names", None) or list(getattr(table, "columns", table))
    return [c.removeprefix("cat_") for c in names if c.startswith("cat_")]


def label_fields(categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES) -> list[str]:
    """The adjudicated label fields of a curated table."""
    return ["sensitive", *category_columns(categories), "severity"]


def key_columns(labels: pd.DataFrame) -> list[str]:
    """The columns of :data:`LABEL_KEY` that ``labels`` has (older files lack ``server``)."""
    return [c for c in LABEL_KEY if c in labels.columns]


def _flag(labels: pd.DataFrame, name: str) -> np.ndarray:
    if name not in labels:
        return np.zeros(len(labels), dtype=bool)
    return labels[name].fillna(False).astype(bool).to_numpy()


def decided(labels: pd.DataFrame) -> np.ndarray:
    """True where the annotation carries a decision (``sensitive`` not null)."""
    return labels["sensitive"].notna().to_numpy()


def counted(labels: pd.DataFrame) -> np.ndarray:
    """The one rule for a vote: not skipped, not unsure, and a decision was made.

    Examples
    --------
    >>> f = pd.DataFrame({"sensitive": [True, False, None, True], "unsure": [0, 0, 0, 1],
    ...                   "skipped": [0, 0, 0, 0]})
    >>> counted(f).tolist()
    [True, True, False, False]
    """
    return ~_flag(labels, "skipped") & ~_flag(labels, "unsure") & decided(labels)


def no_decision(labels: pd.DataFrame) -> np.ndarray:
    """Annotations submitted without a decision (neither skipped nor unsure): no vote."""
    return ~_flag(labels, "skipped") & ~_flag(labels, "unsure") & ~decided(labels)
