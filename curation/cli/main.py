"""The ``curate`` command: a click group whose commands live in sibling modules."""

from __future__ import annotations

import click

from samplers.base import package_version
from schemas import CurationError


class CurateGroup(click.Group):
    """Turns every CurationError into ``Error: <one line>`` and exit code 1, no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CurationError as exc:
            message = " ".join(str(exc).split("\n"))
            raise click.ClickException(message) from None


@click.group(cls=CurateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_version(), prog_name="curate")
def cli() -> None:
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


_register()


def main() -> None:
    cli(prog_name="curate")
