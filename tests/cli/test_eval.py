"""`sfcli eval`: default separation command, JSON fields, mean ± std over models, the CI gate, words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def _manifest(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sr = 16000
    t = np.arange(sr // 2) / sr
    rows = []
    for i in range(n):
        rng = np.random.default_rng(i)
        tgt = (0.3 * np.sin(2 * np.pi * (300 + 200 * i) * t)).astype(np.float32)
        bg = (0.1 * rng.standard_normal(t.size)).astype(np.float32)
        for kind, x in (("mix", tgt + bg), ("tgt", tgt), ("bg", bg), ("ref", tgt[::-1].copy())):
            sf.write(folder / f"{kind}{i}.wav", x, sr, subtype="FLOAT")
        rows.append(
            {
                "mixture": f"mix{i}.wav",
                "target": f"tgt{i}.wav",
                "background": f"bg{i}.wav",
                "text": "a tone",
                "ref": f"ref{i}.wav",
                "category": f"c{i % 2}",
            }
        )
    path = folder / "eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_eval_json_fields_and_default_command(cli, tiny_models: Path, tmp_path: Path) -> None:
    m = _manifest(tmp_path / "d")
    r = cli("eval", m, "--models", tiny_models, "--json", "--markdown", tmp_path / "r.md")
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    assert rep["n_mixtures"] == 3 and rep["queries"] == ["text", "audio"]
    for q in ("text", "audio"):
        assert rep["aggregate"]["overall"][q]["target_si_sdri"]["runs"] == 1
        assert "residual_si_sdri" in rep["aggregate"]["overall"][q]
    assert set(rep["aggregate"]["per_category"]) == {"c0", "c1"}
    assert rep["irm"]["overall"]["target_si_sdri"] > 0
    assert "oracle IRM" in (tmp_path / "r.md").read_text()
    # The explicit sub-command gives the same numbers.
    r2 = cli("eval", "separation", m, "--models", tiny_models, "--json")
    assert json.loads(r2.out)["aggregate"] == rep["aggregate"]
    r3 = cli("eval", m, "--models", tiny_models, "--json", "--no-irm", "--query", "text", "--wrong-query")
    assert r3.code == 0, r3.err
    wrong = json.loads(r3.out)
    assert (
        wrong["queries"] == ["text", "other-text"]
        and wrong["aggregate"]["overall"]["other-text"]["target_si_sdri"]["runs"] == 1
    )


def test_raw_text_changes_only_text_queries(cli, tiny_models: Path, tmp_path: Path) -> None:
    import shutil

    import torch

    from sfcli.words import AudioBank

    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)
    AudioBank(torch.randn(4, 64, generator=torch.Generator().manual_seed(1)), k=1).save(models / "soundwords")
    m = _manifest(tmp_path / "d")
    reps = {}
    for name, extra in (("bank", []), ("raw", ["--raw-text"])):
        r = cli("eval", m, "--models", models, "--json", "--no-irm", *extra)
        assert r.code == 0, r.err
        reps[name] = json.loads(r.out)["aggregate"]["overall"]
    assert reps["bank"]["audio"] == reps["raw"]["audio"]
    assert reps["bank"]["text"]["target_si_sdri"]["mean"] != reps["raw"]["text"]["target_si_sdri"]["mean"]


def test_two_pass_is_recorded_and_changes_the_scores(cli, tiny_models: Path, tmp_path: Path) -> None:
    m = _manifest(tmp_path / "d")
    reps = {}
    for name, extra in (("one", []), ("two", ["--two-pass"])):
        r = cli("eval", m, "--models", tiny_models, "--json", "--no-irm", "--query", "audio", *extra)
        assert r.code == 0, r.err
        reps[name] = json.loads(r.out)
    assert reps["two"]["settings"]["two_pass"] is True and "two_pass" not in reps["one"]["settings"]
    one, two = (reps[k]["aggregate"]["overall"]["audio"]["target_si_sdri"]["mean"] for k in ("one", "two"))
    assert one != two


def test_adapt_is_recorded_and_changes_audio_scores_only(cli, tiny_models: Path, tmp_path: Path) -> None:
    m = _manifest(tmp_path / "d")
    reps = {}
    for name, extra in (("plain", []), ("adapt", ["--adapt", "2"])):
        r = cli("eval", m, "--models", tiny_models, "--json", "--no-irm", *extra)
        assert r.code == 0, r.err
        reps[name] = json.loads(r.out)
    assert reps["adapt"]["settings"]["adapt_steps"] == 2 and "adapt_steps" not in reps["plain"]["settings"]
    overall = {k: rep["aggregate"]["overall"] for k, rep in reps.items()}
    mean = {k: {q: o[q]["target_si_sdri"]["mean"] for q in ("text", "audio")} for k, o in overall.items()}
    assert mean["plain"]["audio"] != mean["adapt"]["audio"]
    assert mean["plain"]["text"] == pytest.approx(mean["adapt"]["text"], abs=1e-6)


def test_no_postfilter_scores_the_network_target(cli, tiny_models: Path, tmp_path: Path) -> None:
    m = _manifest(tmp_path / "d")
    reps = {}
    for name, extra in (("on", []), ("off", ["--no-postfilter"])):
        r = cli("eval", m, "--models", tiny_models, "--json", "--no-irm", "--query", "audio", *extra)
        assert r.code == 0, r.err
        rep = json.loads(r.out)
        assert rep["settings"] == {"text_expansion": True, "postfilter": name == "on"}
        reps[name] = rep["aggregate"]["overall"]["audio"]["target_si_sdri"]["mean"]
    assert reps["on"] != reps["off"]


def test_several_filters_give_mean_and_std(cli, tiny_models: Path, tmp_path: Path) -> None:
    m = _manifest(tmp_path / "d", n=2)
    other = tmp_path / "f2"
    shutil.copytree(tiny_models / "soundfilter", other)
    from sfcli.filter_model import SoundFilter

    f = SoundFilter.from_pretrained(other)
    import torch

    with torch.no_grad():
        for p in f.parameters():
            p.add_(0.05 * torch.randn_like(p))
    f.save_pretrained(other, half=False)
    r = cli(
        "eval",
        m,
        "--filter",
        tiny_models / "soundfilter",
        "--filter",
        other,
        "--words",
        tiny_models,
        "--query",
        "text",
        "--json",
        "--no-irm",
    )
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    ms = rep["aggregate"]["overall"]["text"]["target_si_sdri"]
    assert ms["runs"] == 2 and ms["std"] > 0 and len(rep["runs"]) == 2


def test_min_si_sdri_gate_sets_the_exit_code(cli, tiny_models: Path, tmp_path: Path) -> None:
    m = _manifest(tmp_path / "d", n=2)
    low = cli("eval", m, "--models", tiny_models, "--no-irm", "--min-si-sdri", "-100")
    assert low.code == 0, low.err
    assert "| text |" in low.out
    high = cli("eval", m, "--models", tiny_models, "--no-irm", "--min-si-sdri", "100")
    assert high.code == 3
    assert "below --min-si-sdri 100" in high.err and len(high.err.strip().splitlines()) == 1


def test_bad_input_is_one_line_and_exit_1(
    cli, tiny_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = cli("eval", tmp_path / "missing.jsonl", "--models", tiny_models)
    assert r.code == 1 and "no such manifest" in r.err and len(r.err.strip().splitlines()) == 1
    # No manifest and no built corpus: the default test set does not exist.
    monkeypatch.setenv("SFCLI_CACHE", str(tmp_path / "empty-cache"))
    r = cli("eval", "--models", tiny_models)
    assert r.code == 1 and "manifest" in r.err and "does not exist" in r.err
    r = cli("eval", _manifest(tmp_path / "d", 1), "--models", tiny_models, "--query", "video")
    assert r.code == 1 and "--query" in r.err


def test_eval_words_on_a_manifest(cli, tiny_models: Path, tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    rows = []
    for i in range(4):
        t = np.arange(8000) / 16000
        sf.write(folder / f"a{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 300 * i) * t)).astype(np.float32), 16000)
        rows.append({"audio": f"a{i}.wav", "text": f"tone {i}", "category": f"k{i % 2}"})
    (folder / "w.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = cli("eval", "words", folder / "w.jsonl", "--words", tiny_models, "--json")
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    assert rep["n_clips"] == 4 and "t2a_R@1" in rep and "zeroshot_top1" in rep


def test_eval_on_labelled_clips_has_seeds_sdri_and_absent_queries(cli, tiny_models: Path, tmp_path: Path) -> None:
    from tests.data.test_labelled import write_clips

    manifest = write_clips(tmp_path / "k", seconds=2.0, per_label=2)
    args = ("eval", manifest, "--models", tiny_models, "--n", "3", "--json", "--markdown", tmp_path / "r.md")
    r = cli(*args)
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    assert rep["queries"] == ["text", "audio", "absent-text", "absent-audio"]
    assert rep["settings"]["protocol"] == "paper" and rep["settings"]["seeds"] == [0, 1, 2]
    assert len(rep["runs"]) == 3 and rep["n_mixtures"] == 9  # 3 mixture seeds x 3 mixtures, one model
    text = rep["aggregate"]["overall"]["text"]
    assert text["target_si_sdri"]["runs"] == 3 and text["target_sdri"]["runs"] == 3
    assert rep["aggregate"]["overall"]["absent-audio"]["kept_db"]["runs"] == 3
    assert {"target_sdri", "target_si_sdri"} <= set(rep["irm"]["overall"])
    md = (tmp_path / "r.md").read_text()
    assert "target SDRi" in md and "energy kept" in md and "3 mixture sets" in md
    r2 = cli("eval", manifest, "--models", tiny_models, "--n", "2", "--seed", "4", "--protocol", "esc50", "--json")
    rep2 = json.loads(r2.out)
    assert r2.code == 0 and rep2["settings"]["seeds"] == [4] and rep2["settings"]["protocol"] == "esc50"
    r3 = cli("eval", manifest, "--models", tiny_models, "--protocol", "nope")
    assert r3.code == 1 and "protocol" in r3.err


def test_two_labels_need_no_absent(cli, tiny_models: Path, tmp_path: Path) -> None:
    """A labelled set of two labels: one line naming --no-absent, then scores with it."""
    from tests.data.test_labelled import write_clips

    manifest = write_clips(tmp_path / "k", seconds=2.0, per_label=2)
    two = tmp_path / "two.jsonl"
    two.write_text(
        "".join(line.replace('"audio/', '"k/audio/') + "\n" for line in manifest.read_text().splitlines()[:4])
    )
    r = cli("eval", two, "--models", tiny_models, "--n", "2", "--seed", "0", "--json")
    assert r.code == 1 and "--no-absent" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("eval", two, "--models", tiny_models, "--n", "2", "--seed", "0", "--json", "--no-absent")
    assert r.code == 0, r.err
    assert json.loads(r.out)["queries"] == ["text", "audio"]


# ---------------------------------------------------------------- outputs, missing audio, silent targets, the gate


def _words_manifest(folder: Path, missing: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    t = np.arange(8000) / 16000
    for i in range(4):
        sf.write(folder / f"a{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 300 * i) * t)).astype(np.float32), 16000)
        rows.append({"audio": f"a{i}.wav", "text": f"tone {i}", "category": f"k{i % 2}"})
    rows += [{"audio": f"gone{i}.wav", "text": "gone", "category": "k0"} for i in range(missing)]
    path = folder / "w.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("command", ["separation", "words"])
def test_markdown_is_checked_before_any_work_and_needs_force(
    cli, tiny_models: Path, tmp_path: Path, command: str
) -> None:
    source = _manifest(tmp_path / "d", 1) if command == "separation" else _words_manifest(tmp_path / "w")
    models = ("--models", tmp_path / "nomodels") if command == "separation" else ("--words", tmp_path / "nomodels")
    existing = tmp_path / "r.md"
    existing.write_text("keep me")
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "a-file").write_text("x")
    cases = {
        existing: "r.md exists; use --force to overwrite",
        tmp_path / "folder.md": "is a folder",
        tmp_path / "no" / "r.md": "does not exist",
        tmp_path / "a-file" / "r.md": "is not a folder",
    }
    for path, message in cases.items():
        # The models folder does not exist: every one of these is answered before it would be loaded.
        r = cli("eval", command, source, *models, "--markdown", path)
        assert r.code == 1 and r.out == "", r.err
        assert r.err.startswith("sfcli: error: ") and message in r.err and len(r.err.splitlines()) == 1, r.err
    assert existing.read_text() == "keep me" and not (tmp_path / "no").exists()
    good = ("--models", tiny_models) if command == "separation" else ("--words", tiny_models)
    r = cli("eval", command, source, *good, "--markdown", existing, "--force")
    assert r.code == 0, r.err
    assert existing.read_text() == r.out  # the table, also printed
    folder = source.parent.name
    assert {p.name for p in tmp_path.iterdir()} == {"a-file", folder, "folder.md", "r.md"}  # no temporary file left


def test_a_markdown_write_failure_keeps_the_results_on_stdout(
    cli, tiny_models: Path, tmp_path: Path, full_disk: None
) -> None:
    r = cli(
        "eval",
        _manifest(tmp_path / "d", 1),
        "--models",
        tiny_models,
        "--no-irm",
        "--json",
        "--markdown",
        tmp_path / "r.md",
    )
    assert r.code == 1 and r.err == f"sfcli: error: cannot write {tmp_path / 'r.md'}: No space left on device\n"
    assert json.loads(r.out)["n_mixtures"] == 1 and not (tmp_path / "r.md").exists()


def test_eval_words_refuses_a_manifest_with_missing_audio(cli, tiny_models: Path, tmp_path: Path) -> None:
    """As eval separation does: scoring only the records whose audio is there would change the set silently."""
    m = _words_manifest(tmp_path / "w", missing=2)
    r = cli("eval", "words", m, "--words", tiny_models, "--json")
    assert r.code == 1 and r.out == ""
    assert r.err == f"sfcli: error: {m}: 2 audio files not found (first: {tmp_path / 'w' / 'gone0.wav'})\n"


def test_eval_words_on_an_empty_manifest_gives_a_valid_hint(cli, tiny_models: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    r = cli("eval", "words", tmp_path / "empty.jsonl", "--words", tiny_models)
    assert r.code == 1 and "no usable records" in r.err and "--audio-dir" not in r.err
    assert len(r.err.splitlines()) == 1


def test_a_silent_target_is_refused_naming_the_row(cli, tiny_models: Path, tmp_path: Path) -> None:
    m = _manifest(tmp_path / "d", 2)
    sf.write(tmp_path / "d" / "tgt1.wav", np.zeros(8000, np.float32), 16000, subtype="FLOAT")
    sf.write(tmp_path / "d" / "bg1.wav", sf.read(tmp_path / "d" / "mix1.wav")[0], 16000, subtype="FLOAT")
    r = cli("eval", m, "--models", tiny_models, "--json")
    assert r.code == 1 and r.out == ""
    assert r.err.startswith(f"sfcli: error: {m}:2: the target tgt1.wav is silent") and len(r.err.splitlines()) == 1


def test_the_gate_without_results_of_its_query_kind_says_so(cli, tiny_models: Path, tmp_path: Path) -> None:
    m = _manifest(tmp_path / "d", 2)
    rows = [{k: v for k, v in json.loads(ln).items() if k != "text"} for ln in m.read_text().splitlines()]
    m.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # No model is loaded for this: the models folder does not exist.
    r = cli("eval", m, "--models", tmp_path / "nomodels", "--query", "text", "--min-si-sdri", "0")
    assert r.code == 1 and "nan" not in r.err and len(r.err.splitlines()) == 1
    assert "--min-si-sdri has nothing to compare: no mixture has a text query" in r.err
    r = cli("eval", m, "--models", tiny_models, "--no-irm", "--min-si-sdri", "-100")  # audio queries remain
    assert r.code == 0, r.err
