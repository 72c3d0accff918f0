"""sfcli.train.export: the trainers' model folder is written atomically and checked before training."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from sfcli.errors import OutputError
from sfcli.train.export import check_model_out, export_model_folder, strict_json


def _write(text: str, cache: bool = False):
    def write(folder: Path) -> None:
        (folder / "model.safetensors").write_text(f"weights {text}")
        (folder / "config.json").write_text(f"config {text}")
        if cache:
            (folder / "text_cache.json").write_text("[]")

    return write


def test_a_new_folder_appears_whole_and_readable(tmp_path: Path) -> None:
    out = export_model_folder(tmp_path / "m", _write("new"))
    assert (out / "config.json").read_text() == "config new"
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~_umask()  # as mkdir makes it, not mkdtemp's 0700
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_an_interrupted_export_leaves_the_old_model(tmp_path: Path) -> None:
    out = export_model_folder(tmp_path / "m", _write("old", cache=True))

    def broken(folder: Path) -> None:
        (folder / "model.safetensors").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_model_folder(out, broken)
    assert (out / "model.safetensors").read_text() == "weights old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary folder left


def test_replacing_keeps_other_files_and_drops_a_stale_text_cache(tmp_path: Path) -> None:
    out = export_model_folder(tmp_path / "m", _write("old", cache=True))
    (out / "README.md").write_text("card")
    export_model_folder(out, _write("new"))
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert (out / "model.safetensors").read_text() == "weights new"


def test_check_model_out(tmp_path: Path) -> None:
    run = tmp_path / "run"
    check_model_out(tmp_path / "new" / "deeper", run, force=False)  # nothing there yet
    other = export_model_folder(tmp_path / "other", _write("x"))
    with pytest.raises(OutputError, match="already holds a model; use --force"):
        check_model_out(other, run, force=False)
    check_model_out(other, run, force=True)
    own = export_model_folder(run / "model", _write("x"))
    check_model_out(own, run, force=False)  # the run's default folder: resuming replaces it
    (run / "summary.json").write_text(json.dumps({"model": str(other)}))
    check_model_out(other, run, force=False)  # the folder this run exported to before
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        check_model_out(tmp_path / "file", run, force=True)


def test_strict_json_has_no_nan() -> None:
    value = {"loss": float("nan"), "parts": [1.0, float("inf")], "n": 3, "s": "x"}
    assert json.dumps(strict_json(value), allow_nan=False) == '{"loss": null, "parts": [1.0, null], "n": 3, "s": "x"}'


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
