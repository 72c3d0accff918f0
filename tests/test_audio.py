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


def test_text_renamed_mp3_says_undecodable_without_decoder_noise(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("meeting notes, not a song\n" * 50)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    message = str(info.value)
    assert "not an audio file libsndfile or ffmpeg can decode" in message
    assert "does not exist" not in message  # libsndfile's misleading reason for an existing file
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # libmpg123's own complaints never reach the terminal


def test_ffmpeg_without_ffprobe_names_ffprobe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "clip.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A fake")
    monkeypatch.setattr(audio.shutil, "which", lambda name: "/usr/bin/ffmpeg" if name == "ffmpeg" else None)
    for check in (load_audio, audio.probe_audio):
        with pytest.raises(AudioError, match="ffprobe is missing"):
            check(path)


def test_probe_reads_headers_only_and_defers_ffmpeg_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros((800, 2), np.float32), 8000, subtype="PCM_24")
    info = audio.probe_audio(wav)
    assert info is not None and (info.channels, info.frames, info.subtype) == (2, 800, "PCM_24")
    m4a = tmp_path / "b.m4a"
    m4a.write_bytes(b"anything")
    monkeypatch.setattr(audio.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert audio.probe_audio(m4a) is None  # needs a full decode; checked when it is read
    with pytest.raises(AudioError, match="no such file"):
        audio.probe_audio(tmp_path / "nope.wav")


def test_probe_refuses_float_files_with_nan_or_inf_before_any_work(tmp_path: Path) -> None:
    for bad in (np.nan, np.inf):
        path = tmp_path / "bad.wav"
        x = np.zeros((200_000, 2), np.float32)
        x[150_000, 1] = bad  # past the first block
        sf.write(path, x, 16000, subtype="FLOAT")
        with pytest.raises(AudioError, match="NaN or infinite"):
            audio.probe_audio(path)
    sf.write(path, np.zeros((200_000, 2), np.float32), 16000, subtype="FLOAT")
    assert audio.probe_audio(path).frames == 200_000


def test_check_reference(tmp_path: Path) -> None:
    from sfcli.errors import QueryError

    assert audio.check_reference(np.ones((2, 1600), np.float32), 16000).shape == (1600,)
    with pytest.raises(QueryError, match=r"at least 0\.1 s"):
        audio.check_reference(np.ones(1599, np.float32), 16000)
    with pytest.raises(QueryError, match="silent"):
        audio.check_reference(np.zeros(16000, np.float32), 16000)
    with pytest.raises(QueryError, match="sample rate"):
        audio.check_reference(np.ones(16000, np.float32), 0)


@pytest.mark.parametrize(("subtype", "dtype"), [("PCM_16", "int16"), ("PCM_24", "int32")])
def test_pcm_writer_stores_exact_integers(tmp_path: Path, subtype: str, dtype: str) -> None:
    bits = 16 if subtype == "PCM_16" else 24
    ints = np.array([-(1 << (bits - 1)), -1, 0, 1, 12345, (1 << (bits - 1)) - 1], np.int64)
    x = (ints / float(1 << (bits - 1))).astype(np.float32)
    with AtomicAudioWriter(tmp_path / "p.wav", 16000, 1, subtype=subtype) as w:
        w.write(np.concatenate([x, [1.5, -1.5]])[None, :])  # out of range: clipped by the writer
    assert sf.info(tmp_path / "p.wav").subtype == subtype
    back = sf.read(tmp_path / "p.wav", dtype=dtype)[0].astype(np.int64)
    if bits == 24:
        back >>= 8
    np.testing.assert_array_equal(back, [*ints, (1 << (bits - 1)) - 1, -(1 << (bits - 1))])
    np.testing.assert_array_equal(load_audio(tmp_path / "p.wav")[0][0, :6], x)
    with pytest.raises(OutputError, match="cannot hold"):
        AtomicAudioWriter(tmp_path / "q.flac", 16000, 1, fmt="flac", subtype="FLOAT")
