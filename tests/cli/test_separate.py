"""``sfcli separate`` end to end on a tiny random model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def _read(path: Path) -> tuple[np.ndarray, int]:
    data, sr = sf.read(path, always_2d=True, dtype="float32")
    return data.T, sr


def test_text_query_writes_target_and_residual(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    mix = write_wav("mix.wav", seconds=2.5, sr=44100, channels=2)
    out = tmp_path / "sep"
    r = cli("separate", mix, "--text", "owl hooting", "-o", out, "--models", tiny_models)
    assert r.code == 0, r.err
    t, sr_t = _read(out / "mix" / "target.wav")
    res, sr_r = _read(out / "mix" / "residual.wav")
    x, sr = _read(mix)
    assert sr_t == sr_r == sr == 44100
    assert t.shape == res.shape == x.shape
    np.testing.assert_allclose(t + res, x, atol=1e-5)


def test_raw_text_skips_the_audio_bank(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    import shutil

    import torch

    from sfcli.words import AudioBank

    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)
    AudioBank(torch.randn(4, 64, generator=torch.Generator().manual_seed(0)), k=1).save(models / "soundwords")
    mix = write_wav("mix.wav", seconds=2.0, sr=16000)
    outs = {}
    for name, extra in (("bank", []), ("raw", ["--raw-text"])):
        r = cli("separate", mix, "-t", "owl hooting", "-o", tmp_path / name, "--models", models, *extra)
        assert r.code == 0, r.err
        outs[name] = _read(tmp_path / name / "mix" / "target.wav")[0]
    r = cli("separate", mix, "-t", "owl hooting", "-o", tmp_path / "plain", "--models", tiny_models)
    assert r.code == 0, r.err
    np.testing.assert_array_equal(outs["raw"], _read(tmp_path / "plain" / "mix" / "target.wav")[0])
    assert not np.allclose(outs["bank"], outs["raw"], atol=1e-4)


def test_no_postfilter_gives_the_network_target(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    from sfcli import Separator

    mix = write_wav("mix.wav", seconds=2.0, sr=16000)
    outs = {}
    for name, extra in (("on", []), ("off", ["--no-postfilter"])):
        args = ("-o", tmp_path / name, "--models", tiny_models, "--bits", "32", *extra)
        r = cli("separate", mix, "-t", "owl hooting", *args)
        assert r.code == 0, r.err
        outs[name] = _read(tmp_path / name / "mix" / "target.wav")[0]
    x = _read(mix)[0]
    want = Separator.from_pretrained(tiny_models, postfilter=False).separate(x, 16000, text="owl hooting").target
    np.testing.assert_allclose(outs["off"], want, atol=1e-5)
    assert not np.allclose(outs["on"], outs["off"], atol=1e-4)


def test_several_queries_json_and_plot(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    mix = write_wav("street.wav", seconds=1.0)
    out = tmp_path / "sep"
    r = cli(
        "separate", mix, "-t", "car horn", "-t", "dog barking", "-o", out, "--models", tiny_models, "--json", "--plot"
    )
    assert r.code == 0, r.err
    lines = [json.loads(line) for line in r.out.strip().splitlines()]
    assert len(lines) == 2
    assert {d["query"] for d in lines} == {"text:car horn", "text:dog barking"}
    for d in lines:
        assert {"input", "target", "residual", "duration", "seconds", "plot"} <= set(d)
        assert Path(d["target"]).is_file() and Path(d["plot"]).is_file()
    assert (out / "street" / "car-horn" / "target.wav").is_file()
    assert (out / "street" / "dog-barking" / "spectrogram.png").stat().st_size > 1000


def test_reference_query_and_flac(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    mix = write_wav("mix.wav", seconds=1.0, sr=8000)
    ref = write_wav("ref.wav", seconds=0.5, kind="tone", sr=22050)
    r = cli("separate", mix, "--ref", ref, "-o", tmp_path / "o", "--models", tiny_models, "--format", "flac")
    assert r.code == 0, r.err
    assert sf.info(tmp_path / "o" / "mix" / "target.flac").samplerate == 8000


def test_folder_batch_skips_bad_files_and_fails_at_end(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    write_wav("in/a.wav", seconds=0.5)
    write_wav("in/sub/b.wav", seconds=0.5, channels=6)
    (tmp_path / "in" / "broken.wav").write_text("not audio")
    r = cli("separate", tmp_path / "in", "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models, "--json")
    assert r.code == 1
    assert len(r.out.strip().splitlines()) == 2
    err_lines = r.err.strip().splitlines()
    assert any("broken.wav" in line for line in err_lines)
    assert "Traceback" not in r.err
    assert (tmp_path / "o" / "a" / "residual.wav").is_file()
    assert sf.info(tmp_path / "o" / "b" / "target.wav").channels == 6
    assert not (tmp_path / "o" / "broken").exists()


def test_glob_and_name_clashes(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    write_wav("x/take.wav", seconds=0.3)
    write_wav("y/take.wav", seconds=0.3)
    r = cli("separate", str(tmp_path / "*" / "take.wav"), "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 0, r.err
    assert len(list((tmp_path / "o").glob("*/target.wav"))) == 2


def test_no_overwrite_without_force(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    mix = write_wav("mix.wav", seconds=0.3)
    args = ["separate", mix, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models]
    assert cli(*args).code == 0
    before = (tmp_path / "o" / "mix" / "target.wav").read_bytes()
    r = cli(*args)
    assert r.code == 1 and "--force" in r.err
    assert (tmp_path / "o" / "mix" / "target.wav").read_bytes() == before
    assert cli(*args, "--force").code == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "say what to extract"),
        (["--text", "  "], "empty"),
        (["--text", "owl", "--ref", "REF"], "not both"),
        (["--ref", "SHORTREF"], "at least 0.1 s"),
        (["--ref", "MISSING"], "no such file"),
    ],
)
def test_bad_queries_one_line(cli, tiny_models: Path, write_wav, tmp_path: Path, extra, message) -> None:
    mix = write_wav("mix.wav", seconds=0.3)
    short = write_wav("short.wav", seconds=0.05)
    subst = {"REF": str(mix), "SHORTREF": str(short), "MISSING": str(tmp_path / "missing.wav")}
    extra = [subst.get(e, e) for e in extra]
    r = cli("separate", mix, *extra, "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 1
    assert message in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("case", ["missing", "empty", "truncated", "zero", "nan"])
def test_bad_inputs_one_line_nothing_written(cli, tiny_models: Path, write_wav, tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.wav"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "truncated":
        good = write_wav("good.wav", seconds=1.0)
        path.write_bytes(good.read_bytes()[:20000])
    elif case == "zero":
        sf.write(path, np.zeros((0, 1), np.float32), 16000)
    elif case == "nan":
        x = np.zeros(40000, np.float32)
        x[35000] = np.inf
        sf.write(path, x, 16000, subtype="FLOAT")
    r = cli("separate", path, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 1
    assert len(r.err.strip().splitlines()) == 1 and str(path.name) in r.err
    leftovers = list((tmp_path / "o").rglob("*")) if (tmp_path / "o").exists() else []
    assert not [p for p in leftovers if p.is_file()]


def test_unwritable_output_folder(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    mix = write_wav("mix.wav", seconds=0.3)
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    r = cli("separate", mix, "-t", "owl", "-o", blocker, "--models", tiny_models)
    assert r.code == 1 and "cannot write" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_missing_models_names_the_model(cli, write_wav, tmp_path: Path) -> None:
    mix = write_wav("mix.wav", seconds=0.3)
    r = cli("separate", mix, "-t", "owl", "--models", tmp_path / "nomodels")
    assert r.code == 1 and "no soundwords model" in r.err


def test_console_script_no_traceback(tiny_models: Path, tmp_path: Path) -> None:
    """The installed entry point, as a user runs it: one line, exit 1, no traceback."""
    env = {**os.environ, "SFCLI_MODELS": str(tiny_models)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sfcli.cli import main; main()",
            "separate",
            str(tmp_path / "nope.wav"),
            "-t",
            "owl",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("sfcli: error:") and "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_shows_examples(cli) -> None:
    r = cli("separate", "--help")
    assert r.code == 0 and "Examples" in r.out and "--text" in r.out


def test_overlap_default_is_the_librarys_and_can_be_set(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    import inspect

    from sfcli.api import Separator
    from sfcli.cli import separate as separate_cmd
    from sfcli.streaming import DEFAULT_OVERLAP_SECONDS

    assert inspect.signature(Separator).parameters["overlap_seconds"].default == DEFAULT_OVERLAP_SECONDS
    help_text = inspect.signature(separate_cmd.separate).parameters["overlap"].annotation
    assert f"[default: {DEFAULT_OVERLAP_SECONDS:g}]" in str(help_text)
    mix = write_wav("mix.wav", seconds=5.0)
    outs = {}
    for ov in (None, 1.0):
        args = () if ov is None else ("--overlap", str(ov))
        r = cli("separate", mix, "--text", "a dog", "--models", tiny_models, "-o", tmp_path / f"o{ov}", *args)
        assert r.code == 0, r.err
        outs[ov] = _read(tmp_path / f"o{ov}" / "mix" / "target.wav")[0]
    assert not np.allclose(outs[None], outs[1.0])  # the option reaches the stream
    r = cli("separate", mix, "--text", "a dog", "--models", tiny_models, "--overlap", "2", "-o", tmp_path / "x")
    assert r.code != 0 and "shorter than the 2 s window" in r.err and not (tmp_path / "x").exists()
