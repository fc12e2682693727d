"""The ``curate`` command: a click group whose commands live in sibling modules.

How a failure reaches the user (DESIGN §9): a :class:`~schemas.CurationError` is its one-line
message and exit code 1; SIGINT and SIGTERM become an exception (so every ``finally`` runs and
no temporary file is left) and one line, exit 128 + the signal; any other exception is a bug:
one line ``Error: internal error (ValueError: ...); details in <log>`` with the traceback in a
mode-600 log under ``$XDG_STATE_HOME/audit-curation/`` (``~/.local/state/audit-curation/``),
made only then. ``curate --verbose`` prints the traceback instead.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

import click

from samplers.base import package_version
from schemas import CurationError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal, raised where the program was (not an Exception: nothing swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class OneLine(click.ClickException):
    """``Error: <message>`` on stderr and ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(" ".join(str(message).splitlines()))
        self.exit_code = exit_code


def _raise_stopped(signum, _frame) -> None:
    raise Stopped(signum)


def log_folder() -> Path:
    """Where internal errors are logged: ``$XDG_STATE_HOME/audit-curation``, by default
    ``~/.local/state/audit-curation``."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "audit-curation"


def write_log(exc: BaseException) -> Path:
    """A new mode-600 log file holding the command line and the traceback of ``exc``."""
    folder = log_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"curate-{stamp}-{os.getpid()}.log"
    text = (f"curate {package_version()} (Python {sys.version.split()[0]}) at {stamp} UTC\n"
            f"command: curate {' '.join(sys.argv[1:])}\n\n"
            + "".join(traceback.format_exception(exc)))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def internal_error(exc: Exception, verbose: bool) -> OneLine:
    """The one line of an unexpected exception (a bug), its traceback logged or printed."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    what = f"internal error ({type(exc).__name__}: {first})" if first else \
        f"internal error ({type(exc).__name__})"
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
        return OneLine(what)
    try:
        path = write_log(exc)
    except OSError as problem:
        return OneLine(f"{what}; no log could be written ({problem.strerror or problem}): "
                       f"run `curate --verbose ...` for the traceback")
    return OneLine(f"{what}; details in {path}")


def stopped_line(signum: int) -> OneLine:
    return OneLine(f"interrupted by {signal.Signals(signum).name}; stopped before finishing "
                   f"(no partial output was left)", 128 + signum)


class PlainDefault(click.Option):
    """An option whose descriptive default (``show_default="the manifest's"``) shows as
    ``[default: the manifest's]``, like every other default, not in parentheses."""

    def get_help_extra(self, ctx: click.Context):
        extra = super().get_help_extra(ctx)
        if isinstance(self.show_default, str):
            extra["default"] = self.show_default
        return extra


class CurateGroup(click.Group):
    """Turns every failure into ``Error: <one line>`` and a non-zero exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CurationError as exc:
            raise OneLine(str(exc), exc.exit_code) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Stopped as exc:
            raise stopped_line(exc.signum) from None
        except KeyboardInterrupt:
            raise stopped_line(signal.SIGINT) from None
        except Exception as exc:  # noqa: BLE001  (the last resort: a bug, not a user error)
            raise internal_error(exc, bool(ctx.params.get("verbose"))) from None


@click.group(cls=CurateGroup, context_settings={"help_option_names": ["-h", "--help"],
                                               "show_default": True})
@click.version_option(package_version(), prog_name="curate")
@click.option("--verbose", is_flag=True,
              help="On an internal error (a bug), print the traceback instead of writing it "
                   "to a log file.")
def cli(verbose: bool) -> None:
    """Build representation-focused audit datasets of a streaming catalogue and its
    recommendations: sample, review in Label Studio, estimate, version with DVC."""


def _register() -> None:
    """Add the ``COMMANDS`` of every module of this package (one module per verb group)."""
    import importlib
    import pkgutil

    from curation import cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)
            _plain_defaults(command)


def _plain_defaults(command: click.Command) -> None:
    """Every default in --help one way: ``[default: ...]`` (the group's ``show_default``
    shows the static ones; :class:`PlainDefault` the descriptive ones)."""
    for param in command.params:
        if type(param) is click.Option:
            param.__class__ = PlainDefault
    for sub in getattr(command, "commands", {}).values():
        _plain_defaults(sub)


_register()


def main() -> None:
    """The program: stop signals become :class:`Stopped`, so clean-ups run."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stopped)
    try:
        cli(prog_name="curate")
    except Stopped as exc:  # outside a command (while parsing or printing)
        stopped_line(exc.signum).show()
        sys.exit(128 + exc.signum)
