"""sfcli.cli.common: user errors are printed on one line."""

from __future__ import annotations

import pytest
from torch._utils import ExceptionWrapper

from sfcli.cli.common import one_line, run_app
from sfcli.errors import SfcliError


def _worker_error(message: str) -> SfcliError:
    """An SfcliError as a DataLoader re-raises it from a worker process."""
    try:
        raise SfcliError(message)
    except SfcliError:
        wrapper = ExceptionWrapper(where="in DataLoader worker process 0")
    try:
        wrapper.reraise()
    except SfcliError as exc:
        return exc
    raise AssertionError("reraise did not raise")


def test_worker_tracebacks_shrink_to_the_original_message() -> None:
    exc = _worker_error("training example 3 and its 8 redraws all have a silent source")
    assert "\n" in str(exc)
    assert one_line(str(exc)) == "training example 3 and its 8 redraws all have a silent source"


def test_other_messages_keep_their_text_on_one_line() -> None:
    assert one_line("plain message") == "plain message"
    assert one_line("first\nsecond\n") == "first; second"


def test_run_app_prints_a_worker_error_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise _worker_error("the corpus audio is incomplete")

    @app.command()
    def other() -> None:
        pass

    assert run_app(app, ["boom"]) == 1
    err = capsys.readouterr().err
    assert err == "sfcli: error: the corpus audio is incomplete\n"


def test_output_names_are_predictable(tmp_path) -> None:
    from pathlib import Path

    from sfcli.cli.common import output_names

    d = tmp_path / "rec"
    paths = [d / "clip.mp3", d / "clip.ogg", d / "solo.wav", tmp_path / "a" / "take.wav", tmp_path / "b" / "take.wav"]
    names = output_names(paths)
    assert names[:3] == ["clip-mp3", "clip-ogg", "solo"]
    assert names[3:] == [f"{tmp_path.name}_a_take", f"{tmp_path.name}_b_take"]
    assert output_names([Path("x/one.wav")]) == ["one"]
    # A generated name that meets a real stem gets a short hash, so that every folder stays distinct.
    clash = output_names([d / "clip.mp3", d / "clip.ogg", d / "clip-mp3.wav"])
    assert len(set(clash)) == 3 and clash[1] == "clip-ogg"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["separate", "--nope"], "No such option: --nope (Possible options: --force) (see sfcli separate --help)"),
        (["separate"], "Missing argument 'INPUT' (see sfcli separate --help)"),
        (["separate", "x.wav", "-t"], "Option '-t' requires an argument (see sfcli separate --help)"),
        (["eval", "words", "--markdown"], "Option '--markdown' requires an argument (see sfcli eval words --help)"),
        (["nosuch"], "No such command 'nosuch' (see sfcli --help)"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    from sfcli.cli import app

    assert run_app(app, argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"sfcli: error: {expected}\n" and captured.out == ""


def test_a_bare_group_still_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    from sfcli.cli import app

    assert run_app(app, ["eval"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Usage: sfcli eval") and "words" in err


def test_expand_inputs_skips_outputs_found_in_folders_but_not_named_files(tmp_path) -> None:
    from pathlib import Path

    from sfcli.cli.common import expand_inputs

    for rel in ("a.wav", "out/a/target.wav", "sub/b.flac"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    out = tmp_path / "out"

    def is_out(p: Path) -> bool:
        return out in p.parents

    assert expand_inputs([str(tmp_path)], is_out) == [tmp_path / "a.wav", tmp_path / "sub" / "b.flac"]
    assert expand_inputs([str(tmp_path / "**" / "*.wav")], is_out) == [tmp_path / "a.wav"]
    assert expand_inputs([str(out / "a" / "target.wav")], is_out) == [out / "a" / "target.wav"]
    assert len(expand_inputs([str(tmp_path)])) == 3
    with pytest.raises(SfcliError, match="folder holds no audio files besides 1 earlier output file"):
        expand_inputs([str(out)], is_out)
