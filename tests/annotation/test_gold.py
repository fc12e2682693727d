"""Gold units mixed into the review queue: indistinguishable, truth kept local, bad input."""

import pandas as pd
import pyarrow as pa
import pytest

from annotation.gold import gold_count, mix_gold
from annotation.tasks import build_tasks
from schemas import AnnotationError, SchemaError


def items(prefix, n, start=0):
    return pd.DataFrame({
        "unit_id": [f"{prefix}{k:05d}" for k in range(start, start + n)],
        "item_id": [f"{prefix}{k:05d}" for k in range(start, start + n)],
        "title": [f"Track {k}" for k in range(start, start + n)],
        "creator_id": "c1", "creator_name": "Someone", "description": "words " * 20,
        "item_type": "track", "genre": "pop", "language": "en", "explicit": False,
        "duration_s": 200})


@pytest.fixture
def tasks():
    return build_tasks(pa.Table.from_pandas(items("it", 40), preserve_index=False))


@pytest.fixture
def gold():
    g = items("it", 30, start=900)
    g["sensitive"] = [k % 3 == 0 for k in range(30)]
    g["severity"] = [2 if k % 3 == 0 else None for k in range(30)]
    return g


def test_gold_tasks_look_like_sample_tasks_and_truth_stays_local(tasks, gold):
    mixed, truth = mix_gold(tasks, gold, rate=0.2, seed=3)
    assert len(mixed) == 40 + gold_count(40, 0.2) == 50  # 10 of 50 = 20% of the queue
    assert [t["data"]["unit_id"] for t in mixed if t["data"]["unit_id"] < "it00900"] == \
        [t["data"]["unit_id"] for t in tasks]  # sample order kept
    gold_tasks = [t for t in mixed if t["data"]["unit_id"] in set(truth.unit_id)]
    assert len(gold_tasks) == 10
    for t in gold_tasks:
        assert list(t) == ["data"] and list(t["data"]) == list(tasks[0]["data"])
        assert "sensitive" not in t["data"] and "severity" not in t["data"]
    assert truth.columns[0] == "unit_id" and set(truth.unit_id) <= set(gold.unit_id)
    assert truth["sensitive"].dtype == bool and "severity" in truth
    assert "title" not in truth  # task fields are sent, not kept with the truth
    positions = [k for k, t in enumerate(mixed) if t["data"]["unit_id"] >= "it00900"]
    assert positions != list(range(40, 50))  # spread among the sample's tasks, not appended
    assert tasks[0]["data"] is not mixed[0]["data"]  # inputs untouched


def test_same_seed_same_queue_other_seed_other_queue(tasks, gold):
    a = mix_gold(tasks, gold, 0.2, seed=3)
    b = mix_gold(tasks, gold, 0.2, seed=3)
    c = mix_gold(tasks, gold, 0.2, seed=4)
    assert a[0] == b[0] and a[1].equals(b[1])
    assert [t["data"]["unit_id"] for t in a[0]] != [t["data"]["unit_id"] for t in c[0]]


def test_gold_with_rendered_task_fields_is_used_verbatim(tasks, gold):
    rendered = pd.DataFrame([t["data"] for t in build_tasks(
        pa.Table.from_pandas(gold.drop(columns=["sensitive", "severity"]),
                             preserve_index=False))])
    rendered["sensitive"] = gold["sensitive"]
    mixed, truth = mix_gold(tasks, rendered, 0.1, seed=1)
    ours = {t["data"]["unit_id"]: t["data"] for t in mixed}
    theirs = {t["data"]["unit_id"]: t["data"] for t in mix_gold(tasks, gold, 0.1, seed=1)[0]}
    assert ours == theirs and list(truth.columns) == ["unit_id", "sensitive"]


def test_rate_zero_adds_nothing(tasks, gold):
    mixed, truth = mix_gold(tasks, gold, 0.0, seed=1)
    assert mixed == tasks and truth.empty


@pytest.mark.parametrize("rate", [-0.1, 0.51, 2, "x"])
def test_rate_outside_range(tasks, gold, rate):
    with pytest.raises(AnnotationError, match=r"gold rate .* \[0, 0.5\]"):
        mix_gold(tasks, gold, rate, seed=1)


@pytest.mark.parametrize("change, message", [
    (lambda g: g.assign(unit_id=["it00003", *g.unit_id[1:]]), "also sample units"),
    (lambda g: g.drop(columns="sensitive"), "needs column"),
    (lambda g: g.assign(sensitive=[None, *g.sensitive[1:]]), "null in 1 gold row"),
    (lambda g: g.assign(sensitive="maybe"), "must be boolean"),
    (lambda g: g.assign(unit_id=["it00900"] * 30), "duplicate gold unit_id"),
])
def test_bad_gold_sets_are_one_line_schema_errors(tasks, gold, change, message):
    with pytest.raises(SchemaError, match=message) as e:
        mix_gold(tasks, change(gold), 0.2, seed=1)
    assert "\n" not in str(e.value)


def test_too_small_a_gold_set_or_predictions_or_other_fields(tasks, gold):
    with pytest.raises(AnnotationError, match="need 40 gold units but the gold set has 30"):
        mix_gold(tasks, gold, 0.5, seed=1)
    with_pred = [{**t, "predictions": []} for t in tasks]
    with pytest.raises(AnnotationError, match="pre-annotations"):
        mix_gold(with_pred, gold, 0.2, seed=1)
    impression_like = [{"data": {**t["data"], "surface": "home"}} for t in tasks]
    with pytest.raises(SchemaError, match=r"missing task field\(s\) \['surface'\]"):
        mix_gold(impression_like, gold, 0.2, seed=1)
