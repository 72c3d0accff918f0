"""Shared parts of the inference-setting sweeps (``text_expansion_sweep.py``, ``postfilter_sweep.py``).

Both score one :class:`sfcli.api.Separator` under several settings on the same generated mixtures,
as ``sfcli eval --split`` would, and print one JSON line per setting.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

ROW_NAMES = {"text": "text", "audio": "audio", "other-text": "wrong_text"}


def add_mixture_args(ap: argparse.ArgumentParser) -> None:
    """``--models``, ``--split``, ``--n``, ``--seed``: which models, and which generated mixtures."""
    ap.add_argument("--models", type=Path, default=None, help="models folder (default: shipped)")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)


def score_row(separator: Any, items: list[Any], queries: list[str], **fields: Any) -> dict[str, Any]:
    """Mean target SI-SDRi per query kind of ``separator`` on ``items``, as one JSON-ready row.

    ``fields`` come first in the row; then ``<query>_target_si_sdri`` (``wrong_text`` for
    ``other-text``) rounded to 0.01 dB, and the seconds the scoring took.
    """
    from sfcli.evaluation import evaluate

    t0 = time.time()
    with torch.inference_mode():
        overall = evaluate([("m", separator)], items, queries=queries, irm=False)["runs"][0]["overall"]
    row = dict(fields)
    row.update({f"{ROW_NAMES[q]}_target_si_sdri": round(overall[q]["target_si_sdri"], 2) for q in queries})
    row["seconds"] = round(time.time() - t0, 1)
    return row
