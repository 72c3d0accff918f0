"""``sfcli embed``: JSON lines for texts and files, --npy, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sfcli.words import SoundWords


def test_texts_print_json_lines(cli, tiny_models: Path) -> None:
    r = cli("embed", "--text", "owl hooting", "--text", "a dog barking", "--models", tiny_models)
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in r.out.strip().splitlines()]
    assert [x["text"] for x in lines] == ["owl hooting", "a dog barking"]
    for x in lines:
        e = np.array(x["embedding"])
        assert e.shape == (64,) and abs(np.linalg.norm(e) - 1) < 1e-4
    ref = SoundWords.from_pretrained(tiny_models).embed_text(["owl hooting"])[0]
    np.testing.assert_allclose(lines[0]["embedding"], ref, atol=1e-5)


def test_files_and_npy(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    a = write_wav("a.wav", seconds=3.0, sr=44100, channels=2)
    b = write_wav("b.flac", seconds=0.2, sr=8000, kind="tone")
    npy = tmp_path / "emb.npy"
    r = cli("embed", a, b, "-t", "rain", "--npy", npy, "--models", tiny_models)
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in r.out.strip().splitlines()]
    assert [next(iter(x)) for x in lines] == ["text", "file", "file"]
    assert lines[1]["file"] == str(a)
    arr = np.load(npy)
    assert arr.shape == (3, 64) and arr.dtype == np.float32
    np.testing.assert_allclose(arr[2], lines[2]["embedding"], atol=1e-5)


def test_bad_input_is_one_line_and_exit_1(cli, tiny_models: Path, tmp_path: Path) -> None:
    for args in (
        ("embed", tmp_path / "missing.wav", "--models", tiny_models),
        ("embed", "--text", "  ", "--models", tiny_models),
        ("embed", "--models", tiny_models),
        ("embed", "-t", "owl", "--models", tmp_path / "nomodels"),
    ):
        r = cli(*args)
        assert r.code == 1, args
        assert r.err.startswith("sfcli: error: ") and len(r.err.strip().splitlines()) == 1, r.err
        assert "Traceback" not in r.err and r.out == ""
