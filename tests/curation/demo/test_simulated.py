"""The demo's simulated annotators err at the rates of their profiles, deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from curation.demo.simulated import EXPERT, TEAM, answer, labelers

CATS = ["violence", "self_harm", "misinformation"]
N = 20_000


def rates(profile, sensitive: bool, seed: int = 3) -> dict:
    answers = [answer({"unit_id": f"u{i}", "sensitive": sensitive, "category": "self_harm",
                       "severity": 2}, profile, CATS, seed) for i in range(N)]
    given = [a for a in answers if not a["skipped"]]
    said = np.array([a["sensitive"] for a in given])
    return {"skip": 1 - len(given) / N, "yes": said.mean(),
            "unsure": np.mean([a["unsure"] for a in given]),
            "right_category": np.mean([a["chosen"] == ["self_harm"] for a in given
                                       if a["sensitive"]])}


def within(observed: float, p: float, n: int) -> bool:
    """|observed - p| within 4 binomial standard errors (a fixed-seed check, not flaky)."""
    return abs(observed - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12


@pytest.mark.parametrize("profile", [*TEAM, EXPERT], ids=lambda p: p.name)
def test_error_rates_follow_the_profile(profile):
    pos, neg = rates(profile, True), rates(profile, False)
    assert within(pos["skip"], profile.skip, N)
    assert within(1 - pos["yes"], profile.miss, N)
    assert within(neg["yes"], profile.false_alarm, N)
    assert within(pos["unsure"], profile.unsure, N)
    assert within(pos["right_category"], 1 - profile.wrong_category * (1 - 1 / len(CATS)), N)


def test_answers_are_deterministic_and_differ_between_annotators():
    unit = {"unit_id": "trk_1", "sensitive": True, "category": "violence", "severity": 3}
    assert answer(unit, TEAM[0], CATS, 7) == answer(unit, TEAM[0], CATS, 7)
    many = [{"unit_id": f"u{i}", "sensitive": True, "category": "violence", "severity": 3}
            for i in range(500)]
    a = [answer(u, TEAM[0], CATS, 7).get("sensitive") for u in many]
    b = [answer(u, TEAM[1], CATS, 7).get("sensitive") for u in many]
    assert a != b  # independent errors: the annotators disagree on some units


def test_overlap_share_of_units_gets_the_whole_team():
    picks = [labelers(f"u{i}", TEAM, 0.3, 1) for i in range(N)]
    assert within(np.mean([len(p) == len(TEAM) for p in picks]), 0.3, N)
    assert all(len(p) in (1, len(TEAM)) for p in picks)
