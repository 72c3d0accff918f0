"""Training examples: typed items, one normalisation, the transform (augmentation) hook, absent targets."""

from __future__ import annotations

import numpy as np
import pytest

from sfcli.train.datasets import ToneMixtures
from sfcli.train.examples import MIXTURE_RMS, Example, draw_example, load_batch


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_examples_are_typed_and_scaled_to_the_mixture_rms() -> None:
    ds = ToneMixtures(seed=0, seconds=0.1)
    raw, ex = ds[5], draw_example(ds, 5)
    assert isinstance(ex, Example) and ex.clip_id == raw["clip_id"] and ex.descriptions == raw["descriptions"]
    assert _rms(ex.mixture) == pytest.approx(MIXTURE_RMS, rel=1e-4)
    scale = _rms(ex.mixture) / _rms(raw["mixture"])
    np.testing.assert_allclose(ex.target, raw["target"] * scale, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ex.cond_audio, raw["cond_audio"])  # the query keeps the dataset's level
    assert (ex.absent, ex.label_free) == (False, False)
    extra = Example.from_item({**raw, "gain_db": 2.5})
    assert extra.extra == {"gain_db": 2.5}


def test_a_transform_changes_sources_and_the_mixture_is_recomputed() -> None:
    ds = ToneMixtures(seed=0, seconds=0.1)
    seen: list[int] = []

    def quieter_background(ex: Example, index: int) -> Example:
        seen.append(index)
        ex.background = ex.background * 0.1
        return ex

    plain, got = draw_example(ds, 7), draw_example(ds, 7, quieter_background)
    assert seen == [7]
    np.testing.assert_allclose(got.mixture, got.target + got.background, atol=1e-6)
    assert _rms(got.mixture) == pytest.approx(MIXTURE_RMS, rel=1e-4)
    assert _rms(got.target) / _rms(got.background) > 5 * _rms(plain.target) / _rms(plain.background)
    again = load_batch(ds, [7], seed=0, text_rate=0.0, transform=quieter_background)
    np.testing.assert_array_equal(again.mixture[0, 0].numpy(), got.mixture)


def test_an_absent_target_is_kept_not_redrawn() -> None:
    ds = ToneMixtures(seed=0, seconds=0.1)

    def absent(ex: Example, index: int) -> Example:
        ex.target = np.zeros_like(ex.target)
        ex.absent = True
        return ex

    ex = draw_example(ds, 2, absent)
    assert ex.absent and not ex.target.any() and ex.extra == {}
    np.testing.assert_allclose(ex.mixture, ex.background)
    seen: list[int] = []

    def silent_once(ex: Example, index: int) -> Example:
        seen.append(index)
        if index == 2:
            ex.target = np.zeros_like(ex.target)
        return ex

    assert draw_example(ds, 2, silent_once).target.any()
    assert seen == [2, 2 + 1_000_003]  # a silent target without the flag is redrawn
