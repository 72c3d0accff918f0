"""Inference speed and memory of the separation path (not part of the test suite).

    .venv/bin/python benchmarks/bench_separate.py            # RTF + memory, prints a JSON summary
    .venv/bin/python benchmarks/bench_separate.py --quick    # RTF only
    .venv/bin/python benchmarks/bench_separate.py --quick --no-postfilter   # + RTF without the post-filter
    .venv/bin/python benchmarks/bench_separate.py --quick --no-refiner --repeats 5   # + without the mask refiner
    .venv/bin/python benchmarks/bench_separate.py --quick --overlap 0.25 1.0          # + other window overlaps
    .venv/bin/python benchmarks/bench_separate.py --quick --two-pass       # + sfcli separate --two-pass

    .venv/bin/python benchmarks/bench_separate.py --quick --threads 2 1 auto      # + 16 kHz mono at other thread counts

Real-time factor = processing seconds / audio seconds, measured through ``Separator.separate_file``
(disk in, disk out, resampling and 2 s overlap-add included) with ``--threads`` torch threads (the
first value; default 2; ``auto`` = the cores now idle, as ``sfcli separate`` picks by default) and
the OpenMP wait policy ``sfcli separate`` picks for that count (``sfcli.threads.openmp_wait_policy``)
unless ``OMP_WAIT_POLICY`` is set. Every row records its
torch thread count and the 1-minute load average before and after it: a figure measured on a busy
machine is not the machine's speed (see ``sfcli.threads``). The network is
the shipped SoundFilter when models/ holds one, else the default configuration with random weights
(the cost does not depend on the weights). Each RTF is the best of ``--repeats`` runs (this
machine's timings vary by ±25 % from run to run, so compare rows of one call). Peak memory is the
max RSS of a fresh process separating a 1-minute and a 20-minute file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from sfcli import threads


def _separator(config: str, two_pass: bool = False):
    from sfcli.api import Separator
    from sfcli.errors import ModelNotFoundError
    from sfcli.filter_model import SoundFilter, SoundFilterConfig
    from sfcli.pretrained import resolve_model_dir

    try:
        filt = SoundFilter.from_pretrained(resolve_model_dir(None, "soundfilter"))
        source = "shipped"
    except ModelNotFoundError:
        cfg = SoundFilterConfig.paper() if config == "paper" else SoundFilterConfig()
        filt = SoundFilter(cfg)
        source = f"random-init {config}"
    if config == "paper":
        filt = SoundFilter(SoundFilterConfig.paper())
        source = "random-init paper"

    class _NoWords:
        def embed_text(self, texts):  # pragma: no cover - not used
            raise NotImplementedError

        embed_audio = embed_text

    if two_pass:  # the second pass embeds each window's residual: the real SoundWords is timed too
        from sfcli.words import SoundWords

        words = SoundWords.from_pretrained(resolve_model_dir(None, "soundwords"))
        return Separator(filt, words, device="cpu", two_pass=True), source + " two-pass"
    return Separator(filt, _NoWords(), device="cpu"), source


def _write_noise(path: Path, seconds: float, sr: int, channels: int) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", sr, channels, subtype="PCM_16") as fh:
        left = int(seconds * sr)
        while left > 0:
            n = min(left, sr * 10)
            fh.write((0.1 * rng.standard_normal((n, channels))).astype(np.float32))
            left -= n


def rtf(
    seconds: float,
    sr: int,
    channels: int,
    config: str,
    repeats: int = 2,
    postfilter: bool = True,
    refiner: bool = True,
    overlap: float | None = None,
    n_threads: int = 2,
    two_pass: bool = False,
    batch_rows: int | None = None,
) -> dict:
    """Best-of-``repeats`` real-time factor of ``Separator.separate_file`` on ``seconds`` of noise.

    ``overlap``: the windows' cross-faded overlap in seconds; ``batch_rows``: network rows per forward
    call (``None`` for both: the Separator's default).
    """
    import torch  # after main() chose the OpenMP wait policy, as sfcli separate does

    torch.set_num_threads(n_threads)
    load_before = threads.load_average()
    sep, source = _separator(config, two_pass)
    sep.postfilter = postfilter
    if overlap is not None:
        sep.overlap_seconds = overlap
    if batch_rows is not None:
        sep.batch_rows = batch_rows
    if not refiner:
        sep.filter.refiner = None
    emb = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    emb /= np.linalg.norm(emb)
    with tempfile.TemporaryDirectory() as tmp:
        mix = Path(tmp) / "mix.wav"
        _write_noise(mix, seconds, sr, channels)
        best = float("inf")
        for i in range(repeats):
            t0 = time.perf_counter()
            sep.separate_file(mix, Path(tmp) / f"t{i}.wav", Path(tmp) / f"r{i}.wav", embedding=emb)
            best = min(best, time.perf_counter() - t0)
    return {
        "model": source,
        "params_M": round(sep.filter.num_parameters() / 1e6, 3),
        "audio_s": seconds,
        "sample_rate": sr,
        "channels": channels,
        "postfilter": postfilter,
        "refiner": sep.filter.refiner is not None and postfilter,
        "overlap_s": sep.overlap_seconds,
        "two_pass": sep.two_pass,
        "batch_rows": sep.batch_rows,
        "seconds": round(best, 3),
        "rtf": round(best / seconds, 4),
        "torch_threads": torch.get_num_threads(),
        "load_avg_1min_before": load_before,
        "load_avg_1min_after": threads.load_average(),
    }


def _child_peak(seconds: float, sr: int, channels: int, batch_rows: int | None = None) -> int:
    code = (
        "import sys,resource,numpy as np,torch; torch.set_num_threads(2);"
        "sys.path.insert(0, 'benchmarks'); import bench_separate as b;"
        "from pathlib import Path; import tempfile;"
        f"sep,_=b._separator('default'); sep.batch_rows={batch_rows} or sep.batch_rows;"
        "d=tempfile.mkdtemp(); m=Path(d)/'mix.wav';"
        f"b._write_noise(m,{seconds},{sr},{channels});"
        "base=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        "e=np.ones(64,np.float32)/8; sep.separate_file(m,Path(d)/'t.wav',Path(d)/'r.wav',embedding=e);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])  # KiB on Linux


def memory(sr: int = 44100, channels: int = 2, batch_rows: int | None = None) -> dict:
    """Peak RSS of separating 1 and 20 minutes of noise in a fresh process (``batch_rows``: as in rtf)."""
    one = _child_peak(60, sr, channels, batch_rows)
    twenty = _child_peak(1200, sr, channels, batch_rows)
    return {
        "sample_rate": sr,
        "channels": channels,
        "batch_rows": batch_rows,
        "peak_rss_MiB_1min": round(one / 1024, 1),
        "peak_rss_MiB_20min": round(twenty / 1024, 1),
        "ratio_20min_over_1min": round(twenty / one, 3),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _thread_count(value: str) -> int:
    return threads.idle_cores() if value == "auto" else max(1, int(value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="RTF only")
    parser.add_argument("--paper", action="store_true", help="also time the paper configuration")
    parser.add_argument("--no-postfilter", action="store_true", help="also time without the spectral post-filter")
    parser.add_argument(
        "--no-refiner", action="store_true", help="also time the post-filter without the model's learned mask refiner"
    )
    parser.add_argument("--repeats", type=int, default=2, help="runs per RTF row; the best counts")
    parser.add_argument(
        "--overlap", type=float, nargs="+", default=[], help="also time 16 kHz mono with these overlaps (seconds)"
    )
    parser.add_argument(
        "--threads",
        nargs="+",
        default=["2"],
        help="torch threads (a number or 'auto' = cores now idle); further values add 16 kHz mono rows",
    )
    parser.add_argument("--two-pass", action="store_true", help="also time 16 kHz mono with --two-pass")
    parser.add_argument(
        "--batch-rows",
        type=int,
        nargs="+",
        default=[],
        help="also time 16 kHz mono (and, without --quick, measure memory) with these rows per forward call",
    )
    args = parser.parse_args()
    n = max(1, args.repeats)
    t = _thread_count(args.threads[0])
    threads.choose_openmp_wait_policy(t)  # must precede the first torch import (in rtf)
    result: dict = {
        "machine": _cpu_model(),
        "usable_cores": threads.usable_cores(),
        "idle_cores_at_start": threads.idle_cores(),
        "load_avg_1_5_15min_at_start": list(os.getloadavg()),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "torch_threads": t,
    }
    result["rtf_16k_mono_60s"] = rtf(60, 16000, 1, "default", repeats=n, n_threads=t)
    result["rtf_44k_stereo_60s"] = rtf(60, 44100, 2, "default", repeats=n, n_threads=t)
    for extra in args.threads[1:]:
        k = _thread_count(extra)
        result[f"rtf_16k_mono_60s_threads_{extra}"] = rtf(60, 16000, 1, "default", repeats=n, n_threads=k)
    if args.no_refiner:
        result["rtf_16k_mono_60s_no_refiner"] = rtf(60, 16000, 1, "default", repeats=n, refiner=False, n_threads=t)
    if args.no_postfilter:
        result["rtf_16k_mono_60s_no_postfilter"] = rtf(
            60, 16000, 1, "default", repeats=n, postfilter=False, n_threads=t
        )
    for ov in args.overlap:
        result[f"rtf_16k_mono_60s_overlap_{ov:g}s"] = rtf(60, 16000, 1, "default", repeats=n, overlap=ov, n_threads=t)
    if args.two_pass:
        result["rtf_16k_mono_60s_two_pass"] = rtf(60, 16000, 1, "default", repeats=n, n_threads=t, two_pass=True)
    for rows in args.batch_rows:
        result[f"rtf_16k_mono_60s_batch_rows_{rows}"] = rtf(
            60, 16000, 1, "default", repeats=n, n_threads=t, batch_rows=rows
        )
        if not args.quick:
            result[f"memory_batch_rows_{rows}"] = memory(batch_rows=rows)
    if args.paper:
        result["rtf_paper_16k_mono_20s"] = rtf(20, 16000, 1, "paper", repeats=1, n_threads=t)
    if not args.quick:
        result["memory"] = memory()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
