"""``curate`` starts instantly: commands load on use, ``--help`` and ``--version`` import no
command module and none of the heavy libraries (issue 17, item 3)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from curation import cli as package
from curation.cli.main import COMMAND_MODULES, cli
from tests.cli import run

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "matplotlib", "sklearn", "dask", "dvc")


def defined_commands() -> dict[str, tuple[str, click.Command]]:
    """``{name: (module, command)}`` of every ``COMMANDS`` entry of the modules of curation.cli."""
    out = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            assert command.name not in out, f"{command.name!r} defined twice"
            out[command.name] = (info.name, command)
    return out


def test_the_lazy_mapping_names_exactly_the_commands_the_modules_define():
    defined = defined_commands()
    assert {n: m for n, (m, _) in defined.items()} == {n: m for n, (m, _) in
                                                       COMMAND_MODULES.items()}, \
        "curation/cli/main.py COMMAND_MODULES must list every command of every module"
    for name, (_, command) in defined.items():  # what --help lists is the command's own help
        assert COMMAND_MODULES[name][1] == command.get_short_help_str(limit=10_000), \
            f"{name}: copy its first docstring sentence into COMMAND_MODULES (main.py)"


def test_every_listed_command_loads_and_has_help():
    assert cli.list_commands(click.Context(cli)) == sorted(COMMAND_MODULES)
    assert sorted(cli.commands) == sorted(COMMAND_MODULES)  # walking them loads them all
    for name in COMMAND_MODULES:
        code, text = run(name, "--help")
        assert code == 0 and f"Usage: cli {name}" in text, (name, text)


def _imported(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """``python -X importtime -m curation ARGS`` and the modules its import log names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "curation", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    return done, modules


def _loaded(*args: str) -> set[str]:
    """Every module in ``sys.modules`` after ``curate ARGS`` in a fresh process (the import log
    leaves out what ``importlib.import_module`` loads: the lazy commands)."""
    code = ("import sys\nfrom curation.cli.main import main\n"
            f"sys.argv = ['curate', *{list(args)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    return set(done.stderr.split())


@pytest.mark.parametrize("args", [("--help",), ("--version",), ()])
def test_help_and_version_import_no_heavy_library_and_no_command_module(args):
    done, modules = _imported(*args)
    assert "Usage: curate" in done.stdout + done.stderr or "curate, version" in done.stdout, \
        done.stderr[-2000:]
    assert len(modules) > 20  # the import log was read
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, heavy
    loaded = _loaded(*args)
    assert "curation.cli.main" in loaded
    assert not sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    commands = {f"curation.cli.{m}" for m, _ in COMMAND_MODULES.values()} | {"samplers",
                                                                          "schemas"}
    assert not loaded & commands, sorted(loaded & commands)


def test_a_commands_own_help_loads_its_module_only():
    loaded = _loaded("plan", "--help")
    assert "curation.cli.plan" in loaded
    assert not loaded & {"curation.cli.studio", "curation.cli.report", "matplotlib"}


def test_an_unknown_command_is_a_usage_error_naming_it():
    code, text = run("smaple")
    assert code == 2 and "No such command 'smaple'" in text
