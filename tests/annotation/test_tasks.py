"""Impression tasks carry no user reference, and their context is coarse (no server needed)."""

import pandas as pd
import pyarrow as pa

from annotation.tasks import IMPRESSION_FIELDS, NEVER, build_tasks, position_band


def impressions() -> pa.Table:
    """Three impressions of one listener and one of another, on consecutive days."""
    return pa.Table.from_pandas(pd.DataFrame({
        "unit_id": ["i1", "i2", "i3", "i4"], "impression_id": ["i1", "i2", "i3", "i4"],
        "user_id": ["listener-7", "listener-7", "listener-7", "listener-9"],
        "item_id": ["a", "b", "c", "d"], "surface": ["home", "home", "search", "home"],
        "position": [1, 2, 7, 14],
        "served_at": pd.to_datetime(["2026-11-01 10:00", "2026-11-02 11:30",
                                     "2026-11-03 09:00", "2026-11-01 10:05"], utc=True),
        "market": "SE", "user_age_band": ["13-17", "13-17", "13-17", "13-17"],
        "title": ["t1", "t2", "t3", "t4"], "creator_id": "c", "item_type": "track",
        "stratum": "all", "inclusion_prob": 0.5, "design_weight": 2.0, "prn": 0.1}),
        preserve_index=False)


def test_impression_tasks_carry_no_user_identifier_not_even_a_pseudonym():
    tasks = build_tasks(impressions())
    for t in tasks:
        assert not set(t["data"]) & set(NEVER)
        assert "user" not in " ".join(k for k in t["data"] if k != "user_age_band")
        dump = repr(t["data"])
        assert "listener" not in dump and "u_" not in dump


def test_impression_context_is_coarse_so_one_listeners_tasks_do_not_stand_out():
    tasks = build_tasks(impressions())
    ctx = [tuple(t["data"][f] for f in IMPRESSION_FIELDS if f != "impression") for t in tasks]
    # the first two impressions of listener-7 and the one of listener-9 look alike
    assert ctx[0] == ctx[1] != ctx[3]
    assert tasks[0]["data"]["served_month"] == "2026-11"
    assert "position 1" not in tasks[0]["data"]["impression"]
    assert [position_band(p) for p in (1, 3, 4, 10, 11, 500)] == [
        "top 3", "top 3", "positions 4-10", "positions 4-10", "below position 10",
        "below position 10"]
