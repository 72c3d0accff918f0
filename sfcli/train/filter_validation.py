"""``train-filter`` validation: a fixed mixture set, scored by SoundWords embedding distance and SI-SDRi."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sfcli.embedder import Embedder
from sfcli.filter_model import SoundFilter
from sfcli.losses import si_sdr
from sfcli.train.conditioning import ConditioningCache
from sfcli.train.examples import make_batch


@dataclass
class ValidationSet:
    """A fixed set of validation mixtures with their conditioning and the targets' embeddings."""

    mixture: torch.Tensor
    target: torch.Tensor
    background: torch.Tensor
    cond: torch.Tensor
    target_emb: np.ndarray
    input_si_sdr: torch.Tensor


def build_validation(
    dataset: Any, cache: ConditioningCache, size: int, seed: int, text_rate: float
) -> ValidationSet | None:
    """Items ``0..size-1`` of the validation dataset, queries drawn with the training text rate."""
    if dataset is None or size <= 0:
        return None
    b = make_batch(dataset, cache, list(range(size)), seed + 1_000_000, text_rate)
    emb = np.asarray(cache.words.embed_audio([t.numpy() for t in b.target[:, 0]], cache.sr), np.float32)
    return ValidationSet(b.mixture, b.target, b.background, b.cond, emb, si_sdr(b.mixture, b.target))


@torch.no_grad()
def validate(
    model: SoundFilter, val: ValidationSet, words: Embedder, sr: int, device: torch.device, postfilter: bool = False
) -> dict[str, float]:
    """Separate the validation set; SoundWords embedding distance of the target outputs and SI-SDRi.

    Outputs are mixture-consistency projected, as :class:`sfcli.api.Separator` always does at inference,
    so the selected checkpoint is the best one as it will be used; ``si_sdri_unprojected`` scores the
    raw target output (what the paper recipe trains). ``postfilter`` scores the targets after
    the model's spectral post-filter (residual = mixture − target), as inference uses them.
    """
    was = model.training
    model.eval()
    try:
        outs, ress, raws = [], [], []
        for i in range(0, val.mixture.shape[0], 16):
            mix, cond = val.mixture[i : i + 16].to(device), val.cond[i : i + 16].to(device)
            t, r = model.separate(mix, cond, postfilter=postfilter, project=True)
            outs.append(t.cpu())
            ress.append(r.cpu())
            raws.append(model.separate(mix, cond, postfilter=False, project=False)[0].cpu())
        target, residual, raw = torch.cat(outs), torch.cat(ress), torch.cat(raws)
    finally:
        model.train(was)
    emb = np.asarray(words.embed_audio([x.numpy() for x in target[:, 0]], sr), np.float32)
    cos = np.sum(emb * val.target_emb, axis=1) / (
        np.linalg.norm(emb, axis=1) * np.linalg.norm(val.target_emb, axis=1) + 1e-12
    )
    sdri = si_sdr(target, val.target) - val.input_si_sdr
    res_sdri = si_sdr(residual, val.background) - si_sdr(val.mixture, val.background)
    return {
        "embedding_distance": float(np.mean(1.0 - cos)),
        "si_sdri": float(sdri.mean()),
        "residual_si_sdri": float(res_sdri.mean()),
        "si_sdri_unprojected": float((si_sdr(raw, val.target) - val.input_si_sdr).mean()),
    }


__all__ = ["ValidationSet", "build_validation", "validate"]
