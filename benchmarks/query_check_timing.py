"""Time the query check's cost on the demo: ``Separator.separate_file`` with and without it.

    .venv/bin/python benchmarks/query_check_timing.py --repeats 5 --threads 1

Interleaves runs with ``check=True`` and ``check=False`` (text query "a horse neighing" and the
demo's rain clip as a reference) and prints the median seconds of each, plus the match report's own
time per text query (MiniLM already loaded).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from sfcli.api import Separator

    sep = Separator.from_pretrained(args.models)
    if sep.query_check is None:
        raise SystemExit("the models folder has no soundwords/query_check.json")
    mix = ROOT / "demo" / "demo-mix.wav"
    rain, sr = sf.read(str(ROOT / "demo" / "demo-rain.wav"), dtype="float32")
    queries = {
        "text": sep.embed_query(text="a horse neighing"),
        "ref": sep.embed_query(reference=rain, reference_sample_rate=sr),
    }
    sep.check_query("a horse neighing")  # warm-up: text features and reference rows
    with tempfile.TemporaryDirectory() as tmp:
        for name, emb in queries.items():
            times: dict[bool, list[float]] = {True: [], False: []}
            presence = None
            for _ in range(args.repeats):
                for check in (False, True):
                    t0 = time.perf_counter()
                    out = sep.separate_file(
                        mix, Path(tmp) / "t.wav", Path(tmp) / "r.wav", embedding=emb, force=True, check=check
                    )
                    times[check].append(time.perf_counter() - t0)
                    presence = out.get("presence", presence)
            on, off = statistics.median(times[True]), statistics.median(times[False])
            print(f"{name}: {off:.3f} s without the check, {on:.3f} s with it (+{on - off:.3f} s), presence {presence}")
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        sep.check_query("a horse neighing in a field")
    print(f"match report: {(time.perf_counter() - t0) / args.repeats * 1000:.1f} ms per text query")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
