"""The ``sfcli`` command line (Typer). Each subcommand lives in its own module."""

from __future__ import annotations

import sys

import typer

from sfcli.cli import separate
from sfcli.cli.common import run_app

app = typer.Typer(
    name="sfcli",
    help="Pull one sound out of a recording from a plain-English description or an example clip.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from sfcli import __version__

        typer.echo(f"sfcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Pull one sound out of a recording from a plain-English description or an example clip."""


app.command("separate", epilog=separate.EPILOG)(separate.separate)


def main() -> None:
    """Console-script entry point: runs the app and turns user errors into one line + exit 1."""
    sys.exit(run_app(app))
