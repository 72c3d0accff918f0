"""``sfcli separate``: the query check on the result line, on stderr and in --json."""

from __future__ import annotations

import json
from pathlib import Path

from sfcli.query_check import QueryChecker
from sfcli.words import SoundWords

CATEGORIES = {"dog barking": ["a dog barking"], "rain": ["rain falling on a roof"], "bell": ["a bell ringing"]}


def _models(make_tiny_models, folder: Path) -> Path:
    models = make_tiny_models(folder)
    words = SoundWords.from_pretrained(models)
    QueryChecker(words, CATEGORIES, 0.5, 2.1, presence_score="target").save(models / "soundwords")
    return models  # presence threshold above any cosine: every query is warned about


def test_json_carries_matches_presence_and_warnings(cli, make_tiny_models, write_wav, tmp_path: Path) -> None:
    models = _models(make_tiny_models, tmp_path / "m")
    mix = write_wav("mix.wav", seconds=2.5, sr=16000)
    r = cli(
        "separate", mix, "-t", "a dog barking", "-t", "qzxv jjkw", "-o", tmp_path / "o", "--models", models, "--json"
    )
    assert r.code == 0, r.err
    rows = [json.loads(line) for line in r.out.splitlines()]
    assert [row["query"] for row in rows] == ["text:a dog barking", "text:qzxv jjkw"]
    for row in rows:
        assert len(row["matches"]) == 3 and all(isinstance(s, float) for _, s in row["matches"])
        assert isinstance(row["presence"], float)
        assert any("may not be in this recording" in w for w in row["warnings"])
    assert rows[0]["matches"][0][0] == "dog barking"
    assert not any("matches no sound" in w for w in rows[0]["warnings"])
    assert any(w.startswith("'qzxv jjkw' matches no sound") for w in rows[1]["warnings"])
    warnings = [line for line in r.err.splitlines() if line.startswith("sfcli: warning:")]
    assert len(warnings) == 3  # one match warning, two presence warnings: one line each


def test_result_line_shows_match_and_presence(cli, make_tiny_models, write_wav, tmp_path: Path) -> None:
    models = _models(make_tiny_models, tmp_path / "m")
    mix = write_wav("mix.wav", seconds=2.5, sr=16000)
    r = cli("separate", mix, "-t", "a dog barking", "-o", tmp_path / "o", "--models", models)
    assert r.code == 0, r.err
    line = next(x for x in r.err.splitlines() if "->" in x)
    assert "; matched dog barking " in line and "; presence " in line
    r = cli("separate", mix, "-r", mix, "-o", tmp_path / "o2", "--models", models, "--json")
    row = json.loads(r.out)
    assert row["matches"] == [] and isinstance(row["presence"], float)
