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


def test_the_simulated_model_label_is_named_as_such_and_has_its_error_rates(tmp_path):
    """Per label field (sensitive and each category) a probability column named
    ``model_<field>_simulated`` whose 0.5 threshold has sensitivity ≈ 0.9 and specificity
    ≈ 0.995 against the hidden truth (within 4 binomial SE), recorded as model "simulated";
    drawn from its own stream, so every other column is what it was without it."""
    from curation.demo.model import SENSITIVITY, SPECIFICITY, model_column
    from curation.demo.synthetic import CATEGORIES, make_catalogue

    d = generate(tmp_path, items=20_000, impressions=1_000, seed=3)
    cat = pq.read_table(d.catalogue)
    truth = pq.read_table(d.truth).to_pandas()
    fields = ["sensitive", *[f"cat_{c}" for c in CATEGORIES]]
    assert [n for n in cat.column_names if n.startswith("model_")] == [
        model_column(f) for f in fields]
    for field in fields:
        meta = cat.schema.field(model_column(field)).metadata
        assert meta[b"model_name"] == b"simulated" and b"SIMULATED" in meta[b"note"]
        p = cat.column(model_column(field)).to_numpy()
        assert ((p > 0) & (p < 1) & (p != 0.5)).all()
        true = truth["sensitive"].to_numpy() if field == "sensitive" else (
            truth["sensitive"] & (truth["category"] == field.removeprefix("cat_"))).to_numpy()
        for rate, want, where in ((np.mean(p[true] > 0.5), SENSITIVITY, true),
                                  (np.mean(p[~true] < 0.5), SPECIFICITY, ~true)):
            se = np.sqrt(want * (1 - want) / where.sum())
            assert abs(rate - want) < 4 * se, (field, rate, want)
    plain, _ = make_catalogue(20_000, np.random.default_rng(3))
    assert cat.drop_columns([model_column(f) for f in fields]).equals(plain)
