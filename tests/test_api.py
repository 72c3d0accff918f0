"""The Python API contract: Separator.from_pretrained / separate / SeparationResult."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sfcli import SeparationResult, Separator, two_pass
from sfcli.audio import MODEL_SAMPLE_RATE
from sfcli.errors import AudioError, ModelNotFoundError, QueryError


@pytest.fixture(scope="module")
def sep(tiny_models: Path) -> Separator:
    return Separator.from_pretrained(tiny_models, device="cpu")


@pytest.mark.parametrize(
    ("shape", "sr"),
    [((16000,), 16000), ((2, 44100), 44100), ((6, 9600), 96000), ((1, 8000), 8000), ((800,), 16000)],
)
def test_shapes_rates_and_exact_sum(sep: Separator, shape: tuple[int, ...], sr: int) -> None:
    x = (0.1 * np.random.default_rng(0).standard_normal(shape)).astype(np.float32)
    res = sep.separate(x, sr, text="owl hooting")
    assert isinstance(res, SeparationResult)
    assert res.target.shape == res.residual.shape == x.shape
    assert res.target.dtype == res.residual.dtype == np.float32
    assert res.sample_rate == sr
    np.testing.assert_allclose(res.target + res.residual, x, atol=1e-5)


def test_every_channel_uses_the_same_query(sep: Separator) -> None:
    mono = (0.1 * np.random.default_rng(1).standard_normal(20000)).astype(np.float32)
    res = sep.separate(np.stack([mono, mono]), 16000, text="a dog barking")
    np.testing.assert_allclose(res.target[0], res.target[1], atol=1e-6)
    single = sep.separate(mono, 16000, text="a dog barking")
    np.testing.assert_allclose(res.target[0], single.target, atol=1e-5)


def test_unprojected_target_is_the_raw_network_output(sep: Separator) -> None:
    import torch

    x = (0.1 * np.random.default_rng(3).standard_normal(16000)).astype(np.float32)
    raw = Separator(sep.filter, sep.words, project=False, postfilter=False)
    emb = sep.embed_query(text="owl hooting")
    cond = torch.from_numpy(emb).reshape(1, -1)
    with torch.inference_mode():
        want = sep.filter(torch.from_numpy(x).reshape(1, 1, -1), cond, project=False)[0].reshape(-1).numpy()
    got = raw.window_fn(emb)(x.reshape(1, -1)).reshape(-1)
    np.testing.assert_allclose(got, want, atol=1e-5)
    projected = Separator(sep.filter, sep.words, postfilter=False).window_fn(emb)(x.reshape(1, -1)).reshape(-1)
    assert np.abs(got - projected).mean() > 1e-6  # projection changes it
    res = raw.separate(x, 16000, embedding=emb)
    np.testing.assert_allclose(res.target + res.residual, x, atol=1e-5)  # the residual still completes it


@pytest.mark.parametrize("postfilter", [True, False])
def test_a_window_is_separated_by_soundfilter_separate(make_tiny_models, tmp_path: Path, postfilter: bool) -> None:
    """The API runs the model's one inference path: one window (no overlap, model rate) is bit-identical
    to a direct :meth:`SoundFilter.separate` call, mask refiner included."""
    import torch

    models = make_tiny_models(tmp_path, postfilter_fft=1024, refiner_channels=4)
    sep = Separator.from_pretrained(models, overlap_seconds=0.0, postfilter=postfilter, check_queries=False)
    assert sep.filter.refiner is not None
    x = (0.1 * np.random.default_rng(5).standard_normal((2, 32000))).astype(np.float32)
    emb = sep.embed_query(text="owl hooting")
    cond = torch.from_numpy(emb).reshape(1, -1).expand(2, -1)
    with torch.inference_mode():
        want = sep.filter.separate(torch.from_numpy(x).unsqueeze(1), cond, postfilter=postfilter)[0]
    want = want.squeeze(1).numpy()
    res = sep.separate(x, 16000, embedding=emb, check=False)
    np.testing.assert_array_equal(res.target, want)
    np.testing.assert_array_equal(res.residual, x - want)


def test_two_pass_averages_the_first_target_and_the_second_residual(sep: Separator) -> None:
    """--two-pass: pass 2 is conditioned on the SoundWords embedding of pass 1's (whole, mono) residual,
    and the target is the mean of pass 1's target and pass 2's residual; outputs still add up."""
    x = (0.1 * np.random.default_rng(6).standard_normal((2, 48000))).astype(np.float32)
    x[1] = np.roll(x[1], 5000) * np.linspace(0, 1, 48000, dtype=np.float32)
    emb = sep.embed_query(text="owl hooting")
    one = Separator(sep.filter, sep.words)
    first = one.separate(x, 16000, embedding=emb, check=False)
    other = sep.words.embed_audio([first.residual.mean(axis=0)], 16000)[0]
    second = one.separate(x, 16000, embedding=other / np.linalg.norm(other), check=False)
    got = Separator(sep.filter, sep.words, two_pass=True).separate(x, 16000, embedding=emb, check=False)
    w = two_pass.FIRST_WEIGHT
    np.testing.assert_allclose(got.target, w * first.target + (1 - w) * second.residual, atol=1e-5)
    np.testing.assert_allclose(got.target + got.residual, x, atol=1e-5)
    assert np.abs(got.target - first.target).mean() > 1e-4  # the second pass changes the result


def test_two_pass_separates_the_segments_of_a_long_input_together_as_one_by_one(sep: Separator) -> None:
    """The 16 spread segments of a long input go through the filter as one batch; the second query
    is the one separating each segment on its own gives."""
    sr = 8000
    x = (0.1 * np.random.default_rng(8).standard_normal((1, 40 * sr))).astype(np.float32)
    segments = two_pass.segments([x], x.shape[1], sr)
    assert len(segments) == two_pass.MAX_WINDOWS
    emb = sep.embed_query(text="owl hooting")
    one_by_one = [sep._separate_array(seg, sr, emb)[1] for seg in segments]
    want = two_pass.other_query(sep.words, one_by_one, sr)
    np.testing.assert_allclose(sep._other_query(segments, sr, emb), want, atol=1e-5)


@pytest.mark.parametrize(("seconds", "sr"), [(3.75, 16000), (40.0, 8000)])
def test_two_pass_files_match_arrays(sep: Separator, tmp_path: Path, seconds: float, sr: int) -> None:
    """The streamed file path (its first pass only reads the segments the second query comes from) gives
    the in-memory result, for a short input (used whole) and a long one (16 spread segments)."""
    import soundfile as sf

    x = (0.1 * np.random.default_rng(7).standard_normal(round(seconds * sr))).astype(np.float32)
    x *= np.linspace(0.2, 1.0, x.shape[0], dtype=np.float32)
    mix = tmp_path / "mix.wav"
    sf.write(mix, x, sr, subtype="FLOAT")
    two = Separator(sep.filter, sep.words, two_pass=True)
    emb = sep.embed_query(text="owl hooting")
    seen: list[tuple[int, int]] = []
    out = (tmp_path / "t.wav", tmp_path / "r.wav")
    two.separate_file(mix, *out, embedding=emb, check=False, progress=lambda d, n: seen.append((d, n)))
    want = two.separate(x, sr, embedding=emb, check=False)
    np.testing.assert_allclose(sf.read(tmp_path / "t.wav", dtype="float32")[0], want.target, atol=1e-5)
    assert seen[-1] == (x.shape[0], x.shape[0])
    plain = Separator(sep.filter, sep.words).separate(x, sr, embedding=emb, check=False)
    assert np.abs(want.target - plain.target).mean() > 1e-4


@pytest.mark.parametrize(("sr", "as_file"), [(16000, False), (44100, False), (16000, True)])
def test_two_pass_of_a_short_input_reuses_its_first_pass(
    sep: Separator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sr: int, as_file: bool
) -> None:
    """A short input is its own segment: the second query's first pass covers the same windows, and the
    combined pass runs the second query only (4 network rows for 3 s of mono instead of 6)."""
    import soundfile as sf

    two = Separator(sep.filter, sep.words, two_pass=True)
    rows: list[int] = []
    inner = two._window_targets

    def counting(x, cond):
        rows.append(x.shape[0])
        return inner(x, cond)

    monkeypatch.setattr(two, "_window_targets", counting)
    x = (0.1 * np.random.default_rng(9).standard_normal(3 * sr)).astype(np.float32)
    emb = sep.embed_query(text="owl hooting")
    if as_file:
        sf.write(tmp_path / "mix.wav", x, sr, subtype="FLOAT")
        two.separate_file(tmp_path / "mix.wav", tmp_path / "t.wav", tmp_path / "r.wav", embedding=emb, check=False)
        got = sf.read(tmp_path / "t.wav", dtype="float32")[0]
    else:
        got = two.separate(x, sr, embedding=emb, check=False).target
    assert sum(rows) == 4 and max(rows) == 1  # 2 windows x (first pass, second query)
    rows.clear()
    want = two.window_fn(emb, two._other_query([x[None]], sr, emb))  # the combined pass, no cache
    from sfcli.streaming import separate_array

    want_target = separate_array(x[None], sr, want, batch=two.windows_per_call(1))[0][0]
    assert sum(rows) == 2 + 2 * 2
    np.testing.assert_allclose(got, want_target, atol=1e-5)


@pytest.mark.parametrize(
    ("channels", "batch_rows", "calls"),
    [
        (1, None, [2, 2, 2, 2, 1, 1]),
        (1, 4, [4, 4, 1, 1]),
        (2, None, [2] * 10),
        (2, 4, [4] * 4 + [2, 2]),
        (6, 4, [6] * 10),
    ],
)
def test_windows_go_through_the_network_in_rows(
    sep: Separator, monkeypatch: pytest.MonkeyPatch, channels: int, batch_rows: int | None, calls: list[int]
) -> None:
    """17 s at 16 kHz: 9 full windows (hop 1.75 s), then the last one (ending with the input) alone; by
    default 2 rows per call (2 windows in mono, one in stereo), with 4 rows 4 windows in mono, 2 in
    stereo, and one window of 6 rows for 6 channels. The outputs are those of one window per call."""
    rows: list[int] = []
    fast = (
        Separator(sep.filter, sep.words)
        if batch_rows is None
        else Separator(sep.filter, sep.words, batch_rows=batch_rows)
    )
    inner = fast._window_targets

    def counting(x, cond):
        rows.append(x.shape[0])
        return inner(x, cond)

    monkeypatch.setattr(fast, "_window_targets", counting)
    x = (0.1 * np.random.default_rng(10).standard_normal((channels, 17 * 16000))).astype(np.float32)
    emb = sep.embed_query(text="owl hooting")
    got = fast.separate(x, 16000, embedding=emb, check=False).target
    assert rows == calls
    one = Separator(sep.filter, sep.words, batch_rows=1).separate(x, 16000, embedding=emb, check=False).target
    np.testing.assert_allclose(got, one, atol=1e-5)


def test_query_changes_the_result(sep: Separator) -> None:
    x = (0.1 * np.random.default_rng(2).standard_normal(16000)).astype(np.float32)
    a = sep.separate(x, 16000, text="owl hooting").target
    b = sep.separate(x, 16000, text="church bells ringing").target
    assert np.abs(a - b).mean() > 1e-6


def test_reference_query(sep: Separator) -> None:
    x = (0.1 * np.random.default_rng(3).standard_normal(16000)).astype(np.float32)
    clip = (0.1 * np.random.default_rng(4).standard_normal(22050)).astype(np.float32)
    res = sep.separate(x, 16000, reference=clip, reference_sample_rate=22050)
    assert res.target.shape == x.shape
    stereo_clip = np.stack([clip, clip])
    res2 = sep.separate(x, 16000, reference=stereo_clip, reference_sample_rate=22050)
    np.testing.assert_allclose(res.target, res2.target, atol=1e-5)


class _RecordingEmbedder:
    """Records the clips it is asked to embed."""

    def __init__(self) -> None:
        self.clips: list[np.ndarray] = []

    def embed_text(self, texts):
        return np.ones((len(texts), 64), np.float32) / 8

    def embed_audio(self, clips, sample_rate):
        self.clips.extend(np.asarray(c) for c in clips)
        return np.ones((len(clips), 64), np.float32) / 8


def test_short_references_are_looped_to_the_conditioning_length(sep: Separator) -> None:
    rec = _RecordingEmbedder()
    looping = Separator(sep.filter, rec)
    short = np.arange(1, 11_026, dtype=np.float32) / 20_000  # 0.5 s at 22.05 kHz
    looping.embed_query(reference=short, reference_sample_rate=22050)
    assert rec.clips[-1].shape == (44100,)
    np.testing.assert_array_equal(rec.clips[-1][:11025], short)
    np.testing.assert_array_equal(rec.clips[-1][11025:22050], short)  # the clip again, not silence
    long = np.ones(50_000, np.float32)
    looping.embed_query(reference=long, reference_sample_rate=22050)
    assert rec.clips[-1].shape == (50_000,)  # longer clips are left alone
    Separator(sep.filter, rec, loop_reference_seconds=0).embed_query(reference=short, reference_sample_rate=22050)
    assert rec.clips[-1].shape == (11025,)


def test_odd_but_valid_inputs(sep: Separator) -> None:
    sr = 16000
    silence = np.zeros(sr, np.float32)
    res = sep.separate(silence, sr, text="owl hooting")
    assert np.abs(res.target).max() == 0 and np.abs(res.residual).max() == 0
    clipped = np.clip(3 * np.random.default_rng(5).standard_normal(sr), -1, 1).astype(np.float32)
    res = sep.separate(clipped, sr, text="owl hooting")
    np.testing.assert_allclose(res.target + res.residual, clipped, atol=1e-5)
    short = np.random.default_rng(6).standard_normal(int(0.05 * sr)).astype(np.float32)
    assert sep.separate(short, sr, text="owl").target.shape == short.shape
    long_text = "a very long description of a sound " * 300  # ~10 kB
    assert sep.separate(short, sr, text=long_text).target.shape == short.shape
    ints = (np.random.default_rng(7).standard_normal(800) * 1000).astype(np.int16)
    assert sep.separate(ints, sr, text="owl").target.dtype == np.float32


def test_bad_queries(sep: Separator) -> None:
    x = np.zeros(1600, np.float32)
    with pytest.raises(QueryError, match="exactly one"):
        sep.separate(x, 16000)
    with pytest.raises(QueryError, match="exactly one"):
        sep.separate(x, 16000, text="owl", reference=x, reference_sample_rate=16000)
    with pytest.raises(QueryError, match="empty"):
        sep.separate(x, 16000, text="   ")
    with pytest.raises(QueryError, match=r"at least 0\.1 s"):
        sep.separate(x, 16000, reference=np.ones(1000, np.float32), reference_sample_rate=16000)
    with pytest.raises(QueryError, match="sample rate"):
        sep.separate(x, 16000, reference=np.ones(4000, np.float32))


def test_bad_mixtures(sep: Separator) -> None:
    with pytest.raises(AudioError, match="no samples"):
        sep.separate(np.zeros(0, np.float32), 16000, text="owl")
    with pytest.raises(AudioError, match="NaN"):
        sep.separate(np.array([0.0, np.nan, 0.0] * 100, np.float32), 16000, text="owl")
    with pytest.raises(AudioError, match="shape"):
        sep.separate(np.zeros((1, 2, 3), np.float32), 16000, text="owl")


def test_missing_models_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        Separator.from_pretrained(tmp_path)


def test_text_queries_go_through_the_audio_bank(tiny_models: Path, tmp_path: Path) -> None:
    import shutil

    import torch

    from sfcli.words import AudioBank

    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)
    rng = np.random.default_rng(3)
    rows = rng.standard_normal((6, 64)).astype(np.float32)
    AudioBank(torch.from_numpy(rows), k=1).save(models / "soundwords")
    expanded = Separator.from_pretrained(models)
    raw = Separator.from_pretrained(models, text_expansion=False)
    plain = raw.words.embed_text(["owl hooting"])[0]
    np.testing.assert_allclose(raw.embed_query(text="owl hooting"), plain, atol=1e-6)
    want = expanded.words.audio_bank.expand(plain[None])[0]
    np.testing.assert_allclose(expanded.embed_query(text="owl hooting"), want, atol=1e-6)
    mix = rng.standard_normal(16000).astype(np.float32)
    a = expanded.separate(mix, 16000, text="owl hooting").target
    b = raw.separate(mix, 16000, text="owl hooting").target
    assert not np.allclose(a, b, atol=1e-4)
    clip = rng.standard_normal(8000).astype(np.float32)  # reference queries are never expanded
    np.testing.assert_array_equal(
        expanded.embed_query(reference=clip, reference_sample_rate=16000),
        raw.embed_query(reference=clip, reference_sample_rate=16000),
    )


def test_the_model_rate_comes_from_the_filter_config(make_tiny_models, tmp_path: Path, write_wav) -> None:
    """A SoundFilter configured at 8 kHz gets 2 s windows of 8 kHz audio; outputs keep the input's rate
    and length (arrays and files)."""
    import soundfile as sf
    import torch

    from sfcli.filter_model import SoundFilterConfig

    assert SoundFilterConfig.from_dict({}).sample_rate == MODEL_SAMPLE_RATE  # configs without the key
    sep = Separator.from_pretrained(make_tiny_models(tmp_path / "m", sample_rate=8000), check_queries=False)
    assert sep.model_rate == 8000
    windows: list[tuple[int, ...]] = []
    separate = sep.filter.separate
    sep.filter.separate = lambda x, *a, **k: windows.append(tuple(x.shape)) or separate(x, *a, **k)
    emb = sep.embed_query(text="owl hooting")
    for shape, sr in (((2, 44100), 44100), ((20000,), 8000), ((1, 7000), 16000)):
        x = (0.1 * np.random.default_rng(6).standard_normal(shape)).astype(np.float32)
        res = sep.separate(x, sr, embedding=emb, check=False)
        assert res.target.shape == res.residual.shape == x.shape and res.sample_rate == sr
        np.testing.assert_allclose(res.target + res.residual, x, atol=1e-5)
    assert windows and all(w[-1] == 16000 for w in windows)  # 2 s at the model's 8 kHz
    x = (0.1 * np.random.default_rng(7).standard_normal((1, 16000))).astype(np.float32)
    sep.overlap_seconds = 0.0
    with torch.inference_mode():
        want = separate(torch.from_numpy(x).unsqueeze(1), torch.from_numpy(emb).reshape(1, -1))[0]
    np.testing.assert_array_equal(sep.separate(x, 8000, embedding=emb, check=False).target, want[:, 0].numpy())
    sep.overlap_seconds = 0.25
    wav = write_wav("in.wav", seconds=1.3, sr=22050, channels=2)
    sep.separate_file(wav, tmp_path / "t.wav", tmp_path / "r.wav", embedding=emb, check=False)
    for out in ("t.wav", "r.wav"):
        info = sf.info(tmp_path / out)
        assert (info.samplerate, info.frames, info.channels) == (22050, sf.info(wav).frames, 2)
