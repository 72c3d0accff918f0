"""train-filter's CLI options: post-filter settings, the refiner and context units reach the model config,
--bf16 the trainer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_postfilter_options_are_saved_in_the_model_config(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train-filter", "--tiny", "-q", "--run-dir", run, "--steps", "1", "--batch-size", "2"]
    args += ["--crop-seconds", "0.4", "--valid-size", "2", "--projection", "--postfilter"]
    args += ["--refiner-channels", "3", "--context-units", "2"]
    res = cli(*args, "--postfilter-fft", "1024", "--postfilter-power", "2")
    assert res.code == 0, res.err
    cfg = json.loads((run / "model" / "config.json").read_text())
    assert (cfg["postfilter_fft"], cfg["postfilter_power"], cfg["refiner_channels"]) == (1024, 2.0, 3)
    assert cfg["context_units"] == 2


def test_a_refiner_without_the_postfilter_is_a_one_line_error(cli, tmp_path: Path) -> None:
    res = cli("train-filter", "--tiny", "-q", "--run-dir", tmp_path / "r", "--steps", "1", "--refiner-channels", "3")
    assert res.code != 0
    assert "--postfilter" in res.err and len(res.err.strip().splitlines()) == 1
    assert "Traceback" not in res.err
    assert not (tmp_path / "r" / "model").exists()


def test_bf16_reaches_the_training_options(cli, tmp_path: Path, monkeypatch) -> None:
    import sfcli.train.filter as trainer

    seen: list[bool] = []
    real = trainer.train_filter

    def spy(opts, *args, **kwargs):
        seen.append(opts.bf16)
        return real(opts, *args, **kwargs)

    monkeypatch.setattr(trainer, "train_filter", spy)
    args = ["train-filter", "--tiny", "-q", "--steps", "1", "--batch-size", "2", "--valid-size", "2"]
    assert cli(*args, "--run-dir", tmp_path / "a").code == 0
    assert cli(*args, "--run-dir", tmp_path / "b", "--bf16").code == 0
    assert seen == [False, True]


def test_bf16_on_a_cpu_without_native_bfloat16_is_warned_about(cli, tmp_path: Path, monkeypatch) -> None:
    import sfcli.train.common as common

    monkeypatch.setattr(common, "cpu_has_native_bf16", lambda: False)
    args = ["train-filter", "--tiny", "-q", "--steps", "1", "--batch-size", "2", "--valid-size", "2"]
    res = cli(*args, "--run-dir", tmp_path / "b", "--bf16")
    assert res.code == 0, res.err
    assert "no native bfloat16" in res.err and "Traceback" not in res.err


@pytest.mark.parametrize(
    ("native", "bf16", "device", "warned"),
    [
        (False, True, "cpu", True),
        (False, True, "auto", True),
        (False, False, "cpu", False),
        (False, True, "cuda", False),
        (True, True, "cpu", False),
        (None, True, "cpu", False),
    ],
)
def test_the_bf16_warning_needs_bf16_on_a_cpu_without_it(
    monkeypatch, capsys, native: bool | None, bf16: bool, device: str, warned: bool
) -> None:
    from types import SimpleNamespace

    import torch

    import sfcli.train.common as common
    from sfcli.cli.train_filter import _warn_slow_bf16

    monkeypatch.setattr(common, "cpu_has_native_bf16", lambda: native)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _warn_slow_bf16(SimpleNamespace(bf16=bf16, device=device))
    assert ("no native bfloat16" in capsys.readouterr().err) is warned


def test_mixture_options_reach_the_training_mixtures() -> None:
    from types import SimpleNamespace

    from sfcli.cli.train_filter import _robust_options

    args = SimpleNamespace(
        label_free=0.3,
        absent=0.1,
        max_sources=3,
        gain_db=6.0,
        augment=1.0,
        other_take=0.5,
        swap_pairs=1.0,
        procedural=0.25,
        procedural_backgrounds=0.2,
        similar_backgrounds=0.5,
        similar_any_group=True,
        similar_pool=0.4,
        pool_other_take=0.2,
    )
    o = _robust_options(args)
    assert (o.label_free, o.absent, o.gain_db, o.augment, o.other_take, o.swap_pairs) == (0.3, 0.1, 6.0, 1.0, 0.5, 1.0)
    assert (o.procedural, o.procedural_backgrounds) == (0.25, 0.2) and o.extra_sources == (0.65, 0.35)
    assert (o.similar_backgrounds, o.similar_any_group, o.similar_pool, o.pool_other_take) == (0.5, True, 0.4, 0.2)
    only_procedural = {k: 0.0 for k in vars(args)} | {"max_sources": 2, "gain_db": 4.0, "procedural": 0.5}
    assert _robust_options(SimpleNamespace(**only_procedural)).enabled  # procedural alone leaves the plain mixtures
    only_similar = {k: 0.0 for k in vars(args)} | {"max_sources": 2, "gain_db": 4.0, "similar_backgrounds": 0.5}
    assert _robust_options(SimpleNamespace(**only_similar)).enabled  # and so do similar backgrounds
