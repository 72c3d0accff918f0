"""Load one of the repository's scripts (``scripts/``, ``benchmarks/``, ``experiments/``) as a module,
for tests that call its functions."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def script_module(relative: str) -> Any:
    """The script at ``ROOT / relative`` (e.g. ``"scripts/make_audio_bank.py"``), executed as a fresh module."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
