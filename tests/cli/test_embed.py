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


def test_npy_is_checked_before_the_model_loads(cli, tiny_models: Path, tmp_path: Path) -> None:
    """Each refusal comes while the models folder does not even exist, i.e. before any work."""
    existing = tmp_path / "emb.npy"
    existing.write_bytes(b"keep me")
    (tmp_path / "folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    cases = {
        existing: "emb.npy exists; use --force to overwrite",
        tmp_path / "emb": "emb.npy exists; use --force",  # .npy is added, as numpy.save would
        tmp_path / "folder": "is a folder",
        "-": "cannot go to stdout",
        tmp_path / "no" / "e.npy": "does not exist",
        tmp_path / "a-file" / "e.npy": "is not a folder",
    }
    for npy, message in cases.items():
        r = cli("embed", "-t", "owl", "--npy", npy, "--models", tmp_path / "nomodels")
        assert r.code == 1 and r.out == "", (npy, r.err)
        assert r.err.startswith("sfcli: error: ") and message in r.err and len(r.err.splitlines()) == 1, r.err
    assert existing.read_bytes() == b"keep me"
    assert not (tmp_path / "folder.npy").exists() and not Path("-.npy").exists()
    r = cli("embed", "-t", "owl", "--npy", existing, "--force", "-q", "--models", tiny_models)
    assert r.code == 0 and r.out == "", r.err
    assert np.load(existing).shape == (1, 64)
    assert {p.name for p in tmp_path.iterdir()} == {"emb.npy", "folder", "a-file"}  # no temporary file left


def test_quiet_without_npy_is_refused(cli, tmp_path: Path) -> None:
    r = cli("embed", "-t", "owl", "-q", "--models", tmp_path / "nomodels")
    assert r.code == 1 and r.out == ""
    assert r.err.startswith("sfcli: error: --quiet") and "--npy" in r.err and len(r.err.splitlines()) == 1


def test_a_failed_npy_write_leaves_no_file(cli, tiny_models: Path, tmp_path: Path, full_disk: None) -> None:
    r = cli("embed", "-t", "owl", "--npy", tmp_path / "e.npy", "--models", tiny_models)
    assert r.code == 1 and r.err == f"sfcli: error: cannot write {tmp_path / 'e.npy'}: No space left on device\n"
    assert json.loads(r.out)["text"] == "owl" and list(tmp_path.iterdir()) == []
