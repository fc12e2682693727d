"""The report's figures (matplotlib, headless): each function returns PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COLORS = {"population": "#4c72b0", "sample": "#dd8452", "weighted": "#55a868"}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def composition_figure(table: pd.DataFrame, variable: str, title: str) -> bytes:
    """Grouped bars: population share, sample share and weighted sample share per group."""
    t = table[table["variable"] == variable].sort_values("population_share", ascending=False)
    x = np.arange(len(t))
    width = 0.27
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(t) + 2), 3.4))
    ax.bar(x - width, t["population_share"], width, label="population", color=COLORS["population"])
    ax.bar(x, t["sample_share"], width, label="sample (unweighted)", color=COLORS["sample"])
    ax.bar(x + width, t["weighted_share"], width, label="sample (weighted)",
           color=COLORS["weighted"])
    ax.set_xticks(x, t["group"], rotation=45, ha="right")
    ax.set_ylabel("share")
    ax.set_title(f"{title}: {variable}")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def interval_figure(table: pd.DataFrame, title: str, xlabel: str = "estimate",
                    reference: float | None = None) -> bytes:
    """Point estimates with confidence-interval error bars, one row per label."""
    t = table.reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    est = t["estimate"].to_numpy(float)
    lo = np.clip(est - t["ci_low"].to_numpy(float), 0, None)
    hi = np.clip(t["ci_high"].to_numpy(float) - est, 0, None)
    fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.38 * len(t) + 1.0)))
    ax.errorbar(est, y, xerr=[lo, hi], fmt="o", color="#333333", ecolor="#4c72b0",
                capsize=3)
    if reference is not None:
        ax.axvline(reference, color="#c44e52", lw=1, ls="--")
    ax.set_yticks(y, t["label"])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def status_figure(counts: pd.Series, title: str) -> bytes:
    """Horizontal bars of annotation status counts (unanimous, majority, ..., unlabeled)."""
    fig, ax = plt.subplots(figsize=(6.0, max(1.6, 0.4 * len(counts) + 1.0)))
    ax.barh(counts.index[::-1], counts.to_numpy()[::-1], color="#8172b3")
    for i, v in enumerate(counts.to_numpy()[::-1]):
        ax.text(v, i, f" {int(v)}", va="center", fontsize=8)
    ax.set_xlabel("units")
    ax.set_title(title)
    return _png(fig)
