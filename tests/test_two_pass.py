"""sfcli.two_pass: the second query is the embedding of the first pass's residual on a bounded,
evenly spread set of segments; the combined target keeps the mixture exact."""

from __future__ import annotations

import numpy as np
import pytest

from sfcli import two_pass


class _Recorder:
    """An embedder that records the clips it is given and embeds each by a few statistics."""

    def __init__(self) -> None:
        self.clips: list[np.ndarray] = []

    def embed_audio(self, clips: list[np.ndarray], sample_rate: int) -> np.ndarray:
        self.clips += [np.asarray(c) for c in clips]
        return np.stack([[c.mean(), c.std(), np.abs(c).max(), len(c)] for c in clips]).astype(np.float32)


def _blocks(x: np.ndarray, size: int) -> list[np.ndarray]:
    return [x[:, i : i + size] for i in range(0, x.shape[1], size)]


def test_a_short_input_is_one_segment_the_whole_input() -> None:
    x = np.arange(2 * 3000, dtype=np.float32).reshape(2, 3000)
    got = two_pass.segments(_blocks(x, 777), 3000, 100)  # 30 s at 100 Hz: 15 windows of 2 s
    assert len(got) == 1
    np.testing.assert_array_equal(got[0], x)


@pytest.mark.parametrize("blocksize", [1, 333, 100000])
def test_a_long_input_gives_max_windows_evenly_spread_segments(blocksize: int) -> None:
    sr, frames = 100, 100 * 200  # 200 s
    x = np.arange(frames, dtype=np.float32)[None, :]
    got = two_pass.segments(_blocks(x, blocksize), frames, sr)
    starts = [int(g[0, 0]) for g in got]
    assert len(got) == two_pass.MAX_WINDOWS and all(g.shape == (1, 2 * sr) for g in got)
    assert starts[0] == 0 and starts[-1] == frames - 2 * sr  # first and last window included
    gaps = np.diff(starts)
    assert gaps.max() - gaps.min() <= 1  # evenly spread
    for g in got:
        np.testing.assert_array_equal(g[0], np.arange(g[0, 0], g[0, 0] + 2 * sr))  # contiguous samples


def test_other_query_embeds_the_joined_mono_residuals_with_unit_length() -> None:
    rng = np.random.default_rng(0)
    residuals = [rng.standard_normal((2, 500)).astype(np.float32) for _ in range(3)]
    words = _Recorder()
    q = two_pass.other_query(words, residuals, 100)
    np.testing.assert_allclose(words.clips[0], np.concatenate([r.mean(axis=0) for r in residuals]))
    assert abs(float(np.linalg.norm(q)) - 1) < 1e-6


def test_combine_keeps_the_mixture_exact_and_agreeing_passes_unchanged() -> None:
    rng = np.random.default_rng(1)
    mix, t1, t2 = (rng.standard_normal(1000).astype(np.float32) for _ in range(3))
    w = two_pass.FIRST_WEIGHT
    np.testing.assert_allclose(two_pass.combine(t1, mix, t2), w * t1 + (1 - w) * (mix - t2), atol=1e-6)
    np.testing.assert_allclose(two_pass.combine(t1, mix, mix - t1), t1, atol=1e-6)


def _counting_targets(calls: list[int]):
    """A row-wise stand-in for the network: the target depends on each row and its query."""
    import torch

    def targets(x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return torch.tanh(x * cond[:, :1]) * 0.5

    return targets


def test_window_fn_reuses_the_cached_first_pass_and_gives_the_uncached_result() -> None:
    calls: list[int] = []
    targets = _counting_targets(calls)
    emb, other = np.full(4, 0.5, np.float32), np.full(4, 2.0, np.float32)
    x = np.random.default_rng(0).standard_normal((2, 320)).astype(np.float32)
    want = two_pass.window_fn(targets, emb, other)(x)
    assert calls == [4]  # both passes as one batch of 2 x 2 rows
    cache: dict[bytes, np.ndarray] = {}
    first = two_pass.window_fn(targets, emb, None, cache)(x)
    assert len(cache) == 2 and calls[-1] == 2
    got = two_pass.window_fn(targets, emb, other, cache)(x)
    assert calls[-1] == 2  # the second query only
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got, two_pass.combine(first, x, 0.5 * np.tanh(2 * x)), atol=1e-6)
    y = x.copy()
    y[1, 7] += 1e-3  # one row not seen in the first pass: both passes again, for every row
    two_pass.window_fn(targets, emb, other, cache)(y)
    assert calls[-1] == 4


def test_row_keys_tell_rows_apart_by_every_sample() -> None:
    x = np.zeros((3, 100), np.float32)
    x[1, 99] = 1e-7
    keys = two_pass.row_keys(x)
    assert keys[0] == keys[2] != keys[1]
    assert two_pass.row_keys(x.astype(np.float64)) == keys  # the float32 samples are what count
