"""``curate versions``, ``curate reproduce`` and ``curate get``: datasets by git revision."""

from __future__ import annotations

from pathlib import PurePosixPath

import click

from curation.versions.history import get_dataset, list_versions
from curation.versions.reproduce import reproduce
from schemas import VersionError
from schemas.io import check_output

REPO = click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False),
                    help="The git + DVC repository.")


@click.command("versions")
@REPO
def versions_cmd(repo: str) -> None:
    """List the revisions that changed a sample or curated dataset (tags first)."""
    versions = list_versions(repo)
    if not versions:
        click.echo("no revision holds a sample or curated dataset yet")
    for v in versions:
        label = ", ".join(v.tags) if v.tags else "(untagged)"
        click.echo(f"{label}  {v.sha[:10]}  {v.date}  {v.subject}")
        for d in v.datasets:
            mark = "*" if d.changed else " "
            click.echo(f" {mark} {d.path}  {d.kind}  n={d.rows}  seed={d.seed}  "
                       f"hash={d.content_hash[:12]}")
            click.echo(f"      {d.summary}")
    if versions:
        click.echo("(* changed in that revision)")


@click.command("reproduce")
@click.argument("rev")
@click.option("--dataset", help="Only this dataset (path in the repository); a curated "
                                "dataset is rebuilt from its recorded inputs.")
@REPO
def reproduce_cmd(rev: str, dataset: str | None, repo: str) -> None:
    """Redraw REV's samples from REV's params and inputs; REPRODUCED or what differs."""
    results = reproduce(repo, rev, dataset)
    for r in results:
        verdict = "REPRODUCED" if r.reproduced else "NOT REPRODUCED"
        click.echo(f"{rev}:{r.path}  {verdict}  ({r.kind}, {r.recipe})")
        click.echo(f"  stored {r.stored_hash[:12]}  redrawn "
                   f"{(r.redrawn_hash or '-')[:12]}")
        for line in r.differences:
            click.echo(f"  - {line}")
        for line in r.notes:
            click.echo(f"  note: {line}")
    failed = [r.path for r in results if not r.reproduced]
    if failed:
        raise VersionError(f"{len(failed)} of {len(results)} dataset(s) of {rev} not "
                           f"reproduced: {', '.join(failed)}")


@click.command("get")
@click.argument("rev")
@click.argument("path")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the file as of REV.")
@REPO
def get_cmd(rev: str, path: str, output: str, repo: str) -> None:
    """Export PATH as it was at REV (from the DVC cache or remote), atomically, after checking
    its bytes against the md5 DVC recorded."""
    suffix = PurePosixPath(path).suffix
    check_output(output, suffixes=(suffix,) if suffix else None,
                 sidecar=suffix == ".parquet")
    dataset = get_dataset(repo, rev, path, output)
    extra = f" ({dataset.kind}, {dataset.rows} rows, hash {dataset.content_hash[:12]})" \
        if dataset else ""
    click.echo(f"wrote {output} from {rev}:{path}{extra}")


COMMANDS = [versions_cmd, reproduce_cmd, get_cmd]
