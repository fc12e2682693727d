"""Label Studio throughput of `curate push` and `curate pull` (a script, not a test).

Usage::

    .venv/bin/python bench/studio_throughput.py --units 10000 --workdir /tmp/acstudio

Starts its own Label Studio (loopback, SQLite, in WORKDIR/studio), makes demo data and a sample
of UNITS catalogue items, then times, in this one process:

* ``push``: the whole `curate push` path (validation, blinded tasks, ledger, batched imports of
  1,000, reconciliation) into a new project; then the same push again (the idempotent no-op);
* baseline: one bare ``import_tasks`` of the same tasks into another project (what the server
  alone costs);
* ``pull``: `curate pull` of a project holding UNITS annotations (imported with their tasks to
  make the project quickly; the pull path is the same as for annotations made in the UI);
* baseline: the bare JSON export download of that project.

Figures are printed as seconds and as ratios to the baselines of the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from annotation import server  # noqa: E402
from annotation.connection import client  # noqa: E402
from annotation.pull import pull  # noqa: E402
from annotation.push import push  # noqa: E402
from annotation.templates import render, to_result  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=10_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/acstudio"))
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    os.environ["CI"] = "1"  # no progress bars in the figures
    curate = [sys.executable, "-m", "curation"]
    data = work / "data"
    if not (data / "catalogue.parquet").exists():
        subprocess.run([*curate, "demo-data", str(data), "--items", str(args.units * 2),
                        "--impressions", "1000", "--seed", "1"], check=True)
    sample = work / f"sample{args.units}.parquet"
    subprocess.run([*curate, "sample", str(data / "catalogue.parquet"), "-o", str(sample),
                    "--n", str(args.units), "--seed", "2", "--strata", "market"], check=True,
                   stdout=subprocess.DEVNULL)
    started, conn = timed(lambda: server.start(work / "studio", port=server.free_port(),
                                               timeout=600))
    print(f"server up in {started:.1f} s at {conn.url}")
    stamp = time.strftime("%H%M%S")
    ls = client(conn, timeout=600)
    try:
        t_push, r = timed(lambda: push(sample, f"bench-push-{stamp}", conn=conn,
                                       directory=work / "studio"))
        assert r.imported == args.units, r
        t_again, r2 = timed(lambda: push(sample, f"bench-push-{stamp}", conn=conn,
                                         directory=work / "studio"))
        assert r2.imported == 0, r2
        tasks = [{"data": {"unit_id": f"b{i}", "title": "t", "creator": "c",
                           "description": "d", "context": "x"}} for i in range(args.units)]
        base = ls.projects.create(title=f"bench-base-{stamp}", label_config=render("catalogue"))
        t_import, _ = timed(lambda: ls.projects.import_tasks(
            id=base.id, request=tasks, return_task_ids=True,
            request_options={"max_retries": 0, "timeout": 600}))
        labeled = ls.projects.create(title=f"bench-pull-{stamp}",
                                     label_config=render("catalogue"))
        for i in range(0, args.units, 2000):
            ls.projects.import_tasks(id=labeled.id, request=[
                {**t, "annotations": [{"result": to_result(j % 7 == 0, ["violence"]
                                                            if j % 7 == 0 else [])}]}
                for j, t in enumerate(tasks[i:i + 2000], start=i)],
                request_options={"max_retries": 0, "timeout": 600})
        out = work / f"labels-{stamp}.parquet"
        t_pull, p = timed(lambda: pull([labeled.title], out, conn=conn,
                                       directory=work / "studio"))
        assert p.added == args.units, p
        t_export, _ = timed(lambda: b"".join(ls.projects.exports.download_sync(
            labeled.id, export_type="JSON", download_all_tasks=False,
            download_resources=False, request_options={"timeout": 600})))
    finally:
        server.stop(work / "studio")
    n = args.units
    print(f"push of {n} units:        {t_push:6.1f} s  ({n / t_push:7.0f} units/s; "
          f"{t_push / t_import:.2f}x a bare import_tasks of {t_import:.1f} s)")
    print(f"push again (no-op):       {t_again:6.1f} s")
    print(f"pull of {n} annotations:  {t_pull:6.1f} s  ({n / t_pull:7.0f} annotations/s; "
          f"{t_pull / t_export:.2f}x a bare export download of {t_export:.1f} s)")


if __name__ == "__main__":
    main()
