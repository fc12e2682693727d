"""The report's first section: the answers, then what they rest on.

Built from the numbers the other sections recorded (so it can never disagree with them): the
audit's date and version, the headline prevalence of every label with its interval and the
domain where it is highest, the groups whose share of recommendations differs most from their
share of the catalogue (only where the interval excludes parity), and the caveats a reader
must weigh: units without a final label, the nonresponse assumption, domains with too few
units, and the reviewers' heaviest day.
"""

from __future__ import annotations

import math
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from .assembly import Builder, Section

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
    out = []
    for name, metrics in numbers.get("estimates", {}).items():
        for y, domains in (metrics.get("proportion") or {}).items():
            overall = domains.get("all")
            if not overall:
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


def _caveats(numbers: dict, caveats: list[str]) -> list[str]:
    out = []
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
    gaps = _gaps(ctx.numbers)
    if ctx.numbers.get("representation"):
        out.page.heading("Which groups are over- or under-represented in recommendations?", 3)
        out.page.bullets(gaps or ["no group's share of recommendations differs from its "
                                  "share of the catalogue beyond its interval"])
    out.page.heading("What the numbers rest on", 3)
    out.page.bullets(_caveats(ctx.numbers, caveats) or ["every sampled unit has a final "
                                                            "label"])
    out.numbers["summary"] = {"audit_date": when.isoformat(), "version": version,
                              "headlines": heads, "representation_gaps": gaps}
    return out
