"""``curate demo``: the whole audit, end to end, on the embedded default.

In a fresh audit repository (git + DVC with a local directory remote) it runs the project's
own pipeline (``dvc.yaml``, ``params.yaml``): demo data, a catalogue sample and an impression
sample, a local Label Studio, push of both samples, SIMULATED annotators labeling through the
API from the hidden truth, pull, the expert queue of unresolved units (labeled by a simulated
expert), build (adjudication), estimate and report; then commits and tags the version and
pushes the data to the DVC remote. Because the demo knows the hidden truth, it prints every
estimate beside it: the only place where the truth is looked at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from annotation import server
from annotation.connection import Connection, client
from annotation.expert import push_expert_queue
from annotation.projects import require_project
from annotation.pull import expert_title, project_categories
from annotation.queues import queue_title
from schemas.errors import CurationError, VersionError
from schemas.io import write_text

from . import simulated as sim

PIPELINE = Path(__file__).resolve().parent / "pipeline"  # the project's dvc.yaml, params.yaml
MARKER = ".audit-demo"
STUDIO = ".studio"
REMOTE = ".dvc-remote"
DOMAINS = {"catalogue": "market", "impression": "user_age_band"}


@dataclass(frozen=True)
class DemoResult:
    """Where the demo left things and how its estimates compare with the hidden truth."""

    workdir: Path
    report: Path
    url: str
    tag: str
    comparison: pd.DataFrame  # audit, domain, estimate, ci_low, ci_high, truth, covered


def _sh(cwd: Path, env: dict, *args: str) -> str:
    """Run a command in the audit repo; a failure is a one-line CurationError."""
    if args[0] == "dvc":
        args = (sys.executable, "-m", "dvc", *args[1:])
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        lines = [x for x in (done.stderr + done.stdout).splitlines() if x.strip()]
        error = next((x for x in lines if x.startswith(("Error:", "ERROR"))), lines[-1]
                     if lines else "failed")
        raise VersionError(f"`{' '.join(args[2:] if args[0] == sys.executable else args)}` "
                           f"failed in {cwd}: {error.strip()}")
    return done.stdout


def _environment(workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY")}
    env.update({"DVC_NO_ANALYTICS": "1", "AUDIT_CURATION_STUDIO_DIR": str(workdir / STUDIO),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "GIT_TERMINAL_PROMPT": "0", "CI": env.get("CI", "1")})
    return env


def prepare(workdir: Path, env: dict, sizes: dict) -> None:
    """A git + DVC audit repository with the project's pipeline and the demo's sizes."""
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / MARKER).exists():
        raise CurationError(f"{workdir} exists and is not a demo folder: choose an empty or "
                            f"new folder")
    workdir.mkdir(parents=True, exist_ok=True)
    fresh = not (workdir / MARKER).exists()
    if fresh:
        _sh(workdir, env, "git", "init", "-q", "-b", "main")
        _sh(workdir, env, "git", "config", "user.name", "audit-curation demo")
        _sh(workdir, env, "git", "config", "user.email", "demo@audit-curation.invalid")
        _sh(workdir, env, "dvc", "init", "-q")
        _sh(workdir, env, "dvc", "config", "core.analytics", "false")
        _sh(workdir, env, "dvc", "config", "cache.type", "copy")
        _sh(workdir, env, "dvc", "remote", "add", "-d", "local", str(workdir / REMOTE))
        write_text(workdir / ".gitignore", f"/{STUDIO}/\n/{REMOTE}/\n")
        shutil.copyfile(PIPELINE / "dvc.yaml", workdir / "dvc.yaml")
        write_text(workdir / MARKER, "an audit-curation demo repository (curate demo)\n")
    params = yaml.safe_load((PIPELINE / "params.yaml").read_text())
    params["demo_data"].update(items=sizes["items"], impressions=sizes["impressions"],
                               seed=sizes["seed"])
    for section, size in (("sample_catalogue", "n_catalogue"),
                          ("sample_impressions", "n_impressions")):
        if sizes[size] is not None:
            params[section]["n"] = sizes[size]
    params["report"]["title"] = "Demo audit (simulated annotators)"
    write_text(workdir / "params.yaml", "# The demo's copy of the project's params.yaml, with "
               "the demo's sizes.\n" + yaml.safe_dump(params, sort_keys=False))


def unit_truth(workdir: Path, audit: str) -> pd.DataFrame:
    """``unit_id, sensitive, category, severity`` of a sample's units from the hidden truth."""
    truth = pd.read_parquet(workdir / "data/raw/truth.parquet")
    sample = pq.read_table(workdir / f"data/samples/{audit}_sample.parquet",
                           columns=["unit_id", "item_id"]).to_pandas()
    return sample.merge(truth, on="item_id", how="left").drop(columns="item_id")


def population_truth(workdir: Path, audit: str) -> pd.DataFrame:
    """True prevalence of ``sensitive`` overall and per domain of the audit's population."""
    truth = pd.read_parquet(workdir / "data/raw/truth.parquet", columns=["item_id", "sensitive"])
    name = "catalogue" if audit == "catalogue" else "recommendations"
    column = DOMAINS[audit]
    pop = pd.read_parquet(workdir / f"data/raw/{name}.parquet", columns=["item_id", column])
    pop = pop.merge(truth, on="item_id", how="left")
    rows = [("all", float(pop["sensitive"].mean()))]
    rows += [(f"{column}={k}", float(v)) for k, v in pop.groupby(column)["sensitive"].mean()
             .items()]
    return pd.DataFrame(rows, columns=["domain", "truth"])


def compare(workdir: Path, audits: list[str]) -> pd.DataFrame:
    """Each audit's estimated prevalence of ``sensitive`` beside the hidden truth."""
    frames = []
    for audit in audits:
        est = pd.read_parquet(workdir / f"data/reports/{audit}_estimates.parquet")
        est = est[(est["metric"] == "proportion") & (est["y"] == "sensitive")]
        got = est.merge(population_truth(workdir, audit), on="domain", how="left")
        got.insert(0, "audit", audit)
        frames.append(got[["audit", "domain", "estimate", "ci_low", "ci_high", "n", "truth"]])
    out = pd.concat(frames, ignore_index=True)
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out


def _next_tag(workdir: Path, env: dict) -> str:
    existing = _sh(workdir, env, "git", "tag", "--list", "audit-v*").split()
    numbers = [int(t.removeprefix("audit-v")) for t in existing
               if t.removeprefix("audit-v").isdigit()]
    return f"audit-v{max(numbers, default=0) + 1}"


def run_demo(workdir: str | os.PathLike, *, items: int = 20_000, impressions: int = 100_000,
             seed: int = 2026, n_catalogue: int | None = None,
             n_impressions: int | None = None,
             port: int | None = None, keep_running: bool = False,
             echo: Callable[[str], None] = print) -> DemoResult:
    """Run the demo in ``workdir`` (created, or continued when it holds an earlier demo)."""
    workdir = Path(workdir).resolve()
    env = _environment(workdir)
    sizes = dict(items=items, impressions=impressions, seed=seed, n_catalogue=n_catalogue,
                 n_impressions=n_impressions)
    echo(f"[1/7] audit repository {workdir} (git + DVC, local remote {REMOTE}/)")
    prepare(workdir, env, sizes)
    echo("[2/7] local Label Studio (first start runs migrations: about a minute)")
    conn = server.start(workdir / STUDIO, port=port, timeout=600)
    try:
        result = _audit(workdir, env, conn, seed, echo)
    finally:
        if not keep_running:
            server.stop(workdir / STUDIO)
    echo(f"\nReport: {result.report}  (open file://{result.report})")
    if keep_running:
        echo(f"Label Studio is still running at {conn.url}: log in as the admin with the "
             f"credentials in {workdir / STUDIO / 'connection.json'} (mode 600) to look at or "
             f"annotate the tasks; stop it with `curate studio down --dir {workdir / STUDIO}`.")
    else:
        echo(f"Label Studio was stopped; `curate studio up --dir {workdir / STUDIO}` starts it "
             f"again with the tasks and annotations (or rerun with --keep-running).")
    return result


def _audit(workdir: Path, env: dict, conn: Connection, seed: int,
           echo: Callable[[str], None]) -> DemoResult:
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    audits = list(params["audits"])
    echo("[3/7] dvc repro: demo data, samples, push to Label Studio")
    _sh(workdir, env, "dvc", "repro", *[f"push@{a}" for a in audits])
    echo("[4/7] SIMULATED annotators (not people) label every task through the API")
    queues = int(params["annotation"]["queues"])
    for i, audit in enumerate(audits):
        project = params["audits"][audit]["project"]
        for q, member in zip(range(1, queues + 1), sim.TEAM, strict=False):
            title = queue_title(project, q)
            r = sim.annotate(conn, title, unit_truth(workdir, audit), _categories(conn, title),
                             team=(member,), seed=seed + i)
            echo(f"      {title}: {r.annotations} simulated annotations on {r.units} tasks "
                 f"({r.skipped} skipped, {r.unsure} unsure)")
    echo("[5/7] pull, then the expert queue of unresolved units (a SIMULATED expert)")
    _sh(workdir, env, "dvc", "repro", *[f"pull@{a}" for a in audits])
    for i, audit in enumerate(audits):
        project = params["audits"][audit]["project"]
        labels = pd.read_parquet(workdir / f"data/labels/{audit}_labels.parquet")
        categories = _categories(conn, queue_title(project, 1))
        queue, _ = push_expert_queue(
            workdir / f"data/samples/{audit}_sample.parquet", labels, expert_title(project),
            conn=conn, catalogue_path=workdir / "data/raw/catalogue.parquet",
            categories=categories, directory=workdir / STUDIO)
        if not queue:
            echo(f"      {project}: no unresolved unit")
            continue
        r = sim.annotate(conn, expert_title(project), unit_truth(workdir, audit),
                         categories, team=(sim.EXPERT,), seed=seed + 100 + i)
        echo(f"      {expert_title(project)}: {r.annotations} simulated expert decision(s)")
    echo("[6/7] dvc repro: pull again, build (adjudication), estimate, report")
    _sh(workdir, env, "dvc", "repro")
    tag = _next_tag(workdir, env)
    echo(f"[7/7] commit, tag {tag} and dvc push to the local remote")
    _sh(workdir, env, "git", "add", "-A")
    _sh(workdir, env, "git", "commit", "-q", "--allow-empty", "-m",
        f"Demo audit {tag}: samples, simulated labels, curated data, estimates, report")
    _sh(workdir, env, "git", "tag", tag)
    _sh(workdir, env, "dvc", "push", "-q")
    comparison = compare(workdir, audits)
    _print_comparison(comparison, echo)
    _print_model(workdir, comparison, echo)
    return DemoResult(workdir, workdir / "data/reports/audit/report.html", conn.url, tag,
                      comparison)


def _categories(conn: Connection, project: str) -> list[str]:
    return project_categories(require_project(client(conn), conn, project).label_config)


def _print_model(workdir: Path, comparison: pd.DataFrame, echo: Callable[[str], None]) -> None:
    """The report's model-assisted estimate of ``sensitive`` (the SIMULATED model's labels
    with the people's) beside the people-only one and the hidden truth."""
    path = workdir / "data/reports/audit/metrics.json"
    model = json.loads(path.read_text()).get("model", {}) if path.exists() else {}
    if not model:
        return
    echo("\nWith the SIMULATED model label (report: 'How does the model compare with people?')")
    truth = comparison[comparison["domain"] == "all"].set_index("audit")["truth"]
    for name, parts in model.items():
        e = (parts.get("estimates") or {}).get("sensitive")
        audit = name.removesuffix("_curated")
        if not e or audit not in truth:
            continue
        worth = e.get("effective_labels")
        echo(f"  {audit:<10} people only {e['people_only']:7.2%} [{e['people_only_ci_low']:7.2%}, "
             f"{e['people_only_ci_high']:7.2%}]  with the model {e['with_model']:7.2%} "
             f"[{e['with_model_ci_low']:7.2%}, {e['with_model_ci_high']:7.2%}]  truth "
             f"{truth[audit]:7.2%}" + (f"  ({e['labels']} labels worth {worth:.0f})"
                                       if worth is not None else ""))


def _print_comparison(table: pd.DataFrame, echo: Callable[[str], None]) -> None:
    echo("\nPrevalence of sensitive content: estimate [95% CI] vs the demo's hidden truth")
    for r in table.itertuples():
        mark = "covered" if r.covered else "MISSED"
        echo(f"  {r.audit:<10} {r.domain:<26} {r.estimate:7.2%} [{r.ci_low:7.2%}, "
             f"{r.ci_high:7.2%}]  truth {r.truth:7.2%}  {mark}  (n={r.n})")
    share = table["covered"].mean()
    echo(f"  {int(table['covered'].sum())} of {len(table)} intervals cover the truth "
         f"({share:.0%}; about 95% expected, labels carry the simulated annotators' errors)")
