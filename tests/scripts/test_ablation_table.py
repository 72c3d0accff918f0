"""scripts/ablation_table.py: one Markdown row per ablation row, from `sfcli eval --json` reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ablation_table.py"


def _stats(mean: float, runs: int = 3) -> dict[str, float]:
    return {"mean": mean, "std": 0.5, "runs": runs}


def _report(base: float, absent: bool = True) -> dict:
    overall = {
        "text": {"target_si_sdri": _stats(base), "target_sdri": _stats(base + 3)},
        "audio": {"target_si_sdri": _stats(base + 1), "target_sdri": _stats(base + 4)},
    }
    if absent:
        overall["absent-text"] = {"kept_db": _stats(-5.0)}
        overall["absent-audio"] = {"kept_db": _stats(-6.0)}
    return {
        "n_mixtures": 120,
        "mixture_sets": ["k:paper:seed0"],
        "aggregate": {"overall": overall, "per_category": {}},
        "irm": {"overall": {"target_si_sdri": 12.5, "target_sdri": 12.7}},
    }


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_rows_in_order_with_in_domain_and_bound(tmp_path: Path) -> None:
    for k in (10, 0, 2):  # numeric order, not file-name order
        (tmp_path / f"r{k}-k20.json").write_text(json.dumps(_report(float(k))))
    (tmp_path / "r2-test.json").write_text(json.dumps(_report(8.0, absent=False)))
    proc = _run(str(tmp_path), "--out", str(tmp_path / "t.md"))
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| r") and not line.startswith("| row")]
    assert [r.split(":")[0] for r in rows] == ["| r0", "| r2", "| r10"]
    cells = [c.strip() for c in rows[1].split("|")[1:-1]]
    assert cells[1:] == ["2.00 ± 0.50", "3.00 ± 0.50", "5.00 ± 0.50", "6.00 ± 0.50", "-5.00 ± 0.50", "-6.00 ± 0.50",
                         "8.00 ± 0.50", "9.00 ± 0.50"]  # fmt: skip
    assert rows[0].count("–") == 2  # no in-domain report for r0
    assert "SI-SDRi 12.50, SDRi 12.70 dB; 120 mixtures per row" in proc.stdout
    assert (tmp_path / "t.md").read_text() == proc.stdout


def test_no_reports_is_an_error(tmp_path: Path) -> None:
    proc = _run(str(tmp_path))
    assert proc.returncode != 0 and "no r*-k20.json" in proc.stderr
