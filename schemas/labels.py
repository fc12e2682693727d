"""The label fields of sensitive-content review, shared by annotation, curation and estimation.

A ``labels`` table (one row per annotation version, never overwritten) holds, beside the
columns of :data:`schemas.tables.LABELS`:

* ``project`` (str): the Label Studio project title; ``stage`` (str): ``review`` for the
  annotators' project, ``expert`` for the adjudication project;
* ``sensitive`` (bool): any sensitive category chosen;
* ``cat_<category>`` (bool) for every category of :data:`DEFAULT_CATEGORIES` (or the list the
  project was created with);
* ``severity`` (int64, nullable): 1 low, 2 medium, 3 high; null when nothing is sensitive;
* ``unsure`` (bool): the annotator chose "unsure / needs expert";
* ``skipped`` (bool): the annotation was cancelled (skipped) in Label Studio;
* ``note`` (str, nullable): free text.

A ``curated`` table has one row per sampled unit: the sample's columns, the final
``sensitive``, ``cat_*`` and ``severity``, ``n_annotations``, ``agreement`` (share of counted
annotations agreeing with the final ``sensitive``) and ``adjudication`` (see
:data:`schemas.tables.ADJUDICATIONS`). Units whose adjudication is ``unresolved`` or
``unlabeled`` are annotation nonresponse.
"""

from __future__ import annotations

DEFAULT_CATEGORIES: tuple[str, ...] = (
    "sexual_content", "hate_harassment", "self_harm", "violence", "dangerous_acts",
    "misinformation",
)
SEVERITIES = {1: "low", 2: "medium", 3: "high"}
STAGES = ("review", "expert")
NONRESPONSE = ("unresolved", "unlabeled")


def category_columns(categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES) -> list[str]:
    """``cat_<name>`` column of every category."""
    return [f"cat_{c}" for c in categories]


def label_fields(categories: tuple[str, ...] | list[str] = DEFAULT_CATEGORIES) -> list[str]:
    """The adjudicated label fields of a curated table."""
    return ["sensitive", *category_columns(categories), "severity"]
