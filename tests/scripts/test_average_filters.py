"""scripts/average_filters.py: the uniform weight average of SoundFilter model folders and runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from sfcli.filter_model import SoundFilter, SoundFilterConfig

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
