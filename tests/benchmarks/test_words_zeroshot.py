"""benchmarks/words_zeroshot.py: zero-shot top-1/top-5 of a labelled manifest per prompt and query mode."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from sfcli.words import AudioBank, SoundWords
from tests.script_module import script_module


def _module() -> Any:
    return script_module("benchmarks/words_zeroshot.py")


KEYWORDS = ("dog", "cat", "rain")


class StubWords:
    """Known answers: a clip's embedding is the one-hot of its (constant) sample value; a text containing
    a keyword points at that keyword's axis; a bare label ``cK`` points at the *next* class (wrong); the
    audio-bank expansion rolls every query by one more axis."""

    config = SimpleNamespace(embed_dim=3)
    audio_bank = object()

    def audio_windows(self, clip: np.ndarray, sample_rate: int) -> np.ndarray:
        return clip[None, :4]

    def embed_windows(self, wins: list[np.ndarray]) -> np.ndarray:
        return np.eye(3, dtype=np.float32)[[int(w[0, 0]) for w in wins]]

    def embed_text(self, texts: list[str]) -> np.ndarray:
        rows = []
        for t in texts:
            hit = [j for j, k in enumerate(KEYWORDS) if k in t]
            rows.append(hit[0] if hit else (int(t.split("c")[-1]) + 1) % 3)
        return np.eye(3, dtype=np.float32)[rows]

    def text_query(self, texts: list[str], expand: bool = True) -> np.ndarray:
        return np.roll(self.embed_text(texts), 1, axis=1) if expand else self.embed_text(texts)


def _clip(cls: int, text: str) -> SimpleNamespace:
    return SimpleNamespace(
        category=f"c{cls}", descriptions=[text], load=lambda: (np.full(8, float(cls), np.float32), 8000)
    )


def test_known_answers_per_variant_and_mode() -> None:
    mod = _module()
    clips = [_clip(0, "a dog sound"), _clip(1, "a cat sound"), _clip(1, "a cat purring"), _clip(1, "a cat sound")]
    clips += [_clip(2, "wet cat")] * 3  # c2's own text names another class
    rep = mod.zeroshot_benchmark(StubWords(), clips)
    assert rep["classes"] == ["c0", "c1", "c2"] and rep["n_clips"] == 7 and rep["modes"] == ["plain", "expanded"]
    assert rep["class_texts"]["c1"] == ["a cat sound", "a cat purring"]  # most frequent first
    res = rep["results"]
    assert res["label"]["plain"]["top1"] == 0.0 and res["sound-of"]["plain"]["top1"] == 0.0
    assert res["label"]["expanded"]["top1"] == 0.0  # rolled twice: still never the right class
    # The text queries of c1 and c2 are both "cat": c1's clips tie and keep c1 (the lower index); c2's clips
    # are orthogonal to every query and fall to c0.
    text = res["text"]["plain"]
    assert {c: v["top1"] for c, v in text["per_class"].items()} == {"c0": 1.0, "c1": 1.0, "c2": 0.0}
    assert text["top1"] == pytest.approx(4 / 7) and text["top1_macro"] == pytest.approx(2 / 3)
    assert text["worst"][0]["class"] == "c2" and text["worst"][0]["confused_with"] == [["c0", 3]]
    assert all(s["top5"] == 1.0 for v in res.values() for s in v.values())  # only 3 classes
    md = mod.markdown(rep, ("text", "plain"))
    assert "| text | plain | 57.1 | 66.7 | 100.0 | 100.0 |" in md and "* c2 (0.0 %, 3 clips): c0 3" in md
    assert "| c1 | 3 | 0.0 | 0.0 | 0.0 | 0.0 | 100.0 |" in md  # label, sound-of (plain, expanded), text plain


def _manifest(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(6):
        name = f"clip{i}.flac"
        tone = np.sin(2 * np.pi * (300 + 500 * (i % 2)) * np.arange(12000) / 16000) + 0.1 * rng.standard_normal(12000)
        sf.write(tmp_path / name, (0.5 * tone).astype(np.float32), 16000)
        label = ["low-tone", "high-tone"][i % 2]
        rows.append({"audio": name, "text": f"a {label} humming", "label": label, "split": ["train", "test"][i // 4]})
    path = tmp_path / "manifest.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_tiny_model_on_a_manifest_embeds_as_the_product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = _module()
    path = _manifest(tmp_path)
    monkeypatch.chdir(tmp_path.parent)
    clips = mod.load_clips(Path(tmp_path.name) / path.name)  # a relative manifest path
    assert len(clips) == 6 and len(mod.load_clips(path, split="test")) == 2 and len(mod.load_clips(path, limit=3)) == 3
    sw = SoundWords.tiny(seed=0)
    emb, seconds = mod.embed_clips(sw, clips, batch=4)
    ref = np.concatenate([sw.embed_audio([c.load()[0]], 16000) for c in clips])
    np.testing.assert_allclose(emb, ref, atol=1e-5)
    assert seconds == pytest.approx(6 * 0.75)
    rep = mod.zeroshot_benchmark(sw, clips)
    assert rep["modes"] == ["plain"] and rep["skipped_modes"] == ["expanded"]  # no audio bank
    classes = rep["classes"]
    texts = rep["class_texts"]
    assert texts == {"high-tone": ["a high-tone humming"], "low-tone": ["a low-tone humming"]}
    sw.audio_bank = AudioBank(np.random.default_rng(1).standard_normal((5, sw.config.embed_dim)), k=2)
    q = mod.class_queries(sw, classes, texts, "label", "expanded")
    np.testing.assert_allclose(q, sw.text_query(["high tone", "low tone"]), atol=1e-6)
    q = mod.class_queries(sw, classes, texts, "sound-of", "plain")
    np.testing.assert_allclose(q, sw.embed_text(["the sound of high tone", "the sound of low tone"]), atol=1e-6)
    rep = mod.zeroshot_benchmark(sw, clips)
    assert rep["modes"] == ["plain", "expanded"] and set(rep["results"]) == set(mod.VARIANTS)
    for s in (rep["results"][v][m] for v in mod.VARIANTS for m in rep["modes"]):
        assert s["n_clips"] == 6 and set(s["per_class"]) == set(classes) and 0.0 <= s["top1_macro"] <= 1.0


def test_main_prints_json_and_writes_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = _module()
    path = _manifest(tmp_path)
    folder = SoundWords.tiny(seed=0).save_pretrained(tmp_path / "soundwords")
    md = tmp_path / "table.md"
    assert mod.main([str(path), "--models", str(folder), "--variants", "label", "text", "--markdown", str(md)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_clips"] == 6 and out["split"] == "all" and set(out["results"]) == {"label", "text"}
    assert "| class | clips | label plain | text plain |" in md.read_text()
