"""Every command's --help at 80 columns: option names whole, no type noise, placeholders kept."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer

from sfcli.cli import app, plain_help


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``cmd`` (Typer's click objects; Typer may bundle its own click)."""
    found = [(path, cmd)]
    if hasattr(cmd, "commands"):
        for name, sub in sorted(cmd.commands.items()):
            found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_tree_holds_every_subcommand() -> None:
    paths = {" ".join(p) for p, _ in COMMANDS}
    assert {"", "separate", "embed", "train-words", "train-filter", "eval"} <= paths


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) or "sfcli" for p, _ in COMMANDS])
def test_help_at_80_columns_shows_every_option_whole(
    cli, monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...], cmd: Any
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    r = cli(*path, "--help")
    assert r.code == 0, r.err
    text = r.out
    assert "…" not in text and "<bool>" not in text
    for param in cmd.params:
        if param.param_type_name != "option":
            continue
        for name in (*param.opts, *param.secondary_opts):
            # The name must stand whole: not cut, not wrapped, not glued to other text.
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), f"{name} missing in {path} --help"
    options = text.split("Options:", 1)[-1].split("\n\n", 1)[0]
    assert all(len(line) <= 80 for line in options.splitlines()), options


def test_separate_help_names_the_output_layout(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    r = cli("separate", "--help")
    assert "OUT/NAME/target.wav" in r.out and "OUT//" not in r.out
    assert "clip-mp3" in r.out.replace("-\n  ", "-").replace("\n  ", " ")
    assert "sfcli separate mix.wav --ref sample.wav" in r.out  # examples kept line by line


def test_version_is_a_plain_flag(cli) -> None:
    r = cli("--help")
    line = next(ln for ln in r.out.splitlines() if "--version" in ln)
    assert line.split() == ["--version", "Print", "the", "version."]
    v = cli("--version")
    assert v.code == 0 and v.out.startswith("sfcli ")


def test_plain_help_converts_markdown_epilogs() -> None:
    md = "**Examples**\n\n```\nsfcli a   # one\nsfcli b   # two\n```\n"
    assert plain_help(md) == "Examples:\n\n\b\nsfcli a   # one\nsfcli b   # two"
