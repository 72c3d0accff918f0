"""Property-based tests (hypothesis) of the audio loader and the streaming engine.

Random lengths (1 sample to minutes at low rates), sample rates (8-192 kHz), channel counts (1-8),
block sizes, sample formats and contents (noise, silence, clipped, NaN/Inf, garbage bytes). The
properties: exact length and channel count, ``target + residual == input``, and every invalid input
ends in the library's own one-line error (``AudioError``), never another exception. About 1,150
generated cases, derandomised (the same cases every run) and without an example database, so CI
is deterministic; the long cases are drawn rarely and capped in total samples to fit a minute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sfcli.audio import AudioReader, load_audio
from sfcli.errors import AudioError
from sfcli.streaming import separate_array, separate_blocks

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
RATES = st.sampled_from([8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000])
LONG_SAMPLES = 2_000_000  # cap on frames x channels of the rare long cases (e.g. 2 min at 16 kHz mono)


@st.composite
def shapes(draw: st.DrawFn, long_ok: bool = True) -> tuple[int, int, int]:
    """``(sample_rate, channels, frames)``: one sample, under a second, seconds, or (rarely) minutes.

    Long cases use low rates and few channels, capped at ``LONG_SAMPLES`` samples in all (up to
    4 minutes at 8 kHz mono).
    """
    length = draw(st.sampled_from(["1 sample", "< 1 s", "< 1 s", "< 1 s", "< 10 s", "< 10 s"] + ["long"] * long_ok))
    if length == "long":
        sr = draw(st.sampled_from([8000, 11025, 16000]))
        channels = draw(st.integers(1, 2))
        frames = draw(st.integers(10 * sr, LONG_SAMPLES // channels))
    else:
        sr = draw(RATES)
        channels = draw(st.integers(1, 8))
        frames = {"1 sample": 1, "< 1 s": draw(st.integers(2, sr - 1)), "< 10 s": draw(st.integers(sr, 10 * sr))}[
            length
        ]
    seconds = frames / sr
    # Shown by `pytest --hypothesis-show-statistics`: what the cases covered.
    event("length: " + (length if length != "long" else "< 1 min" if seconds < 60 else ">= 1 min"))
    event(f"channels: {channels}")
    event(f"rate: {'<= 16' if sr <= 16000 else '<= 48' if sr <= 48000 else '> 48'} kHz")
    return sr, channels, frames


def _signal(kind: str, channels: int, frames: int, seed: int) -> np.ndarray:
    """A ``(channels, frames)`` float32 test signal of the given kind."""
    rng = np.random.default_rng(seed)
    if kind == "silence":
        return np.zeros((channels, frames), np.float32)
    x = (0.3 * rng.standard_normal((channels, frames))).astype(np.float32)
    if kind == "clipped":
        x = np.clip(8.0 * x, -1.0, 1.0)
    elif kind in ("nan", "inf"):
        x[rng.integers(channels), rng.integers(frames)] = np.nan if kind == "nan" else -np.inf
    return x


@settings(max_examples=400, **SETTINGS)
@given(
    shape=shapes(),
    kind=st.sampled_from(["noise", "silence", "clipped", "nan", "inf"]),
    subtype=st.sampled_from(["FLOAT", "PCM_16", "PCM_24"]),
    container=st.sampled_from(["wav", "flac"]),
    blocksize=st.integers(1, 1 << 17),
    seed=st.integers(0, 2**16),
)
def test_loader_reads_exactly_what_was_written(
    tmp_path: Path, shape, kind: str, subtype: str, container: str, blocksize: int, seed: int
) -> None:
    sr, channels, frames = shape
    if container == "flac" and (subtype == "FLOAT" or sr > 655350):
        subtype = "PCM_16"
    if subtype != "FLOAT" and kind in ("nan", "inf"):
        kind = "clipped"  # integer formats cannot hold NaN/Inf
    blocksize = max(blocksize, frames // 500)  # keep the Python loop short on long inputs
    x = _signal(kind, channels, frames, seed)
    path = tmp_path / f"p{seed}.{container}"
    sf.write(path, x.T, sr, subtype=subtype)
    try:
        with AudioReader(path) as reader:
            info = reader.info
            blocks = list(reader.blocks(blocksize))
    except AudioError as exc:
        assert kind in ("nan", "inf") and "NaN or infinite" in str(exc)
        return
    finally:
        path.unlink()
    assert kind not in ("nan", "inf")
    assert (info.sample_rate, info.channels, info.frames) == (sr, channels, frames)
    assert all(b.dtype == np.float32 and b.shape[0] == channels and 0 < b.shape[1] <= blocksize for b in blocks)
    y = np.concatenate(blocks, axis=1)
    assert y.shape == (channels, frames)
    if subtype == "FLOAT":
        np.testing.assert_array_equal(y, x)  # float keeps even samples beyond full scale
    else:
        step = 1.0 / (1 << (15 if subtype == "PCM_16" else 23))
        assert np.abs(y - np.clip(x, -1.0, 1.0 - step)).max() <= step


@settings(max_examples=250, **SETTINGS)
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.binary(max_size=600).map(lambda b: b"RIFF" + b[:4] + b"WAVEfmt " + b[4:]),
        st.binary(max_size=600).map(lambda b: b"fLaC" + b),
        st.binary(max_size=600).map(lambda b: b"ID3\x03\x00" + b),
        st.binary(max_size=600).map(lambda b: b"OggS" + b),
    ),
    ext=st.sampled_from([".wav", ".flac", ".mp3", ".ogg", ".aiff", ".xyz", ""]),
)
def test_loader_answers_any_bytes_with_audio_or_audioerror(tmp_path: Path, data: bytes, ext: str) -> None:
    path = tmp_path / f"garbage{ext}"
    path.write_bytes(data)
    try:
        x, sr = load_audio(path)
    except AudioError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    assert x.ndim == 2 and x.shape[1] > 0 and sr > 0 and np.isfinite(x).all()


def _gain(w: np.ndarray) -> np.ndarray:
    """A cheap stand-in for the network: a per-channel gain that changes over time."""
    ramp = np.linspace(0.2, 0.9, w.shape[1], dtype=np.float32)
    return (w * ramp * (1.0 + 0.1 * np.arange(w.shape[0], dtype=np.float32)[:, None])).astype(np.float32)


@settings(max_examples=300, **SETTINGS)
@given(
    shape=shapes(),
    kind=st.sampled_from(["noise", "silence", "clipped"]),
    model_rate=st.sampled_from([8000, 16000]),
    window_seconds=st.sampled_from([0.05, 0.25, 2.0]),
    overlap_fraction=st.sampled_from([0.0, 0.125, 0.5, 0.9]),
    blocksize=st.integers(1, 1 << 17),
    seed=st.integers(0, 2**16),
)
def test_stream_keeps_length_channels_and_sums_to_the_input(
    shape, kind: str, model_rate: int, window_seconds: float, overlap_fraction: float, blocksize: int, seed: int
) -> None:
    sr, channels, frames = shape
    blocksize = max(blocksize, frames // 300)
    x = _signal(kind, channels, frames, seed)
    blocks = (x[:, i : i + blocksize] for i in range(0, frames, blocksize))
    parts = list(
        separate_blocks(
            blocks,
            sr,
            channels,
            _gain,
            window_seconds=window_seconds,
            overlap_seconds=window_seconds * overlap_fraction,
            model_rate=model_rate,
        )
    )
    target = np.concatenate([p[0] for p in parts], axis=1)
    residual = np.concatenate([p[1] for p in parts], axis=1)
    assert target.shape == residual.shape == (channels, frames)
    assert target.dtype == residual.dtype == np.float32
    assert np.isfinite(target).all()
    np.testing.assert_allclose(target + residual, x, rtol=0, atol=1e-6)
    if kind == "silence":
        assert not target.any()


@settings(max_examples=100, **SETTINGS)
@given(shape=shapes(long_ok=False), overlap_fraction=st.sampled_from([0.0, 0.25, 0.5]), seed=st.integers(0, 2**16))
def test_identity_model_at_the_model_rate_reproduces_the_input(shape, overlap_fraction: float, seed: int) -> None:
    sr, channels, frames = shape
    x = _signal("noise", channels, min(frames, 200_000), seed)
    target, residual = separate_array(
        x, sr, lambda w: w, window_seconds=0.1, overlap_seconds=0.1 * overlap_fraction, model_rate=sr
    )
    np.testing.assert_allclose(target, x, rtol=0, atol=1e-6)
    np.testing.assert_allclose(residual, 0.0, atol=1e-6)


@settings(max_examples=100, **SETTINGS)
@given(
    case=st.sampled_from(["nan", "inf", "wrong-channels", "1-d-block", "empty", "1-d-array", "rate"]),
    shape=shapes(long_ok=False),
    seed=st.integers(0, 2**16),
)
def test_invalid_stream_input_is_a_clean_audio_error(case: str, shape, seed: int) -> None:
    sr, channels, frames = shape
    x = _signal("nan" if case == "nan" else "inf" if case == "inf" else "noise", channels, min(frames, 50_000), seed)
    with pytest.raises(AudioError):
        if case in ("nan", "inf"):
            separate_array(x, sr, _gain)
        elif case == "wrong-channels":
            list(separate_blocks([x], sr, channels + 1, _gain))
        elif case == "1-d-block":
            list(separate_blocks([x[0]], sr, channels, _gain))
        elif case == "empty":
            separate_array(np.zeros((channels, 0), np.float32), sr, _gain)
        elif case == "1-d-array":
            separate_array(x[0], sr, _gain)
        else:
            list(separate_blocks([x], -sr, channels, _gain))
