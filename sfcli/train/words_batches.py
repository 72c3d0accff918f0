"""Batches of ``sfcli train-words``: the training pairs as padded tensors (audio features per window,
text features, descriptions per clip, category groups) and the deterministic draw of step ``t``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sfcli.errors import SfcliError
from sfcli.train.words_data import PairSource
from sfcli.words import SoundWords
from sfcli.words_eval import category_prompt


def sampling_weights(group_ids: torch.Tensor, power: float) -> np.ndarray | None:
    """Per-clip probabilities of being drawn into a batch: ``count(category) ** -power``, normalised.

    ``power`` 0 draws clips uniformly (large categories dominate the batches), 1 gives every category
    the same total weight, values between interpolate. Returns ``None`` for uniform draws.
    """
    if power <= 0:
        return None
    counts = torch.bincount(group_ids).double()
    w = counts[group_ids].pow(-power).numpy()
    return w / w.sum()


def batch_rng(seed: int, step: int, n: int, size: int) -> np.random.Generator:
    """The generator of every random choice of ``step`` (a pure function of its arguments)."""
    return np.random.default_rng((seed, step, n, size))


@dataclass
class PairBatch:
    """One step's batch: the global batch's clip and text rows, this process's features and groups."""

    clips: torch.Tensor  # (global batch,) clip rows
    texts: torch.Tensor  # (global batch,) text rows
    audio: torch.Tensor  # (local batch, audio feature dim), on the device
    text: torch.Tensor  # (local batch, text feature dim), on the device


@dataclass
class PairTables:
    """The training pairs as tensors, for vectorised batches.

    ``audio`` is (clips, max windows, D) padded with ``n_win`` windows per clip; ``text`` is (texts, D);
    ``desc`` (clips, max descriptions) holds text rows padded with -1, ``n_desc`` their counts.
    """

    clips: list[PairSource]
    group_ids: torch.Tensor | None
    draw_p: np.ndarray | None
    n_win: torch.Tensor
    audio: torch.Tensor
    text: torch.Tensor
    n_desc: torch.Tensor
    desc: torch.Tensor

    def draw(self, seed: int, step: int, global_batch: int, rank: int, local: int, device: torch.device) -> PairBatch:
        """The batch of ``step``: clips (without replacement), one window and one description each."""
        rng = batch_rng(seed, step, len(self.clips), global_batch)
        idx = rng.choice(len(self.clips), size=global_batch, replace=False, p=self.draw_p)
        win_pick = rng.random(global_batch)
        desc_pick = rng.random(global_batch)
        mine = slice(rank * local, (rank + 1) * local)
        gi = torch.from_numpy(idx)
        texts = self.desc[gi, (torch.from_numpy(desc_pick) * self.n_desc[gi]).long()]  # the global batch's
        li = gi[mine]
        wi = (torch.from_numpy(win_pick[mine]) * self.n_win[li]).long()
        return PairBatch(gi, texts, self.audio[li, wi].to(device), self.text[texts[mine]].to(device))

    def soft_targets(self, batch: PairBatch, temperature: float, device: torch.device) -> torch.Tensor:
        """Soft targets from the text backbone's similarities over the global batch."""
        raw = torch.nn.functional.normalize(self.text[batch.texts].to(device), dim=1)
        return torch.softmax(raw @ raw.t() / temperature, dim=1)

    def groups(self, batch: PairBatch, device: torch.device) -> torch.Tensor | None:
        """The global batch's group ids (pairs of one group are not negatives), if grouped."""
        return self.group_ids[batch.clips].to(device) if self.group_ids is not None else None


def _group_ids(train: Sequence[PairSource], group_by: str) -> torch.Tensor | None:
    if group_by == "category" and all(s.category for s in train):
        names = sorted({s.category for s in train if s.category})
        return torch.tensor([names.index(s.category) for s in train])  # type: ignore[arg-type]
    if group_by in ("category", "text"):
        names = sorted({s.descriptions[0] for s in train})
        return torch.tensor([names.index(s.descriptions[0]) for s in train])
    return None


def build_tables(
    model: SoundWords,
    train: Sequence[PairSource],
    feats: dict[str, torch.Tensor],
    *,
    group_by: str,
    balance_categories: float,
    category_text: bool,
) -> PairTables:
    """The tables of ``train`` from cached audio ``feats`` and ``model.text_cache``; ``category_text``
    makes the category name one more description of each clip."""
    keys = [s.key for s in train]
    group_ids = _group_ids(train, group_by)
    if balance_categories > 0 and group_ids is None:
        raise SfcliError("--balance-categories needs categories (--group-by category or text)")
    draw_p = sampling_weights(group_ids, balance_categories) if group_ids is not None else None
    n_win = torch.tensor([feats[k].shape[0] for k in keys])
    audio_table = torch.zeros(len(keys), int(n_win.max()), model.config.audio_feature_dim)
    for i, k in enumerate(keys):
        audio_table[i, : n_win[i]] = feats[k].float()
    if category_text:
        train = [
            dataclasses.replace(s, descriptions=list(dict.fromkeys([*s.descriptions, category_prompt(s.category)])))
            if s.category
            else s
            for s in train
        ]
    text_list = list(dict.fromkeys(t for s in train for t in s.descriptions))
    text_index = {t: j for j, t in enumerate(text_list)}
    text_table = torch.stack([model.text_cache[t] for t in text_list]).float()
    n_desc = torch.tensor([len(s.descriptions) for s in train])
    desc_table = torch.full((len(train), int(n_desc.max())), -1, dtype=torch.long)
    for i, s in enumerate(train):
        desc_table[i, : len(s.descriptions)] = torch.tensor([text_index[t] for t in s.descriptions])
    return PairTables(list(train), group_ids, draw_p, n_win, audio_table, text_table, n_desc, desc_table)
