"""Choose the spectral post-filter's settings (``sfcli.postfilter``) on validation mixtures.

    OMP_NUM_THREADS=1 python benchmarks/postfilter_sweep.py --split valid --n 300 \\
        --settings off 1:1024 1:2048 1.25:2048 1.5:2048 1.25:4096

For each setting (``off`` = the network's target as it is; ``model`` = the post-filter the model's
config names; ``P:N`` = mask exponent P on an N-point STFT) prints one JSON line: the mean target
SI-SDRi with text queries, audio queries and another mixture's (wrong) text query, and the seconds
the setting took. Mixtures are generated from a corpus split with a seed, as ``sfcli eval --split``
does: choose the setting on ``valid``, report it once on the test set with ``sfcli eval``.
``--no-refiner`` drops a model's learned mask refiner, so that its fixed post-filter alone is scored.
"""

from __future__ import annotations

import argparse
import json

from sweep_common import add_mixture_args, score_row


def parse_setting(text: str) -> tuple[float | None, int | None] | None:
    """``"off"`` → None; ``"model"`` → (None, None); ``"1.25:2048"`` → (1.25, 2048)."""
    if text == "off":
        return None
    if text == "model":
        return None, None
    p, _, n = text.partition(":")
    return float(p), int(n or 2048)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_mixture_args(ap)
    ap.add_argument("--settings", nargs="+", default=["off", "1:1024", "1:2048", "1.25:2048", "1.5:2048"])
    ap.add_argument("--no-wrong-query", action="store_true", help="skip the wrong-query pass")
    ap.add_argument("--no-refiner", action="store_true", help="drop the model's learned mask refiner")
    args = ap.parse_args(argv)
    from sfcli.api import Separator
    from sfcli.evaluation import generated_mixtures

    settings = [parse_setting(s) for s in args.settings]
    sep = Separator.from_pretrained(args.models)
    if args.no_refiner:
        sep.filter.refiner = None
    items = generated_mixtures(None, args.split, args.n, args.seed)
    queries = ["text", "audio"] + ([] if args.no_wrong_query else ["other-text"])
    for name, setting in zip(args.settings, settings, strict=True):
        sep.postfilter = setting is not None
        if setting is not None:
            sep.postfilter_power, sep.postfilter_fft = setting
        row = score_row(
            sep,
            items,
            queries,
            setting=name,
            refiner=sep.filter.refiner is not None,
            split=args.split,
            mixtures=len(items),
        )
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
