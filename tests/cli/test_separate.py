"""``sfcli separate`` end to end on a tiny random model."""

from __future__ import annotations

import json
import os
import re
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


def test_two_pass_gives_the_two_pass_separator_output(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    from sfcli import Separator

    mix = write_wav("mix.wav", seconds=3.0, sr=16000)
    r = cli("separate", mix, "-t", "owl hooting", "-o", tmp_path, "--models", tiny_models, "--bits", "32", "--two-pass")
    assert r.code == 0, r.err
    got = _read(tmp_path / "mix" / "target.wav")[0]
    x = _read(mix)[0]
    want = Separator.from_pretrained(tiny_models, two_pass=True).separate(x, 16000, text="owl hooting").target
    plain = Separator.from_pretrained(tiny_models).separate(x, 16000, text="owl hooting").target
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert not np.allclose(got, plain, atol=1e-4)


def test_adapt_gives_the_adapted_separator_output(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    from sfcli import Separator
    from sfcli.adapt import AdaptOptions

    mix = write_wav("mix.wav", seconds=2.5, sr=16000)
    ref = write_wav("ref.wav", seconds=1.0, kind="tone", sr=16000)
    out = tmp_path / "o"
    r = cli("separate", mix, "--ref", ref, "-o", out, "--models", tiny_models, "--bits", "32", "--adapt", "2")
    assert r.code == 0, r.err
    got = _read(tmp_path / "o" / "mix" / "target.wav")[0]
    x, clip = _read(mix)[0], _read(ref)[0]
    sep = Separator.from_pretrained(tiny_models, adapt=AdaptOptions(steps=2))
    want = sep.separate(x, 16000, reference=clip, reference_sample_rate=16000).target
    plain = Separator.from_pretrained(tiny_models).separate(x, 16000, reference=clip, reference_sample_rate=16000)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert not np.allclose(got, plain.target, atol=1e-4)


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
    assert r.code != 0 and "at most 1.5 s" in r.err and not (tmp_path / "x").exists()


@pytest.mark.parametrize("overlap", ["1.99999", "1.9999", "1.6", "1.50004"])
def test_an_overlap_that_leaves_a_tiny_hop_is_refused_before_the_models_load(
    cli, tiny_models: Path, write_wav, tmp_path: Path, loader_calls: list[object], overlap: str
) -> None:
    """1.99999 s rounded to 32000 samples (no hop: a traceback after the models loaded); 1.9999 s left a
    2-sample hop (16,000 windows per second of audio: a hang). Counted in samples at 16 kHz."""
    mix = write_wav("mix.wav", seconds=0.3)
    r = cli("separate", mix, "-t", "owl", "--overlap", overlap, "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 1 and loader_calls == [] and not (tmp_path / "o").exists()
    expected = (
        f"--overlap {float(overlap):g} is too long: at most 1.5 s, so that the 2 s windows start at least 0.5 s apart"
    )
    assert r.err == f"sfcli: error: {expected}\n"


def test_the_longest_overlap_runs(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    mix = write_wav("mix.wav", seconds=3.0)
    for overlap in ("1.5", "1.50003"):  # 1.50003 s is 24000 samples at 16 kHz, as 1.5 s is
        out = tmp_path / overlap
        r = cli("separate", mix, "-t", "owl", "--overlap", overlap, "-o", out, "--models", tiny_models)
        assert r.code == 0, r.err
        np.testing.assert_allclose(
            sum(_read(out / "mix" / f"{k}.wav")[0] for k in ("target", "residual")), _read(mix)[0], atol=1e-4
        )


# ---------------------------------------------------------------- issue 21: the first minute


@pytest.fixture()
def loader_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records every call of the model loader (``Separator.from_pretrained``), which still loads."""
    from sfcli.api import Separator

    calls: list[object] = []
    real = Separator.from_pretrained.__func__  # type: ignore[attr-defined]

    def spy(cls, *args, **kwargs):
        calls.append(args)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Separator, "from_pretrained", classmethod(spy))
    return calls


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not-audio",
        "text-as-mp3",
        "exists",
        "unwritable",
        "empty-folder",
        "flac-32",
        "short-ref",
        "both",
        "overlap",
        "adapt-text",
    ],
)
def test_errors_come_before_the_models_load(
    cli, tiny_models: Path, write_wav, tmp_path: Path, loader_calls: list[object], case: str
) -> None:
    mix = write_wav("mix.wav", seconds=0.3)
    out = tmp_path / "o"
    args: list[object] = [mix, "-t", "owl"]
    if case == "missing":
        args[0] = tmp_path / "nothere.wav"
    elif case in ("not-audio", "text-as-mp3"):
        args[0] = tmp_path / ("notes.wav" if case == "not-audio" else "notes.mp3")
        Path(args[0]).write_text("this is a text file, not audio\n" * 20)
    elif case == "exists":
        (out / "mix").mkdir(parents=True)
        (out / "mix" / "residual.wav").write_bytes(b"keep me")
    elif case == "unwritable":
        out.write_text("a file, not a folder")
    elif case == "empty-folder":
        (tmp_path / "nothing").mkdir()
        args[0] = tmp_path / "nothing"
    elif case == "flac-32":
        args += ["--format", "flac", "--bits", "32"]
    elif case == "short-ref":
        args = [mix, "--ref", write_wav("short.wav", seconds=0.05)]
    elif case == "both":
        args += ["--ref", mix]
    elif case == "overlap":
        args += ["--overlap", "1.99999"]
    elif case == "adapt-text":
        args += ["--adapt", "3"]
    r = cli("separate", *args, "-o", out, "--models", tiny_models)
    assert r.code == 1, r.err
    assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("sfcli: error: "), r.err
    assert loader_calls == []
    if case == "exists":
        assert (out / "mix" / "residual.wav").read_bytes() == b"keep me"
        assert not (out / "mix" / "target.wav").exists()
    elif case != "unwritable":
        assert not out.exists()


def test_error_path_never_imports_torch(tiny_models: Path, tmp_path: Path) -> None:
    """In a fresh process, a missing input is answered without importing torch at all."""
    code = (
        "import sys; from sfcli.cli import app; from sfcli.cli.common import run_app;"
        f"rc = run_app(app, ['separate', {str(tmp_path / 'nope.wav')!r}, '-t', 'owl', '--models', "
        f"{str(tiny_models)!r}]); print(rc, 'torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.split() == ["1", "False"], proc.stderr
    assert "no such file" in proc.stderr


def test_bad_file_in_a_batch_is_reported_before_loading_and_the_rest_runs(
    cli, tiny_models: Path, write_wav, tmp_path: Path, loader_calls: list[object]
) -> None:
    good = write_wav("good.wav", seconds=0.3)
    r = cli("separate", tmp_path / "nothere.wav", good, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert "nothere.wav: no such file" in lines[0]
    assert lines[-1] == "sfcli: error: 1 of 2 failed"
    assert len(loader_calls) == 1
    assert (tmp_path / "o" / "good" / "target.wav").is_file()


def test_every_item_failing_prints_n_of_m(cli, tiny_models: Path, tmp_path: Path, loader_calls: list[object]) -> None:
    for name in ("a.wav", "b.flac"):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_text("not audio")
    r = cli("separate", tmp_path / "in", "-t", "owl", "-t", "dog", "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 1
    assert r.err.strip().splitlines()[-1] == "sfcli: error: 4 of 4 failed"
    assert loader_calls == [] and not (tmp_path / "o").exists()


def test_loading_models_is_shown_on_a_terminal_before_they_load(
    cli, tiny_models: Path, write_wav, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    from sfcli.api import Separator
    from sfcli.cli import separate as separate_cmd

    buf = io.StringIO()
    monkeypatch.setattr(separate_cmd, "err_console", Console(file=buf, force_terminal=True, width=80))
    seen: list[str] = []
    real = Separator.from_pretrained.__func__  # type: ignore[attr-defined]

    def spy(cls, *args, **kwargs):
        seen.append(buf.getvalue())
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Separator, "from_pretrained", classmethod(spy))
    mix = write_wav("mix.wav", seconds=0.3)
    assert cli("separate", mix, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models).code == 0
    assert len(seen) == 1 and "loading models…" in seen[0]


def _subtype(path: Path) -> str:
    return sf.info(path).subtype


@pytest.mark.parametrize(
    ("subtype", "extra", "fmt", "want"),
    [
        ("PCM_16", [], "wav", "PCM_16"),
        ("PCM_24", [], "wav", "PCM_24"),
        ("FLOAT", [], "wav", "FLOAT"),
        ("PCM_16", ["--bits", "32"], "wav", "FLOAT"),
        ("FLOAT", ["--bits", "16"], "wav", "PCM_16"),
        ("FLOAT", ["--bits", "24"], "wav", "PCM_24"),
        ("PCM_16", ["--format", "flac"], "flac", "PCM_16"),
        ("FLOAT", ["--format", "flac"], "flac", "PCM_24"),
    ],
)
def test_output_keeps_the_input_sample_format_or_bits(
    cli, tiny_models: Path, write_wav, tmp_path: Path, subtype: str, extra: list[str], fmt: str, want: str
) -> None:
    mix = write_wav("mix.wav", seconds=0.5, channels=2, subtype=subtype)
    r = cli("separate", mix, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models, *extra)
    assert r.code == 0, r.err
    assert "clipped" not in r.err
    t, res = tmp_path / "o" / "mix" / f"target.{fmt}", tmp_path / "o" / "mix" / f"residual.{fmt}"
    assert _subtype(t) == _subtype(res) == want
    if want.startswith("PCM") and subtype.startswith("PCM"):
        # Integer outputs of an integer input add up to it exactly, sample by sample.
        dtype = "int16" if subtype == "PCM_16" else "int32"
        x = sf.read(mix, dtype=dtype)[0].astype(np.int64)
        total = sf.read(t, dtype=dtype)[0].astype(np.int64) + sf.read(res, dtype=dtype)[0]
        np.testing.assert_array_equal(total, x)


def test_lossy_input_gives_float_wav(cli, tiny_models: Path, tmp_path: Path) -> None:
    mix = tmp_path / "mix.ogg"
    sf.write(mix, 0.1 * np.random.default_rng(0).standard_normal(8000).astype(np.float32), 16000)
    r = cli("separate", mix, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 0, r.err
    assert _subtype(tmp_path / "o" / "mix" / "target.wav") == "FLOAT"


def _loud_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the network return three times its input, so that a loud input's target exceeds full scale."""
    from sfcli.api import Separator

    monkeypatch.setattr(Separator, "window_fn", lambda self, embedding, *rest: lambda w: 3.0 * w)


def test_clipping_to_fit_pcm_is_reported(
    cli, tiny_models: Path, write_wav, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _loud_target(monkeypatch)
    mix = write_wav("mix.wav", seconds=0.5, kind="tone", subtype="PCM_16")  # peak 0.3: 3x = 0.9, fits
    loud = write_wav("loud.wav", seconds=0.5, kind="clipped", subtype="PCM_16")  # peak 1.0: 3x clips
    r = cli("separate", mix, loud, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models, "--json")
    assert r.code == 0, r.err
    rows = {Path(d["input"]).name: d for d in map(json.loads, r.out.splitlines())}
    assert rows["mix.wav"]["clipped_target"] == 0
    assert rows["loud.wav"]["clipped_target"] > 0
    warnings = [ln for ln in r.err.splitlines() if "clipped" in ln]
    assert len(warnings) == 1 and "loud.wav" in warnings[0] and "--bits 32" in warnings[0]
    assert np.abs(sf.read(tmp_path / "o" / "loud" / "target.wav")[0]).max() <= 1.0
    r = cli("separate", loud, "-t", "owl", "-o", tmp_path / "f", "--models", tiny_models, "--bits", "32")
    assert r.code == 0 and "clipped" not in r.err
    assert np.abs(sf.read(tmp_path / "f" / "loud" / "target.wav")[0]).max() > 1.5  # float keeps it


def test_interrupt_says_so_and_leaves_no_folder(
    cli, tiny_models: Path, write_wav, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfcli.api import Separator

    real = Separator.window_fn
    calls: list[int] = []

    def window_fn(self, embedding, *rest):
        calls.append(1)
        if len(calls) == 1:
            return real(self, embedding, *rest)

        def interrupted(w):
            raise KeyboardInterrupt

        return interrupted

    monkeypatch.setattr(Separator, "window_fn", window_fn)
    a, b = write_wav("a.wav", seconds=0.3), write_wav("b.wav", seconds=0.3)
    r = cli("separate", a, b, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 130
    assert r.err.strip().splitlines()[-1] == f"sfcli: error: interrupted; nothing written for {b}"
    assert (tmp_path / "o" / "a" / "target.wav").is_file()
    assert not (tmp_path / "o" / "b").exists()


def test_failed_item_leaves_no_empty_folder(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    bad = tmp_path / "nan.wav"
    x = np.zeros(40000, np.float32)
    x[35000] = np.inf
    sf.write(bad, x, 16000, subtype="FLOAT")
    r = cli("separate", bad, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 1 and "NaN" in r.err
    assert not (tmp_path / "o").exists()


def test_nan_input_is_refused_before_the_models_load(cli, tmp_path: Path) -> None:
    bad = tmp_path / "nan.wav"
    x = np.zeros(40000, np.float32)
    x[35000] = np.nan
    sf.write(bad, x, 16000, subtype="FLOAT")
    r = cli("separate", bad, "-t", "owl", "-o", tmp_path / "o", "--models", tmp_path / "no-models")
    assert r.code == 1 and "NaN" in r.err and "no-models" not in r.err
    assert not (tmp_path / "o").exists()


def test_several_refs_query_by_their_mean(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    from sfcli import Separator
    from sfcli.api import mean_embedding
    from sfcli.audio import load_audio

    mix = write_wav("mix.wav", seconds=1.0)
    refs = [write_wav("r1.wav", seconds=0.5, kind="tone"), write_wav("r2.wav", seconds=0.7, seed=3)]
    r = cli("separate", mix, "-r", refs[0], "-r", refs[1], "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 0, r.err
    assert f"[ref:{refs[0]}+{refs[1]}]" in r.err
    sep = Separator.from_pretrained(tiny_models)
    embs = [sep.embed_query(reference=c, reference_sample_rate=s) for c, s in map(load_audio, refs)]
    want = sep.separate(_read(mix)[0], 16000, embedding=mean_embedding(embs)).target
    np.testing.assert_allclose(_read(tmp_path / "o" / "mix" / "target.wav")[0], want, atol=1.6e-5)  # 16-bit
    one = cli("separate", mix, "-r", refs[0], "-o", tmp_path / "one", "--models", tiny_models)
    assert one.code == 0
    assert not np.array_equal(_read(tmp_path / "one" / "mix" / "target.wav")[0], want)


def test_same_stem_inputs_get_extension_folders(cli, tiny_models: Path, write_wav, tmp_path: Path) -> None:
    write_wav("in/clip.wav", seconds=0.3)
    write_wav("in/clip.flac", seconds=0.3)
    write_wav("in/solo.wav", seconds=0.3)
    r = cli("separate", tmp_path / "in", "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models)
    assert r.code == 0, r.err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["clip-flac", "clip-wav", "solo"]


def test_threads_option_sets_torch_threads_for_the_run(
    cli, tiny_models: Path, write_wav, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from sfcli.api import Separator

    real = Separator.window_fn
    seen: list[int] = []

    def window_fn(self, embedding, *rest):
        seen.append(torch.get_num_threads())
        return real(self, embedding, *rest)

    monkeypatch.setattr(Separator, "window_fn", window_fn)
    before = torch.get_num_threads()
    mix = write_wav("mix.wav", seconds=0.3)
    r = cli("separate", mix, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models, "--threads", "1")
    assert r.code == 0, r.err
    assert seen == [1] and torch.get_num_threads() == before
    r = cli("separate", mix, "-t", "owl", "-o", tmp_path / "o", "--threads", "0")
    assert r.code == 2 and "--threads" in r.err


def test_a_fresh_run_asks_openmp_to_wait_passively(tiny_models: Path, write_wav, tmp_path: Path) -> None:
    """sfcli separate sets OMP_WAIT_POLICY before torch loads (PASSIVE for one thread; unless the user chose one)."""
    mix = write_wav("mix.wav", seconds=0.3)
    code = (
        "import os, sys; from sfcli.cli import app; from sfcli.cli.common import run_app;"
        f"rc = run_app(app, ['separate', {str(mix)!r}, '-t', 'owl', '--models', {str(tiny_models)!r}, "
        f"'-o', {str(tmp_path / 'o')!r}, '--threads', '1']);"
        "print(rc, os.environ.get('OMP_WAIT_POLICY'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.stdout.split() == ["0", "PASSIVE"], proc.stderr


def test_clipping_advice_fits_the_format(
    cli, tiny_models: Path, write_wav, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FLAC holds no 32-bit float: the warning must not advise --bits 32 alone (that is refused)."""
    _loud_target(monkeypatch)
    loud = write_wav("loud.wav", seconds=0.5, kind="clipped", subtype="PCM_16")
    r = cli("separate", loud, "-t", "owl", "-o", tmp_path / "o", "--models", tiny_models, "--format", "flac")
    assert r.code == 0, r.err
    warnings = [ln for ln in r.err.splitlines() if "clipped" in ln]
    assert len(warnings) == 1 and warnings[0].endswith("--format wav --bits 32 keeps them"), warnings


@pytest.mark.parametrize("inside", [True, False])
def test_a_rerun_on_a_folder_skips_its_own_outputs(
    cli, tiny_models: Path, write_wav, tmp_path: Path, inside: bool
) -> None:
    """The output folder inside the input folder (or the input folder itself): a second run takes the
    same inputs, not also the first run's target.wav / residual.wav."""
    write_wav("rec/a.wav", seconds=0.3)
    write_wav("rec/sub/b.wav", seconds=0.3, seed=1)
    rec = tmp_path / "rec"
    out = rec / "out" if inside else rec
    for extra in ([], ["--force"]):
        r = cli("separate", rec, "-t", "owl", "-o", out, "--models", tiny_models, "--json", *extra)
        assert r.code == 0, r.err
        assert sorted(Path(json.loads(ln)["input"]).name for ln in r.out.splitlines()) == ["a.wav", "b.wav"]
    outputs = ["a/residual.wav", "a/target.wav", "b/residual.wav", "b/target.wav"]
    inputs = [] if inside else ["a.wav", "sub/b.wav"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav")) == sorted(inputs + outputs)
    # Named one by one, an earlier output is an input like any other.
    r = cli("separate", out / "a" / "target.wav", "-t", "owl", "-o", tmp_path / "again", "--models", tiny_models)
    assert r.code == 0, r.err
    assert (tmp_path / "again" / "target" / "target.wav").is_file()


def test_quiet_drops_result_lines_and_the_spinner_but_keeps_warnings(
    cli, tiny_models: Path, write_wav, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    from sfcli.cli import separate as separate_cmd

    buf = io.StringIO()
    monkeypatch.setattr(separate_cmd, "err_console", Console(file=buf, force_terminal=True, width=200))
    _loud_target(monkeypatch)
    mix = write_wav("mix.wav", seconds=0.5, kind="tone", subtype="PCM_16")
    loud = write_wav("loud.wav", seconds=0.5, kind="clipped", subtype="PCM_16")
    r = cli("separate", mix, loud, "-t", "owl", "-o", tmp_path / "q", "--models", tiny_models, "-q")
    assert r.code == 0, r.err
    assert (tmp_path / "q" / "mix" / "target.wav").exists() and (tmp_path / "q" / "loud" / "residual.wav").exists()
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    assert lines and all("warning" in ln for ln in lines), lines  # only the clipping (and query) warnings
    assert "loading models" not in buf.getvalue() and r.out == ""
    buf.truncate(0)
    buf.seek(0)
    assert cli("separate", mix, "-t", "owl", "-o", tmp_path / "v", "--models", tiny_models).code == 0
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buf.getvalue())
    assert "mix.wav [text:owl] -> " in plain  # without -q the result line is there
