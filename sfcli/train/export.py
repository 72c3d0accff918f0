"""Where ``train-words`` / ``train-filter`` write their model folder: checked before training (never an
existing model without ``--force``, unless the run itself wrote it), written atomically, and their JSON
summaries kept strict (no ``NaN``)."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sfcli.errors import OutputError
from sfcli.pretrained import CONFIG_NAME, WEIGHTS_NAME
from sfcli.words.config import TEXT_CACHE_TEXTS, TEXT_CACHE_WEIGHTS

# The files that make up a model; an export replaces them all (a text cache it does not write is removed).
MODEL_FILES = (CONFIG_NAME, WEIGHTS_NAME, TEXT_CACHE_TEXTS, TEXT_CACHE_WEIGHTS)


def holds_model(folder: Path) -> bool:
    """True when ``folder`` holds a model's config or weights."""
    return any((folder / name).exists() for name in (CONFIG_NAME, WEIGHTS_NAME))


def written_by_run(out: Path, run_dir: Path) -> bool:
    """True when ``out`` is the run's own model folder: ``RUN_DIR/model``, or the folder that the run's
    ``summary.json`` names (an earlier export of the same run, which resuming may replace)."""
    if out.resolve() == (run_dir / "model").resolve():
        return True
    try:
        model = json.loads((run_dir / "summary.json").read_text()).get("model")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(model, str) and Path(model).resolve() == out.resolve()


def check_model_out(out: Path, run_dir: Path, force: bool) -> None:
    """Refuse, with a one-line :class:`OutputError` and before any training, an output folder that
    cannot be written or that already holds a model (unless ``force`` or the run wrote it itself)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is not a folder; --out needs a folder for the model")
    if out.is_dir() and holds_model(out) and not force and not written_by_run(out, run_dir):
        raise OutputError(f"{out} already holds a model; use --force to overwrite")
    existing = out
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write {out}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {out}: permission denied")


def export_model_folder(out: Path, write: Callable[[Path], Any]) -> Path:
    """Run ``write(folder)`` on a temporary folder beside ``out``, then move the result into place.

    A new ``out`` appears in one rename; into an existing one each model file is replaced by a rename
    (other files, such as a model card, stay). An interrupted export leaves the old model as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's folder is private; a model folder is not
        if not out.exists():
            os.replace(tmp, out)
            return out
        new = {f.name for f in tmp.iterdir()}
        for name in sorted(new, key=lambda n: n == CONFIG_NAME):  # the config last
            os.replace(tmp / name, out / name)
        for name in MODEL_FILES:
            if name not in new:
                (out / name).unlink(missing_ok=True)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float (``NaN``, ``inf``) replaced by ``None``, so that
    ``json.dumps`` writes strict JSON (``null``)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


__all__ = ["MODEL_FILES", "check_model_out", "export_model_folder", "holds_model", "strict_json", "written_by_run"]
