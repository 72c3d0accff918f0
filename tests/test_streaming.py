"""Streaming engine: exact pass-through, lengths, whole-vs-streamed agreement, bounded buffers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.streaming import OverlapAdd, crossfade_window, separate_array, separate_blocks


@pytest.mark.parametrize("n", [1, 799, 24000, 32000, 32001, 100_003])
@pytest.mark.parametrize("channels", [1, 2])
def test_pass_through_reproduces_input(n: int, channels: int) -> None:
    x = np.random.default_rng(n).standard_normal((channels, n)).astype(np.float32)
    t, r = separate_array(x, 16000, lambda w: w, block=7000)
    assert t.shape == r.shape == x.shape
    np.testing.assert_allclose(t, x, atol=1e-6)
    np.testing.assert_allclose(r, 0.0, atol=1e-6)


@pytest.mark.parametrize(("window", "overlap"), [(2.0, 0.0), (2.0, 1.0), (1.0, 0.25), (0.5, 0.49)])
def test_pass_through_any_window_and_overlap(window: float, overlap: float) -> None:
    x = np.random.default_rng(0).standard_normal((1, 50_000)).astype(np.float32)
    t, _ = separate_array(x, 16000, lambda w: w, window_seconds=window, overlap_seconds=overlap)
    np.testing.assert_allclose(t, x, atol=1e-6)


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 96000])
def test_other_rates_keep_length_and_sum(sr: int) -> None:
    x = np.random.default_rng(1).standard_normal((2, int(2.7 * sr) + 3)).astype(np.float32)
    t, r = separate_array(x, sr, lambda w: 0.5 * w)
    assert t.shape == x.shape
    np.testing.assert_allclose(t + r, x, atol=1e-6)


def test_resampled_pass_through_keeps_in_band_content() -> None:
    sr = 44100
    x = np.sin(2 * np.pi * 440 * np.arange(3 * sr) / sr).astype(np.float32)[None]
    t, _ = separate_array(x, sr, lambda w: w)
    assert np.abs(t - x)[:, 100:-100].max() < 1e-3


def test_window_function_is_called_with_fixed_windows() -> None:
    shapes = []

    def fn(w: np.ndarray) -> np.ndarray:
        shapes.append(w.shape)
        return w

    separate_array(np.zeros((2, 70_000), np.float32), 16000, fn)
    assert set(shapes) == {(2, 32000)}
    # 70 000 samples, hop 24 000: windows at 0, 24k and the last one aligned to end at 70k.
    assert len(shapes) == 3


def test_last_window_ends_with_the_input_instead_of_zero_padding() -> None:
    x = np.arange(1, 70_001, dtype=np.float32)[None] / 70_000
    seen: list[np.ndarray] = []

    def fn(w: np.ndarray) -> np.ndarray:
        seen.append(w.copy())
        return 2 * w

    t, r = separate_array(x, 16000, fn, overlap_seconds=0.5)  # windows start every 1.5 s
    assert [float(w[0, 0] * 70_000) for w in seen] == [1.0, 24_001.0, 38_001.0]
    assert all(w.min() > 0 for w in seen)  # no zero padding anywhere
    np.testing.assert_allclose(t, 2 * x, rtol=1e-5)
    np.testing.assert_allclose(t + r, x, rtol=1e-6)


def test_input_shorter_than_a_window_is_looped_to_fill_it() -> None:
    seen: list[np.ndarray] = []

    def fn(w: np.ndarray) -> np.ndarray:
        seen.append(w.copy())
        return 3 * w

    x = np.arange(1, 20_001, dtype=np.float32)[None]
    t, r = separate_array(x, 16000, fn)
    assert len(seen) == 1 and seen[0].shape == (1, 32000)
    np.testing.assert_array_equal(seen[0][0, :20_000], x[0])
    np.testing.assert_array_equal(seen[0][0, 20_000:], x[0, :12_000])  # the input again, not zeros
    np.testing.assert_allclose(t, 3 * x)
    np.testing.assert_allclose(t + r, x)


def test_whole_vs_streamed_network_agree_on_stationary_input() -> None:
    """A random-weight SoundFilter on 8 s of stationary noise: streamed output within 25 dB SNR of whole.

    GroupNorm and the input RMS normalisation use whole-window statistics, so even away from window
    edges streamed and whole outputs differ slightly; on stationary input the difference is small.
    """
    torch.manual_seed(0)
    model = SoundFilter(SoundFilterConfig.tiny()).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "film" in name:
                p.normal_(0, 0.1)
    cond = torch.randn(1, 64)

    def fn(w: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(w)[:, None], cond.expand(w.shape[0], -1))[0][:, 0].numpy()

    x = (0.1 * np.random.default_rng(0).standard_normal((1, 8 * 16000))).astype(np.float32)
    whole = fn(x)
    streamed, _ = separate_array(x, 16000, fn)
    interior = np.ones(x.shape[1], bool)
    for start in range(0, x.shape[1], 24000):
        for edge in (start, start + 8000, start + 32000):
            interior[max(0, edge - 1600) : edge + 1600] = False
    err = streamed[:, interior] - whole[:, interior]
    snr = 10 * np.log10((whole[:, interior] ** 2).sum() / (err**2).sum())
    assert snr > 25.0
    # An identity of the engine itself: a different query gives a different result.
    other, _ = separate_array(x, 16000, lambda w: 0.0 * w)
    assert np.abs(other).max() == 0


def test_overlap_add_holds_at_most_one_window() -> None:
    ola = OverlapAdd(lambda w: w, 1, 32000, 8000)
    for _ in range(50):
        list(ola.push(np.ones((1, 10_000), np.float32)))
        assert ola._pending.size + ola._look.shape[1] < 32000 + 10_000


def test_blocks_interface_yields_aligned_blocks() -> None:
    x = np.random.default_rng(2).standard_normal((1, 90_000)).astype(np.float32)
    blocks = (x[:, i : i + 4096] for i in range(0, x.shape[1], 4096))
    total = 0
    for t, r in separate_blocks(blocks, 22050, 1, lambda w: w):
        assert t.shape == r.shape
        total += t.shape[1]
    assert total == x.shape[1]


def test_crossfade_weights_positive_and_complementary() -> None:
    w = crossfade_window(100, 20)
    assert (w > 0).all()
    np.testing.assert_allclose(w[80:] + w[:20], 1.0, atol=1e-6)


@pytest.mark.parametrize("n", [20_000, 70_000, 75_999, 104_000])
def test_output_does_not_depend_on_the_block_size(n: int) -> None:
    """A window function that depends on the whole window (RMS normalisation, like the network)."""

    def fn(w: np.ndarray) -> np.ndarray:
        return np.tanh(w / (np.sqrt(np.mean(w**2)) + 1e-6))

    x = np.random.default_rng(n).standard_normal((1, n)).astype(np.float32)
    ref, _ = separate_array(x, 16000, fn, block=n)
    for block in (997, 4096, 32_000):
        t, r = separate_array(x, 16000, fn, block=block)
        np.testing.assert_allclose(t, ref, atol=1e-6)
        np.testing.assert_allclose(t + r, x, atol=1e-6)


def _rowwise(w: np.ndarray) -> np.ndarray:
    """Depends on each whole row (RMS normalisation, like the network) and on nothing across rows."""
    return np.tanh(w / (np.sqrt(np.mean(w**2, axis=-1, keepdims=True)) + 1e-6))


@pytest.mark.parametrize("n", [1, 20_000, 32_000, 60_000, 70_000, 116_000, 200_003])
@pytest.mark.parametrize("batch", [2, 3, 4, 7])
def test_batched_windows_give_the_unbatched_output(n: int, batch: int) -> None:
    x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32)
    ref, _ = separate_array(x, 16000, _rowwise)
    for sr, block in ((16000, 997), (16000, 1 << 16), (44100, 4096)):
        xs = x if sr == 16000 else separate_array(x, 16000, lambda w: w)[0]  # any signal at 44.1 kHz will do
        want = ref if sr == 16000 else separate_array(xs, sr, _rowwise, block=block)[0]
        t, r = separate_array(xs, sr, _rowwise, block=block, batch=batch)
        np.testing.assert_array_equal(t, want)
        np.testing.assert_allclose(t + r, xs, atol=1e-6)


def test_batched_calls_see_the_same_windows_stacked() -> None:
    def recorder(calls: list[np.ndarray]) -> object:
        def fn(w: np.ndarray) -> np.ndarray:
            calls.append(w.copy())
            return w

        return fn

    x = np.random.default_rng(3).standard_normal((2, 250_000)).astype(np.float32)
    one: list[np.ndarray] = []
    four: list[np.ndarray] = []
    separate_array(x, 16000, recorder(one))
    separate_array(x, 16000, recorder(four), batch=4)
    assert all(c.shape == (2, 32000) for c in one)
    assert len(one) == 9  # hop 28 000: full windows at 0, 28k, ..., 196k, then the last one, ending at 250k
    assert [c.shape[0] for c in four] == [8, 8, 2]  # the 8 full windows by 4 (x 2 channels), then the last
    np.testing.assert_array_equal(np.concatenate(four), np.concatenate(one))


def test_batched_overlap_add_holds_at_most_one_batch_of_windows() -> None:
    ola = OverlapAdd(_rowwise, 1, 32000, 8000, batch=4)
    for _ in range(50):
        list(ola.push(np.ones((1, 10_000), np.float32)))
        assert ola._pending.size + ola._look.shape[1] < 32000 + 3 * 24000 + 10_000
    with pytest.raises(ValueError, match="batch"):
        OverlapAdd(_rowwise, 1, 32000, 8000, batch=0)


def test_batched_network_windows_match_one_by_one() -> None:
    torch.manual_seed(0)
    model = SoundFilter(SoundFilterConfig.tiny()).eval()
    cond = torch.randn(1, 64)

    def fn(w: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(w)[:, None], cond.expand(w.shape[0], -1))[0][:, 0].numpy()

    x = (0.1 * np.random.default_rng(0).standard_normal((1, 9 * 16000))).astype(np.float32)
    one, _ = separate_array(x, 16000, fn)
    four, _ = separate_array(x, 16000, fn, batch=4)
    np.testing.assert_allclose(four, one, atol=1e-5)
