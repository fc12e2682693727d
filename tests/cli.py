"""Running ``curate`` in tests through its real entry point (click's runner, in process)."""

from __future__ import annotations

from click.testing import CliRunner

from curation.cli.main import cli


def run(*args, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``curate ARGS`` → (exit code, stdout + stderr); ``env`` is set for the call only."""
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    return result.exit_code, result.output
