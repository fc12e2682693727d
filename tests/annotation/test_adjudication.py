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


def test_an_annotation_without_a_decision_is_no_vote_never_a_negative():
    r = result([ann("a", 1, None), ann("a", 2, None),          # only "Show the content"
                ann("b", 3, True, violence=True), ann("b", 4, None)])
    assert r.loc["a", "adjudication"] == "unresolved" and pd.isna(r.loc["a", "sensitive"])
    assert r.loc["a", "n_annotations"] == 0
    assert r.loc["b", "adjudication"] == "unanimous" and r.loc["b", "sensitive"]
    assert r.loc["b", "n_annotations"] == 1


def test_fewer_votes_than_planned_is_incomplete_never_unanimous():
    rows = [ann("a", 1, True, severity=2, violence=True),         # 1 of 2 planned
            ann("b", 2, False), ann("b", 3, False),               # 2 of 2: unanimous
            ann("c", 4, True), ann("c", 5, None),                 # 1 vote + no decision
            ann("d", 6, True), ann("d", 7, False),                # tie of 2 of 3
            ann("e", 8, False)]                                   # 1 of 1 planned
    frame = pd.DataFrame(rows).assign(planned_votes=[2, 2, 2, 2, 2, 3, 3, 1])
    r = adjudicate(frame, CATS).set_index("unit_id")
    assert r.loc["a", "adjudication"] == "incomplete" and r.loc["a", "sensitive"]
    assert r.loc["a", "cat_violence"] and r.loc["a", "severity"] == 2
    assert r.loc["a", "n_annotations"] == 1 and r.loc["a", "planned_votes"] == 2
    assert r.loc["b", "adjudication"] == "unanimous"
    assert r.loc["c", "adjudication"] == "incomplete"
    assert r.loc["d", "adjudication"] == "unresolved"
    assert r.loc["e", "adjudication"] == "unanimous"
    # without planned_votes in the labels, the least planned number is an argument
    plain = adjudicate(pd.DataFrame(rows), CATS, votes=2).set_index("unit_id")
    assert plain.loc["e", "adjudication"] == "incomplete"
    assert plain.loc["b", "adjudication"] == "unanimous"


def test_an_expert_decides_an_incomplete_unit():
    frame = pd.DataFrame([ann("a", 1, True), ann("a", 2, False, stage="expert", updated=5)])
    r = adjudicate(frame.assign(planned_votes=[3, 1]), CATS).set_index("unit_id")
    assert r.loc["a", "adjudication"] == "expert" and not r.loc["a", "sensitive"]


def test_the_same_annotation_id_from_two_servers_is_two_annotations():
    rows = [{**ann("a", 7, True), "server": "ls-one", "project": "audit"},
            {**ann("b", 7, False), "server": "ls-two", "project": "audit"},
            {**ann("b", 7, True, updated=9), "server": "ls-two", "project": "audit"}]
    r = result(rows)
    assert set(r.index) == {"a", "b"}
    assert r.loc["a", "adjudication"] == "unanimous" and r.loc["a", "sensitive"]
    assert r.loc["b", "sensitive"] and r.loc["b", "n_annotations"] == 1  # latest version
