"""Every verb that writes checks where it writes before it computes anything.

An output is never one of the verb's inputs (labels are append-only; `agreement` reads them),
never a FIFO, a device or a folder, never under a regular file, has the extension of what is
written, and its manifest sidecar (``<out>.manifest.json``) replaces nothing but an older
manifest. A refusal names the path; nothing is written, not even a temporary file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from .refusal import refused

BUILD = ("build", "s.parquet", "labels.parquet", "-o")
AGREE = ("agreement", "labels.parquet", "-o")
PULL = ("pull", "--project", "audit", "-o")


def make(kind: str, name: str) -> None:
    if kind == "fifo":
        os.mkfifo(name)
    elif kind == "device":
        try:
            os.mknod(name, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        except PermissionError:
            pytest.skip("creating a device node needs root")
    elif kind == "not-a-manifest":
        Path(name).write_text("someone's notes\n")


CASES = [
    # build
    (BUILD, "labels.parquet", None, ["labels.parquet"]),
    (BUILD, "s.parquet", None, ["s.parquet"]),
    (BUILD, "c.csv", None, ["c.csv", ".parquet"]),
    (BUILD, "s2.manifest.json", None, ["s2.manifest.json"]),
    (BUILD, "notes.txt/c.parquet", None, ["notes.txt"]),
    (BUILD, "pipe.parquet", "fifo", ["pipe.parquet"]),
    (BUILD, "full.parquet", "device", ["full.parquet"]),
    (BUILD, "notes.parquet", "not-a-manifest:notes.manifest.json", ["notes.manifest.json"]),
    # agreement
    (AGREE, "labels.parquet", None, ["labels.parquet"]),
    (AGREE, "labels.manifest.json", None, ["labels.manifest.json"]),
    (AGREE, "a.txt", None, ["a.txt"]),
    (AGREE, "notes.txt/a.csv", None, ["notes.txt"]),
    (AGREE, "pipe.csv", "fifo", ["pipe.csv"]),
    (AGREE, "full.csv", "device", ["full.csv"]),
    # pull: checked before the server is asked anything
    (PULL, "l.csv", None, ["l.csv", ".parquet"]),
    (PULL, "notes.txt/l.parquet", None, ["notes.txt"]),
    (PULL, "cat.parquet", None, ["cat.parquet"]),
    (PULL, "full.parquet", "device", ["full.parquet"]),
    # folders
    (("report", "--curated", "cur.parquet", "-o"), "notes.txt/report", None, ["notes.txt"]),
    (("report", "--curated", "cur.parquet", "-o"), "notes.txt", None, ["notes.txt"]),
    (("demo-data", "--items", 20, "--impressions", 20), "notes.txt/demo", None,
     ["notes.txt"]),
]


def _id(case):
    args, output, setup, _ = case
    what = (setup or "").split(":")[0] or output.replace("/", "-under-")
    return f"{args[0]}-{what}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("args, output, setup, names", CASES, ids=[_id(c) for c in CASES])
def test_a_bad_output_is_refused_before_anything_is_computed(work, args, output, setup, names):
    if setup:
        kind, _, name = setup.partition(":")
        make(kind, name or output)
    if args[0] == "demo-data":
        refused(args[0], output, *args[1:], names=names)
    else:
        refused(*args, output, names=names)


@pytest.mark.timeout(60)
def test_pull_into_a_fifo_is_refused_without_reading_it(work):
    os.mkfifo("pipe.parquet")
    refused(*PULL, "pipe.parquet", names=["pipe.parquet"])


def test_a_full_disk_while_writing_is_one_line_and_leaves_no_file_or_folder(work, monkeypatch):
    """ENOSPC in the middle of a write: the target is named, the temporary file and the
    folders made for the output are gone."""
    import errno

    import schemas.io as io

    def full(table, where, **_kw):
        Path(where).write_bytes(b"PAR1 half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.pq, "write_table", full)
    refused("sample", "cat.parquet", "-o", "new/deeper/s.parquet", "--n", 5,
            names=["new/deeper/s.parquet", "No space left on device"])


def test_a_missing_output_folder_is_made_only_when_the_output_is_written(work):
    refused("sample", "cat.parquet", "-o", "new/s.parquet", "--n", 5, "--strata", "nosuch",
            names=["nosuch"])
    assert not Path("new").exists()
