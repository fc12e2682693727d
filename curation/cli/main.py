"""The ``curate`` command: a click group whose commands live in sibling modules.

How a failure reaches the user (DESIGN §9): a :class:`~schemas.CurationError` is its one-line
message and exit code 1; SIGINT and SIGTERM become an exception (so every ``finally`` runs and
no temporary file is left) and one line, exit 128 + the signal; any other exception is a bug:
one line ``Error: internal error (ValueError: ...); details in <log>`` with the traceback in a
mode-600 log under ``$XDG_STATE_HOME/audit-curation/`` (``~/.local/state/audit-curation/``),
made only then. ``curate --verbose`` prints the traceback instead. A warning (e.g. a fetch
that fell back to a slower reader) is one ``warning: <message>`` line on stderr.

Commands load on use (click's lazy-group pattern): :data:`COMMAND_MODULES` names each command's
module and short help, so ``curate --help`` and ``curate --version`` import no command module
(nor numpy, pandas or pyarrow) and answer in a few tens of milliseconds; a command's module is
imported when that command runs or its own ``--help`` is asked.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
import warnings
from datetime import UTC, datetime
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click

#: ``{command: (module of curation.cli defining it, its short help)}``: what ``curate --help``
#: lists without importing anything. tests/test_cli_startup.py checks it against the modules'
#: ``COMMANDS`` (a command missing here, or a short help out of date, fails there).
COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "agreement": ("studio", "Krippendorff's alpha and pairwise Cohen's kappa per label field of "
                            "LABELS, over the units with two or more counted votes."),
    "build": ("build", "Join SAMPLE with its pulled LABELS through adjudication: one row per "
                       "sampled unit."),
    "compare": ("compare", "Estimate each label in WAVE_A and WAVE_B (curated datasets, or --rev "
                           "A --rev B of --dataset) and the change B − A, its variance "
                           "including the covariance of the units both waves share; or, with "
                           "--did, the intervention effect."),
    "demo": ("demo", "Run a whole audit in WORKDIR (audit-demo if not given): data, samples, "
                     "Label Studio, SIMULATED annotators, pull, adjudication, estimates vs the "
                     "hidden truth, report, DVC version."),
    "demo-data": ("data", "Generate a synthetic catalogue, recommendation log and hidden truth "
                          "in OUTDIR."),
    "estimate": ("estimate", "Estimate totals, means and proportions of labeled sample DATA with "
                             "honest intervals."),
    "get": ("versions", "Export PATH as it was at REV (from the DVC cache or remote), "
                        "atomically, after checking its bytes against the md5 DVC recorded."),
    "plan": ("plan", "How many labels for a CI half-width MARGIN on a prevalence near P, per "
                     "design."),
    "pull": ("studio", "Append every annotation not yet in OUTPUT (edits as new versions; "
                       "nothing deleted)."),
    "push": ("studio", "Push SAMPLE as blinded tasks; each unit exactly once, however often it "
                       "is run."),
    "report": ("report", "Write an HTML report (plots embedded; PNG, CSV and JSON beside it)."),
    "reproduce": ("versions", "Redraw REV's samples from REV's params and inputs; REPRODUCED or "
                              "what differs."),
    "sample": ("sample", "Draw a sample of INPUT (Parquet file or directory) and write it to "
                         "OUTPUT; with --phase2-of, a phase-2 subsample of that phase-1 "
                         "sample."),
    "studio": ("studio", "Start, stop or check a local Label Studio server (SQLite, "
                         "127.0.0.1)."),
    "trend": ("trend", "Estimate each label at every tagged version holding DATASET (tags by "
                       "commit date, read through DVC without checkout); the series, a figure, "
                       "a `dvc plots` file, and the groups whose change since the previous wave "
                       "is flagged at the false-discovery rate --fdr."),
    "validate": ("data", "Check the Parquet file or directory PATH against the KIND data "
                         "contract and, for a sample or curated dataset, against its manifest's "
                         "content hash; list every problem."),
    "versions": ("versions", "List the revisions that changed a sample or curated dataset (tags "
                             "first)."),
}

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


def package_version() -> str:
    """audit-curation's version from its installed metadata (not ``samplers``: numpy)."""
    try:
        return version("audit-curation")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


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


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one ``warning: <message>`` line on stderr (not Python's two lines of
    file, line number and source): what went differently, e.g. a slower path taken."""
    click.echo(f"warning: {' '.join(str(message).split())}", err=True)


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


class LoadingCommands(dict):
    """A group's ``commands`` for code that walks them (``cli.commands.items()`` in a test or a
    docs generator): every command of :data:`COMMAND_MODULES` is loaded first, so none is
    missed. The group itself reads it through ``dict``'s own methods, which load nothing."""

    def __init__(self, group: CurateGroup, commands: dict):
        super().__init__(commands)
        self._group = group

    def _all(self) -> None:
        for name in COMMAND_MODULES:
            self._group.get_command(None, name)

    def __iter__(self):
        self._all()
        return super().__iter__()

    def __len__(self) -> int:
        self._all()
        return super().__len__()

    def __contains__(self, name) -> bool:
        return name in COMMAND_MODULES or super().__contains__(name)

    def __getitem__(self, name):
        return self._group.get_command(None, name) or super().__getitem__(name)

    def get(self, name, default=None):
        return self._group.get_command(None, name) or default

    def keys(self):
        self._all()
        return super().keys()

    def items(self):
        self._all()
        return super().items()

    def values(self):
        self._all()
        return super().values()


class CurateGroup(click.Group):
    """Turns every failure into ``Error: <one line>`` and a non-zero exit code; loads the
    commands of :data:`COMMAND_MODULES` on first use."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commands = LoadingCommands(self, self.commands)

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted({*COMMAND_MODULES, *dict.keys(self.commands)})

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        if not dict.__contains__(self.commands, cmd_name) and cmd_name in COMMAND_MODULES:
            module = import_module(f"{__package__}.{COMMAND_MODULES[cmd_name][0]}")
            for command in getattr(module, "COMMANDS", []):
                if command.name == cmd_name:
                    _plain_defaults(command)
                    self.add_command(command)
        return dict.get(self.commands, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from :data:`COMMAND_MODULES` (nothing imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = dict.get(self.commands, name) or click.Command(
                name, help=COMMAND_MODULES[name][1])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        from schemas import CurationError  # loaded with the command anyway; not for --help

        try:
            with warnings.catch_warnings():
                warnings.showwarning = show_warning
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


def _plain_defaults(command: click.Command) -> None:
    """Every default in --help one way: ``[default: ...]`` (the group's ``show_default``
    shows the static ones; :class:`PlainDefault` the descriptive ones)."""
    for param in command.params:
        if type(param) is click.Option:
            param.__class__ = PlainDefault
    for sub in getattr(command, "commands", {}).values():
        _plain_defaults(sub)


def main() -> None:
    """The program: stop signals become :class:`Stopped`, so clean-ups run."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stopped)
    try:
        cli(prog_name="curate")
    except Stopped as exc:  # outside a command (while parsing or printing)
        stopped_line(exc.signum).show()
        sys.exit(128 + exc.signum)
