"""scripts/average_filters.py: weight averages and extrapolations of SoundFilter model folders and runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sfcli.filter_model import SoundFilter, SoundFilterConfig
from tests.script_module import script_module

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "average_filters.py"


def _folder(path: Path, seed: int, config: SoundFilterConfig | None = None) -> SoundFilter:
    torch.manual_seed(seed)
    model = SoundFilter(config or SoundFilterConfig.tiny())
    model.save_pretrained(path, half=False)
    return model


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_average_is_the_mean_of_the_weights(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", 0)
    b = _folder(tmp_path / "b", 1)
    res = _run(str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "avg"), "--fp32")
    assert res.returncode == 0, res.stderr
    avg = SoundFilter.from_pretrained(tmp_path / "avg").state_dict()
    sa, sb = a.state_dict(), b.state_dict()
    assert any(not torch.equal(sa[k], sb[k]) for k in sa)
    for k in sa:
        torch.testing.assert_close(avg[k], (sa[k].float() + sb[k].float()) / 2, rtol=0, atol=1e-6)


def test_different_configurations_are_refused(tmp_path: Path) -> None:
    _folder(tmp_path / "a", 0)
    _folder(tmp_path / "b", 0, SoundFilterConfig.tiny(channels=16))
    res = _run(str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "avg"))
    assert res.returncode != 0
    assert "another configuration" in res.stderr
    assert not (tmp_path / "avg").exists()


def test_last_needs_a_run_folder(tmp_path: Path) -> None:
    _folder(tmp_path / "a", 0)
    res = _run(f"{tmp_path / 'a'}:last", "-o", str(tmp_path / "avg"))
    assert res.returncode != 0 and "run folder" in res.stderr


def test_extrapolation_with_a_kept_prefix(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", 0).state_dict()
    b = _folder(tmp_path / "b", 1).state_dict()
    out = tmp_path / "ext"
    res = _run(
        str(tmp_path / "b"),
        str(tmp_path / "a"),
        "--weights",
        "1.5",
        "-0.5",
        "--keep",
        "encoder.",
        "-o",
        str(out),
        "--fp32",
    )
    assert res.returncode == 0, res.stderr
    ext = SoundFilter.from_pretrained(out).state_dict()
    kept = [k for k in a if k.startswith("encoder.")]
    assert kept and len(kept) < len(a)
    for k in a:
        want = b[k].float() if k in kept else 1.5 * b[k].float() - 0.5 * a[k].float()
        torch.testing.assert_close(ext[k], want, rtol=0, atol=1e-5)


def test_combine_keeps_a_copy() -> None:
    combine = script_module("scripts/average_filters.py").combine
    a = {"net.w": torch.tensor([1.0, 2.0]), "refiner.w": torch.tensor([3.0])}
    b = {"net.w": torch.tensor([3.0, 6.0]), "refiner.w": torch.tensor([5.0])}
    out = combine([b, a], [1.5, -0.5], keep=("refiner.",))
    assert torch.equal(out["net.w"], torch.tensor([4.0, 8.0]))
    out["refiner.w"] += 1
    assert torch.equal(b["refiner.w"], torch.tensor([5.0]))


@pytest.mark.parametrize("weights", [["1.5", "-0.4"], ["1.0"]])
def test_weights_must_match_and_sum_to_one(tmp_path: Path, weights: list[str]) -> None:
    _folder(tmp_path / "a", 0)
    _folder(tmp_path / "b", 1)
    res = _run(str(tmp_path / "a"), str(tmp_path / "b"), "--weights", *weights, "-o", str(tmp_path / "ext"))
    assert res.returncode != 0 and "summing to 1" in res.stderr
    assert not (tmp_path / "ext").exists()
