"""train-words / train-filter: --out never overwrites a model without --force, bad numbers are one-line
errors before anything loads, summaries are strict JSON and missing manifest audio is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

CATS = ("dog", "cat", "bird")


def _manifest(folder: Path, missing: int = 0) -> Path:
    """A JSONL manifest of 9 short tones (3 categories, one validation clip) plus ``missing`` absent files."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(9):
        t = np.arange(8000) / 16000
        sf.write(folder / f"c{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t)).astype(np.float32), 16000)
        split = "valid" if i == 8 else "train"
        rows.append({"audio": f"c{i}.wav", "text": f"a {CATS[i % 3]} {i}", "category": CATS[i % 3], "split": split})
    rows += [{"audio": f"gone{k}.wav", "text": "a dog", "category": "dog"} for k in range(missing)]
    path = folder / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _words(cli, tmp_path: Path, run: str, *extra: object):
    args = ["train-words", "--tiny", "-q", "-m", _manifest(tmp_path / "data"), "--run-dir", tmp_path / run]
    return cli(*args, "--steps", "2", "--batch-size", "4", *extra)


def _filter(cli, tmp_path: Path, run: str, *extra: object):
    args = ["train-filter", "--tiny", "-q", "--run-dir", tmp_path / run, "--steps", "1", "--batch-size", "2"]
    return cli(*args, "--valid-size", "2", "--crop-seconds", "0.25", *extra)


def _strict(text: str) -> dict:
    """Parse one JSON line, failing on NaN / Infinity (not JSON)."""

    def refuse(token: str) -> None:
        raise ValueError(f"{token} is not JSON")

    return json.loads(text.strip().splitlines()[-1], parse_constant=refuse)


def _one_line_error(res, *needles: str) -> None:
    assert res.code != 0 and "Traceback" not in res.err, res.err
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sfcli: error:"), res.err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_train_words_out_with_a_model_needs_force(cli, tmp_path: Path) -> None:
    out = tmp_path / "existing"
    assert _words(cli, tmp_path, "a", "-o", out).code == 0
    before = (out / "model.safetensors").read_bytes()
    res = _words(cli, tmp_path, "b", "-o", out, "--seed", "3")
    _one_line_error(res, f"{out} already holds a model; use --force")
    assert not (tmp_path / "b").exists()  # refused before the run started
    assert (out / "model.safetensors").read_bytes() == before
    res = _words(cli, tmp_path, "b", "-o", out, "--seed", "3", "--force")
    assert res.code == 0, res.err
    assert (out / "model.safetensors").read_bytes() != before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_train_words_rerun_replaces_its_own_export(cli, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    assert _words(cli, tmp_path, "a", "-o", out).code == 0
    res = _words(cli, tmp_path, "a", "-o", out, "--steps", "3")  # resume, more steps, same --out
    assert res.code == 0, res.err
    assert _strict(res.out)["step"] == 3
    assert _words(cli, tmp_path, "a").code == 0  # and the default RUN_DIR/model


def test_train_filter_out_with_a_model_needs_force(cli, tmp_path: Path) -> None:
    out = tmp_path / "existing"
    assert _words(cli, tmp_path, "w", "-o", out).code == 0  # a SoundWords model, with a text cache
    before = (out / "model.safetensors").read_bytes()
    _one_line_error(_filter(cli, tmp_path, "f", "-o", out), "already holds a model")
    assert (out / "model.safetensors").read_bytes() == before and not (tmp_path / "f").exists()
    res = _filter(cli, tmp_path, "f", "-o", out, "--force")
    assert res.code == 0, res.err
    assert json.loads((out / "config.json").read_text())["model"] == "soundfilter"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]  # no stale text cache


def test_out_that_is_a_file_is_one_line(cli, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    _one_line_error(_words(cli, tmp_path, "a", "-o", tmp_path / "f.txt"), "is not a folder")


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--lr", "-1"), "--lr"),
        (("--lr", "0"), "--lr"),
        (("--weight-decay", "-1"), "--weight-decay"),
        (("--audio-head-hidden", "-5"), "--audio-head-hidden"),
        (("--text-struct", "-0.5"), "--text-struct"),
        (("--seed", "-1"), "--seed"),
        (("--steps", "0"), "--steps"),
        (("--batch-size", "1"), "--batch-size"),
        (("--eval-every", "0"), "--eval-every"),
        (("--holdout-categories", "1.5"), "--holdout-categories"),
    ],
)
def test_train_words_bad_numbers_are_one_line(cli, tmp_path: Path, extra: tuple[str, ...], needle: str) -> None:
    _one_line_error(_words(cli, tmp_path, "r", *extra), needle)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--crop-seconds", "-1"), "--crop-seconds"),
        (("--crop-seconds", "0"), "--crop-seconds must be greater than 0"),
        (("--channels", "0"), "--channels"),
        (("--max-channels", "0"), "--max-channels"),
        (("--channels", "16", "--max-channels", "8"), "--max-channels (8) must be at least --channels (16)"),
        (("--lr", "-1"), "--lr must be greater than 0"),
        (("--seed", "-1"), "--seed"),
        (("--max-minutes", "0"), "--max-minutes"),
        (("--postfilter-fft", "3"), "--postfilter-fft"),
        (("--text-rate", "1.5"), "--text-rate"),
        (("--label-free", "-0.1"), "--label-free"),
        (("--augment", "-1"), "--augment"),
        (("--absent", "2"), "--absent"),
        (("--other-take", "1.1"), "--other-take"),
        (("--swap-pairs", "-1"), "--swap-pairs"),
        (("--similar-backgrounds", "1.5"), "--similar-backgrounds"),
        (("--similar-any-group",), "--similar-any-group only changes --similar-backgrounds"),
        (("--similar-pool", "2"), "--similar-pool"),
        (("--similar-pool", "0.5"), "--similar-pool only changes label-free examples"),
        (("--pool-other-take", "-0.5"), "--pool-other-take"),
        (("--pool-other-take", "0.5"), "--pool-other-take only changes label-free examples"),
        (("--residual-queries", "1.5"), "--residual-queries"),
        (("--query-noise", "-0.1"), "--query-noise"),
        (("--query-lean", "1"), "--query-lean"),
        (("--query-lean", "0.5"), "--query-lean only changes swapped pairs"),
        (("--max-sources", "5"), "--max-sources"),
        (("--warmup", "-1"), "--warmup"),
    ],
)
def test_train_filter_bad_numbers_are_one_line(cli, tmp_path: Path, extra: tuple[str, ...], needle: str) -> None:
    _one_line_error(_filter(cli, tmp_path, "r", *extra), needle)
    assert not (tmp_path / "r").exists()


def test_train_words_resume_past_steps_prints_strict_json(cli, tmp_path: Path) -> None:
    assert _words(cli, tmp_path, "r", "--steps", "3", "--checkpoint-every", "1").code == 0
    res = _words(cli, tmp_path, "r", "--steps", "2")
    assert res.code == 0, res.err
    summary = _strict(res.out)
    assert summary["step"] == 3 and summary["loss"] is None
    json.loads((tmp_path / "r" / "summary.json").read_text(), parse_constant=lambda t: pytest.fail(t))


def test_train_filter_resume_past_steps_prints_strict_json(cli, tmp_path: Path) -> None:
    assert _filter(cli, tmp_path, "r", "--steps", "2").code == 0
    res = _filter(cli, tmp_path, "r", "--steps", "1")
    assert res.code == 0, res.err
    assert _strict(res.out)["loss"] is None


def test_train_words_resume_with_other_options_says_so(cli, tmp_path: Path) -> None:
    assert _words(cli, tmp_path, "r").code == 0
    res = _words(cli, tmp_path, "r", "--steps", "3", "--lr", "0.01", "--weight-decay", "0.1")
    assert res.code == 0, res.err
    warnings = [ln for ln in res.err.splitlines() if ln.startswith("sfcli: warning:")]
    assert len(warnings) == 1 and "lr 0.001 -> 0.01" in warnings[0] and "weight_decay 0.0001 -> 0.1" in warnings[0]
    res = _words(cli, tmp_path, "r", "--steps", "4", "--lr", "0.01", "--weight-decay", "0.1")
    assert res.code == 0 and "warning" not in res.err  # the checkpoint now holds the new options


def test_train_words_missing_manifest_audio_is_refused(cli, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "data", missing=2)
    res = cli("train-words", "--tiny", "-q", "-m", manifest, "--run-dir", tmp_path / "r", "--steps", "1")
    _one_line_error(res, f"{manifest}: 2 audio files not found", "gone0.wav")
    assert not (tmp_path / "r").exists()


def test_train_filter_missing_manifest_audio_is_refused(cli, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "data", missing=1)
    _one_line_error(_filter(cli, tmp_path, "r", "-m", manifest), f"{manifest}: 1 audio file not found", "gone0.wav")
    assert not (tmp_path / "r").exists()
