"""Which SoundWords training settings transfer to sound categories never seen in training?

    python benchmarks/words_holdout_sweep.py --runs ~/.cache/sfcli/runs/sweep   # all settings
    python benchmarks/words_holdout_sweep.py --only base lock-d5                 # some of them

Every setting is one ``sfcli train-words`` run with ``--holdout-categories 0.2``: a stable hashed 20 %
of the corpus categories is kept out of training; half of them (*unseen-valid*) is for choosing
settings, the other half (*unseen-test*) is for reporting. The seen-category test split is scored
too. All runs with one time pooling share one feature cache (``RUNS/features``, or
``RUNS/features-POOL`` for ``--audio-pool POOL``; the first run fills it, ~8–15 min on 2 cores for
the 13k-clip corpus). Prints a Markdown table; each run's JSON summary stays in its folder.

Zero-shot top-1 is given per clip and per category (the mean of the per-category accuracies); the
summary's ``unseen_valid`` / ``unseen_test`` list each held-out category's own top-1 under
``zeroshot_top1_per_category``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

COMMON = ["--holdout-categories", "0.2", "--test-eval", "-q"]
LONG = ["--steps", "2000", "--eval-every", "250"]
SHORT = ["--steps", "1000", "--eval-every", "50", "--lr", "3e-4"]

SHIPPED = [*SHORT, "--lock-text", "--head-dropout", "0.5", "--weight-decay", "0.3"]

SETTINGS: dict[str, list[str]] = {
    "base": LONG,
    "text-struct-1": [*LONG, "--text-struct", "1"],
    "text-struct-10": [*LONG, "--text-struct", "10"],
    "lock": [*LONG, "--lock-text"],
    "lock-linear-audio": [*LONG, "--lock-text", "--audio-head-hidden", "0"],
    "lock-lr3e-4": [*SHORT, "--lock-text"],
    "lock-d3-wd0.1": [*SHORT, "--lock-text", "--head-dropout", "0.3", "--weight-decay", "0.1"],
    "lock-d3-wd0.1-cap40": [
        *SHORT,
        "--lock-text",
        "--head-dropout",
        "0.3",
        "--weight-decay",
        "0.1",
        "--max-per-category",
        "40",
    ],
    "lock-d3-wd0.1-h1024": [
        *SHORT,
        "--lock-text",
        "--head-dropout",
        "0.3",
        "--weight-decay",
        "0.1",
        "--audio-head-hidden",
        "1024",
    ],
    "lock-d5-wd0.3": SHIPPED,
    "soft0.3": [*SHIPPED, "--text-soft", "0.3"],
    "soft0.6": [*SHIPPED, "--text-soft", "0.6"],
    "soft0.6-t0.1": [*SHIPPED, "--text-soft", "0.6", "--text-soft-temperature", "0.1"],
    "soft0.9": [*SHIPPED, "--text-soft", "0.9"],
    "cat-text": [*SHIPPED, "--category-text"],
    "pool-mean": [*SHIPPED, "--audio-pool", "mean"],
    "pool-meanmax": [*SHIPPED, "--audio-pool", "meanmax"],
    "meanmax-cat-text": [*SHIPPED, "--audio-pool", "meanmax", "--category-text"],
    "meanmax-cat-text-soft0.3": [*SHIPPED, "--audio-pool", "meanmax", "--category-text", "--text-soft", "0.3"],
    "meanmax-cat-text-h1024": [*SHIPPED, "--audio-pool", "meanmax", "--category-text", "--audio-head-hidden", "1024"],
    "meanmax-h1024": [*SHIPPED, "--audio-pool", "meanmax", "--audio-head-hidden", "1024"],
    "meanmax-cat-text-h1024-soft0.3": [
        *SHIPPED,
        "--audio-pool",
        "meanmax",
        "--category-text",
        "--audio-head-hidden",
        "1024",
        "--text-soft",
        "0.3",
    ],
    "meanmax-cat-text-2k": [
        *SHIPPED,
        "--audio-pool",
        "meanmax",
        "--category-text",
        "--steps",
        "2000",
        "--eval-every",
        "100",
    ],
}


METRICS = ("zs@1", "zs@1 per category", "zs@5", "t→a R@10")
KEYS = ("zeroshot_top1", "zeroshot_top1_macro", "zeroshot_top5", "t2a_R@10")


def _cells(m: dict[str, float]) -> str:
    """One split's table cells (percentages; "–" where a summary lacks the metric)."""
    return " | ".join(f"{100 * m[k]:.1f}" if k in m else "–" for k in KEYS)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, default=Path.home() / ".cache" / "sfcli" / "runs" / "sweep")
    ap.add_argument("--only", nargs="*", default=None, help=f"settings to run: {', '.join(SETTINGS)}")
    ap.add_argument("--sfcli", default="sfcli", help="the sfcli executable")
    args = ap.parse_args(argv)
    names = args.only or list(SETTINGS)
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        ap.error(f"unknown settings: {unknown}")
    cols = ["setting"] + [f"{part} {m}" for part in ("seen test", "unseen-valid", "unseen-test") for m in METRICS]
    head = "| " + " | ".join(cols) + " |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for name in names:
        run = args.runs / name
        shutil.rmtree(run, ignore_errors=True)
        args_ = SETTINGS[name]
        pool = args_[args_.index("--audio-pool") + 1] if "--audio-pool" in args_ else "max"
        cache = args.runs / ("features" if pool == "max" else f"features-{pool}")  # one cache per pooling
        cmd = [args.sfcli, "train-words", "--run-dir", str(run), "--cache-dir", str(cache)]
        subprocess.run([*cmd, *COMMON, *SETTINGS[name]], check=True, stdout=subprocess.DEVNULL)
        s = json.loads((run / "summary.json").read_text())
        print(
            f"| {name} | {_cells(s['test'])} | {_cells(s['unseen_valid'])} | {_cells(s['unseen_test'])} |", flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
