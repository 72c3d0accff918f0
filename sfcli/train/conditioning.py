"""SoundFilter training's conditioning: which query an example gets and its SoundWords embedding.

Example ``i`` of a run is conditioned on text with probability ``text_rate`` (:func:`example_choices`,
a pure function of ``(seed, i)``); the description is one of the target's (:func:`chosen_description`).
:class:`ConditioningCache` embeds every description once (cached on disk) and the audio queries per
batch; :class:`TextExpander` passes text embeddings through the SoundWords audio bank as inference does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from sfcli.embedder import Embedder
from sfcli.errors import SfcliError
from sfcli.train.common import DistInfo, load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    from sfcli.train.examples import Example


def example_choices(seed: int, index: int, text_rate: float) -> tuple[bool, float]:
    """For global example ``index``: (condition on text?, which description as a fraction in [0, 1))."""
    rng = np.random.default_rng((seed, 7, int(index)))
    return bool(rng.random() < text_rate), float(rng.random())


def item_descriptions(example: Example) -> list[str]:
    """The target's descriptions: ``descriptions`` when the example has them, else its ``text``."""
    descs: Any = example.descriptions or example.text or []
    if isinstance(descs, str):
        descs = [descs]
    descs = [d.strip() for d in descs if isinstance(d, str) and d.strip()]
    if not descs and example.category:
        descs = [str(example.category).replace("_", " ")]
    return descs


def chosen_description(example: Example, use_text: bool, pick: float) -> str | None:
    """The description an example is conditioned on, or None when it takes an audio query.

    ``use_text`` and ``pick`` come from :func:`example_choices`; an example without descriptions always
    takes an audio query, and so does a label-free one (its descriptions are not trustworthy).
    """
    if example.label_free:
        return None
    descs = item_descriptions(example)
    if not (use_text and descs):
        return None
    return descs[min(int(pick * len(descs)), len(descs) - 1)]


def words_fingerprint(words: Any) -> str:
    """A short hash of the SoundWords weights (text-embedding caches are only reused for the same model)."""
    h = hashlib.sha1()
    if isinstance(words, nn.Module):
        for k, v in sorted(words.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().float().numpy().tobytes())
        cfg = getattr(words, "config", None)
        if cfg is not None and hasattr(cfg, "to_dict"):
            h.update(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode())
    else:
        h.update(repr(type(words)).encode())
    return h.hexdigest()[:16]


def bank_matches_clips(bank: Any, clips: Sequence[Any]) -> bool:
    """Whether ``bank`` (a SoundWords audio bank) holds one row per clip of ``clips`` (a corpus's train
    split, in order, as ``scripts/make_audio_bank.py`` builds it): same count and, where the bank lists
    them, the same categories."""
    cats = (getattr(bank, "info", None) or {}).get("categories")
    return len(clips) == len(bank) and (cats is None or sorted({c.category for c in clips}) == list(cats))


class TextExpander:
    """Training-time text conditioning through the SoundWords audio bank, as inference does it.

    ``sfcli separate --text`` answers a text query with the mean audio embedding of the bank clips
    nearest to it (:meth:`sfcli.words.AudioBank.expand`). Training with the same expansion matches the
    conditioning the filter meets later. The bank holds the training clips, so each example leaves out
    the bank rows of its own recording family: the expansion it gets is the one a new recording would.
    """

    def __init__(self, bank: Any, exclude_by_clip: dict[str, np.ndarray]) -> None:
        self.bank = bank
        self.exclude_by_clip = exclude_by_clip

    def __call__(self, text_embeddings: np.ndarray, clip_ids: Sequence[str]) -> np.ndarray:
        """Expanded rows for the text embeddings of examples whose targets are ``clip_ids``."""
        exclude = [self.exclude_by_clip.get(c) for c in clip_ids]
        return np.asarray(self.bank.expand(text_embeddings, exclude=exclude), dtype=np.float32)

    @classmethod
    def for_corpus(cls, bank: Any, corpus: Any) -> TextExpander:
        """Map a bank built from ``corpus``'s train split (``scripts/make_audio_bank.py``) to its clips."""
        clips = corpus.split("train") if corpus is not None and hasattr(corpus, "split") else []
        if not bank_matches_clips(bank, clips):
            raise SfcliError(
                f"the audio bank ({len(bank)} rows) was not built from this corpus' train split ({len(clips)} "
                "clips); rebuild it with scripts/make_audio_bank.py or train without --text-expansion"
            )
        families = [str(c.extra.get("family", c.id)) for c in clips]
        rows: dict[str, list[int]] = {}
        for i, f in enumerate(families):
            rows.setdefault(f, []).append(i)
        fam = {k: np.asarray(v, dtype=np.int64) for k, v in rows.items()}
        return cls(bank, {c.id: fam[f] for c, f in zip(clips, families, strict=True)})


class ConditioningCache:
    """SoundWords embeddings for training: every text once, conditioning crops per batch.

    ``texts`` are embedded in one batch at start (and stored in ``path`` when given, keyed by a
    fingerprint of the words model); unseen texts are embedded when first met. ``reuse_per_clip = K > 0``
    keeps up to K conditioning-crop embeddings per clip and reuses them once K are stored.
    """

    def __init__(
        self,
        words: Embedder,
        sample_rate: int,
        *,
        path: Path | None = None,
        fingerprint: str = "",
        reuse_per_clip: int = 0,
        expander: TextExpander | None = None,
    ) -> None:
        self.words = words
        self.expander = expander
        self.sr = sample_rate
        self.path = path
        self.fingerprint = fingerprint
        self.text: dict[str, np.ndarray] = {}
        self.reuse = reuse_per_clip
        self.audio_pool: dict[str, list[np.ndarray]] = {}
        self.audio_computed = 0
        self.audio_reused = 0
        if path is not None:
            blob = load_checkpoint(path) or {}
            if blob.get("fingerprint") == fingerprint:
                self.text.update(blob.get("text", {}))

    def add_texts(self, texts: Sequence[str], save: bool = True) -> None:
        """Embed the texts not cached yet (in batches of 256)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.text))
        for i in range(0, len(missing), 256):
            chunk = missing[i : i + 256]
            for t, e in zip(chunk, np.asarray(self.words.embed_text(chunk), dtype=np.float32), strict=True):
                self.text[t] = e
        if missing and save and self.path is not None:
            save_checkpoint(self.path, {"fingerprint": self.fingerprint, "text": self.text})

    def conditioning(
        self,
        items: Sequence[Example],
        use_text: Sequence[bool],
        picks: Sequence[float],
        windows: Sequence[Any] | None = None,
    ) -> np.ndarray:
        """``(B, D)`` conditioning vectors: text embedding of description ``picks[i]`` or audio embedding.

        ``windows[i]``, when given, holds item ``i``'s conditioning crop already cut into the SoundWords
        tower's windows (:func:`sfcli.train.examples.load_batch`); the embedding is the same as from
        ``cond_audio``.
        """
        out: list[np.ndarray | None] = [None] * len(items)
        need_text: list[tuple[int, str]] = []
        audio_idx: list[int] = []
        for i, (item, t, p) in enumerate(zip(items, use_text, picks, strict=True)):
            d = chosen_description(item, t, p)
            if d is not None:
                need_text.append((i, d))
                continue
            pool = self.audio_pool.get(item.clip_id, [])
            if self.reuse and item.clip_id and len(pool) >= self.reuse:
                out[i] = pool[min(int(p * len(pool)), len(pool) - 1)]
                self.audio_reused += 1
            else:
                audio_idx.append(i)
        if need_text:
            self._text_rows(items, need_text, out)
        if audio_idx:
            self._audio_rows(items, audio_idx, windows, out)
        return np.stack(out).astype(np.float32)  # type: ignore[arg-type]

    def _text_rows(self, items: Sequence[Example], need: list[tuple[int, str]], out: list[Any]) -> None:
        self.add_texts([d for _, d in need], save=False)
        text = np.stack([self.text[d] for _, d in need])
        if self.expander is not None:
            text = self.expander(text, [items[i].clip_id for i, _ in need])
        for (i, _), e in zip(need, text, strict=True):
            out[i] = e

    def _audio_rows(
        self, items: Sequence[Example], idx: list[int], windows: Sequence[Any] | None, out: list[Any]
    ) -> None:
        if windows is not None and all(windows[i] is not None for i in idx):
            wins = [np.asarray(windows[i]) for i in idx]
            embs = np.asarray(self.words.embed_windows(wins), np.float32)
        else:
            clips = [np.asarray(items[i].cond_audio, dtype=np.float32) for i in idx]
            embs = np.asarray(self.words.embed_audio(clips, self.sr), np.float32)
        self.audio_computed += len(idx)
        for i, e in zip(idx, embs, strict=True):
            out[i] = e
            if self.reuse and items[i].clip_id:
                self.audio_pool.setdefault(items[i].clip_id, []).append(e)


__all__ = [
    "ConditioningCache",
    "Embedder",
    "TextExpander",
    "bank_matches_clips",
    "chosen_description",
    "example_choices",
    "item_descriptions",
    "words_fingerprint",
]


def build_cache(
    words: Embedder,
    train_data: Any,
    descriptions: Sequence[str],
    sample_rate: int,
    text_expansion: bool,
    reuse_per_clip: int,
    info: DistInfo,
    run_dir: Path,
    note: Callable[[str], None] | None = None,
) -> ConditioningCache:
    """A training run's conditioning cache (``run_dir/text_embeddings.pt``) with every description
    embedded: by the main process, which writes the cache file (saying so through ``note``), then read
    by the others; with ``text_expansion`` text queries go through ``words``' audio bank, as at inference."""
    expander = None
    if text_expansion:
        bank = getattr(words, "audio_bank", None)
        if bank is None:
            raise SfcliError(
                "--text-expansion needs a SoundWords model with an audio bank (scripts/make_audio_bank.py)"
            )
        expander = TextExpander.for_corpus(bank, getattr(train_data, "corpus", None))
    path, fp = run_dir / "text_embeddings.pt", words_fingerprint(words)

    def make() -> ConditioningCache:
        return ConditioningCache(
            words, sample_rate, path=path, fingerprint=fp, reuse_per_clip=reuse_per_clip, expander=expander
        )

    if info.is_main:
        cache = make()
        if descriptions:
            if note is not None:
                note(f"embedding {len(set(descriptions))} descriptions with SoundWords")
            cache.add_texts(list(descriptions))
    if info.enabled:
        torch.distributed.barrier()
    if not info.is_main:
        cache = make()
        cache.add_texts(list(descriptions), save=False)
    return cache
