"""evaluation: manifest reading, scores of known separators, mean ± std across runs, IRM bound, tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfcli.api import SeparationResult
from sfcli.errors import SfcliError
from sfcli.eval_report import json_report, markdown_table
from sfcli.evaluation import (
    evaluate,
    gate_value,
    read_manifest,
)

SR = 8000


def write_eval_manifest(folder: Path, n: int = 4, seconds: float = 0.5) -> Path:
    """Tone targets over noise backgrounds; two categories; text and ref queries."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    t = np.arange(int(SR * seconds)) / SR
    for i in range(n):
        rng = np.random.default_rng(i)
        f = 300.0 if i % 2 == 0 else 1200.0
        target = (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)
        bg = (0.1 * rng.standard_normal(t.size)).astype(np.float32)
        ref = (0.3 * np.sin(2 * np.pi * f * t + 1.0)).astype(np.float32)
        for kind, x in (("mix", target + bg), ("tgt", target), ("bg", bg), ("ref", ref)):
            sf.write(folder / f"{kind}{i}.wav", x, SR, subtype="FLOAT")
        cat = "low" if f < 1000 else "high"
        rows.append(
            {
                "mixture": f"mix{i}.wav",
                "target": f"tgt{i}.wav",
                "background": f"bg{i}.wav",
                "text": f"a {cat} tone",
                "ref": f"ref{i}.wav",
                "category": cat,
            }
        )
    path = folder / "eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class Oracle:
    """Returns the true target blended with ``leak`` of the mixture (text) or ``leak/2`` (audio)."""

    def __init__(self, items, leak: float) -> None:
        self.by_mix = {it.mixture.tobytes(): it for it in items}
        self.leak = leak

    def separate(self, mixture, sr, *, text=None, reference=None, reference_sample_rate=None):
        it = self.by_mix[np.asarray(mixture, np.float32).tobytes()]
        leak = self.leak if text is not None else self.leak / 2
        target = (1 - leak) * it.target + leak * it.mixture
        return SeparationResult(target, it.mixture - target, sr, "q")


class Half:
    def separate(self, mixture, sr, **kw):
        return SeparationResult(mixture / 2, mixture / 2, sr, "q")


def test_read_manifest_loads_audio_and_fields(tmp_path: Path) -> None:
    items = read_manifest(write_eval_manifest(tmp_path))
    assert len(items) == 4 and items[0].sample_rate == SR
    assert items[0].text == "a low tone" and items[1].category == "high"
    np.testing.assert_allclose(items[0].mixture, items[0].target + items[0].background, atol=1e-6)
    assert len(read_manifest(tmp_path / "eval.jsonl", limit=2)) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"mixture": "mix0.wav"}', "missing field"),
        ('{"mixture": "nope.wav", "target": "tgt0.wav", "background": "bg0.wav"}', "nope.wav"),
    ],
)
def test_bad_manifests_raise_user_errors(tmp_path: Path, line: str, message: str) -> None:
    write_eval_manifest(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(line + "\n")
    with pytest.raises(SfcliError, match=message):
        read_manifest(bad)
    with pytest.raises(SfcliError, match="no such manifest"):
        read_manifest(tmp_path / "missing.jsonl")


def test_scores_runs_irm_and_tables(tmp_path: Path) -> None:
    items = read_manifest(write_eval_manifest(tmp_path))
    report = evaluate([("a", Oracle(items, 0.1)), ("b", Oracle(items, 0.2))], items)
    agg = report["aggregate"]["overall"]
    assert set(agg) == {"text", "audio"}
    assert set(agg["text"]) == {
        "target_si_sdr",
        "target_si_sdri",
        "residual_si_sdr",
        "residual_si_sdri",
        "target_sdr",
        "target_sdri",
    }
    text, audio = agg["text"]["target_si_sdri"], agg["audio"]["target_si_sdri"]
    assert text["runs"] == 2 and text["std"] > 0
    assert text["mean"] > 5 and audio["mean"] > text["mean"]  # less leak with audio queries
    per_run = [r["overall"]["text"]["target_si_sdri"] for r in report["runs"]]
    assert text["mean"] == pytest.approx(np.mean(per_run)) and text["std"] == pytest.approx(np.std(per_run))
    assert set(report["aggregate"]["per_category"]) == {"low", "high"}
    assert report["irm"]["overall"]["target_si_sdri"] > 5 and report["baseline_si_sdri"] == 0.0
    assert gate_value(report) == pytest.approx(text["mean"])
    js = json.loads(json_report(report))
    assert js["n_mixtures"] == 4 and "mixtures" not in js["runs"][0]
    assert len(json.loads(json_report(report, per_mixture=True))["runs"][0]["mixtures"]["text"]) == 4
    md = markdown_table(report)
    assert "| text |" in md and "oracle IRM" in md and "| low |" in md and "±" in md


def test_no_separation_scores_zero_improvement(tmp_path: Path) -> None:
    items = read_manifest(write_eval_manifest(tmp_path))
    report = evaluate([("half", Half())], items, queries=["text"], irm=False)
    assert report["aggregate"]["overall"]["text"]["target_si_sdri"]["mean"] == pytest.approx(0.0, abs=1e-4)
    assert "irm" not in report and list(report["aggregate"]["overall"]) == ["text"]
    with pytest.raises(SfcliError):
        evaluate([], items)
    with pytest.raises(SfcliError):
        evaluate([("half", Half())], items, queries=["video"])


class Obedient:
    """Extracts the tone the text names ("low"/"high") from the mixture: follows the query exactly."""

    def __init__(self, items) -> None:
        self.by_mix = {it.mixture.tobytes(): it for it in items}

    def separate(self, mixture, sr, *, text=None, **kw):
        it = self.by_mix[np.asarray(mixture, np.float32).tobytes()]
        wanted = "low" if "low" in (text or "") else "high"
        target = it.target if wanted == it.category else np.zeros_like(it.target) + 1e-4 * it.background
        return SeparationResult(target, it.mixture - target, sr, "q")


def test_wrong_query_measures_target_leakage_and_is_not_gated(tmp_path: Path) -> None:
    from sfcli.evaluation import other_texts

    items = read_manifest(write_eval_manifest(tmp_path))
    others = other_texts(items)
    assert all(o is not None and o != it.text for o, it in zip(others, items, strict=True))
    queries = ["text", "other-text"]
    obedient = evaluate([("o", Obedient(items))], items, queries=queries, irm=False)["aggregate"]["overall"]
    deaf = evaluate([("d", Oracle(items, 0.1))], items, queries=queries, irm=False)
    agg = deaf["aggregate"]["overall"]
    # A model that ignores the query extracts the target whatever is asked; an obedient one does not.
    assert agg["other-text"]["target_si_sdri"]["mean"] == pytest.approx(agg["text"]["target_si_sdri"]["mean"])
    assert obedient["other-text"]["target_si_sdri"]["mean"] < obedient["text"]["target_si_sdri"]["mean"] - 20
    assert gate_value(deaf) == pytest.approx(agg["text"]["target_si_sdri"]["mean"])
    assert "wrong query" in markdown_table(deaf)
    one_category = [it for it in items if it.category == "low"]
    assert other_texts(one_category) == [None] * len(one_category)


def test_silent_targets_and_backgrounds_are_refused(tmp_path: Path) -> None:
    """SI-SDR against silence is meaningless (input SI-SDR near -100 dB, huge improvements): refuse the row."""
    from sfcli.evaluation import check_audible

    m = write_eval_manifest(tmp_path, n=2)
    items = read_manifest(m)
    check_audible(items)  # audible: no error
    for kind in ("tgt", "bg"):
        write_eval_manifest(tmp_path, n=2)
        sf.write(tmp_path / f"{kind}1.wav", np.zeros(int(SR * 0.5), np.float32), SR, subtype="FLOAT")
        with pytest.raises(
            SfcliError, match=f"{m}:2: the {'target' if kind == 'tgt' else 'background'} {kind}1.wav is silent"
        ):
            read_manifest(m)
    items[0].target = np.zeros_like(items[0].target)
    with pytest.raises(SfcliError, match=f"mixture {items[0].name}: the target is silent"):
        check_audible(items)
