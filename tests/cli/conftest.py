"""Run the CLI in-process and capture its streams."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sfcli.cli import app
from sfcli.cli.common import run_app


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str]):
    """``cli("separate", "x.wav", "--text", "owl")`` → Result(code, out, err)."""

    def _run(*args: str) -> Result:
        code = run_app(app, [str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


@pytest.fixture()
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every atomic file write (``sfcli.pretrained.atomic_write_bytes``) fails as on a full disk."""
    import sfcli.pretrained

    def refuse(target: object, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sfcli.pretrained, "atomic_write_bytes", refuse)
