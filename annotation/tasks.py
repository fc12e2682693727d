"""Blinded Label Studio tasks from a sample: what an annotator needs, and nothing else.

A task's ``data`` is built from an allow-list, never by copying the sample row: the opaque
``unit_id``, the item as shown (title, creator, a description or transcript excerpt, type,
genre, language, explicit flag, duration, an audio player that loads nothing until played)
and, for an impression, where and to whom it was shown, coarsened (surface, a position band,
the month, market, age band). Design weights, inclusion probabilities, strata, PRNs, risk
scores and user ids never enter it, not even as a pseudonym: a stable user reference beside age
band, market, surface and time would let an annotator link one listener's recommendations
across tasks and profile them, which judging the content never needs. The mapping from units to
users stays in the local sample file.
"""

from __future__ import annotations

import math
from html import escape

import pandas as pd
import pyarrow as pa

from schemas.errors import SchemaError

ITEM_FIELDS = ("title", "creator", "description", "context", "item_type", "genre", "language",
               "explicit", "duration_s")
IMPRESSION_FIELDS = ("impression", "surface", "position_band", "served_month", "market",
                     "user_age_band")
NEVER = ("design_weight", "inclusion_prob", "stratum", "prn", "risk_score", "user_id",
         "user_ref", "position", "served_at", "served_on")
POSITION_BANDS = ((1, 3, "top 3"), (4, 10, "positions 4-10"), (11, None, "below position 10"))
JOINED = ("title", "creator_id", "creator_name", "description", "transcript", "item_type",
          "genre", "language", "explicit", "duration_s", "audio_url")


def sample_kind(columns: list[str]) -> str:
    """``impression`` for a sample of the recommendation log, else ``catalogue``."""
    return "impression" if "impression_id" in columns else "catalogue"


def _clean(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item"):
        v = v.item()
    return v


def _excerpt(text, limit: int) -> str:
    text = "" if text is None else " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _duration(seconds) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def join_items(sample: pd.DataFrame, catalogue: pa.Table | None, source: str,
               extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Impression rows with the item fields of the catalogue (``item_id`` join)."""
    if "title" in sample.columns or catalogue is None:
        if "title" not in sample.columns:
            raise SchemaError("an impression sample does not carry the items' titles and "
                              "descriptions: pass the catalogue with --catalogue", source=source)
        return sample
    cols = [c for c in JOINED + extra
            if c in catalogue.column_names and c not in sample.columns]
    items = catalogue.select(["item_id", *cols]).to_pandas()
    out = sample.merge(items, on="item_id", how="left", validate="many_to_one")
    missing = out["title"].isna().to_numpy() if "title" in out else None
    if missing is None or missing.any():
        ids = sorted(set(out.loc[missing, "item_id"]))[:5] if missing is not None else []
        raise SchemaError(f"{int(missing.sum()) if missing is not None else len(out)} "
                          f"impression(s) name items missing from the catalogue (e.g. {ids})",
                          source=source)
    return out


def build_tasks(sample: pa.Table, catalogue: pa.Table | None = None,
                predictions: bool = False, excerpt_chars: int = 600, threshold: float = 0.5,
                source: str = "sample") -> list[dict]:
    """One Label Studio task per sample row, in sample order (see the module doc).

    Parameters
    ----------
    sample : the sample table (validated by the caller).
    catalogue : the catalogue, joined on ``item_id`` when an impression sample lacks item fields.
    predictions : add a pre-annotation of ``sensitive`` from ``risk_score`` ≥ ``threshold``
        (off by default: pre-annotations anchor annotators).
    """
    frame = sample.to_pandas()
    kind = sample_kind(list(frame.columns))
    if kind == "impression":
        frame = join_items(frame, catalogue, source, ("risk_score",) if predictions else ())
    if predictions and "risk_score" not in frame.columns:
        raise SchemaError("--predictions needs a 'risk_score' column in the sample",
                          source=source)
    tasks = []
    for row in frame.to_dict("records"):
        row = {k: _clean(v) for k, v in row.items()}
        data = {"unit_id": str(row["unit_id"])}
        data.update(_item_data(row, excerpt_chars))
        if kind == "impression":
            data.update(_impression_data(row))
        if row.get("audio_url"):
            data["audio"] = audio_player(str(row["audio_url"]))
        task = {"data": data}
        if predictions and row.get("risk_score") is not None:
            yes = float(row["risk_score"]) >= threshold
            task["predictions"] = [{"model_version": "risk_score", "result": [
                {"from_name": "sensitive", "to_name": "description", "type": "choices",
                 "value": {"choices": ["yes" if yes else "no"]}}]}]
        tasks.append(task)
    return tasks


def audio_player(url: str) -> str:
    """A plain HTML player of ``url`` that loads nothing until played (``preload="none"``):
    Label Studio's own audio tag fetches its file as soon as the task opens, before the
    annotator has read the transcript or asked to listen.

    Examples
    --------
    >>> audio_player("https://cdn.example/a.mp3?x=1&y=2")
    '<audio controls preload="none" src="https://cdn.example/a.mp3?x=1&amp;y=2"></audio>'
    """
    return f'<audio controls preload="none" src="{escape(url, quote=True)}"></audio>'


def _item_data(row: dict, excerpt_chars: int) -> dict:
    text = row.get("description") or row.get("transcript")
    explicit = row.get("explicit")
    parts = [row.get("item_type"), row.get("genre"), row.get("language"),
             "explicit" if explicit else ("clean" if explicit is not None else None),
             _duration(row.get("duration_s")) or None]
    return {
        "title": str(row.get("title") or "(untitled)"),
        "creator": str(row.get("creator_name") or row.get("creator_id") or "(unknown creator)"),
        "description": _excerpt(text, excerpt_chars) or "(no description)",
        "context": " · ".join(str(p) for p in parts if p not in (None, "")),
        "item_type": row.get("item_type"), "genre": row.get("genre"),
        "language": row.get("language"), "explicit": None if explicit is None else bool(explicit),
        "duration_s": row.get("duration_s"),
    }


def position_band(position) -> str | None:
    """``top 3``, ``positions 4-10`` or ``below position 10``: where, not exactly where."""
    if position is None:
        return None
    p = int(position)
    for lo, hi, name in POSITION_BANDS:
        if p >= lo and (hi is None or p <= hi):
            return name
    return None


def _impression_data(row: dict) -> dict:
    served = row.get("served_at")
    month = pd.Timestamp(served).strftime("%Y-%m") if served is not None else None
    age = row.get("user_age_band")
    band = position_band(row.get("position"))
    text = (f"Recommended on the {row.get('surface')} surface"
            + (f", {band}" if band else "")
            + (f", in {month}" if month else "")
            + (f", to a user aged {age}" if age else "")
            + (f" in {row.get('market')}" if row.get("market") else "") + ".")
    return {"impression": text, "surface": row.get("surface"), "position_band": band,
            "served_month": month, "market": row.get("market"), "user_age_band": age}
