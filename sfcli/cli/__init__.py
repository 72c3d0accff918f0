"""The ``sfcli`` command line (Typer). Each subcommand lives in its own module.

Help is rendered by click's plain formatter (``rich_markup_mode=None``), not Typer's rich panels:
at 80 columns the panels cut long option names ("--reuse-cond-embeddin…"), showed a ``<bool>`` type
for flags and dropped ``<...>`` placeholders as HTML. The subcommands' Markdown epilogs are
converted for it by :func:`plain_help`.
"""

from __future__ import annotations

import re
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
    rich_markup_mode=None,
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


def plain_help(markdown: str) -> str:
    """A Markdown epilog for click's plain help: ``**Title**`` becomes ``Title:`` and each fenced
    block keeps its lines as they are (click's ``\\b`` marker stops it rewrapping them)."""
    out: list[str] = []
    in_code = False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            if in_code:
                out.append("\b")
            continue
        title = None if in_code else re.fullmatch(r"\*\*(.+)\*\*:?", line.strip())
        out.append(f"{title.group(1)}:" if title else line)
    return "\n".join(out)


app.command("separate", epilog=plain_help(separate.EPILOG))(separate.separate)
app.command("embed", epilog=plain_help(embed.EPILOG))(embed.embed)
app.command("train-words", epilog=plain_help(train_words.EPILOG))(train_words.train_words_cmd)
app.command("train-filter", epilog=plain_help(train_filter.EPILOG))(train_filter.train_filter_cmd)
eval_cli.eval_app.rich_markup_mode = None
for _info in eval_cli.eval_app.registered_commands:
    if _info.epilog:
        _info.epilog = plain_help(_info.epilog)
app.add_typer(eval_cli.eval_app, name="eval")


def main() -> None:
    """Console-script entry point: runs the app and turns user errors into one line + exit 1."""
    sys.exit(run_app(app))
