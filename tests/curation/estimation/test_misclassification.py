"""Annotator error inside the estimate: error rates from gold units, Rogan–Gladen, the table and
the CLI (the Monte Carlo is in ``test_misclassification_coverage.py``)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from curation.estimation import (
    ErrorRates,
    SurveyDesign,
    adjusted_proportion,
    annotator_rates,
    estimate_table,
    final_label_rates,
    hajek_mean,
    rogan_gladen,
)
from curation.estimation.intervals import proportion_interval
from curation.estimation.misclassification import check_rates, jeffreys
from schemas import DesignError, SchemaError

# --- Rogan–Gladen and error rates by hand ---------------------------------------------------


def test_rogan_gladen_textbook_values():
    # Rogan & Gladen (1978): p = (p_obs + Sp - 1)/(Se + Sp - 1)
    assert rogan_gladen(0.2, 0.9, 0.95) == pytest.approx(0.15 / 0.85)
    assert rogan_gladen(0.05, 1.0, 1.0) == pytest.approx(0.05)  # perfect labels: unchanged
    # the brief's example: 0.4% prevalence, perfect sensitivity, Sp 0.99 -> 1.4% observed
    observed = 0.004 * 1.0 + 0.996 * 0.01
    assert observed / 0.004 == pytest.approx(3.49, abs=0.01)
    assert rogan_gladen(observed, 1.0, 0.99) == pytest.approx(0.004)
    assert np.allclose(rogan_gladen(np.array([0.1, 0.3]), 0.8, 0.9), [0.0, 2 / 7])


def test_jeffreys_interval_matches_beta_quantiles_and_never_collapses():
    lo, hi = jeffreys(81, 90, 0.95)
    assert lo == pytest.approx(stats.beta.ppf(0.025, 81.5, 9.5))
    assert hi == pytest.approx(stats.beta.ppf(0.975, 81.5, 9.5))
    assert jeffreys(210, 210, 0.95)[0] < 1.0 and jeffreys(210, 210, 0.95)[1] == 1.0


def lab(unit, who, sensitive, stage="review", skipped=False, unsure=False):
    return dict(unit_id=unit, annotator=who, sensitive=sensitive, skipped=skipped,
                unsure=unsure, stage=stage)


@pytest.fixture
def gold_and_labels():
    gold = pd.DataFrame({"unit_id": ["g1", "g2", "g3", "g4", "g5"],
                         "sensitive": [True, True, False, False, False]})
    rows = [
        lab("g1", "a", True), lab("g1", "b", True), lab("g1", "c", False),   # final yes
        lab("g2", "a", False), lab("g2", "b", False), lab("g2", "c", True),  # final no: miss
        lab("g3", "a", True), lab("g3", "b", False), lab("g3", "c", False),  # final no
        lab("g4", "a", True), lab("g4", "b", True), lab("g4", "c", None),    # no vote c: yes
        lab("g5", "a", True, skipped=True), lab("g5", "b", False, unsure=True),  # unresolved
        lab("s1", "a", True), lab("s1", "b", False), lab("s1", "x", True, stage="expert"),
        lab("s2", "a", False), lab("s2", "b", False),  # no expert: not used
    ]
    labels = pd.DataFrame(rows)
    labels["sensitive"] = labels["sensitive"].astype("boolean")
    return gold, labels


def test_final_label_rates_by_hand(gold_and_labels):
    gold, labels = gold_and_labels
    r = final_label_rates(labels, gold)
    # positives g1 (found), g2 (missed); negatives g3 (right), g4 (false alarm); g5 unresolved
    assert (r.true_positives, r.positives, r.true_negatives, r.negatives) == (1, 2, 1, 2)
    assert r.unresolved == 1 and r.sensitivity == 0.5 and r.specificity == 0.5


def test_annotator_rates_by_hand(gold_and_labels):
    gold, labels = gold_and_labels
    t = annotator_rates(labels, gold).set_index("annotator")
    # a: gold votes g1 T(+), g2 F(+), g3 T(-), g4 T(-); expert unit s1 (truth T): T
    assert t.loc["a", ["gold_votes", "expert_votes"]].tolist() == [4, 1]
    assert t.loc["a", ["positives", "true_positives", "negatives", "true_negatives"]].tolist() \
        == [3, 2, 2, 0]
    # b: g1 T, g2 F, g3 F, g4 T (g5 unsure: no vote), s1 F
    assert t.loc["b", ["positives", "true_positives", "negatives", "true_negatives"]].tolist() \
        == [3, 1, 2, 1]
    # c: g1 F, g2 T, g3 F (g4: null, no vote)
    assert t.loc["c", ["positives", "true_positives", "negatives", "true_negatives"]].tolist() \
        == [2, 1, 1, 1]
    assert t.loc["b", "sensitivity"] == pytest.approx(1 / 3)
    assert "x" not in t.index  # the expert is the truth, not an annotator
    only_gold = annotator_rates(labels, gold, expert=False).set_index("annotator")
    assert only_gold.loc["a", "expert_votes"] == 0 and only_gold.loc["a", "positives"] == 2


def test_per_group_final_rates(gold_and_labels):
    gold, labels = gold_and_labels
    gold = gold.assign(bin=["hi", "lo", "hi", "lo", "lo"])
    r = final_label_rates(labels, gold, by="bin")
    assert r["hi"] == ErrorRates(1, 1, 1, 1, 0)
    assert r["lo"] == ErrorRates(0, 1, 0, 1, 1)


@pytest.mark.parametrize("change, message", [
    (lambda g, lb: (g.assign(unit_id=["g1", "g2", "g3", "g4", "zz"]), lb),
     "1 of 5 gold unit(s) have no annotation in the labels"),
    (lambda g, lb: (g.assign(sensitive=[True, None, False, False, False]), lb),
     "null value(s) among gold units"),
    (lambda g, lb: (g.drop(columns="sensitive"), lb), "needs column(s) ['sensitive']"),
    (lambda g, lb: (g, lb.drop(columns="skipped")), "labels table needs column(s)"),
])
def test_bad_gold_inputs_are_one_line_errors(gold_and_labels, change, message):
    gold, labels = change(*gold_and_labels)
    with pytest.raises(SchemaError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")) as e:
        final_label_rates(labels, gold)
    assert "\n" not in str(e.value)


def test_too_few_gold_units_or_chance_labels_are_design_errors():
    with pytest.raises(DesignError, match="6 positive and 60 negative.*add 4 more positive "
                                          "gold unit"):
        check_rates(ErrorRates(5, 6, 58, 60))
    with pytest.raises(DesignError, match="add 10 more negative"):
        check_rates(ErrorRates(20, 20, 38, 40))
    with pytest.raises(DesignError, match="no better than chance.*= 0.000 ≤ 0"):
        check_rates(ErrorRates(10, 20, 30, 60))  # Se + Sp - 1 = 0
    with pytest.raises(DesignError, match=r"Se \+ Sp - 1 = 0.100 but .* about \d+ positive "
                                          r"and \d+ negative gold units are needed"):
        check_rates(ErrorRates(11, 20, 33, 60))  # > 0 but not clearly
    check_rates(ErrorRates(81, 90, 208, 210))


# --- the adjusted proportion --------------------------------------------------------------


def _design(n=1500, pi=0.03):
    return SurveyDesign("poisson", np.zeros(n, int), ("all",), np.full(n, pi), np.full(n, 1 / pi))


def test_adjusted_proportion_single_group_is_rogan_gladen_with_delta_variance():
    rng = np.random.default_rng(3)
    y = (rng.random(1500) < 0.035).astype(float)
    d = _design()
    r = ErrorRates(81, 90, 208, 210)
    a = adjusted_proportion(d, y, r)
    q = hajek_mean(d, y)
    se, sp = r.sensitivity, r.specificity
    j = se + sp - 1
    p = rogan_gladen(q.estimate, se, sp)
    assert a.estimate.estimate == pytest.approx(p) and a.raw == pytest.approx(p)
    v_se, v_sp = r.variances()
    assert v_se == pytest.approx((81.5 / 91) * (9.5 / 91) / 90)
    var = (q.var + p ** 2 * v_se + (1 - p) ** 2 * v_sp) / j ** 2
    assert a.estimate.var == pytest.approx(var, rel=1e-10)
    assert a.ci_low < p < a.ci_high and a.method == "rogan-gladen (gamma + jeffreys Se/Sp)"
    # wider than the observed interval carried over (the error rates' uncertainty is inside)
    q_lo, q_hi, _ = proportion_interval(q, 0.95, "gamma")
    assert a.ci_low < rogan_gladen(q_lo, se, sp) and a.ci_high > rogan_gladen(q_hi, se, sp)


def test_groups_with_equal_rates_match_one_group_and_differ_otherwise():
    rng = np.random.default_rng(4)
    y = (rng.random(1500) < 0.04).astype(float)
    groups = np.where(rng.random(1500) < 0.5, "lo", "hi")
    d = _design()
    r = ErrorRates(81, 90, 208, 210)
    one = adjusted_proportion(d, y, r)
    two = adjusted_proportion(d, y, {"lo": r, "hi": r}, groups=groups)
    assert two.estimate.estimate == pytest.approx(one.estimate.estimate)
    other = adjusted_proportion(d, y, {"lo": r, "hi": ErrorRates(60, 90, 208, 210)},
                                groups=groups)
    assert other.estimate.estimate > one.estimate.estimate  # lower Se in "hi": more found
    with pytest.raises(DesignError, match="no gold error rates for group"):
        adjusted_proportion(d, y, {"lo": r}, groups=groups)


def test_interval_respects_bounds_and_never_collapses():
    d = _design()
    r = ErrorRates(81, 90, 205, 210)
    zero = adjusted_proportion(d, np.zeros(1500), r)
    assert zero.estimate.estimate == 0.0 and zero.ci_low == 0.0 and zero.ci_high > 0.0
    assert zero.raw < 0  # fewer positives observed than false alarms expected: clipped
    few = np.zeros(1500)
    few[:8] = 1  # 0.5% observed < 1 - Sp ≈ 2.4%: Rogan–Gladen below 0
    a = adjusted_proportion(d, few, r)
    assert a.raw < 0 and a.estimate.estimate == 0 and a.ci_low == 0 and a.ci_high > 0


# --- estimate_table and the CLI -----------------------------------------------------------


@pytest.fixture(scope="module")
def curated():
    """A stratified sample with final labels and gold units with their annotations."""
    from samplers import StratifiedSampler

    from .conftest import make_population

    pop = make_population(N=3000, seed=5).rename(columns={"sens": "sensitive"})
    s = StratifiedSampler(n=300, seed=2, strata=["market"], min_per_stratum=2).sample(pop)
    rng = np.random.default_rng(9)
    g_truth = np.r_[np.ones(30, bool), np.zeros(120, bool)]
    gold = pd.DataFrame({"unit_id": [f"it9{k:05d}" for k in range(150)], "sensitive": g_truth})
    said = np.where(g_truth, rng.random(150) < 0.85, rng.random(150) < 0.03)
    labels = pd.DataFrame({"unit_id": gold.unit_id, "annotator": "a", "sensitive": said,
                           "skipped": False, "unsure": False, "stage": "review"})
    return s, gold, labels


def test_estimate_table_adds_adjusted_rows_beside_the_proportions(curated):
    s, gold, labels = curated
    df = s.to_pandas()
    plain = estimate_table(df, ["sensitive", "minutes"], domain="creator_group",
                           manifest=s.manifest)
    out = estimate_table(df, ["sensitive", "minutes"], domain="creator_group",
                         manifest=s.manifest, gold=(gold, labels))
    pd.testing.assert_frame_equal(out[out.metric != "proportion_adjusted"].reset_index(
        drop=True), plain)
    adj = out[out.metric == "proportion_adjusted"]
    assert list(adj.domain) == ["all", "creator_group=indie", "creator_group=major",
                                "creator_group=self"]
    assert (adj.y == "sensitive").all()
    k = out.index[out.metric == "proportion_adjusted"][0]
    assert out.loc[k - 1, "metric"] == "proportion"  # right beside the unadjusted row
    r = final_label_rates(labels, gold)
    p_obs = out.loc[k - 1, "estimate"]
    assert out.loc[k, "estimate"] == pytest.approx(
        max(0.0, rogan_gladen(p_obs, r.sensitivity, r.specificity)))
    assert adj.ci_method.str.startswith("rogan-gladen").all()
    assert adj.assumption.str.contains("30 positive and 120 negative gold units").all()
    assert out.attrs["misclassification"]["sensitive"]["positives"] == 30
    rates = {"sensitive": r}
    same = estimate_table(df, ["sensitive"], manifest=s.manifest, gold=rates)
    assert same[same.metric == "proportion_adjusted"].estimate.item() == pytest.approx(
        adj.estimate.iloc[0])


def test_estimate_table_error_rates_per_group(curated):
    s, _, _ = curated
    df = s.to_pandas()
    df["tier"] = np.where(df.market == "US", "a", "b")
    rng = np.random.default_rng(1)
    truth = np.tile(np.r_[np.ones(15, bool), np.zeros(60, bool)], 2)
    gold = pd.DataFrame({"unit_id": [f"g{k}" for k in range(150)], "sensitive": truth,
                         "tier": np.repeat(["a", "b"], 75)})
    miss = np.where(gold.tier == "a", 0.1, 0.4)  # annotators find fewer positives in tier b
    said = np.where(truth, rng.random(150) >= miss, rng.random(150) < 0.02)
    labels = pd.DataFrame({"unit_id": gold.unit_id, "annotator": "a", "sensitive": said,
                           "skipped": False, "unsure": False})
    out = estimate_table(df, ["sensitive"], manifest=s.manifest, gold=(gold, labels),
                         gold_by="tier")
    adj = out[out.metric == "proportion_adjusted"].iloc[0]
    r = final_label_rates(labels, gold, by="tier")
    w = df.design_weight.to_numpy()
    expected = 0.0
    for g in ("a", "b"):
        m = (df.tier == g).to_numpy()
        q = np.dot(w[m], df.sensitive[m]) / w[m].sum()
        expected += w[m].sum() / w.sum() * rogan_gladen(q, r[g].sensitivity, r[g].specificity)
    assert adj.estimate == pytest.approx(max(expected, 0.0))
    assert set(out.attrs["misclassification"]) == {"sensitive|a", "sensitive|b"}
    with pytest.raises(DesignError, match="gold_by"):
        estimate_table(df, ["sensitive"], manifest=s.manifest, gold={"sensitive": r})


def test_estimate_table_gold_errors(curated):
    s, gold, labels = curated
    df = s.to_pandas()
    clash = pd.concat([gold, pd.DataFrame({"unit_id": [df.unit_id[0]], "sensitive": [True]})])
    with pytest.raises(SchemaError, match="1 gold unit.* also sample units"):
        estimate_table(df, ["sensitive"], manifest=s.manifest, gold=(clash, labels))
    with pytest.raises(DesignError, match="too few gold units"):
        estimate_table(df, ["sensitive"], manifest=s.manifest,
                       gold={"sensitive": ErrorRates(5, 6, 50, 50)})
    with pytest.raises(SchemaError, match="none of the y columns"):
        estimate_table(df, ["minutes"], manifest=s.manifest, gold=(gold, labels))


def test_cli_gold_options(curated, tmp_path):
    import pyarrow as pa
    from click.testing import CliRunner

    from curation.cli.main import cli
    from schemas import write_with_manifest
    from schemas.io import write_parquet

    s, gold, labels = curated
    data = tmp_path / "cur.parquet"
    write_with_manifest(data, s.table, s.manifest)
    g, lb = tmp_path / "gold.parquet", tmp_path / "labels.parquet"
    write_parquet(g, pa.Table.from_pandas(gold, preserve_index=False))
    write_parquet(lb, pa.Table.from_pandas(labels, preserve_index=False))

    def run(*args):
        r = CliRunner().invoke(cli, ["estimate", str(data), *map(str, args)])
        return r.exit_code, r.output

    code, text = run("-o", tmp_path / "e.csv", "--y", "sensitive", "--gold-labels", g,
                     "--labels", lb)
    assert code == 0, text
    assert "proportion_adjusted" in text and "30 positive and 120 negative gold units" in text
    t = pd.read_csv(tmp_path / "e.csv")
    assert (t.metric == "proportion_adjusted").sum() == 1
    code, text = run("-o", g, "--y", "sensitive", "--gold-labels", g, "--labels", lb)
    assert code == 1 and "would overwrite the input" in text
    code, text = run("-o", tmp_path / "f.csv", "--y", "sensitive", "--gold-labels", g)
    assert code == 2 and "go together" in text
    code, text = run("-o", tmp_path / "f.csv", "--y", "sensitive", "--gold-labels",
                     tmp_path / "nope.parquet", "--labels", lb)
    assert code == 1 and "no such file" in text and "Traceback" not in text
    few = tmp_path / "few.parquet"
    write_parquet(few, pa.Table.from_pandas(gold.iloc[25:], preserve_index=False))
    code, text = run("-o", tmp_path / "f.csv", "--y", "sensitive", "--gold-labels", few,
                     "--labels", lb)
    assert code == 1 and "too few gold units" in text
    assert len([ln for ln in text.splitlines() if ln.startswith("Error")]) == 1
