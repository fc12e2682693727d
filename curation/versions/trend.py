"""Trends: a curated dataset's estimates over every tagged version, and what changed last.

:func:`trend_series` estimates each wave as ``curate estimate`` would (same function, same
columns) from the dataset as DVC recorded it at each tag, read without checkout, and stacks
them with leading ``version, commit, date`` columns. :func:`latest_change` is the change from
the previous wave to the latest (:func:`~curation.estimation.change.change_table`) with FDR
alerts. :func:`trend_figure` draws estimate and interval over versions per y;
:func:`plots_table` is the same series wide (one column per y and domain) for ``dvc plots``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from schemas import VersionError

from .repository import repo_root
from .revisions import Wave, read_dataset, waves_with

LEADING = ["version", "commit", "date"]
PLOT_METRICS = ("proportion", "mean")


@dataclass(frozen=True)
class Trend:
    """The tidy series, the change since the previous wave (None when no y is 0/1), the
    waves used and the tags skipped for not holding the dataset."""

    series: object
    change: object | None
    waves: tuple[Wave, ...]
    skipped: tuple[str, ...]


def trend_series(repo: str | Path, dataset: str, ys: list[str], domain: str | None = None,
                 level: float = 0.95, pattern: str = "*", fdr: float = 0.05) -> Trend:
    """Estimates of ``ys`` (per ``domain``) at every tagged version holding ``dataset``.

    A VersionError when fewer than two tags (matching ``pattern``) hold it: a trend needs two
    waves.
    """
    import pandas as pd

    from curation.estimation.alerts import flag_changes
    from curation.estimation.change import change_table
    from curation.estimation.tidy import estimate_table, y_values

    root = repo_root(repo)
    found, skipped = waves_with(root, dataset, pattern)
    if len(found) < 2:
        have = ", ".join(w.version for w, _ in found) or "none"
        raise VersionError(f"a trend needs at least two tagged versions holding {dataset} "
                           f"(tags matching {pattern!r} that hold it: {have}"
                           + (f"; without it: {', '.join(skipped)}" if skipped else "") + ")")
    parts, loaded = [], []
    for wave, snap in found:
        df, manifest, _ = read_dataset(root, wave.version, dataset, snapshot=snap)
        source = f"{wave.version}:{snap.relative(dataset)}"
        table = estimate_table(df, list(ys), domain=domain, level=level, manifest=manifest,
                               source=source)
        lead = pd.DataFrame({"version": wave.version, "commit": wave.commit, "date": wave.date},
                            index=table.index)
        parts.append(pd.concat([lead, table], axis=1))
        loaded.append((df, manifest, source))
    series = pd.concat(parts, ignore_index=True)
    (df_a, man_a, src_a), (df_b, man_b, src_b) = loaded[-2], loaded[-1]
    binary = [y for y in ys if y_values(df_a, y, src_a)[1] and y_values(df_b, y, src_b)[1]]
    change = None
    if binary:
        column, _, value = (domain or "").partition("=")
        change = change_table(df_a, man_a, df_b, man_b, binary, column or None, level,
                              sources=(src_a, src_b))
        if value:  # --domain COL=VALUE: that domain (and 'all') only
            change = change[change["domain"].isin(["all", domain])].reset_index(drop=True)
        change = flag_changes(change, fdr, level)
        change.insert(0, "version_b", found[-1][0].version)
        change.insert(0, "version_a", found[-2][0].version)
    return Trend(series, change, tuple(w for w, _ in found), tuple(skipped))


def _series_name(y: str, domain: str) -> str:
    """A column name Vega-Lite takes as a plain field (no dots or brackets)."""
    return re.sub(r"[.\[\]\\]", "_", f"{y} {domain}")


def plots_table(series):
    """The series wide for ``dvc plots``: ``wave`` (1 = oldest), ``version``, then one column
    per y and domain (the proportion, or the mean of a non-0/1 y)."""
    import pandas as pd

    rows = series[series["metric"].isin(PLOT_METRICS)]
    order = list(dict.fromkeys(series["version"]))
    wide = rows.assign(series=[_series_name(y, d) for y, d in zip(rows["y"], rows["domain"],
                                                                   strict=True)]) \
        .pivot_table(index="version", columns="series", values="estimate", aggfunc="first",
                     sort=False).reindex(order)
    out = pd.DataFrame({"wave": range(1, len(order) + 1), "version": order})
    return pd.concat([out, wide.reset_index(drop=True)], axis=1)


def plots_snippet(path: str, columns: list[str], title: str) -> str:
    """The ``plots:`` entry of ``dvc.yaml`` that draws :func:`plots_table`'s file."""
    ys = "\n".join(f"          - {c}" for c in columns)
    return (f"plots:\n  - {path}:\n      x: wave\n      y:\n{ys}\n      template: simple\n"
            f"      title: {title}\n      x_label: wave (1 = oldest tag; see the version "
            f"column)\n      y_label: estimate\n")


def trend_figure(series, target: str | Path) -> None:
    """PNG of estimate and interval over versions, one panel per y, a line per domain."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from schemas.io import atomic_path

    rows = series[series["metric"].isin(PLOT_METRICS)]
    ys = list(dict.fromkeys(rows["y"]))
    versions = list(dict.fromkeys(series["version"]))
    fig = Figure(figsize=(7, 3.2 * max(len(ys), 1)))
    FigureCanvasAgg(fig)  # the Agg canvas, set here by the code that draws
    for k, y in enumerate(ys or ["(no proportion or mean)"]):
        ax = fig.add_subplot(max(len(ys), 1), 1, k + 1)
        groups = list(rows[rows["y"] == y].groupby("domain", sort=False))
        for j, (domain, part) in enumerate(groups):
            shift = (j - (len(groups) - 1) / 2) * min(0.08, 0.4 / len(groups))  # dodge
            x = [versions.index(v) + shift for v in part["version"]]
            est = part["estimate"].to_numpy(float)
            err = np.maximum([est - part["ci_low"].to_numpy(float),
                              part["ci_high"].to_numpy(float) - est], 0.0)
            ax.errorbar(x, est, yerr=err, marker="o", capsize=3, label=str(domain))
        ax.set_xticks(range(len(versions)), versions)
        ax.set_title(f"{y}: estimate and interval per version")
        ax.set_ylabel("estimate")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
