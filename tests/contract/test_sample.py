"""`curate sample` refuses bad outputs, parameters and populations in one line, writing nothing.

Each case names what is at fault; the working folder is left byte-identical.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pytest

from tests.cli import run

from .refusal import refused, snapshot
from .workspace import catalogue, with_column, write

SAMPLERS_CHANGE = "samplers: other change"


def fifo(name):
    def make():
        os.mkfifo(name)
    return make


def char_device(name):
    def make():
        try:
            os.mknod(name, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # what /dev/full is
        except PermissionError:
            pytest.skip("creating a device node needs root")
    return make


def text_file(name, text="not a manifest\n"):
    def make():
        Path(name).write_text(text)
    return make


def params(body):
    def make():
        Path("p.yaml").write_text("s:\n" + "".join(f"  {line}\n" for line in body))
    return make


def population(name, table_of):
    def make():
        write(Path(name), table_of())
    return make


def hostile(value):
    def table():
        ids = catalogue().column("item_id").to_pylist()
        ids[4] = value
        return with_column(catalogue(), "item_id", ids)
    return population("h.parquet", table)


def neyman_inf():
    scores = catalogue().column("risk_score").to_pylist()
    scores[3] = float("inf")
    return with_column(catalogue(), "risk_score", scores)


SAMPLE = ("sample", "cat.parquet", "--n", 5)
P = ("sample", "cat.parquet", "-o", "o.parquet", "--params", "p.yaml", "--section", "s")

CASES = [
    # outputs
    pytest.param((*SAMPLE, "-o", "cat.parquet"), ["cat.parquet"], None, id="output-is-input"),
    pytest.param((*SAMPLE, "-o", "s.manifest.json"), ["s.manifest.json"], None,
                 id="output-is-another-sample's-manifest"),
    pytest.param((*SAMPLE, "-o", "notes.parquet"), ["notes.manifest.json"],
                 text_file("notes.manifest.json"), id="sidecar-would-replace-another-file"),
    pytest.param((*SAMPLE, "-o", "s.parquet", "--coordinate-with", "s.parquet"),
                 ["s.parquet"], None, id="output-is-the-coordinated-sample"),
    pytest.param(("sample", "s.parquet", "-o", "x.parquet", "--n", 5), ["s.parquet"], None,
                 id="population-is-a-sample"),
    pytest.param((*SAMPLE, "-o", "s.csv"), ["s.csv", ".parquet"], None,
                 id="output-not-parquet"),
    pytest.param((*SAMPLE, "-o", "sample"), ["sample", ".parquet"], None,
                 id="output-without-extension"),
    pytest.param((*SAMPLE, "-o", "notes.txt/out.parquet"), ["notes.txt"], None,
                 id="output-folder-is-a-file"),
    pytest.param((*SAMPLE, "-o", "pipe.parquet"), ["pipe.parquet"], fifo("pipe.parquet"),
                 id="output-is-a-fifo"),
    pytest.param((*SAMPLE, "-o", "full.parquet"), ["full.parquet"],
                 char_device("full.parquet"), id="output-is-a-device"),
    pytest.param((*SAMPLE, "-o", "."), ["."], None, id="output-is-a-folder"),
    # parameters (samplers/options.py checks them)
    pytest.param(P, ["p.yaml", "'n'"], params(["n: fifty"]), id="params-n-fifty"),
    pytest.param(P, ["p.yaml", "'n'"], params(["n: 1e2"]), id="params-n-1e2"),
    pytest.param(P, ["p.yaml", "'n'"], params(["n: [1, 2]"]), id="params-n-list"),
    pytest.param(P, ["p.yaml", "'n'"], params(["n: 50.7"]), id="params-n-50.7"),
    pytest.param(P, ["p.yaml", "'n'"], params(["n: true"]), id="params-n-true"),
    pytest.param(P, ["p.yaml", "'power'"], params(["n: 5", "power: high"]),
                 id="params-power-high"),
    pytest.param(P, ["p.yaml", "'n_bins'"], params(["n: 5", "bins: popularity", "n_bins: 1"]),
                 id="params-n_bins-1"),
    pytest.param(P, ["p.yaml", "'n_clusters'"],
                 params(["n: 5", "clusters: popularity", "n_clusters: 0"]),
                 id="params-n_clusters-0"),
    pytest.param(P, ["p.yaml", "'overlap'"], params(["n: 5", "overlap: some"]),
                 id="params-overlap-some"),
    pytest.param(P, ["p.yaml", "'sed'"], params(["n: 5", "sed: 3"]), id="params-unknown-key"),
    pytest.param(("sample", "cat.parquet", "-o", "o.parquet", "--params", "."), ["."], None,
                 id="params-is-a-folder"),
    pytest.param(("sample", "cat.parquet", "-o", "o.parquet", "--params", "params.yaml",
                  "--section", "nosuch"), ["nosuch"], None, id="params-no-such-section"),
    # the population
    pytest.param((*SAMPLE, "-o", "o.parquet", "--strata", "nosuch"), ["nosuch"], None,
                 id="strata-no-such-column"),
    pytest.param((*SAMPLE, "-o", "o.parquet", "--strata", "market", "--allocation",
                    "neyman", "--neyman-col", "market"), ["market"], None,
                   id="neyman-col-of-strings"),
    pytest.param(("sample", "inf.parquet", "-o", "o.parquet", "--n", 5, "--strata",
                    "market", "--allocation", "neyman", "--neyman-col", "risk_score"),
                   ["risk_score"], population("inf.parquet", neyman_inf),
                   id="neyman-col-with-inf"),
    pytest.param(("sample", "z.parquet", "-o", "o.parquet", "--n", 5), ["z.parquet"],
                 population("z.parquet", lambda: catalogue().slice(0, 0)), id="no-rows"),
]
HOSTILE = {"empty": "", "blank": "   ", "nul": "i\x00004", "newline": "i\n004",
           "5000-characters": "x" * 5000, "padded": " i004"}
CASES += [pytest.param(("sample", "h.parquet", "-o", "o.parquet", "--n", 5),
                         ["h.parquet", "item_id", "row 4"], hostile(value),
                         id=f"hostile-id-{name}") for name, value in HOSTILE.items()]


@pytest.mark.parametrize("args, names, setup", CASES)
def test_sample_refuses_in_one_line_and_writes_nothing(work, args, names, setup):
    if setup:
        setup()
    refused(*args, names=names)


def test_rewriting_a_sample_replaces_it_and_its_own_manifest(work):
    """The overwrite rules leave the ordinary rerun alone: a sample's own sidecar is replaced."""
    code, text = run("sample", "cat.parquet", "-o", "s.parquet", "--n", 6, "--strata",
                     "market")
    assert code == 0, text
    assert '"n": 6' in Path("s.manifest.json").read_text()


def test_integer_ids_are_ids_for_sample_and_validate_alike(work):
    write(Path("ints.parquet"), with_column(catalogue(), "item_id", list(range(60)),
                                            pa.int64()))
    code, text = run("validate", "catalogue", "ints.parquet")
    assert code == 0, text
    code, text = run("sample", "ints.parquet", "-o", "o.parquet", "--n", 5)
    assert code == 0, text


def test_a_fifo_output_is_still_a_fifo_afterwards(work):
    os.mkfifo("pipe.parquet")
    before = snapshot(work)
    run(*SAMPLE, "-o", "pipe.parquet")
    assert stat.S_ISFIFO(os.lstat("pipe.parquet").st_mode)
    assert snapshot(work) == before
