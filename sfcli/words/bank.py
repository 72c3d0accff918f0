"""Audio bank: text-query expansion through SoundWords embeddings of known recordings."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sfcli.errors import ModelNotFoundError
from sfcli.pretrained import (
    atomic_write_bytes,
)
from sfcli.words.config import AUDIO_BANK_META, AUDIO_BANK_WEIGHTS


@dataclass
class AudioBank:
    """SoundWords audio embeddings of known recordings (e.g. the training clips).

    :meth:`expand` turns a text embedding into an audio-like one: the mean of the ``k`` bank rows
    nearest to it (cosine), renormalised and mixed with the text embedding by ``text_weight``
    (0 = the neighbours' mean only, 1 = the text embedding unchanged). SoundFilter separates much
    better from audio embeddings than from text embeddings (docs/results.md), so a text query is
    answered with the sound of the recordings its words retrieve.
    """

    embeddings: torch.Tensor
    k: int = 10
    text_weight: float = 0.0
    info: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        emb = torch.as_tensor(self.embeddings, dtype=torch.float32)
        if emb.ndim != 2 or emb.shape[0] == 0:
            raise ValueError(f"an audio bank needs a non-empty (n, dim) matrix, got {tuple(emb.shape)}")
        if self.k < 1:
            raise ValueError("audio bank k must be >= 1")
        if not 0.0 <= self.text_weight <= 1.0:
            raise ValueError("audio bank text_weight must be in [0, 1]")
        self.embeddings = F.normalize(emb, dim=-1)

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def _rows(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float32)).reshape(-1, self.embeddings.shape[1])

    def _topk(self, q: torch.Tensor, exclude: Sequence[Sequence[int] | None] | None = None) -> torch.Tensor:
        sims = q @ self.embeddings.t()
        k = min(self.k, len(self))
        if exclude is not None:
            if len(exclude) != sims.shape[0]:
                raise ValueError(f"exclude has {len(exclude)} entries for {sims.shape[0]} queries")
            for i, rows in enumerate(exclude):
                if rows is None or len(rows) == 0:
                    continue
                idx = torch.as_tensor(np.asarray(rows, dtype=np.int64))
                sims[i, idx] = -math.inf
                if len(self) - int(torch.isinf(sims[i]).sum()) < k:
                    raise ValueError(f"excluding {len(idx)} rows leaves fewer than k={k} bank rows")
        return torch.topk(sims, k, dim=1).indices

    def neighbours(self, query: np.ndarray, exclude: Sequence[Sequence[int] | None] | None = None) -> np.ndarray:
        """Indices ``(n, k)`` of the bank rows nearest to each query row (most similar first).

        ``exclude`` optionally gives, per query, bank rows it may not use (e.g. a training clip's own
        recording family, so that training sees the expansion a new recording would get).
        """
        return self._topk(self._rows(query), exclude).numpy()

    def expand(self, text_embeddings: np.ndarray, exclude: Sequence[Sequence[int] | None] | None = None) -> np.ndarray:
        """Expanded queries ``(n, dim)`` float32, unit rows, for unit text embeddings ``(n, dim)``.

        ``exclude`` as in :meth:`neighbours`.
        """
        t = self._rows(text_embeddings)
        mean = F.normalize(self.embeddings[self._topk(t, exclude)].mean(dim=1), dim=-1)
        out = F.normalize(self.text_weight * t + (1.0 - self.text_weight) * mean, dim=-1)
        return out.numpy().astype(np.float32)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``audio_bank.safetensors`` (float16) and ``audio_bank.json`` into ``folder`` atomically."""
        from safetensors.torch import save

        folder = Path(folder)
        data = save({"embeddings": self.embeddings.to(torch.float16).contiguous()})
        atomic_write_bytes(folder / AUDIO_BANK_WEIGHTS, data)
        meta = {"k": self.k, "text_weight": self.text_weight, "size": len(self), **(self.info or {})}
        atomic_write_bytes(folder / AUDIO_BANK_META, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> AudioBank | None:
        """Read a bank written by :meth:`save`; ``None`` when the folder has none."""
        from safetensors.torch import load_file

        folder = Path(folder)
        if not ((folder / AUDIO_BANK_WEIGHTS).is_file() and (folder / AUDIO_BANK_META).is_file()):
            return None
        try:
            meta = json.loads((folder / AUDIO_BANK_META).read_text())
            emb = load_file(str(folder / AUDIO_BANK_WEIGHTS))["embeddings"].float()
            info = {key: v for key, v in meta.items() if key not in ("k", "text_weight", "size")}
            return cls(emb, k=int(meta["k"]), text_weight=float(meta["text_weight"]), info=info)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelNotFoundError(f"{folder}: unreadable audio bank ({exc})") from exc
