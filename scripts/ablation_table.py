"""One Markdown ablation table from ``sfcli eval --json`` reports (recipes/realworld.sh).

    python scripts/ablation_table.py EVALS_DIR [--out ablation.md]

``EVALS_DIR`` holds, per row ``rK``, ``rK-k20.json`` (labelled real clips, out-of-domain) and
optionally ``rK-test.json`` (the corpus test split, in-domain). Each row prints target SI-SDRi and
SDRi for text and audio queries (mean ± std over the mixture seeds), the energy an absent-sound query
keeps, the in-domain SI-SDRi, and the IRM bound of the out-of-domain mixtures.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

ROWS = {
    "r0": "shipped SoundFilter (no further training)",
    "r1": "+ fine-tune on corpus mixtures only",
    "r2": "+ label-free pool (30 % of examples)",
    "r3": "+ augmentation (room, EQ, band-limit, speed, codec)",
    "r4": "+ 2-3 sources, ±8 dB, 10 % absent targets",
    "r5": "follow-up: r3 + 1,800 more steps of r3's data",
    "r6": "follow-up: r3 + 1,800 more steps, + 10 % absent targets only",
    "r7": "follow-up: r3 + 600 more steps of r3's data (control for r8)",
    "r8": "follow-up: r3 + 600 more steps, + audio queries from another clip (50 %)",
    "r9": "follow-up: r8's data + swapped pairs (each mixture queried for both sounds)",
    "r10": "follow-up: r9 + 1,200 more steps of r9's data",
    "r11": "follow-up: r9's data + 10 % absent targets",
    "r12": "follow-up: r9's data with every described audio query from another clip",
    "r13": "follow-up: r9 + 600 steps of r9's data, 30 % queried as --two-pass's second pass",
}


def _ms(stats: dict[str, Any] | None) -> str:
    if not stats or not stats.get("runs") or math.isnan(stats["mean"]):
        return "–"
    return f"{stats['mean']:.2f} ± {stats['std']:.2f}" if stats["runs"] > 1 else f"{stats['mean']:.2f}"


def _metric(report: dict[str, Any] | None, query: str, metric: str) -> str:
    if report is None:
        return "–"
    return _ms(report["aggregate"]["overall"].get(query, {}).get(metric))


def table(evals: Path) -> str:
    """The Markdown table of every ``rK-k20.json`` in ``evals`` (rows in K order)."""
    files = sorted(evals.glob("r*-k20.json"), key=lambda p: int(re.findall(r"\d+", p.name)[0]))
    if not files:
        raise SystemExit(f"error: no r*-k20.json in {evals}")
    head = (
        "| row | OOD text SI-SDRi | OOD audio SI-SDRi | OOD text SDRi | OOD audio SDRi | absent text kept dB "
        "| absent audio kept dB | in-domain text SI-SDRi | in-domain audio SI-SDRi |"
    )
    lines = [head, "|---|" + "---|" * 8]
    irm = ""
    for f in files:
        key = f.name.split("-")[0]
        ood = json.loads(f.read_text())
        test_file = evals / f"{key}-test.json"
        ind = json.loads(test_file.read_text()) if test_file.is_file() else None
        cells = [
            _metric(ood, "text", "target_si_sdri"),
            _metric(ood, "audio", "target_si_sdri"),
            _metric(ood, "text", "target_sdri"),
            _metric(ood, "audio", "target_sdri"),
            _metric(ood, "absent-text", "kept_db"),
            _metric(ood, "absent-audio", "kept_db"),
            _metric(ind, "text", "target_si_sdri"),
            _metric(ind, "audio", "target_si_sdri"),
        ]
        lines.append(f"| {key}: {ROWS.get(key, key)} | " + " | ".join(cells) + " |")
        if "irm" in ood and not irm:
            bound = ood["irm"]["overall"]
            irm = f"IRM bound (out-of-domain mixtures): SI-SDRi {bound['target_si_sdri']:.2f}, "
            irm += f"SDRi {bound['target_sdri']:.2f} dB; "
            irm += f"{ood['n_mixtures']} mixtures per row ({', '.join(ood.get('mixture_sets') or [])})."
    return "\n".join(lines) + ("\n\n" + irm if irm else "") + "\n"


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("evals", type=Path)
    ap.add_argument("--out", type=Path, help="also write the table here")
    args = ap.parse_args()
    text = table(args.evals)
    if args.out:
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(args.out)
    print(text, end="")


if __name__ == "__main__":
    main()
