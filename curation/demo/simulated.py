"""SIMULATED annotators for the demo: accounts that label Label Studio tasks through its HTTP API
from the demo data's hidden truth, with realistic errors, disagreement, "unsure" and skips.

They stand in for people only in ``curate demo`` (and its test); their accounts are named
``simulated-annotator-N@demo.invalid`` and every annotation carries the note
"simulated annotator (demo)", so nobody mistakes them for real judgements. Each answer is a
deterministic function of (seed, unit, annotator), whatever the order tasks are labeled in.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotation.accounts import signup
from annotation.connection import Connection, api_errors, client
from annotation.projects import require_project, tasks_by_unit
from annotation.pull import export_tasks
from annotation.templates import to_result

NOTE = "simulated annotator (demo)"


@dataclass(frozen=True)
class SimulatedAnnotator:
    """How one simulated annotator errs: P(says no | sensitive), P(says yes | not sensitive),
    P(unsure), P(skip), P(wrong category | says yes) and P(severity off by one)."""

    name: str
    miss: float = 0.06
    false_alarm: float = 0.015
    unsure: float = 0.03
    skip: float = 0.01
    wrong_category: float = 0.1
    severity_slip: float = 0.2

    @property
    def email(self) -> str:
        return f"{self.name}@demo.invalid"


TEAM = (SimulatedAnnotator("simulated-annotator-1"),
        SimulatedAnnotator("simulated-annotator-2", miss=0.1, false_alarm=0.01, unsure=0.05),
        SimulatedAnnotator("simulated-annotator-3", miss=0.04, false_alarm=0.03, skip=0.02))
EXPERT = SimulatedAnnotator("simulated-expert-1", miss=0.01, false_alarm=0.003, unsure=0.0,
                            skip=0.0, wrong_category=0.02, severity_slip=0.05)


def _rng(seed: int, unit: str, who: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(unit.encode()), zlib.crc32(who.encode())])


def answer(truth: dict, profile: SimulatedAnnotator, categories: list[str], seed: int) -> dict:
    """One simulated judgement of a unit whose truth is ``{sensitive, category, severity}``:
    keyword arguments of :func:`~annotation.templates.to_result` plus ``skipped``."""
    rng = _rng(seed, str(truth["unit_id"]), profile.name)
    u = rng.random(6)
    if u[0] < profile.skip:
        return {"skipped": True}
    sensitive = bool(truth["sensitive"])
    said = (u[1] >= profile.miss) if sensitive else (u[1] < profile.false_alarm)
    unsure = bool(u[2] < profile.unsure)
    category = truth.get("category") if sensitive else None
    if said and (category not in categories or u[3] < profile.wrong_category):
        category = categories[int(u[4] * len(categories))]
    severity = int(truth.get("severity") or 1) if sensitive else 1
    if u[5] < profile.severity_slip:
        severity = int(np.clip(severity + (1 if u[5] < profile.severity_slip / 2 else -1), 1, 3))
    return {"skipped": False, "sensitive": said, "chosen": [category] if said else [],
            "severity": severity if said else None, "unsure": unsure}


def labelers(unit: str, team: tuple[SimulatedAnnotator, ...], overlap: float, seed: int
             ) -> tuple[SimulatedAnnotator, ...]:
    """Who labels ``unit``: the whole team on an ``overlap`` share of units, else one member."""
    u = _rng(seed, unit, "assignment").random(2)
    if u[0] < overlap:
        return team
    return (team[int(u[1] * len(team))],)


@dataclass(frozen=True)
class Round:
    """What one simulated round did in one project."""

    project: str
    units: int
    annotations: int
    skipped: int
    unsure: int


def annotate(conn: Connection, project: str, truth: pd.DataFrame, categories: list[str],
             team: tuple[SimulatedAnnotator, ...] = TEAM, overlap: float = 1.0, seed: int = 0,
             units: Iterable[str] | None = None, threads: int = 4) -> Round:
    """Have ``team`` label the tasks of ``project`` (all of them, or ``units``) through the API.

    ``truth`` has ``unit_id, sensitive, category, severity`` for every unit. Accounts are
    signed up on first use; a unit an annotator has already labeled is left alone, so a
    second call adds nothing.
    """
    admin = client(conn)
    proj = require_project(admin, conn, project)
    tasks = tasks_by_unit(admin, conn, int(proj.id), None if units is None else list(units))
    known = truth.set_index("unit_id").to_dict("index")
    accounts = {p.name: signup(conn, p.email, f"demo-{p.name}-pw!2026") for p in team}
    done = _labeled(admin, conn, proj, {c.api_key: n for n, c in accounts.items()})
    jobs = []
    for unit, found in sorted(tasks.items()):
        if unit not in known:
            continue
        for p in labelers(unit, team, overlap, seed):
            if (unit, p.name) not in done:
                jobs.append((found[0]["id"], p, answer({"unit_id": unit, **known[unit]}, p,
                                                       categories, seed)))
    clients = {name: client(c) for name, c in accounts.items()}

    def submit(job) -> None:
        task_id, p, a = job
        lead = float(_rng(seed, str(task_id), p.name + "lead").lognormal(3.0, 0.5))
        with api_errors(accounts[p.name], f"submit an annotation of task {task_id}"):
            if a["skipped"]:
                clients[p.name].annotations.create(id=task_id, result=[], was_cancelled=True,
                                                   lead_time=lead)
            else:
                clients[p.name].annotations.create(
                    id=task_id, lead_time=lead,
                    result=to_result(a["sensitive"], a["chosen"], a["severity"], a["unsure"],
                                     NOTE))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(submit, jobs))
    return Round(project, len(tasks), len(jobs), sum(j[2]["skipped"] for j in jobs),
                 sum(bool(j[2].get("unsure")) for j in jobs))


def _labeled(ls, conn: Connection, project, names_by_key: dict[str, str]
             ) -> set[tuple[str, str]]:
    """(unit, annotator name) pairs already annotated in the project."""
    ids = {}
    for key, name in names_by_key.items():
        me = client(Connection(conn.url, key)).users.whoami()
        ids[int(me.id)] = name
    out = set()
    for task in export_tasks(ls, conn, project):
        unit = (task.get("data") or {}).get("unit_id")
        for a in task.get("annotations") or []:
            if a.get("completed_by") in ids and unit is not None:
                out.add((str(unit), ids[a["completed_by"]]))
    return out
