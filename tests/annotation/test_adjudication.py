"""Adjudication rules read as a specification."""

import pandas as pd
import pytest

from annotation import adjudicate

CATS = ["violence", "self_harm"]


def ann(unit, aid, sensitive, *, stage="review", skipped=False, unsure=False, severity=None,
        updated=0, violence=False, self_harm=False):
    return dict(unit_id=unit, annotation_id=aid, updated_at=pd.Timestamp(updated, unit="s"),
                stage=stage, sensitive=sensitive, skipped=skipped, unsure=unsure,
                severity=severity, cat_violence=violence, cat_self_harm=self_harm)


def result(rows):
    return adjudicate(pd.DataFrame(rows), CATS).set_index("unit_id")


def test_unanimous_majority_and_tie():
    r = result([
        ann("a", 1, True, severity=2, violence=True), ann("a", 2, True, severity=3,
                                                          violence=True),
        ann("b", 3, True, severity=1, self_harm=True), ann("b", 4, False), ann("b", 5, True,
                                                                             severity=3),
        ann("c", 6, True), ann("c", 7, False),
    ])
    assert r.loc["a", "adjudication"] == "unanimous" and r.loc["a", "sensitive"]
    assert r.loc["a", "cat_violence"] and not r.loc["a", "cat_self_harm"]
    assert r.loc["a", "severity"] == 3  # upper median of (2, 3)
    assert r.loc["b", "adjudication"] == "majority"
    assert r.loc["b", "agreement"] == pytest.approx(2 / 3)
    assert r.loc["b", "cat_self_harm"]  # 1 of the 2 agreeing annotations: at least half
    assert r.loc["c", "adjudication"] == "unresolved" and pd.isna(r.loc["c", "sensitive"])


def test_only_the_latest_version_of_an_annotation_counts():
    r = result([ann("a", 1, True, updated=1), ann("a", 1, False, updated=5),
                ann("a", 2, False)])
    assert r.loc["a", "adjudication"] == "unanimous" and not r.loc["a", "sensitive"]
    assert r.loc["a", "n_annotations"] == 2


def test_skipped_and_unsure_are_not_votes_and_expert_wins():
    r = result([
        ann("a", 1, False, skipped=True), ann("a", 2, False, unsure=True),
        ann("b", 3, True), ann("b", 4, False),
        ann("b", 5, False, stage="expert", updated=9),
    ])
    assert r.loc["a", "adjudication"] == "unresolved" and r.loc["a", "n_annotations"] == 0
    assert r.loc["b", "adjudication"] == "expert" and not r.loc["b", "sensitive"]
    assert r.loc["b", "agreement"] == pytest.approx(0.5)


def test_an_unsure_expert_does_not_resolve():
    r = result([ann("a", 1, True), ann("a", 2, False),
                ann("a", 3, True, stage="expert", unsure=True)])
    assert r.loc["a", "adjudication"] == "unresolved"
