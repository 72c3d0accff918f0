"""Audio I/O: formats, validation of bad files, atomic writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfcli import audio
from sfcli.audio import AtomicAudioWriter, audio_info, load_audio, load_audio_mono, resample, write_audio
from sfcli.errors import AudioError, OutputError


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_reads_common_formats(tmp_path: Path, ext: str) -> None:
    x = (0.2 * np.random.default_rng(0).standard_normal((16000, 2))).astype(np.float32)
    path = tmp_path / f"a.{ext}"
    sf.write(path, x, 16000)
    data, sr = load_audio(path)
    assert sr == 16000 and data.shape[0] == 2 and data.dtype == np.float32
    assert abs(data.shape[1] - 16000) < 2000  # lossy codecs may pad a little


def test_missing_empty_non_audio_and_folder(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "text.wav").write_text("this is not audio")
    with pytest.raises(AudioError, match="not an audio file libsndfile or ffmpeg can decode"):
        load_audio(tmp_path / "text.wav")
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3"])
def test_truncated_files_are_rejected(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"a.{ext}"
    sf.write(path, np.random.default_rng(0).standard_normal(48000).astype(np.float32) * 0.1, 48000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated"):
        load_audio(path)


def test_zero_length_audio(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(path)


def test_nan_samples(tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    x = np.zeros(1000, np.float32)
    x[500] = np.nan
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(path)


def test_ffmpeg_formats_need_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "clip.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A fake")
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    with pytest.raises(AudioError, match="ffmpeg"):
        load_audio(path)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_m4a_through_ffmpeg(tmp_path: Path) -> None:  # pragma: no cover - depends on ffmpeg
    import subprocess

    wav = tmp_path / "a.wav"
    sf.write(wav, 0.1 * np.sin(np.arange(16000) / 5.0).astype(np.float32), 16000)
    m4a = tmp_path / "a.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), str(m4a)], check=True)
    data, sr = load_audio(m4a)
    assert sr == 16000 and data.shape[0] == 1 and data.shape[1] > 15000


def test_write_is_atomic_and_never_overwrites_without_force(tmp_path: Path) -> None:
    out = tmp_path / "o" / "x.wav"
    write_audio(out, np.zeros(100, np.float32), 16000)
    with pytest.raises(OutputError, match="--force"):
        write_audio(out, np.ones(100, np.float32), 16000)
    assert np.abs(sf.read(out)[0]).max() == 0
    write_audio(out, 0.5 * np.ones(100, np.float32), 16000, force=True)
    assert np.allclose(sf.read(out)[0], 0.5)
    # An aborted writer leaves nothing behind.
    w = AtomicAudioWriter(tmp_path / "o" / "y.wav", 16000, 1)
    w.write(np.zeros((1, 10), np.float32))
    w.abort()
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["x.wav"]


def test_float_wav_round_trip_is_exact(tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((3, 1234)).astype(np.float32)
    write_audio(tmp_path / "f.wav", x, 22050)
    y, sr = load_audio(tmp_path / "f.wav")
    assert sr == 22050 and np.array_equal(x, y)
    assert audio_info(tmp_path / "f.wav").channels == 3


def test_resample_and_mono(tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((2, 44100)).astype(np.float32)
    assert resample(x, 44100, 16000).shape == (2, 16000)
    assert resample(x[0], 44100, 16000).shape == (16000,)
    write_audio(tmp_path / "s.wav", x, 44100)
    assert load_audio_mono(tmp_path / "s.wav").shape == (16000,)


def test_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        out = write_audio(tmp_path / "p.wav", np.zeros(10, np.float32), 16000)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
