"""The trainable part of SoundWords in ``sfcli train-words`` (both projection heads and the temperature):
the module DDP wraps, the state a checkpoint keeps, locked / copied text heads, and validation on the
cached features."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sfcli.errors import SfcliError
from sfcli.train.words_data import PairSource
from sfcli.words import SoundWords
from sfcli.words_eval import EvalRecord, evaluate_embeddings


class Heads(nn.Module):
    """The trainable part (both heads + temperature), wrapped so DDP sees exactly these parameters."""

    def __init__(self, model: SoundWords) -> None:
        super().__init__()
        self.text_head = model.text_head
        self.audio_head = model.audio_head
        self.model = [model]  # not a submodule

    def forward(self, text_feats: torch.Tensor, audio_feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Project backbone features of texts and audio windows into the shared space."""
        m = self.model[0]
        return m.project_text(text_feats), m.project_audio(audio_feats)


def trainable_state(model: SoundWords) -> dict[str, torch.Tensor]:
    """The weights that training changes (heads + temperature), cloned."""
    return {
        k: v.detach().clone()
        for k, v in model.state_dict().items()
        if k.startswith(("text_head.", "audio_head.")) or k == "logit_scale"
    }


def lock_text_head(model: SoundWords, text_features: torch.Tensor) -> None:
    """Freeze the text head as a PCA of the (normed) training-text features: "locked-text tuning".

    The text side then keeps MiniLM's own geometry (a linear map onto its top ``embed_dim`` principal
    directions) and only the audio head learns to land in it, so descriptions of sounds never seen in
    training still fall near related trained ones. Needs a linear text head.
    """
    head = model.text_head
    linear = head[-1]
    if len(head) > 2 or not isinstance(linear, nn.Linear):
        raise SfcliError("--lock-text needs a linear text head (text_head_hidden = 0)")
    with torch.no_grad():
        x = head[0](text_features) if len(head) == 2 else text_features
        mean = x.mean(dim=0)
        k = min(linear.out_features, x.shape[0], x.shape[1])
        _, _, v = torch.linalg.svd(x - mean, full_matrices=False)
        weight = torch.zeros_like(linear.weight)
        weight[:k] = v[:k]
        linear.weight.copy_(weight)
        linear.bias.copy_(-(weight @ mean))
    for p in head.parameters():
        p.requires_grad_(False)


def copy_text_head(model: SoundWords, folder: str | Path) -> None:
    """Take the text head of another SoundWords model and freeze it.

    The shared space is then exactly that model's: the text embeddings do not change at all, and the
    audio head learns to land where the old model's audio embeddings did, so a SoundFilter
    conditioned on the old model keeps working (and needs only a short fine-tune) with the new one.
    """
    old = SoundWords.from_pretrained(folder)
    if (old.config.text_backbone, old.config.text_head_hidden, old.config.embed_dim, old.config.head_norm) != (
        model.config.text_backbone,
        model.config.text_head_hidden,
        model.config.embed_dim,
        model.config.head_norm,
    ):
        raise SfcliError(f"{folder}: its text head has another layout than this model's")
    model.text_head.load_state_dict(old.text_head.state_dict())
    for p in model.text_head.parameters():
        p.requires_grad_(False)


def validate(
    model: SoundWords,
    sources: Sequence[PairSource],
    feats: dict[str, torch.Tensor],
    template: str | Sequence[str] = "{}",
    per_category: bool = False,
) -> dict[str, Any]:
    """:func:`evaluate_embeddings` on cached features (window embeddings averaged per clip); ``template``:
    the zero-shot prompt template(s); ``per_category``: add each category's zero-shot top-1."""
    if not sources:
        return {}
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            audio = model.embed_window_features([feats[s.key].float() for s in sources]).cpu().numpy()

            def text_embed(texts: list[str]) -> np.ndarray:
                return model.project_text(model.text_features(texts).to(model.device)).cpu().numpy()

            recs = [EvalRecord(s.descriptions, s.category) for s in sources]
            return evaluate_embeddings(audio, recs, text_embed, template=template, per_category=per_category)
    finally:
        model.train(was)


def score(metrics: dict[str, Any]) -> float:
    """The number that picks the best validation step: mean of t2a R@10, a2t R@10 and zero-shot top-1
    (those present; 0 when none is)."""
    keys = [k for k in ("t2a_R@10", "a2t_R@10", "zeroshot_top1") if k in metrics]
    return float(np.mean([metrics[k] for k in keys])) if keys else 0.0
