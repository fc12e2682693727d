"""Progress bars show on a terminal only, and cost no tqdm import anywhere else."""

from __future__ import annotations

import os
import subprocess
import sys

from ..terminal import on_a_terminal

SCRIPT = ("import sys; from schemas.progress import progress, shown\n"
          "with progress(10, 'x', 'rows') as bar: bar.update(10)\n"
          "print(shown(), 'tqdm' in sys.modules)")


def _env(ci: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return {**env, "CI": "true"} if ci else env


def test_without_a_terminal_no_bar_shows_and_tqdm_is_not_imported():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=_env(ci=False), check=True)
    assert out.stdout.split() == ["False", "False"]
    assert out.stderr == ""


def test_on_a_terminal_a_bar_shows():
    text = on_a_terminal([sys.executable, "-c", SCRIPT], _env(ci=False))
    assert "True True" in text
    assert "10/10" in text  # tqdm drew the bar


def test_under_ci_no_bar_shows_even_on_a_terminal():
    text = on_a_terminal([sys.executable, "-c", SCRIPT], _env(ci=True))
    assert "False False" in text
    assert "10/10" not in text
