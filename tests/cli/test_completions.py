"""Shell completions in completions/ are generated from the Typer app and must stay in sync."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sfcli.cli import app
from sfcli.cli.completions import generate

ROOT = Path(__file__).resolve().parents[2]


def test_committed_completions_are_up_to_date() -> None:
    for name, text in generate(app).items():
        committed = ROOT / "completions" / name
        assert committed.is_file(), f"missing completions/{name}"
        assert committed.read_text() == text, (
            f"completions/{name} is out of date: run `python -m sfcli.cli.completions completions`"
        )


def test_completions_name_every_command_and_option() -> None:
    scripts = generate(app)
    bash = scripts["sfcli.bash"]
    for word in ("separate", "--text", "--ref", "--force", "--json", "--plot", "--format"):
        assert word in bash
        assert word.lstrip("-") in scripts["sfcli.fish"]
        assert word in scripts["_sfcli"]


def test_bash_completion_script_parses_and_completes(tmp_path: Path) -> None:
    script = generate(app)["sfcli.bash"]
    probe = (
        f"{script}\n"
        'COMP_WORDS=(sfcli separate --for); COMP_CWORD=2; _sfcli; echo "${COMPREPLY[@]}"\n'
        'COMP_WORDS=(sfcli sep); COMP_CWORD=1; _sfcli; echo "${COMPREPLY[@]}"\n'
        'COMP_WORDS=(sfcli separate --format ""); COMP_CWORD=3; _sfcli; echo "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["--force --format", "separate", "wav flac"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_fish_script_parses() -> None:  # pragma: no cover - depends on fish
    subprocess.run(["fish", "-n"], input=generate(app)["sfcli.fish"], text=True, check=True)


def test_repeatable_path_options_complete_file_names() -> None:
    bash = generate(app)["sfcli.bash"]
    assert '--ref|-r) COMPREPLY=($(compgen -f -- "$cur"))' in bash  # --ref is list[Path]
    assert '--bits) COMPREPLY=($(compgen -W "16 24 32"' in bash
