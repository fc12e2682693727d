"""What every refusal must look like, and how a case runs ``curate`` (in process or as one).

A refusal (:func:`refused`): exit code ≠ 0, exactly one line starting with ``Error`` (click's
usage errors may add their two-line usage header) naming what is at fault, no traceback, every
file of the working folder byte-identical and no new file (no ``*.tmp``, no sidecar, nothing).
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from tests.cli import run

PROJECT = Path(__file__).resolve().parents[2]
_USAGE = ("Usage: ", "Try '")


def snapshot(folder: Path, ignore: tuple[str, ...] = ()) -> dict[str, str]:
    """Every entry under ``folder``: SHA-256 of regular files, the kind of anything else (a
    FIFO or device is never opened); ``ignore`` names folders of tools' own state (``.git``)."""
    out = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs
                   if (Path(root) / d).relative_to(folder).as_posix() not in ignore]
        for name in sorted(dirs + files):
            path = Path(root) / name
            st = os.lstat(path)
            rel = path.relative_to(folder).as_posix()
            if stat.S_ISREG(st.st_mode):
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = "symlink:" + os.readlink(path)
            else:
                out[rel] = f"mode:{stat.S_IFMT(st.st_mode):o} rdev:{st.st_rdev}"
    return out


def error_line(code: int, text: str) -> str:
    """The one ``Error`` line of a failed run (asserting the whole output is just that)."""
    assert code not in (0, None), f"exit code {code}, expected a refusal:\n{text}"
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    assert len(errors) == 1, f"expected one line starting with 'Error':\n{text}"
    rest = [line for line in lines if line not in errors]
    if code == 2:  # click's usage error: its usage header (wrapped or not) is fine
        rest = [line for line in rest if not line.startswith(_USAGE + (" ",))]
    assert not rest, f"more than the one-line error:\n{text}"
    return errors[0]


def assert_refusal(code: int, text: str, before: dict, folder: Path, names=(),
                   ignore: tuple[str, ...] = ()) -> str:
    line = error_line(code, text)
    for name in names:
        assert str(name) in line, f"the message does not name {name!r}: {line}"
    after = snapshot(folder, ignore)
    changed = sorted(k for k in before if after.get(k) != before[k])
    new = sorted(set(after) - set(before))
    assert not changed, f"pre-existing files changed or removed: {changed}\n{line}"
    assert not new, f"new files: {new}\n{line}"
    return line


def refused(*args, names=(), env=None, folder: Path | None = None,
            ignore: tuple[str, ...] = ()) -> str:
    """Run ``curate ARGS`` in process and assert a refusal (see module doc); the line."""
    folder = Path.cwd() if folder is None else folder
    before = snapshot(folder, ignore)
    code, text = run(*args, env=env)
    return assert_refusal(code, text, before, folder, names, ignore)


def process_env(**extra: str) -> dict[str, str]:
    """Environment of a real ``python -m curation`` child: this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "CI": "1", **extra}
    env.pop("LABEL_STUDIO_URL", None)
    env.pop("LABEL_STUDIO_API_KEY", None)
    return env


def _default_sigint() -> None:
    """In the child before exec: SIGINT as a terminal delivers it, even when the test run was
    started in the background (a non-interactive shell then ignores SIGINT for its jobs, and an
    ignored signal is inherited: the child would never see the test's SIGINT while starting)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def curate_process(*args, cwd: Path, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "curation", *map(str, args)], cwd=cwd,
                            env=env or process_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint,
                            **popen)
