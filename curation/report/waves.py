"""Change since the previous wave and the trend over versions, for the report.

The change of every label's prevalence, overall and per group, from the previous wave's curated
table to this wave's comes from :func:`curation.estimation.change.change_table` (the covariance
of units in both waves counted, MOVER intervals built from each wave's own honest interval).
Across many groups and labels a handful of "significant" changes happen by chance, so a change
is *flagged* only when it survives the Benjamini–Hochberg step at the false-discovery level
``fdr`` (two-sided p-values read from each change's honest interval,
:func:`curation.estimation.alerts.change_p_values`). The
trend is the tidy series ``curate trend`` writes (one row per version × y × domain, the
estimate-table columns).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from curation.estimation.alerts import flag_changes
from curation.estimation.change import change_table
from curation.estimation.inputs import load_sample
from schemas import SchemaError
from schemas.storage import readable

from .assembly import Builder, Section
from .figures import interval_figure, trend_figure
from .prevalence import label_fields

TREND_COLUMNS = ("version", "y", "domain", "estimate", "ci_low", "ci_high")


def _common_domains(a: pd.DataFrame, b: pd.DataFrame, wanted: list[str]) -> list[str]:
    return [c for c in dict.fromkeys(wanted) if c in a and c in b]


def wave_change(ctx: Builder, previous: Path, current: Path, fdr: float) -> pd.DataFrame:
    """Change of every label field of both waves, overall and per group column both tables
    hold, with a ``p_value`` and ``flagged`` (Benjamini–Hochberg at ``fdr``) per row."""
    df_a, man_a, _ = load_sample(previous)
    df_b, man_b, _ = load_sample(current)
    ys = [y for y in label_fields(df_b) if y in df_a]
    if not ys:
        raise SchemaError(f"the previous wave shares no label field (sensitive, cat_*) with "
                          f"{current}", source=str(previous))
    strat = [c for m in (man_a, man_b) if m is not None
             for c in ((m.design.get("strata_spec") or {}).get("columns") or [])]
    domains = _common_domains(df_a, df_b, [*ctx.groups, *strat])
    parts = []
    for i, domain in enumerate(domains or [None]):
        t = change_table(df_a, man_a, df_b, man_b, ys, domain, ctx.inputs.level,
                         sources=(str(previous), str(current)))
        parts.append(t if i == 0 else t[t["domain"] != "all"])
    table = pd.concat(parts, ignore_index=True)
    return flag_changes(table, fdr, ctx.inputs.level)


def change_section(ctx: Builder, previous: Path, current: Path, fdr: float) -> Section:
    """Did prevalence change since the previous wave, and where? One change figure per label
    (difference with its interval per group), the table, and the flagged groups."""
    out = Section()
    table = wave_change(ctx, previous, current, fdr)
    name = f"{Path(previous).stem}_to_{Path(current).stem}"
    out.page.heading(f"Change per label and group ({previous.name} → {current.name})", 3)
    out.page.paragraph(
        f"Difference = this wave's prevalence minus the previous wave's, with the covariance "
        f"of the {int(table['overlap_units'].max()) if len(table) else 0} units in both waves "
        f"counted ({table['coordination'].iloc[0] if len(table) else ''} coordination). "
        f"Flagged: significant after Benjamini–Hochberg at a false-discovery rate of "
        f"{fdr:.0%} over the {len(table)} changes tested.", "note")
    for y, g in table.groupby("y", sort=False):
        g = g.assign(label=g["domain"].astype(str)
                     + np.where(g["flagged"], " (flagged)", ""),
                     estimate=g["difference"])
        out.add_figure(interval_figure(g, f"change in prevalence of {y} since the previous "
                                          f"wave", "difference (this wave − previous)", 0.0),
                       f"change_{name}_{y}", f"Change in prevalence of {y} per group with "
                                             f"its confidence interval (0: no change)")
    shown = table[["y", "domain", "estimate_a", "estimate_b", "difference", "ci_low", "ci_high",
                   "p_value", "flagged", "n_a", "n_b", "overlap_units"]]
    out.page.table(shown.rename(columns={"estimate_a": "previous", "estimate_b": "this wave"}))
    out.add_table(table, f"change_{name}")
    out.numbers["change"] = {name: _nested(table)}
    return out


def _nested(table: pd.DataFrame) -> dict:
    out: dict = {}
    for r in table.to_dict(orient="records"):
        out.setdefault(r["y"], {})[r["domain"]] = {
            k: r[k] for k in ("estimate_a", "estimate_b", "difference", "ci_low", "ci_high",
                              "p_value", "flagged", "overlap_units")}
    return out


def read_trend(path: Path) -> pd.DataFrame:
    """The tidy series of ``curate trend`` (CSV or Parquet), proportions only, in version
    order (by date when given, else as written)."""
    if not path.exists():
        raise SchemaError("no such file", source=str(path))
    try:
        frame = (pd.read_parquet(readable(path)) if path.suffix.lower() == ".parquet"
                 else pd.read_csv(readable(path)))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot read the trend table: {exc}", source=str(path)) from None
    missing = [c for c in TREND_COLUMNS if c not in frame]
    if missing:
        raise SchemaError(f"trend table lacks column(s) {missing} (write it with `curate "
                          f"trend`)", source=str(path))
    if "metric" in frame:
        frame = frame[frame["metric"] == "proportion"]
    frame = frame.assign(version=frame["version"].astype(str))
    if "date" in frame:
        first = frame.groupby("version", sort=False)["date"].min().sort_values(kind="stable")
        order = {v: i for i, v in enumerate(first.index)}
    else:
        order = {v: i for i, v in enumerate(dict.fromkeys(frame["version"]))}
    return frame.assign(_order=frame["version"].map(order)).sort_values(
        "_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def trend_section(ctx: Builder, path: Path, flagged: list[str]) -> Section:
    """How has prevalence moved over versions? Estimate and interval per version, per label,
    for 'all' and the flagged groups."""
    out = Section()
    frame = read_trend(path)
    versions = list(dict.fromkeys(frame["version"]))
    out.page.heading(f"How has it moved over the audit's versions? ({path.name})", 3)
    if len(versions) < 2:
        out.page.paragraph(f"Only {len(versions)} version in {path.name}: no trend to draw.",
                           "note")
        return out
    for y, g in frame.groupby("y", sort=False):
        domains = ["all", *[d for d in flagged if d in set(g["domain"])]]
        out.add_figure(trend_figure(g[g["domain"].isin(domains)], versions,
                                    f"prevalence of {y} over versions"),
                       f"trend_{path.stem}_{y}",
                       f"Prevalence of {y} per version with its confidence interval: all "
                       f"units" + (f" and the flagged groups ({', '.join(domains[1:])})"
                                   if len(domains) > 1 else ""))
    last = frame[frame["version"] == versions[-1]]
    out.numbers["trend"] = {path.stem: {"versions": versions, "latest": {
        f"{r.y}|{r.domain}": r.estimate for r in last.itertuples()
        if isinstance(r.estimate, float) and math.isfinite(r.estimate)}}}
    return out
