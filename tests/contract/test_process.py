"""The process: signals, a full disk, internal errors and --help, seen from outside.

SIGINT while `curate` starts up and SIGTERM or SIGINT while it writes end it with one line and
leave no temporary file; `-o /dev/full` is an error, never a replaced device node; an unexpected
exception is one line pointing at a private log of its traceback (`curate --verbose` prints
the traceback instead); and `--help` shows every default one way: ``[default: ...]``.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import click
import pytest

from curation.cli.main import cli
from tests.cli import run

from .refusal import assert_refusal, curate_process, error_line, process_env, snapshot


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


@pytest.mark.parametrize("delay", [0.25, 0.5])  # the lazy CLI starts in ~0.1 s, a sample in ~1 s
def test_sigint_during_start_up_ends_in_one_line(work, delay):
    before = snapshot(work)
    proc = curate_process("sample", "cat.parquet", "-o", "o.parquet", "--n", 5, cwd=work)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    code, text = finish(proc)
    assert code != 0 and code is not None
    line = assert_refusal(code, text, before, work)
    assert "interrupt" in line.lower()


WRITER = textwrap.dedent("""
    import sys, time
    import pyarrow.parquet as pq
    import schemas.io as io

    def slow_write(table, where, **kw):
        with open(where, "wb") as f:
            f.write(b"PAR1 half a file")
            f.flush()
        print("writing", file=sys.stderr, flush=True)
        time.sleep(60)

    io.pq = type("pq", (), {"write_table": staticmethod(slow_write)})
    from curation.cli.main import main
    sys.argv = ["curate", *sys.argv[1:]]
    main()
""")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_while_writing_leaves_no_temporary_file(work, sig):
    before = snapshot(work)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, "sample", "cat.parquet", "-o",
                             "s.parquet", "--n", "5"], cwd=work, env=process_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(work.glob(".s.parquet.*.tmp")):
        time.sleep(0.05)
    assert any(work.glob(".s.parquet.*.tmp")), "the writer never started"
    proc.send_signal(sig)
    code, text = finish(proc)
    line = assert_refusal(code, text.replace("writing\n", ""), before, work)
    assert signal.Signals(sig).name in line and code == 128 + sig


@pytest.fixture
def dev_full():
    """The real /dev/full, put back if a regression ever replaced it."""
    path = Path("/dev/full")
    if not path.exists() or not stat.S_ISCHR(os.stat(path).st_mode):
        pytest.skip("no /dev/full character device")
    yield path
    if not stat.S_ISCHR(os.lstat(path).st_mode):
        path.unlink()
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        os.chmod(path, 0o666)
        Path("/dev/full.manifest.json").unlink(missing_ok=True)
        pytest.fail("/dev/full was replaced by a regular file (restored)")


def test_output_to_dev_full_is_an_error_and_leaves_the_device(work, dev_full):
    before = snapshot(work)
    proc = curate_process("sample", "cat.parquet", "-o", str(dev_full), "--n", 5, cwd=work)
    code, text = finish(proc)
    assert_refusal(code, text, before, work, names=["/dev/full"])
    assert stat.S_ISCHR(os.lstat(dev_full).st_mode)
    assert not Path("/dev/full.manifest.json").exists()


# -- the last-resort handler -------------------------------------------------------------------

@pytest.fixture
def broken(monkeypatch):
    """`curate validate` with a bug inside: its library call raises ValueError."""
    import curation.cli.data as data

    def bug(*_args, **_kw):
        raise ValueError("an unexpected bug")

    monkeypatch.setattr(data, "read_parquet", bug)


def logs(work: Path) -> list[Path]:
    return sorted((work.parent / "state" / "audit-curation").glob("curate-*.log"))


def test_an_internal_error_is_one_line_and_a_private_log(work, broken):
    before = snapshot(work)
    code, text = run("validate", "catalogue", "cat.parquet")
    line = assert_refusal(code, text, before, work,
                          names=["internal error", "ValueError: an unexpected bug"])
    (log,) = logs(work)
    assert str(log) in line
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    body = log.read_text()
    assert "Traceback" in body and "an unexpected bug" in body and "validate" in body


def test_verbose_prints_the_traceback_instead_of_a_log(work, broken):
    code, text = run("--verbose", "validate", "catalogue", "cat.parquet")
    assert code != 0
    assert "Traceback" in text and "ValueError: an unexpected bug" in text
    assert [line for line in text.splitlines() if line.startswith("Error")]
    assert logs(work) == []


def test_a_curation_error_keeps_its_message_and_writes_no_log(work):
    code, text = run("validate", "catalogue", "nosuch.parquet")
    assert "nosuch.parquet" in error_line(code, text) and "internal" not in text
    assert logs(work) == []


# -- --help: defaults one way ------------------------------------------------------------------

def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_help_shows_defaults_one_way():
    """No default in prose ("[0]", "(default: x)"): ``[default: ...]`` only, shown for every
    option that has a default, never in parentheses."""
    wrong = []
    top = click.Context(cli, info_name="curate", **cli.context_settings)
    for path, command in commands():
        ctx = click.Context(command, parent=top, info_name=path[-1])
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            where = f"{' '.join(path)} {param.opts[0]}"
            if re.search(r"\(default|\[[^\]]*\]", param.help or "", flags=re.IGNORECASE):
                wrong.append(f"{where}: a default in prose: {param.help!r}")
            shown = (param.get_help_record(ctx) or ("", ""))[1]
            if "[default: (" in shown:
                wrong.append(f"{where}: a default in parentheses: {shown!r}")
            unset = type(param.default).__name__ == "Sentinel"  # click >= 8.3: no default
            trivial = unset or param.default in (None, False, ()) or param.is_flag \
                or param.multiple
            if not trivial and "[default: " not in shown:
                wrong.append(f"{where}: default {param.default!r} not shown")
        doc = command.help or ""
        if re.search(r"\[[a-z][^\]]*\]", doc.split("\n\n")[0]):
            wrong.append(f"{' '.join(path)}: a default in the description")
    assert not wrong, "\n".join(wrong)


def test_help_runs_for_every_command():
    for path, _ in commands():
        code, text = run(*path, "--help")
        assert code == 0, text


