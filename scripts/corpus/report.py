#!/usr/bin/env python
"""Print Markdown tables describing a built corpus (for docs/data.md).

python scripts/corpus/report.py [CORPUS_DIR]
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sfcli.data.corpus import default_corpus_dir


def main(argv: list[str] | None = None) -> int:
    """Print the report for the corpus folder given (default: the cache's corpus)."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else default_corpus_dir()
    clips = [json.loads(x) for x in (root / "clips.jsonl").read_text().splitlines() if x.strip()]
    meta = json.loads((root / "meta.json").read_text())
    hours = sum(c["duration"] for c in clips) / 3600
    cats: Counter[str] = Counter(c["category"] for c in clips)
    splits = Counter(c["split"] for c in clips)
    test_cats = {c["category"] for c in clips if c["split"] == "test"}
    print(
        f"- clips: {len(clips)}; hours: {hours:.2f}; categories: {len(cats)}; with >= 5 clips: "
        f"{sum(1 for v in cats.values() if v >= 5)}"
    )
    print(
        f"- splits (clips): train {splits['train']}, valid {splits['valid']}, test {splits['test']}; "
        f"test categories: {len(test_cats)}"
    )
    print(f"- built {meta.get('built')} by `{meta.get('command')}` in {meta.get('build_seconds')} s")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from build import kind_of

    kinds: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for c in clips:
        k = kinds[kind_of(c["category"])]
        k[0] += c["duration"] / 3600
        k[1] += 1
    kcats: dict[str, set[str]] = defaultdict(set)
    for c in clips:
        kcats[kind_of(c["category"])].add(c["category"])
    for k in sorted(kinds):
        n5 = sum(1 for cat in kcats[k] if cats[cat] >= 5)
        print(
            f"- {k}: {kinds[k][0]:.2f} h, {int(kinds[k][1])} clips, {len(kcats[k])} categories ({n5} with >= 5 clips)"
        )
    print()

    src_h: dict[str, float] = defaultdict(float)
    src_n: Counter[str] = Counter()
    src_lic: dict[str, str] = {}
    for c in clips:
        s = c["source"] if c["source"].startswith("fluidsynth") else c["source"].split(":")[0]
        src_h[s] += c["duration"] / 3600
        src_n[s] += 1
        src_lic.setdefault(s, c["licence"])
    print(
        "| source | clips | hours | licence (e.g., of its first clip; per clip in clips.jsonl) |\n|---|---:|---:|---|"
    )
    for s in sorted(src_h, key=lambda k: -src_h[k]):
        print(f"| {s} | {src_n[s]} | {src_h[s]:.2f} | {src_lic[s]} |")
    print()
    cat_h: dict[str, float] = defaultdict(float)
    cat_src: dict[str, set[str]] = defaultdict(set)
    cat_split: dict[str, Counter[str]] = defaultdict(Counter)
    example: dict[str, str] = {}
    for c in clips:
        cat_h[c["category"]] += c["duration"] / 60
        cat_src[c["category"]].add(c["source"].split(":")[0])
        cat_split[c["category"]][c["split"]] += 1
        example.setdefault(c["category"], c["descriptions"][0])
    print("| category | clips | minutes | sources | train/valid/test | example description |")
    print("|---|---:|---:|---:|---|---|")
    for cat in sorted(cats):
        sp = cat_split[cat]
        print(
            f"| {cat} | {cats[cat]} | {cat_h[cat]:.1f} | {len(cat_src[cat])} | "
            f"{sp['train']}/{sp['valid']}/{sp['test']} | {example[cat]} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
