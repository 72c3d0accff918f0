"""train-filter's CLI options: post-filter settings and the mask refiner end up in the model config."""

from __future__ import annotations

import json
from pathlib import Path


def test_postfilter_options_are_saved_in_the_model_config(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train-filter", "--tiny", "-q", "--run-dir", run, "--steps", "1", "--batch-size", "2"]
    args += ["--crop-seconds", "0.4", "--valid-size", "2", "--projection", "--postfilter"]
    res = cli(*args, "--postfilter-fft", "1024", "--postfilter-power", "2", "--refiner-channels", "3")
    assert res.code == 0, res.err
    cfg = json.loads((run / "model" / "config.json").read_text())
    assert (cfg["postfilter_fft"], cfg["postfilter_power"], cfg["refiner_channels"]) == (1024, 2.0, 3)


def test_a_refiner_without_the_postfilter_is_a_one_line_error(cli, tmp_path: Path) -> None:
    res = cli("train-filter", "--tiny", "-q", "--run-dir", tmp_path / "r", "--steps", "1", "--refiner-channels", "3")
    assert res.code != 0
    assert "--postfilter" in res.err and len(res.err.strip().splitlines()) == 1
    assert "Traceback" not in res.err
    assert not (tmp_path / "r" / "model").exists()
