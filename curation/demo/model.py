"""A SIMULATED model label for the demo catalogue: what a team's classifier or an LLM judge would
give for every item, made here from the hidden truth with known error rates.

For ``sensitive`` and each category ``c`` (true when the item is sensitive with category ``c``)
the model says yes with probability :data:`SENSITIVITY` when the truth is yes and
:data:`1 - SPECIFICITY` when it is no; its output is a probability above 0.5 exactly when it
says yes (so thresholding at 0.5 gives back the label). The columns are named
``model_<field>_simulated`` and their Parquet field metadata record ``model_name = simulated``,
so nobody mistakes them for a real model. They come from their own random stream (seeded from
the demo's seed), so every other column of the demo data is what it was without them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

SENSITIVITY = 0.9
SPECIFICITY = 0.995
MODEL_NAME = "simulated"
MODEL_VERSION = "demo-1"
STREAM = 0x6D6F64  # the model's random stream beside the data's: default_rng([seed, STREAM])


def model_column(field: str) -> str:
    """The catalogue column of the simulated model's probability for a label field
    (``sensitive`` or ``cat_<category>``)."""
    return f"model_{field}_simulated"


def model_probability(truth: np.ndarray, rng: np.random.Generator,
                      sensitivity: float = SENSITIVITY,
                      specificity: float = SPECIFICITY) -> np.ndarray:
    """A probability per unit: in (0.5, 1) when the simulated model says yes (with
    probability ``sensitivity`` for a true yes, ``1 − specificity`` for a true no), in
    (0, 0.5) when it says no; rounded to 4 decimals."""
    truth = np.asarray(truth, bool)
    says_yes = rng.random(truth.size) < np.where(truth, sensitivity, 1.0 - specificity)
    # a no spreads over (0, 0.5) (mean ≈ 0.04) rather than sitting at 0: a stratum's GREG
    # slope on a near-constant prediction would be wild when the model misses a positive
    yes = 0.5 + 0.4999 * rng.beta(5.0, 2.0, truth.size)
    no = 0.4999 * rng.beta(1.0, 12.0, truth.size)
    return np.round(np.where(says_yes, np.maximum(yes, 0.5001), np.maximum(no, 0.0001)), 4)


def model_columns(sensitive: np.ndarray, category: np.ndarray, categories: np.ndarray,
                  seed: int) -> dict[str, pa.Array]:
    """The simulated model's columns (``model_sensitive_simulated`` and
    ``model_cat_<c>_simulated`` per category) as Arrow arrays, from the hidden truth."""
    rng = np.random.default_rng([seed, STREAM])
    sensitive = np.asarray(sensitive, bool)
    out = {model_column("sensitive"): model_probability(sensitive, rng)}
    for c in categories:
        out[model_column(f"cat_{c}")] = model_probability(sensitive & (category == c), rng)
    return {k: pa.array(v) for k, v in out.items()}


def model_fields(columns: dict[str, pa.Array]) -> list[pa.Field]:
    """Arrow fields of the model columns, their metadata naming the model as simulated."""
    meta = {"model_name": MODEL_NAME, "model_version": MODEL_VERSION,
            "note": f"SIMULATED from the hidden truth: sensitivity {SENSITIVITY}, "
                    f"specificity {SPECIFICITY}"}
    return [pa.field(name, pa.float64(), metadata=meta) for name in columns]
