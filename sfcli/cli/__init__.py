"""The ``sfcli`` command line (Typer). Each subcommand lives in its own module."""

from __future__ import annotations

import sys

import typer

from sfcli.cli import embed, separate, train_filter, train_words
from sfcli.cli import eval as eval_cli
from sfcli.cli.common import run_app

app = typer.Typer(
    name="sfcli",
    help="Pull one sound out of a recording from a plain-English description or an example clip.",
    no_args_is_help=True,
    add_completion=False,
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
app.command("embed", epilog=embed.EPILOG)(embed.embed)
app.command("train-words", epilog=train_words.EPILOG)(train_words.train_words_cmd)
app.command("train-filter", epilog=train_filter.EPILOG)(train_filter.train_filter_cmd)
app.add_typer(eval_cli.eval_app, name="eval")


def main() -> None:
    """Console-script entry point: runs the app and turns user errors into one line + exit 1."""
    sys.exit(run_app(app))
