"""How informative a model is, from a labeled pilot: what a planner needs to count the human
labels a model saves.

Everything is weighted by the pilot's design weights (after the nonresponse adjustment that
:func:`~.pilot.pilot_estimate` applies), so a pilot drawn by importance sampling still speaks for
the population:

* a 0/1 model label: sensitivity ``P(f=1 | y=1)``, specificity ``P(f=0 | y=0)``, the model's
  positive rate ``q`` and the prevalence among model positives and negatives;
* any prediction (a label or a probability): the weighted regression of ``y`` on ``f``
  (intercept and slope), its residual variance ``S_e²`` and ``R² = 1 − S_e²/S_y²`` with
  ``S_y² = p(1−p)``: the share of the label's variance a GREG estimator with that prediction
  removes under simple random sampling (``V_GREG ≈ (1−R²) V_SRS``). The same regression within
  each pilot stratum is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas import DesignError, SchemaError
from schemas.validate import rows_where

from .. import nonresponse
from ..inputs import load_sample
from ..survey_design import recognise
from .pilot import Pilot, pilot_estimate


@dataclass(frozen=True)
class ModelPilot:
    """A pilot's label ``y`` and model prediction ``f`` (respondents, with their weights)."""

    pilot: Pilot
    pred_col: str
    y: np.ndarray
    f: np.ndarray
    weight: np.ndarray
    strata: np.ndarray

    @property
    def binary(self) -> bool:
        """True when the prediction is a 0/1 label."""
        return bool(np.isin(self.f, (0.0, 1.0)).all())

    @property
    def p(self) -> float:
        return self.pilot.p

    @property
    def N(self) -> float:
        """The population size the pilot's weights estimate."""
        return float(self.weight.sum())

    def confusion(self) -> dict[str, float]:
        """Sensitivity, specificity, positive rate ``q`` and prevalence among the model's
        positives (``ppv``) and negatives (``p_neg``), weighted; for a 0/1 prediction."""
        w, y, f = self.weight, self.y, self.f
        pos, neg = w[f == 1].sum(), w[f == 0].sum()
        return {"sensitivity": float(np.sum(w * y * f) / np.sum(w * y)),
                "specificity": float(np.sum(w * (1 - y) * (1 - f)) / np.sum(w * (1 - y))),
                "q": float(pos / w.sum()),
                "ppv": float(np.sum(w * y * f) / pos) if pos > 0 else float("nan"),
                "p_neg": float(np.sum(w * y * (1 - f)) / neg) if neg > 0 else float("nan")}

    def r2(self, mask: np.ndarray | None = None) -> float:
        """``R²`` of the weighted regression of y on f (of the masked units): 0 for a useless
        or constant prediction, never below 0."""
        m = np.ones(self.y.size, bool) if mask is None else mask
        return r_squared(self.y[m], self.f[m], self.weight[m])

    def by_stratum(self) -> pd.DataFrame:
        """Per pilot stratum: units, positives, prevalence and the R² of y on f."""
        rows = []
        for h in np.unique(self.strata):
            m = self.strata == h
            w = self.weight[m]
            rows.append({"stratum": h, "n": int(m.sum()), "positives": int(self.y[m].sum()),
                         "p_h": float(np.sum(w * self.y[m]) / w.sum()), "R2_h": self.r2(m)})
        return pd.DataFrame(rows)


def r_squared(y: np.ndarray, f: np.ndarray, w: np.ndarray) -> float:
    """``1 − S_e²/S_y²`` of the weighted least-squares fit ``y ~ a + b f``, clipped to [0, 1].

    >>> y = np.array([0., 0., 1., 1.]); round(r_squared(y, y, np.ones(4)), 6)
    1.0
    >>> r_squared(y, np.array([.3, .3, .3, .3]), np.ones(4))
    0.0
    """
    W = w.sum()
    yb, fb = np.sum(w * y) / W, np.sum(w * f) / W
    syy = np.sum(w * (y - yb) ** 2)
    sff = np.sum(w * (f - fb) ** 2)
    if syy <= 0 or sff <= 0:
        return 0.0
    sfy = np.sum(w * (f - fb) * (y - yb))
    return float(np.clip(sfy ** 2 / (sff * syy), 0.0, 1.0))


def model_pilot(df: pd.DataFrame, manifest=None, y: str = "sensitive", pred_col: str = "",
                source: str = "PILOT") -> ModelPilot:
    """The pilot's prevalence (:func:`~.pilot.pilot_estimate`) and its units' label, model
    prediction and weight. Refuses (one line each) a prediction column that is missing, the
    label itself, not numeric, null or outside [0, 1] on a responding unit, and a pilot with
    no positive (nothing then says how the model treats positives)."""
    if pred_col == y:
        raise SchemaError(f"--pred-col {pred_col!r} is the label column --y: the model's "
                          f"prediction must be a column of its own", source=source)
    if pred_col not in df.columns:
        raise SchemaError(f"the pilot has no prediction column {pred_col!r} (pass --pred-col; "
                          f"columns: {list(df.columns)[:20]})", source=source)
    if y in df.columns and not df[y].isna().all():
        labels = pd.to_numeric(df.loc[nonresponse.respondents(df), y], errors="coerce")
        if labels.notna().all() and labels.isin((0, 1)).all() and not (labels == 1).any():
            raise DesignError(f"{source}: the pilot has no positive for {y!r} among its "
                              f"{labels.size} labeled units, so it cannot say how the model "
                              f"treats positives; label a larger (or score-driven) pilot")
    pilot = pilot_estimate(df, manifest, y, source=source)
    design = recognise(df, manifest, source=source)
    responded = nonresponse.respondents(df)
    if not responded.all():
        design, _ = nonresponse.adjust(design, responded)
    resp = df.loc[responded].reset_index(drop=True)
    f = _numeric(resp[pred_col], pred_col, source)
    bad = ~np.isfinite(f) | (f < 0) | (f > 1)
    if bad.any():
        raise SchemaError(f"prediction column {pred_col!r}: {int(bad.sum())} value(s) null or "
                          f"outside [0, 1] at {rows_where(bad)} of the responding units",
                          source=source)
    yv = resp[y].astype(np.float64).to_numpy()
    strata = np.asarray(design.labels, object)[design.codes].astype(str)
    return ModelPilot(pilot, pred_col, yv, f, np.asarray(design.weight, np.float64), strata)


def load_model_pilot(path, y: str = "sensitive", pred_col: str = "") -> ModelPilot:
    """:func:`model_pilot` of a labeled sample file (read by ``inputs.load_sample``)."""
    df, manifest, _ = load_sample(path)
    return model_pilot(df, manifest, y, pred_col, source=str(path))


def population_predictions(population: pd.DataFrame, pred_col: str,
                           source: str = "population") -> np.ndarray:
    """The model's prediction for every population unit: present, numeric, in [0, 1]."""
    if pred_col not in population.columns:
        raise SchemaError(f"no prediction column {pred_col!r} (for --pred-col; the population "
                          f"has {list(population.columns)[:12]})", source=source)
    f = _numeric(population[pred_col], pred_col, source)
    bad = ~np.isfinite(f) | (f < 0) | (f > 1)
    if bad.any():
        raise SchemaError(f"prediction column {pred_col!r}: {int(bad.sum())} value(s) null or "
                          f"outside [0, 1] at {rows_where(bad)}", source=source)
    return f


def _numeric(values: pd.Series, column: str, source: str) -> np.ndarray:
    """A prediction column as float64 (booleans are 0/1, nulls NaN), or a SchemaError."""
    try:
        return values.astype(np.float64).to_numpy()
    except (TypeError, ValueError):
        raise SchemaError(f"prediction column {column!r} is not numeric ({values.dtype})",
                          source=source) from None
