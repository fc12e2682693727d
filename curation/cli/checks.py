"""Checks the commands share: option types, inputs' manifests, the Label Studio connection."""

from __future__ import annotations

import math

import click


class Seconds(click.ParamType):
    """A finite number of seconds greater than 0."""

    name = "seconds"

    def convert(self, value, param, ctx):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a number of seconds greater than 0", param, ctx)
        return seconds


SECONDS = Seconds()
#: A share or probability strictly inside (0, 1), e.g. a confidence level.
OPEN_UNIT = click.FloatRange(0, 1, min_open=True, max_open=True)
#: ``--level`` of every command that gives intervals: one type, one default, one help.
LEVEL = click.option("--level", type=OPEN_UNIT, default=0.95, show_default=True,
                     help="Confidence level of the intervals, in (0, 1).")


def connect(directory: str | None):
    """The Label Studio connection, resolved and checked (the key accepted) before a command
    reads or creates anything of its own (the pseudonym key, a ledger)."""
    from annotation.connection import check, resolve

    conn = resolve(directory)
    check(conn)
    return conn


def require_projects(conn, titles) -> None:
    """Each title is a project or has annotator queues on the server (AnnotationError naming
    the known projects otherwise): asked before `pull` makes anything of its own."""
    from annotation.connection import client
    from annotation.projects import queue_projects, require_project

    ls = client(conn, timeout=60.0)
    for title in titles:
        if not queue_projects(ls, conn, title):
            require_project(ls, conn, title)


def check_inputs_manifests(paths, kinds=("sample", "curated")) -> None:
    """Each Parquet file of ``paths`` that carries a manifest of one of ``kinds`` must match
    it (:func:`curation.estimation.inputs.check_manifest`): an edited sample or curated
    dataset is refused before anything is computed from it."""
    from curation.estimation.inputs import check_manifest
    from schemas import read_manifest
    from schemas.io import read_parquet
    from schemas.manifest import METADATA_KEY
    from schemas.storage import as_path, is_file, parquet_schema, suffix

    for path in map(as_path, paths):  # a URI stays one (s3://...)
        if suffix(path) != ".parquet" or not is_file(path):
            continue
        meta = parquet_schema(path).metadata or {}
        if METADATA_KEY not in meta:
            continue
        manifest = read_manifest(path)
        if manifest.kind in kinds:
            check_manifest(read_parquet(path), manifest, str(path), "Parquet metadata")
