"""The report's figures (matplotlib, headless): each function returns PNG bytes."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

COLORS = {"population": "#4c72b0", "sample": "#dd8452", "weighted": "#55a868"}
PARTS = ("#55a868", "#ccb974", "#c44e52", "#8c8c8c")  # done, doubtful, missing, other


def _subplots(*args, figsize: tuple[float, float], layout: str | None = None, **kwargs):
    """pyplot's ``subplots`` without pyplot: a figure of its own, drawn by Agg when saved, so
    that no backend is chosen (no ``matplotlib.use``) and no global figure registry is kept."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(*args, **kwargs)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})
    return buf.getvalue()


def _legend_below(ax, ncol: int) -> None:
    """A legend under the plot, clear of the data (the figure needs constrained layout)."""
    ax.figure.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=ncol,
                     frameon=False, fontsize=8)


def composition_figure(table: pd.DataFrame, variable: str, title: str) -> bytes:
    """Grouped bars: population share, sample share and weighted sample share per group."""
    t = table[table["variable"] == variable].sort_values("population_share", ascending=False)
    x = np.arange(len(t))
    width = 0.27
    fig, ax = _subplots(figsize=(max(5.0, 0.6 * len(t) + 2), 3.4))
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
    fig, ax = _subplots(figsize=(6.4, max(1.6, 0.38 * len(t) + 1.0)))
    ax.errorbar(est, y, xerr=np.vstack([lo, hi]), fmt="o", color="#333333",
                ecolor="#4c72b0",
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
    fig, ax = _subplots(figsize=(6.0, max(1.6, 0.4 * len(counts) + 1.0)))
    ax.barh(counts.index[::-1], counts.to_numpy()[::-1], color="#8172b3")
    for i, v in enumerate(counts.to_numpy()[::-1]):
        ax.text(v, i, f" {int(v)}", va="center", fontsize=8)
    ax.set_xlabel("units")
    ax.set_title(title)
    return _png(fig)


def stacked_figure(frame: pd.DataFrame, index: str, parts: list[str], title: str,
                   xlabel: str = "units") -> bytes:
    """Horizontal stacked bars of ``parts`` per row of ``frame`` (e.g. counted, unsure,
    skipped per annotator; final, unresolved, unlabeled per stratum)."""
    t = frame.reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    fig, ax = _subplots(figsize=(6.4, max(2.0, 0.32 * len(t) + 1.4)), layout="constrained")
    left = np.zeros(len(t))
    for part, color in zip(parts, PARTS, strict=False):
        values = t[part].to_numpy(float)
        ax.barh(y, values, left=left, color=color, label=part)
        left += values
    ax.set_yticks(y, t[index].astype(str))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    _legend_below(ax, len(parts))
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def representation_figure(table: pd.DataFrame, title: str) -> bytes:
    """Left: catalogue share and exposure share (with CI) per group. Right: their ratio with
    its CI on a log scale, 1 marking proportional exposure."""
    t = table.sort_values("catalogue_share", ascending=True).reset_index(drop=True)
    y = np.arange(len(t))
    fig, (left, right) = _subplots(1, 2, figsize=(9.6, max(2.0, 0.4 * len(t) + 1.5)),
                                      sharey=True, layout="constrained")
    h = 0.38
    left.barh(y + h / 2, t["catalogue_share"], h, color=COLORS["population"],
              label="catalogue share")
    exp = t["exposure_share"].to_numpy(float)
    err = [np.clip(exp - t["exposure_ci_low"].to_numpy(float), 0, None),
           np.clip(t["exposure_ci_high"].to_numpy(float) - exp, 0, None)]
    left.barh(y - h / 2, exp, h, xerr=np.vstack(err), color=COLORS["sample"],
              ecolor="#333333",
              capsize=2, label="exposure share (recommendations)")
    left.set_yticks(y, t["group"].astype(str))
    left.set_xlabel("share")
    _legend_below(left, 2)
    left.grid(axis="x", alpha=0.3)
    ok = t["ratio"].to_numpy(float) > 0
    r = t["ratio"].to_numpy(float)[ok]
    rerr = [r - t["ratio_ci_low"].to_numpy(float)[ok], t["ratio_ci_high"].to_numpy(float)[ok] - r]
    right.errorbar(r, y[ok], xerr=np.vstack(rerr), fmt="o", color="#333333", ecolor="#4c72b0",
                   capsize=3)
    for yy in y[~ok]:
        right.text(1.0, yy, "no sampled impression", va="center", ha="center", fontsize=8,
                   color="#c44e52")
    right.axvline(1.0, color="#c44e52", lw=1, ls="--")
    right.set_xscale("log")
    right.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    right.xaxis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:g}" if round(v / 10 ** np.floor(np.log10(v))) in (2, 5) else ""))
    right.tick_params(axis="x", which="minor", labelsize=7)
    right.set_xlabel("representation ratio (exposure / catalogue share)")
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(title)
    return _png(fig)


def prevalence_figure(table: pd.DataFrame, title: str, ncols: int = 4) -> bytes:
    """Small multiples: one panel per label field, prevalence per group with its CI."""
    fields = list(dict.fromkeys(table["field"]))
    groups = sorted(table["group"].unique())
    nrows = -(-len(fields) // ncols)
    cols = min(ncols, len(fields))
    row = 0.3 * len(groups) + 0.8  # inches of one panel; 0.6 more between rows for titles
    fig, axes = _subplots(nrows, cols, squeeze=False, sharey=True,
                             figsize=(2.6 * cols + 1.2, nrows * (row + 0.6)))
    fig.subplots_adjust(hspace=0.6 / row, wspace=0.12)
    y = {g: i for i, g in enumerate(groups[::-1])}
    for ax, field in zip(axes.flat, fields, strict=False):
        t = table[table["field"] == field]
        est = t["estimate"].to_numpy(float)
        err = [np.clip(est - t["ci_low"].to_numpy(float), 0, None),
               np.clip(t["ci_high"].to_numpy(float) - est, 0, None)]
        ax.errorbar(est, [y[g] for g in t["group"]], xerr=np.vstack(err), fmt="o", ms=4,
                    color="#333333", ecolor="#4c72b0", capsize=2)
        ax.set_title(field.removeprefix("cat_"), fontsize=9)
        ax.set_xlim(left=0)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(fields):]:
        ax.axis("off")
    axes[0][0].set_yticks(list(y.values()), list(y.keys()))
    fig.suptitle(title)
    fig.supxlabel("prevalence", fontsize=9)
    return _png(fig)


def agreement_figure(table: pd.DataFrame, title: str) -> bytes:
    """Per label field: Krippendorff's alpha, and the mean pairwise Cohen's kappa with a bar
    from the lowest to the highest pair; undefined values (one value only) are named."""
    t = table.reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    fig, ax = _subplots(figsize=(6.4, max(2.0, 0.4 * len(t) + 1.4)), layout="constrained")
    alpha = t["alpha"].to_numpy(float)
    ax.plot(alpha, y + 0.12, "D", color=COLORS["population"], label="Krippendorff's alpha")
    mean = t["kappa_mean"].to_numpy(float)
    err = [np.nan_to_num(mean - t["kappa_min"].to_numpy(float)),
           np.nan_to_num(t["kappa_max"].to_numpy(float) - mean)]
    ax.errorbar(mean, y - 0.12, xerr=np.vstack(err), fmt="o", color=COLORS["sample"], capsize=3,
                label="Cohen's kappa: pair mean (min–max)")
    for yy, a, k in zip(y, alpha, mean, strict=True):
        if np.isnan(a) and np.isnan(k):
            ax.text(0.0, yy, "undefined (one value only, or too few pairs)", va="center",
                    fontsize=8, color="#777777")
    ax.axvline(0.0, color="#999999", lw=0.8)
    ax.axvline(0.667, color="#c44e52", lw=1, ls="--")
    ax.set_xlim(-1.05, 1.05)
    ax.set_yticks(y, t["field"].astype(str))
    ax.set_xlabel("agreement (1 perfect, 0 chance; dashed: 0.667)")
    ax.set_ylim(-0.6, len(t) - 0.4)
    ax.set_title(title)
    _legend_below(ax, 2)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def trend_figure(table: pd.DataFrame, versions: list[str], title: str) -> bytes:
    """Estimate (line) and confidence interval (band) over ``versions``, one line per domain
    ('all' first, in black)."""
    fig, ax = _subplots(figsize=(6.8, 3.4), layout="constrained")
    x = {v: i for i, v in enumerate(versions)}
    palette = iter(["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"])
    for domain, g in table.groupby("domain", sort=False):
        g = g.assign(_x=g["version"].map(x)).sort_values("_x")
        color = "#222222" if domain == "all" else next(palette, "#8c8c8c")
        ax.fill_between(g["_x"], g["ci_low"].astype(float), g["ci_high"].astype(float),
                        color=color, alpha=0.15, lw=0)
        ax.plot(g["_x"], g["estimate"].astype(float), "o-", color=color, label=str(domain))
    ax.set_xticks(list(x.values()), list(x.keys()), rotation=30, ha="right")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("prevalence")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    _legend_below(ax, min(4, table["domain"].nunique()))
    return _png(fig)
