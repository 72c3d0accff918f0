"""words_eval: recall in both directions, the Clotho protocol, zero-shot accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from sfcli.words import SoundWords
from sfcli.words_eval import EvalRecord, as_eval_record, evaluate_embeddings, evaluate_words


def _onehot_embed(vocab: dict[str, int], dim: int):
    def embed(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), dim), np.float32)
        for i, t in enumerate(texts):
            out[i, vocab[t]] = 1.0
        return out

    return embed


def test_perfect_embeddings_score_one_and_category_zero_shot() -> None:
    cats = ["dog", "cat", "rain"]
    recs = [EvalRecord([f"a {c} sound", f"{c} noise"], c) for c in cats for _ in range(3)]
    vocab = {}
    for j, c in enumerate(cats):
        vocab[f"a {c} sound"] = vocab[f"{c} noise"] = vocab[c] = j
    audio = np.eye(3, dtype=np.float32)[[cats.index(r.category) for r in recs]]
    m = evaluate_embeddings(audio, recs, _onehot_embed(vocab, 3))
    assert m["protocol"] == "pairs" and m["n_clips"] == 9 and m["n_categories"] == 3
    assert m["n_text_queries"] == 6
    for k in ("t2a_R@1", "a2t_R@1", "t2a_category_R@1", "zeroshot_top1", "zeroshot_top5"):
        assert m[k] == 1.0, k


def test_wrong_embeddings_score_low() -> None:
    cats = [f"c{i}" for i in range(12)]
    recs = [EvalRecord([f"text {c}"], c) for c in cats]
    vocab = {f"text {c}": i for i, c in enumerate(cats)} | {c: i for i, c in enumerate(cats)}
    # Every clip points at the next category.
    audio = np.roll(np.eye(12, dtype=np.float32), 1, axis=1)
    m = evaluate_embeddings(audio, recs, _onehot_embed(vocab, 12))
    assert m["t2a_R@1"] == 0.0 and m["a2t_R@1"] == 0.0 and m["zeroshot_top1"] == 0.0
    assert m["t2a_R@10"] < 1.0


def test_clotho_protocol_with_five_captions() -> None:
    recs = [EvalRecord([f"clip {i} caption {j}" for j in range(5)]) for i in range(4)]
    vocab = {f"clip {i} caption {j}": i for i in range(4) for j in range(5)}
    audio = np.eye(4, dtype=np.float32)
    audio[3] = audio[2]  # clips 2 and 3 are indistinguishable: only one of them can rank first
    m = evaluate_embeddings(audio, recs, _onehot_embed(vocab, 4))
    assert m["protocol"] == "clotho" and m["n_text_queries"] == 20
    assert m["t2a_R@1"] == pytest.approx(0.75)
    assert m["t2a_R@5"] == 1.0
    assert "zeroshot_top1" not in m


def test_as_eval_record_reads_dicts_and_objects() -> None:
    r = as_eval_record({"text": "owl hooting", "label": "owl"})
    assert r.descriptions == ["owl hooting"] and r.category == "owl"

    from types import SimpleNamespace

    clip = SimpleNamespace(descriptions=["rain", " "], category="rain")
    assert as_eval_record(clip).descriptions == ["rain"]


def test_evaluate_words_runs_a_model_end_to_end() -> None:
    sw = SoundWords.tiny(seed=0)
    rng = np.random.default_rng(0)
    recs = [{"text": f"tone {i % 3}", "category": f"t{i % 3}", "x": rng.standard_normal(4000)} for i in range(6)]
    m = evaluate_words(sw, recs, lambda r: (r["x"].astype(np.float32), 8000))
    assert m["n_clips"] == 6 and 0.0 <= m["zeroshot_top1"] <= 1.0 and "a2t_R@10" in m


def test_several_templates_average_into_a_prompt_ensemble() -> None:
    # Each template alone points every category's prompt more at a neighbouring category than at its own;
    # their mean points at the right one.
    cats = ["a", "b", "c"]
    eye = np.eye(3, dtype=np.float32)
    vocab: dict[str, np.ndarray] = {}
    for j, c in enumerate(cats):
        vocab[f"{c} clip"] = eye[j]
        vocab[f"left {c}"] = eye[j] + 1.5 * eye[(j + 1) % 3]
        vocab[f"right {c}"] = eye[j] + 1.5 * eye[(j - 1) % 3]

    def embed(texts: list[str]) -> np.ndarray:
        rows = np.stack([vocab[t] for t in texts])
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    recs = [EvalRecord([f"{c} clip"], c) for c in cats]
    audio = eye.copy()
    assert evaluate_embeddings(audio, recs, embed, template="left {}")["zeroshot_top1"] == 0.0
    assert evaluate_embeddings(audio, recs, embed, template="right {}")["zeroshot_top1"] == 0.0
    both = evaluate_embeddings(audio, recs, embed, template=["left {}", "right {}"])
    assert both["zeroshot_top1"] == 1.0
    assert both["t2a_R@1"] == 1.0  # descriptions do not go through the templates


def test_macro_zero_shot_weighs_every_category_once() -> None:
    # Three clips of "a" (all right) and one of "b" (wrong): per clip 3/4, per category (1 + 0) / 2.
    eye = np.eye(2, dtype=np.float32)
    vocab = {"a": eye[0], "b": eye[1], "a clip": eye[0], "b clip": eye[1]}

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([vocab[t] for t in texts])

    recs = [EvalRecord(["a clip"], "a")] * 3 + [EvalRecord(["b clip"], "b")]
    audio = np.stack([eye[0], eye[0], eye[0], eye[0]])
    m = evaluate_embeddings(audio, recs, embed)
    assert m["zeroshot_top1"] == 0.75
    assert m["zeroshot_top1_macro"] == 0.5


def test_zeroshot_scores_per_class_and_worst_confusions() -> None:
    from sfcli.words_eval import zeroshot_scores

    eye = np.eye(3, dtype=np.float32)
    # a: 3 clips right; b: one right, one taken for c; c: 2 clips taken for a.
    labels = [0, 0, 0, 1, 1, 2, 2]
    audio = eye[[0, 0, 0, 1, 2, 0, 0]]
    z = zeroshot_scores(audio, labels, eye, ["a", "b", "c"], worst=2)
    assert z["top1"] == pytest.approx(4 / 7) and z["top1_macro"] == pytest.approx(0.5)
    assert z["top5"] == 1.0 and z["top5_macro"] == 1.0
    assert z["per_class"]["b"] == {"n": 2, "top1": 0.5, "top5": 1.0}
    assert [(w["class"], w["confused_with"]) for w in z["worst"]] == [("c", [["a", 2]]), ("b", [["c", 1]])]
    with pytest.raises(ValueError):
        zeroshot_scores(audio, labels, eye[:2], ["a", "b", "c"])


def test_per_category_zero_shot_is_listed_on_request() -> None:
    eye = np.eye(2, dtype=np.float32)
    vocab = {"a": eye[0], "b": eye[1], "a clip": eye[0], "b clip": eye[1]}

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([vocab[t] for t in texts])

    recs = [EvalRecord(["a clip"], "a")] * 3 + [EvalRecord(["b clip"], "b")]
    audio = np.stack([eye[0]] * 4)
    assert "zeroshot_top1_per_category" not in evaluate_embeddings(audio, recs, embed)
    m = evaluate_embeddings(audio, recs, embed, per_category=True)
    assert m["zeroshot_top1_per_category"] == {"a": 1.0, "b": 0.0}


def test_missing_audio_lists_the_records_a_manifest_reader_skips(tmp_path) -> None:
    """``sfcli eval words`` refuses a manifest with missing audio; this is how it finds them (any format)."""
    from sfcli.data.manifests import missing_audio, read_manifest
    from sfcli.errors import SfcliError

    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "1-a.wav").write_bytes(b"")
    esc = tmp_path / "esc50.csv"
    esc.write_text("filename,fold,target,category\n1-a.wav,1,0,dog\n1-b.wav,1,0,dog\n2-c.wav,5,1,rain\n")
    assert missing_audio(esc) == ["1-b.wav", "2-c.wav"]
    assert len(read_manifest(esc)) == 1  # readers still skip them (training takes what is there)
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text('{"audio": "audio/1-a.wav", "text": "a dog"}\n')
    assert missing_audio(jsonl) == []
    jsonl.write_text('{"audio": "gone.wav", "text": "a dog"}\n')
    assert missing_audio(jsonl) == [str(tmp_path / "gone.wav")]
    with pytest.raises(SfcliError, match="no usable records: none of its audio files was found") as exc:
        read_manifest(jsonl)
    assert "--audio-dir" not in str(exc.value)
