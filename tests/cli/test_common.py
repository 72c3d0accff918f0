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
