"""A realistic synthetic catalogue and recommendation log, deterministic from a seed.

Tracks and podcast episodes with long-tail popularity, skewed markets, languages and genres (some
groups small), creator groups, release years, an explicit flag, a hidden sensitive-content truth
(written apart, in ``truth.parquet``), a ``risk_score`` that is an informative but imperfect
classifier score of it and a SIMULATED model label per category (``model_<field>_simulated``,
:mod:`curation.demo.model`); impressions with popularity bias, positions, surfaces, markets and user
age bands (including under-18).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from schemas.io import write_parquet

from .model import model_columns, model_fields

MARKETS = np.array(["US", "BR", "DE", "GB", "MX", "SE", "JP", "IN", "NG", "IS"])
MARKET_P = np.array([0.30, 0.15, 0.12, 0.10, 0.08, 0.07, 0.07, 0.06, 0.04, 0.01])
MARKET_LANG = np.array(["en", "pt", "de", "en", "es", "sv", "ja", "hi", "en", "is"])
TRACK_GENRES = np.array(["pop", "hiphop", "rock", "electronic", "latin", "classical", "jazz",
                         "folk", "metal", "kids"])
TRACK_GENRE_P = np.array([0.24, 0.18, 0.14, 0.12, 0.09, 0.06, 0.05, 0.05, 0.04, 0.03])
EPISODE_GENRES = np.array(["news", "comedy", "true_crime", "education", "society"])
EPISODE_GENRE_P = np.array([0.25, 0.25, 0.15, 0.2, 0.15])
GENRE_RISK = {"hiphop": 0.9, "metal": 0.8, "true_crime": 1.2, "comedy": 0.5, "news": 0.6,
              "kids": -2.0, "classical": -1.5, "jazz": -0.8, "education": -0.7}
CREATOR_GROUPS = np.array(["major_label", "independent", "self_published"])
CREATOR_GROUP_P = np.array([0.35, 0.45, 0.20])
CATEGORIES = np.array(["sexual_content", "hate_harassment", "self_harm", "violence",
                       "dangerous_acts", "misinformation"])
AGE_BANDS = np.array(["13-17", "18-24", "25-34", "35-44", "45-54", "55+"])
AGE_P = np.array([0.12, 0.25, 0.25, 0.18, 0.12, 0.08])
SURFACES = np.array(["home", "search", "radio", "playlist", "podcast_shelf"])
WORDS = np.array(["night", "river", "city", "summer", "heart", "fire", "road", "dream", "light",
                  "gold", "storm", "echo", "wild", "blue", "home", "signal"])
CUE_WORDS = {"sexual_content": "explicit intimacy",
             "hate_harassment": "slurs aimed at a group",
             "self_harm": "self-harm described", "violence": "graphic violence",
             "dangerous_acts": "dangerous stunts encouraged",
             "misinformation": "false health claims"}
START = np.datetime64("2026-10-04T00:00:00", "s")


@dataclass(frozen=True)
class DemoData:
    """Paths of the generated files."""

    catalogue: Path
    recommendations: Path
    truth: Path


def _ids(prefix: str | np.ndarray, idx: np.ndarray, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(idx.astype(str), width))


def make_catalogue(n_items: int, rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
    """The catalogue table and its hidden truth table."""
    is_track = rng.random(n_items) < 0.8
    idx = np.arange(n_items)
    item_id = np.where(is_track, _ids("trk_", idx, 8), _ids("ep__", idx, 8))
    market = rng.choice(MARKETS, n_items, p=MARKET_P)
    primary = dict(zip(MARKETS, MARKET_LANG, strict=True))
    lang = np.where(rng.random(n_items) < 0.25, "en",
                    np.vectorize(primary.get, otypes=[object])(market)).astype(str)
    genre = np.where(is_track, rng.choice(TRACK_GENRES, n_items, p=TRACK_GENRE_P),
                     rng.choice(EPISODE_GENRES, n_items, p=EPISODE_GENRE_P))
    n_creators = max(10, n_items // 20)
    productivity = 1.0 / np.arange(1, n_creators + 1) ** 0.8
    creator_idx = rng.choice(n_creators, n_items, p=productivity / productivity.sum())
    creator_group_of = np.random.default_rng(rng.integers(2**32)).choice(
        CREATOR_GROUPS, n_creators, p=CREATOR_GROUP_P)
    creator_group = creator_group_of[creator_idx]
    release_year = (2026 - np.minimum(rng.geometric(0.12, n_items) - 1, 66)).astype(np.int64)
    boost = np.select([creator_group == "major_label", creator_group == "independent"],
                      [3.0, 1.0], 0.4)
    popularity = np.round((rng.pareto(1.1, n_items) + 1.0) * boost, 4)
    explicit_p = np.where(np.isin(genre, ["hiphop"]), 0.45,
                          np.where(genre == "metal", 0.3, np.where(is_track, 0.06, 0.15)))
    explicit = rng.random(n_items) < explicit_p
    genre_effect = np.vectorize(lambda g: GENRE_RISK.get(g, 0.0), otypes=[float])(genre)
    logit_p = -4.3 + 1.4 * explicit + genre_effect + 0.4 * (creator_group == "self_published")
    sensitive = rng.random(n_items) < 1.0 / (1.0 + np.exp(-logit_p))
    category = rng.choice(CATEGORIES, n_items, p=[0.25, 0.15, 0.1, 0.25, 0.15, 0.1])
    severity = np.where(sensitive, rng.choice([1, 2, 3], n_items, p=[0.5, 0.35, 0.15]), 0)
    noise = rng.normal(0.0, 1.4, n_items)
    risk = 1.0 / (1.0 + np.exp(-(-3.2 + 2.6 * sensitive + 0.7 * explicit + 0.3 * genre_effect
                                 + noise)))
    emb_center = rng.normal(0, 1, (len(TRACK_GENRES) + len(EPISODE_GENRES), 4))
    genre_code = np.searchsorted(np.sort(np.r_[TRACK_GENRES, EPISODE_GENRES]), genre)
    emb = (emb_center[genre_code] + rng.normal(0, 0.6, (n_items, 4))).astype(np.float32)
    w1 = rng.choice(WORDS, n_items)
    w2 = rng.choice(WORDS, n_items)
    title = np.char.add(np.char.add(np.char.capitalize(w1.astype(str)), " "), w2.astype(str))
    cue = np.vectorize(CUE_WORDS.get, otypes=[object])(category)
    cue_shown = sensitive & (rng.random(n_items) < 0.85) | (~sensitive & (rng.random(n_items)
                                                                          < 0.03))
    kind = np.where(is_track, "A song about ", "An episode about ")
    description = np.char.add(np.char.add(kind, w1), np.where(cue_shown, np.char.add(
        " with ", cue.astype(str)), " and everyday life"))
    duration = np.where(is_track, rng.normal(210, 45, n_items).clip(60, 600),
                        rng.normal(2400, 900, n_items).clip(300, 10800)).round().astype(np.int64)
    cols = {
        "item_id": item_id, "item_type": np.where(is_track, "track", "episode"),
        "title": title, "creator_id": _ids("cr_", creator_idx, 7),
        "creator_group": creator_group, "description": description, "genre": genre,
        "language": lang, "market": market, "release_year": release_year,
        "popularity": popularity, "explicit": explicit, "duration_s": duration,
        "risk_score": np.round(risk, 6),
    }
    for k in range(emb.shape[1]):
        cols[f"emb_{k}"] = emb[:, k]
    catalogue = pa.table({k: pa.array(v) for k, v in cols.items()})
    truth = pa.table({"item_id": pa.array(item_id), "sensitive": pa.array(sensitive),
                      "category": pa.array(np.where(sensitive, category, None)),
                      "severity": pa.array(severity.astype(np.int64))})
    return catalogue, truth


def make_recommendations(catalogue: pa.Table, n_impressions: int,
                         rng: np.random.Generator) -> pa.Table:
    """An impression log with popularity bias, home-market bias and positions 1..20."""
    n_users = max(100, n_impressions // 40)
    user_market = rng.choice(MARKETS, n_users, p=MARKET_P)
    user_age = rng.choice(AGE_BANDS, n_users, p=AGE_P)
    activity = rng.pareto(1.5, n_users) + 1.0
    user = rng.choice(n_users, n_impressions, p=activity / activity.sum())
    item_market = catalogue.column("market").to_numpy(zero_copy_only=False)
    pop = catalogue.column("popularity").to_numpy()
    item_type = catalogue.column("item_type").to_numpy(zero_copy_only=False)
    explicit = catalogue.column("explicit").to_numpy(zero_copy_only=False)
    items = np.empty(n_impressions, dtype=np.int64)
    teen = user_age[user] == "13-17"
    for m in MARKETS:
        for is_teen in (False, True):
            who = np.flatnonzero((user_market[user] == m) & (teen == is_teen))
            if who.size:
                # home-market bias; under-18 users get fewer explicit items, but not none
                p = pop ** 1.1 * np.where(item_market == m, 4.0, 1.0) \
                    * np.where(explicit & is_teen, 0.4, 1.0)
                items[who] = rng.choice(len(pop), who.size, p=p / p.sum())
    position = np.minimum(rng.zipf(1.4, n_impressions), 20).astype(np.int64)
    surface = np.where(item_type[items] == "episode",
                       rng.choice(["podcast_shelf", "home", "search"], n_impressions,
                                  p=[0.6, 0.3, 0.1]),
                       rng.choice(["home", "search", "radio", "playlist"], n_impressions,
                                  p=[0.45, 0.15, 0.25, 0.15]))
    seconds = np.sort(rng.integers(0, 28 * 86400, n_impressions))
    served_at = (START + seconds.astype("timedelta64[s]")).astype("datetime64[us]")
    item_ids = catalogue.column("item_id").to_numpy(zero_copy_only=False)
    return pa.table({
        "impression_id": pa.array(_ids("imp_", np.arange(n_impressions), 10)),
        "user_id": pa.array(_ids("u_", user, 8)),
        "item_id": pa.array(item_ids[items]),
        "surface": pa.array(surface),
        "position": pa.array(position),
        "served_at": pa.array(served_at, pa.timestamp("us", tz="UTC")),
        "market": pa.array(user_market[user]),
        "user_age_band": pa.array(user_age[user]),
    })


def with_model(catalogue: pa.Table, truth: pa.Table, seed: int) -> pa.Table:
    """The catalogue with the simulated model's probability columns appended (its own random
    stream: the other columns are unchanged)."""
    sensitive = truth.column("sensitive").to_numpy(zero_copy_only=False)
    category = np.asarray(truth.column("category").to_pylist(), dtype=object)
    columns = model_columns(sensitive, category, CATEGORIES, seed)
    for field in model_fields(columns):
        catalogue = catalogue.append_column(field, columns[field.name])
    return catalogue


def generate(outdir: str | Path, items: int = 20_000, impressions: int = 100_000,
             seed: int = 0) -> DemoData:
    """Write ``catalogue.parquet``, ``recommendations.parquet`` and ``truth.parquet``."""
    outdir = Path(outdir)
    rng = np.random.default_rng(seed)
    catalogue, truth = make_catalogue(items, rng)
    recs = make_recommendations(catalogue, impressions, rng)
    catalogue = with_model(catalogue, truth, seed)
    out = DemoData(outdir / "catalogue.parquet", outdir / "recommendations.parquet",
                   outdir / "truth.parquet")
    write_parquet(out.catalogue, catalogue)
    write_parquet(out.recommendations, recs)
    write_parquet(out.truth, truth)
    return out
