"""The report's first section: the answers, then what they rest on.

Built from the numbers the other sections recorded (so it can never disagree with them): the
audit's date and version, the headline prevalence of every label with its interval and the
domain where it is highest, the change since the previous wave and the groups flagged
(significant after Benjamini–Hochberg), the groups whose share of recommendations differs most
from their share of the catalogue (only where the interval excludes parity), what the model
saves, and the design with the caveats a reader must weigh: units without a final label, the
nonresponse assumption, strata no unit covers, domains with too few units, and the reviewers'
heaviest day.
"""

from __future__ import annotations

import math
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from .assembly import Builder, Section
from .model import FEW_POSITIVES

MAX_GAPS = 5


def _pct(p: float) -> str:
    return "n/a" if p is None or not math.isfinite(p) else f"{100 * p:.2f}%"


def version_of(folder: Path) -> str:
    """``tag (commit)`` of the git repository holding ``folder`` (which may not exist yet:
    a pipeline removes a stage's outputs before it runs), or '' outside one."""
    folder = Path(folder).resolve()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True,
                                  text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return ""
    tag = git("describe", "--tags", "--exact-match", "HEAD")
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") \
        else ""
    return f"{tag} (commit {commit}{dirty})" if tag else f"commit {commit}{dirty}"


def _headlines(numbers: dict) -> list[str]:
    """One line per label (``sensitive``, ...) and source, one line of every category of a
    source; a number an estimates table already gave is not repeated."""
    out, seen, categories = [], set(), {}
    for name, metrics in numbers.get("estimates", {}).items():
        for y, domains in (metrics.get("proportion") or {}).items():
            overall = domains.get("all")
            if not overall:
                continue
            key = (y, overall.get("n"), round(overall.get("estimate") or 0.0, 12))
            if key in seen:  # the same number from an estimates table
                continue
            seen.add(key)
            if y.startswith("cat_"):
                categories.setdefault(name, []).append(
                    f"{y.removeprefix('cat_')} {_pct(overall['estimate'])} "
                    f"({_pct(overall['ci_low'])}–{_pct(overall['ci_high'])})")
                continue
            line = (f"{y}: {_pct(overall['estimate'])} (CI {_pct(overall['ci_low'])}–"
                    f"{_pct(overall['ci_high'])}; {overall.get('n')} labeled units; {name})")
            rest = {d: v for d, v in domains.items() if d != "all"
                    and v.get("estimate") is not None and math.isfinite(v["estimate"])}
            if rest:
                top, v = max(rest.items(), key=lambda kv: kv[1]["estimate"])
                line += (f"; highest in {top}: {_pct(v['estimate'])} (CI {_pct(v['ci_low'])}–"
                         f"{_pct(v['ci_high'])})")
            out.append(line)
    out += [f"per category ({name}; CI in brackets): {', '.join(parts)}"
            for name, parts in categories.items()]
    return out


def _gaps(numbers: dict) -> list[str]:
    found = []
    for columns in numbers.get("representation", {}).values():
        for column, groups in columns.items():
            for group, v in groups.items():
                lo, hi, ratio = v.get("ratio_ci_low"), v.get("ratio_ci_high"), v.get("ratio")
                if None in (lo, hi, ratio) or lo <= 1.0 <= hi or ratio <= 0:
                    continue
                found.append((abs(math.log(ratio)), f"{column}={group}: {ratio:.2f}× its "
                              f"catalogue share in recommendations (CI {lo:.2f}–{hi:.2f})"))
    return [text for _, text in sorted(found, reverse=True)[:MAX_GAPS]]


def _pp(d: float | None) -> str:
    return "n/a" if d is None or not math.isfinite(d) else f"{100 * d:+.2f} pp"


def _changes(numbers: dict) -> tuple[list[str], list[str]]:
    """(the overall change of every label, the flagged groups' changes) of every wave pair."""
    overall, flagged = [], []
    for name, ys in numbers.get("change", {}).items():
        tested = sum(len(domains) for domains in ys.values())
        never = [y for y, domains in ys.items() if (a := domains.get("all"))
                 and a["estimate_a"] == 0 and a["estimate_b"] == 0]
        for y, domains in ys.items():
            a = domains.get("all")
            if a and y not in never:
                overall.append(f"{y}: {_pct(a['estimate_a'])} → {_pct(a['estimate_b'])} "
                               f"({_pp(a['difference'])}, CI {_pp(a['ci_low'])} to "
                               f"{_pp(a['ci_high'])}; {name})")
            for d, v in domains.items():
                if v.get("flagged") and d != "all":
                    flagged.append(f"{y} in {d}: {_pp(v['difference'])} (CI "
                                   f"{_pp(v['ci_low'])} to {_pp(v['ci_high'])}; "
                                   f"{_pct(v['estimate_a'])} → {_pct(v['estimate_b'])})")
        if never:
            overall.append(f"no positive label in either wave: {', '.join(never)} ({name})")
        if not any(v.get("flagged") for domains in ys.values()
                   for d, v in domains.items() if d != "all"):
            flagged.append(f"{name}: no group's change is significant after "
                           f"Benjamini–Hochberg over the {tested} changes tested")
    return overall, flagged


def _model(numbers: dict) -> list[str]:
    """Per audit: the model's agreement, bias and worth on each non-category label, then the
    range of its sensitivity and specificity over the categories."""
    out = []
    for name, parts in numbers.get("model", {}).items():
        cats = []
        for y, c in parts.get("confusion", {}).items():
            if y.startswith("cat_"):
                cats.append(c)
                continue
            line = (f"{name}, {y}: the model ({c['model']}) agrees with people on "
                    f"{c['units']} units with sensitivity {_pct(c['sensitivity'])} and "
                    f"specificity {_pct(c['specificity'])}; bias {_pp(c['bias'])} (CI "
                    f"{_pp(c['bias_ci_low'])} to {_pp(c['bias_ci_high'])})")
            e = parts.get("estimates", {}).get(y)
            if e and e.get("effective_labels") is not None \
                    and math.isfinite(e["effective_labels"]):
                line += (f"; with it the {e['labels']} human labels are worth "
                         f"{e['effective_labels']:.0f} ({_pct(e['with_model'])} vs "
                         f"{_pct(e['people_only'])} from people alone"
                         + (f"; but only {e['positives']} positive labels: the model-"
                            f"assisted interval and that saving rest on too few positives to "
                            f"trust)" if e.get("positives", 0) < FEW_POSITIVES else ")"))
            out.append(line)
        if cats:
            out.append(f"{name}, {len(cats)} categories: sensitivity "
                       f"{_span([c['sensitivity'] for c in cats])}, specificity "
                       f"{_span([c['specificity'] for c in cats])} (per category in the "
                       f"model section)")
    return out


def _span(values: list) -> str:
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return "n/a (no positive label)"
    lo, hi = min(known), max(known)
    return _pct(lo) if lo == hi else f"{_pct(lo)}–{_pct(hi)}"


def _design(numbers: dict) -> list[str]:
    out = []
    for name, s in numbers.get("samples", {}).items():
        line = (f"{name}: {s.get('design') or 'sample'} of {s.get('n')} units in "
                f"{s.get('strata')} strata")
        if s.get("population_rows"):
            line += f" from {s['population_rows']:,} population units"
        unsampled = s.get("unsampled_strata") or []
        if unsampled:
            line += (f"; {len(unsampled)} stratum(s) got no unit, so no estimate speaks for "
                     f"them: {', '.join(map(str, unsampled[:6]))}"
                     + (" …" if len(unsampled) > 6 else ""))
        out.append(line)
    for name, a in numbers.get("annotation", {}).items():
        empty = sorted(h for h, v in (a.get("by_stratum") or {}).items()
                       if v.get("units") and v.get("final") == 0)
        if empty:
            out.append(f"{name}: {len(empty)} stratum(s) without a single final label yet "
                       f"(uncovered): {', '.join(empty[:6])}" + (" …" if len(empty) > 6 else ""))
    return out


def _caveats(numbers: dict, caveats: list[str]) -> list[str]:
    out = _design(numbers)
    for name, a in numbers.get("annotation", {}).items():
        if a.get("without_label"):
            out.append(f"{name}: {a['without_label']} of {a['units']} units have no final label "
                       f"yet ({_pct(a.get('share_without_label'))}); the estimates treat them "
                       f"as missing at random within their cells, and their worst-case bounds "
                       f"show how much that carries")
    out += list(dict.fromkeys(caveats))
    for name, metrics in numbers.get("estimates", {}).items():
        thin = sorted({d for domains in (metrics.get("proportion") or {}).values()
                       for d, v in domains.items() if d != "all" and (v.get("n") or 0) < 10})
        if thin:
            out.append(f"{name}: {len(thin)} domain(s) with fewer than 10 labeled units "
                       f"(wide intervals): {', '.join(thin[:6])}"
                       + (" …" if len(thin) > 6 else ""))
    for name, people in numbers.get("exposure", {}).items():
        if people:
            worst = max(people.values(), key=lambda v: v.get("busiest_day") or 0)
            out.append(f"{name}: the most items one reviewer judged sensitive on one day: "
                       f"{worst.get('busiest_day', 0)} (see the exposure table; `curate push "
                       f"--budget` caps it)")
    return out


def summary_section(ctx: Builder, caveats: list[str], when: datetime | None = None
                    ) -> Section:
    """The answers first: date, version, headline prevalence, representation gaps, caveats."""
    out = Section()
    when = when or datetime.now(UTC)
    version = version_of(Path(ctx.outdir).resolve().parent) or "not in a git repository"
    out.page.heading("In short")
    out.page.keyvalues({"audit date": when.strftime("%Y-%m-%d %H:%M UTC"),
                        "version": version,
                        "confidence level": f"{ctx.inputs.level:.0%}"})
    heads = _headlines(ctx.numbers)
    out.page.heading("How prevalent is sensitive content?", 3)
    out.page.bullets(heads or ["no estimates table was given (`curate estimate` makes one)"])
    changed, flagged = _changes(ctx.numbers)
    if ctx.numbers.get("change"):
        out.page.heading("Has it changed since the previous wave?", 3)
        out.page.bullets(changed)
        out.page.heading("Which groups changed? (flagged at a false-discovery rate of "
                         f"{ctx.inputs.fdr:.0%})", 3)
        out.page.bullets(flagged)
    model = _model(ctx.numbers)
    if model:
        out.page.heading("How good is the model, and what does it save?", 3)
        out.page.bullets(model)
    gaps = _gaps(ctx.numbers)
    if ctx.numbers.get("representation"):
        out.page.heading("Which groups are over- or under-represented in recommendations?", 3)
        out.page.bullets(gaps or ["no group's share of recommendations differs from its "
                                  "share of the catalogue beyond its interval"])
    out.page.heading("The design, and what the numbers rest on", 3)
    out.page.bullets(_caveats(ctx.numbers, caveats) or ["every sampled unit has a final "
                                                            "label"])
    out.numbers["summary"] = {"audit_date": when.isoformat(), "version": version,
                              "headlines": heads, "representation_gaps": gaps,
                              "change": changed, "flagged": flagged, "model": model}
    return out
