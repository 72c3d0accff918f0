"""Saving and loading models as ``config.json`` + ``model.safetensors`` folders, offline.

Every model in sfcli lives in its own folder::

    models/soundwords/config.json      # {"model": "soundwords", ...config fields...}
    models/soundwords/model.safetensors
    models/soundfilter/config.json
    models/soundfilter/model.safetensors

``default_models_dir()`` finds the shipped ``models/`` folder (the repository's, or the one named by
the ``SFCLI_MODELS`` environment variable). Nothing here touches the network.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from sfcli.audio import default_file_mode
from sfcli.errors import ModelNotFoundError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def default_models_dir() -> Path:
    """Return the folder that holds the shipped models.

    ``$SFCLI_MODELS`` wins; otherwise the ``models/`` folder next to the ``sfcli`` package (the
    repository root for an editable install).
    """
    env = os.environ.get("SFCLI_MODELS")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent / "models"


def resolve_model_dir(path: str | os.PathLike[str] | None, name: str) -> Path:
    """Find the folder of model ``name`` ("soundwords" or "soundfilter").

    ``path`` may be the model folder itself (holding ``config.json``) or a models folder holding
    ``name/``. ``None`` means :func:`default_models_dir`. Raises :class:`ModelNotFoundError` with a
    message that names what is missing.
    """
    base = default_models_dir() if path is None else Path(path).expanduser()
    for candidate in (base, base / name):
        if (candidate / CONFIG_NAME).is_file() and (candidate / WEIGHTS_NAME).is_file():
            return candidate
    raise ModelNotFoundError(
        f"no {name} model found at {base} (expected {base / name / CONFIG_NAME} and "
        f"{WEIGHTS_NAME}); train one with `sfcli train-{'words' if name == 'soundwords' else 'filter'}` "
        "or pass --models DIR"
    )


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file in the same folder and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model_folder(
    folder: str | os.PathLike[str],
    config: dict[str, Any],
    state_dict: dict[str, torch.Tensor],
    *,
    half: bool = False,
) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``folder`` atomically.

    ``half=True`` stores floating-point tensors as float16 (loading casts them back to float32).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for key, value in state_dict.items():
        t = value.detach().cpu().contiguous()
        if half and t.is_floating_point():
            t = t.to(torch.float16)
        tensors[key] = t
    atomic_write_bytes(folder / WEIGHTS_NAME, save(tensors, metadata={"format": "pt"}))
    atomic_write_bytes(folder / CONFIG_NAME, (json.dumps(config, indent=2, sort_keys=True) + "\n").encode())
    return folder


def load_model_folder(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read ``config.json`` and ``model.safetensors`` from ``folder``; tensors come back float32."""
    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_NAME).read_text())
    except FileNotFoundError as exc:
        raise ModelNotFoundError(f"missing {folder / CONFIG_NAME}") from exc
    except json.JSONDecodeError as exc:
        raise ModelNotFoundError(f"{folder / CONFIG_NAME} is not valid JSON: {exc}") from exc
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelNotFoundError(f"missing {weights}")
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types
        raise ModelNotFoundError(f"cannot read {weights}: {exc}") from exc
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    return config, state


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Map "cpu" / "cuda" / "auto" / None to a torch device ("auto": CUDA when available).

    Anything else, or CUDA on a machine without it, raises :class:`sfcli.errors.SfcliError` (one line)."""
    from sfcli.errors import SfcliError

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise SfcliError(f"unknown --device {device!r}; use cpu, cuda or auto")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SfcliError("--device cuda was asked for but no CUDA device is available")
    return dev
