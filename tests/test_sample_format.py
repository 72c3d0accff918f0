"""sfcli.sample_format: output subtypes and clip-safe quantisation of (target, residual) pairs."""

from __future__ import annotations

import numpy as np
import pytest

from sfcli.errors import OutputError
from sfcli.sample_format import PairQuantizer, default_bits, output_subtype, to_pcm


@pytest.mark.parametrize(
    ("fmt", "bits", "input_subtype", "want"),
    [
        ("wav", None, "PCM_16", "PCM_16"),
        ("wav", None, "PCM_24", "PCM_24"),
        ("wav", None, "PCM_32", "FLOAT"),
        ("wav", None, "FLOAT", "FLOAT"),
        ("wav", None, "PCM_U8", "PCM_16"),
        ("wav", None, "MPEG_LAYER_III", "FLOAT"),
        ("wav", None, None, "FLOAT"),
        ("flac", None, "PCM_16", "PCM_16"),
        ("flac", None, "FLOAT", "PCM_24"),
        ("flac", None, "VORBIS", "PCM_24"),
        ("wav", 16, "FLOAT", "PCM_16"),
        ("wav", 24, "PCM_16", "PCM_24"),
        ("wav", 32, "PCM_16", "FLOAT"),
        ("flac", 16, "PCM_24", "PCM_16"),
    ],
)
def test_output_subtype(fmt: str, bits: int | None, input_subtype: str | None, want: str) -> None:
    assert output_subtype(fmt, bits, input_subtype) == want


def test_impossible_combinations_are_user_errors() -> None:
    with pytest.raises(OutputError, match="FLAC output holds 16, 24 bits, not 32"):
        output_subtype("flac", 32, None)
    with pytest.raises(OutputError, match="unknown output format"):
        output_subtype("mp3", None, None)
    assert default_bits("flac", "DOUBLE") == 24


@pytest.mark.parametrize("bits", [16, 24])
def test_quantised_pair_sums_to_a_pcm_input_exactly(bits: int) -> None:
    rng = np.random.default_rng(bits)
    scale = float(1 << (bits - 1))
    x = (rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(2, 5000)) / scale).astype(np.float32)
    target = (0.7 * x + 1e-3 * rng.standard_normal(x.shape)).astype(np.float32)
    residual = x - target
    q = PairQuantizer(f"PCM_{bits}")
    t, r = q(target, residual)
    assert q.clipped == 0
    np.testing.assert_array_equal(
        np.rint(t.astype(np.float64) * scale) + np.rint(r.astype(np.float64) * scale),
        np.rint(x.astype(np.float64) * scale),
    )
    np.testing.assert_array_equal(t, np.rint(t.astype(np.float64) * scale) / scale)  # on the grid
    assert np.abs(t - target).max() <= 0.5 / scale + 1e-9


def test_out_of_range_samples_are_clipped_and_counted() -> None:
    x = np.array([[0.9, -0.9, 0.5, 0.0]], np.float32)
    target = np.array([[1.8, -1.8, 0.5, 0.0]], np.float32)
    q = PairQuantizer("PCM_16")
    t, r = q(target, x - target)
    assert (q.clipped_target, q.clipped_residual) == (2, 0)
    assert t.max() <= 1.0 and t.min() >= -1.0
    np.testing.assert_allclose(t + r, x, atol=1 / 32768)  # the residual absorbs what the target lost


def test_float_passes_through_unchanged() -> None:
    target = np.array([[1.7, -0.3]], np.float32)
    residual = np.array([[-0.7, 0.1]], np.float32)
    q = PairQuantizer("FLOAT")
    t, r = q(target, residual)
    assert t is target and r is residual and q.clipped == 0


def test_to_pcm_layouts() -> None:
    assert to_pcm(np.array([0.5, -1.0, 2.0]), "PCM_16").tolist() == [16384, -32768, 32767]
    assert to_pcm(np.array([0.5]), "PCM_24").tolist() == [(1 << 22) << 8]
