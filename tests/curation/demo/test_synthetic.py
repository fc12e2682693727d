"""The demo data: deterministic, valid against the contracts, realistic in the ways audits need."""

import numpy as np
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from curation.demo.synthetic import generate
from schemas import validate


def test_same_seed_same_bytes_and_contracts_hold(tmp_path):
    a = generate(tmp_path / "a", items=4000, impressions=10_000, seed=1)
    b = generate(tmp_path / "b", items=4000, impressions=10_000, seed=1)
    c = generate(tmp_path / "c", items=4000, impressions=10_000, seed=2)
    assert a.catalogue.read_bytes() == b.catalogue.read_bytes()
    assert a.recommendations.read_bytes() == b.recommendations.read_bytes()
    assert a.catalogue.read_bytes() != c.catalogue.read_bytes()
    validate(pq.read_table(a.catalogue), "catalogue")
    validate(pq.read_table(a.recommendations), "recommendations")


def test_realistic_structure(tmp_path):
    d = generate(tmp_path, items=20_000, impressions=60_000, seed=3)
    cat = pq.read_table(d.catalogue).to_pandas()
    recs = pq.read_table(d.recommendations).to_pandas()
    truth = pq.read_table(d.truth).to_pandas()
    assert "sensitive" not in cat.columns  # the truth is hidden from the catalogue
    assert set(cat.item_type) == {"track", "episode"}
    shares = cat.market.value_counts(normalize=True)
    assert shares.max() > 0.25 and shares.min() < 0.02  # skewed, with a small group
    assert set(cat.creator_group) == {"major_label", "independent", "self_published"}
    pop = np.sort(cat.popularity.to_numpy())[::-1]
    assert pop[: len(pop) // 100].sum() > 0.1 * pop.sum()  # long tail: top 1% hold >10%
    assert 0.01 < truth.sensitive.mean() < 0.08
    auc = roc_auc_score(truth.sensitive, cat.risk_score)
    assert 0.8 < auc < 0.97  # informative but imperfect
    assert "13-17" in set(recs.user_age_band)
    assert recs.position.between(1, 20).all() and recs.position.value_counts().idxmax() == 1
    # popularity bias: recommended items are more popular than the catalogue on average
    assert cat.set_index("item_id").popularity.loc[recs.item_id].mean() > \
        2 * cat.popularity.mean()
