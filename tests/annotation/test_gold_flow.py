"""Gold units through a real Label Studio: mixed into the queue by `curate push --gold`, looking
like any task, their truth kept locally, set aside by `curate build --gold`, and measuring the
annotators in `curate estimate --gold-labels`."""

import pandas as pd
import pyarrow.parquet as pq
import pytest

from annotation.connection import client
from annotation.projects import find_project, tasks_by_unit
from annotation.templates import to_result
from tests.cli import run

pytestmark = pytest.mark.studio


@pytest.fixture(scope="module")
def gold_flow(studio, demo, tmp_path_factory):
    where = tmp_path_factory.mktemp("gold")
    sample = pq.read_table(demo["s60"]).to_pandas()
    catalogue = pq.read_table(demo["catalogue"]).to_pandas()
    spare = catalogue[~catalogue.item_id.isin(sample.item_id)].head(60).copy()
    spare["unit_id"] = spare["item_id"]
    spare["sensitive"] = [k < 10 for k in range(60)]  # 10 positive, 50 negative known answers
    gold = where / "gold.parquet"
    spare.to_parquet(gold, index=False)
    code, text = run("push", demo["s60"], "--project", "gold-review", "--dir", where,
                     "--gold", gold, "--gold-rate", 0.5, env=studio.env())
    assert code == 0, text
    return where, sample, spare, gold, text


def test_gold_tasks_are_mixed_in_and_look_like_the_others(studio, gold_flow):
    where, sample, spare, _, text = gold_flow
    assert "60 gold unit(s) mixed in" in text
    truth = pd.read_parquet(where / "gold" / "gold-review.parquet")
    assert sorted(truth.unit_id) == sorted(spare.unit_id)
    assert (where / "gold" / "gold-review.parquet").stat().st_mode & 0o777 == 0o600  # answer key
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, "gold-review")
    tasks = list(ls.tasks.list(project=project.id, fields="all", page_size=1000))
    assert len(tasks) == 120
    keys = {frozenset(t.data) for t in tasks}
    assert len(keys) == 1  # gold and sample tasks carry the same fields
    (fields,) = keys
    assert not {"sensitive", "severity"} & fields and not any("gold" in f for f in fields)
    order = [t.data["unit_id"] in set(spare.unit_id) for t in sorted(tasks, key=lambda t: t.id)]
    assert 0 < sum(order[:60]) < 60  # interleaved, not appended


def test_gold_labels_are_set_aside_by_build_and_measure_the_annotators(studio, demo, gold_flow):
    where, sample, spare, gold, _ = gold_flow
    ls = client(studio.conn)
    project = find_project(ls, studio.conn, "gold-review")
    units = [*sample.unit_id, *spare.unit_id]
    tasks = tasks_by_unit(ls, studio.conn, project.id, units)
    truth = dict(zip(spare.unit_id, spare.sensitive, strict=True))
    wrong = {spare.unit_id.iloc[0], spare.unit_id.iloc[-1]}  # a miss and a false alarm
    own = client(studio.annotator("ann1"))
    for i, unit in enumerate(units):
        answer = (truth[unit] != (unit in wrong)) if unit in truth else i % 20 == 0
        own.annotations.create(id=tasks[unit][0]["id"], result=to_result(answer), lead_time=3.0)
    labels = where / "labels.parquet"
    code, text = run("pull", "--project", "gold-review", "-o", labels, "--dir", where,
                     env=studio.env())
    assert code == 0, text
    curated = where / "curated.parquet"
    code, text = run("build", demo["s60"], labels, "-o", curated)
    assert code == 1 and "--gold" in text and not curated.exists()
    truth_file = where / "gold" / "gold-review.parquet"
    code, text = run("build", demo["s60"], labels, "-o", curated, "--gold", truth_file)
    assert code == 0, text
    assert "gold: 60 annotation(s) of 60 gold unit(s) set aside" in text
    assert len(pq.read_table(curated)) == 60
    out = where / "est.csv"
    # s60 holds a one-unit stratum (IS): the Poisson-type variance needs no second unit
    code, text = run("estimate", curated, "-o", out, "--y", "sensitive", "--gold-labels",
                     truth_file, "--labels", labels, "--design", "poisson")
    assert code == 0, text
    assert "sensitivity 0.900" in text and "specificity 0.98" in text
    table = pd.read_csv(out)
    assert "proportion_adjusted" in set(table.metric)


@pytest.mark.parametrize("rate, message", [(0.7, "[0, 0.5]"), (-0.1, "[0, 0.5]")])
def test_bad_gold_rate_is_one_line_and_pushes_nothing(studio, demo, tmp_path, rate, message):
    spare = pq.read_table(demo["catalogue"]).to_pandas().tail(40)
    spare["unit_id"], spare["sensitive"] = spare["item_id"], False
    gold = tmp_path / "gold.parquet"
    spare.to_parquet(gold, index=False)
    where = tmp_path / "studio"
    code, text = run("push", demo["s60"], "--project", "gold-bad", "--dir", where, "--gold",
                     gold, "--gold-rate", rate, env=studio.env())
    assert code == 1 and message in text and len(text.strip().splitlines()) == 1, text
    assert not (where / "gold").exists() and not (where / "ledgers").exists()
    ls = client(studio.conn)
    assert find_project(ls, studio.conn, "gold-bad") is None
