"""Training loop behind ``sfcli train-filter``: SoundFilter on corpus mixtures, conditioned by SoundWords.

Recipe (paper §3.3.1):

* every example is a 2 s mixture ``target + gain · background`` (±4 dB) from a mixing dataset
  (:class:`sfcli.data.mixing.MixtureDataset` on the corpus, or :class:`ToneMixtures` for tests);
* the conditioning vector is the SoundWords **text** embedding of one of the target's descriptions with
  probability ``text_rate`` (default 0.3, the paper's Table 1 setting), otherwise the SoundWords **audio**
  embedding of the dataset's disjoint 2 s conditioning crop of the same clip; with ``text_expansion``
  the text embedding goes through the SoundWords audio bank as at inference (:class:`TextExpander`);
* loss: ``softplus(30 − SI-SDR)`` of target and of residual, plus the consistency loss
  ``softplus(30 − SNR(target + residual, mixture))`` (:func:`sfcli.losses.separation_loss`), with the
  ablation switches ``consistency_loss`` / ``residual_output`` / ``projection``; with ``postfilter`` the
  target is scored after the model's spectral post-filter (:meth:`SoundFilter.postfilter`, residual =
  mixture − target), in training and validation, as :class:`sfcli.api.Separator` outputs it; a model
  config with ``refiner_channels > 0`` adds a learned mask refiner to that post-filter, trained at
  ``refiner_lr_scale`` times the learning rate;
* checkpoint selection with SoundWords in place of VGGish: every ``eval_every`` steps the model separates
  a fixed validation mixture set; the checkpoint whose target outputs are closest to the true targets in
  SoundWords audio-embedding (cosine) distance is kept, and validation SI-SDRi is logged beside it.

CPU throughput: SoundWords never trains here. Text embeddings of every description are computed once
(cached on disk in the run folder, ``text_embeddings.pt``); audio embeddings of conditioning crops are
computed per batch in a prefetch thread together with data loading, so the next batch is being prepared
while the network trains on the current one. With ``workers = N > 0`` (``--workers``, for GPUs) N DataLoader
processes draw the examples and cut audio queries into the SoundWords tower's windows (resampling and framing,
:func:`load_batch`); the main process only runs the tower and the network (:func:`finish_batch`). The batches
are the same either way. ``reuse_cond_embeddings = K > 0`` additionally keeps up to
K conditioning-crop embeddings per clip and reuses them once K are stored (cheaper, but an approximation:
a reused crop was disjoint from an earlier mixture's target crop, not necessarily from this one).

Determinism and resume: example ``i`` of the run is dataset item ``i`` (the dataset is a pure function of
its seed and the index); the text/audio choice and description of example ``i`` come from
``numpy.random.default_rng((seed, i))``. The run is therefore a pure function of the step counter, and
checkpoints (``checkpoint.pt``, atomic) hold weights, optimizer state, the best validation state and the
history: running the same command again continues where the last checkpoint left off and ends with the
same weights as an uninterrupted run.

Several processes (``torchrun --nproc_per_node N --no-python sfcli train-filter ...``): each process takes its
slice of every global batch and DistributedDataParallel averages gradients (gloo on CPU, nccl on CUDA).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from sfcli.errors import SfcliError
from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.losses import separation_loss, si_sdr
from sfcli.train.common import (
    CHECKPOINT_NAME,
    DistInfo,
    cleanup_distributed,
    init_distributed,
    load_checkpoint,
    save_checkpoint,
    set_seed,
)

SILENCE_RMS = 1e-4  # target crops quieter than this (after normalisation of the mixture) are redrawn
MAX_REDRAWS = 8
TARGET_RMS = 0.1  # every example is scaled so that its mixture has this RMS


class Embedder(Protocol):
    """What training needs of SoundWords."""

    def embed_text(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_audio(self, clips: Sequence[np.ndarray], sample_rate: int) -> np.ndarray: ...


@dataclass
class TrainFilterOptions:
    """Settings of one training run (the model-shaping ones are checked again on resume)."""

    run_dir: Path
    out: Path | None = None
    steps: int = 20000
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 100
    lr_schedule: str = "constant"
    grad_clip: float = 5.0
    seed: int = 0
    text_rate: float = 0.3
    consistency_loss: bool = True
    residual_output: bool = True
    projection: bool = False
    postfilter: bool = False
    refiner_lr_scale: float = 10.0
    eval_every: int = 250
    checkpoint_every: int = 50
    valid_size: int = 64
    reuse_cond_embeddings: int = 0
    text_expansion: bool = False
    prefetch: bool = True
    workers: int = 0
    max_seconds: float | None = None
    init: Path | None = None
    sample_rate: int = 16000
    device: str = "cpu"
    model_config: SoundFilterConfig = field(default_factory=SoundFilterConfig)

    def effective_model_config(self) -> SoundFilterConfig:
        """The model config with the ablation switches applied."""
        cfg = SoundFilterConfig.from_dict(self.model_config.to_dict())
        cfg.residual_output = self.residual_output
        cfg.consistency = "projection" if self.projection else "none"
        return cfg

    @property
    def use_consistency_loss(self) -> bool:
        """The soft consistency term only makes sense with two free outputs and no exact projection."""
        return self.consistency_loss and self.residual_output and not self.projection


# ---------------------------------------------------------------------------------------------------
# Data


class ToneMixtures:
    """A synthetic mixing dataset for tests and smoke runs (same item layout as the corpus's).

    Category ``c`` is a harmonic tone at ``base_freqs[c]`` with a random tremolo; each item mixes a
    target of one category with a background of another plus a little noise, at ±``gain_db``. Item ``i``
    is a pure function of ``(seed, i)``.
    """

    BASE_FREQS = (220.0, 330.0, 495.0, 740.0, 1110.0, 1660.0)

    def __init__(
        self, seed: int = 0, seconds: float = 0.5, sample_rate: int = 16000, gain_db: float = 4.0, size: int = 10**9
    ) -> None:
        self.seed = seed
        self.n = round(seconds * sample_rate)
        self.sr = sample_rate
        self.gain_db = gain_db
        self.size = size

    def __len__(self) -> int:
        return self.size

    def descriptions(self) -> list[str]:
        """Every description any item may carry."""
        return [d for c in range(len(self.BASE_FREQS)) for d in self._descs(c)]

    @staticmethod
    def _descs(c: int) -> list[str]:
        return [f"tone number {c}", f"a humming sound {c}"]

    def _tone(self, c: int, rng: np.random.Generator) -> np.ndarray:
        t = np.arange(self.n) / self.sr
        f = self.BASE_FREQS[c] * (1 + 0.01 * rng.standard_normal())
        x = sum(np.sin(2 * np.pi * k * f * t + rng.uniform(0, 6.28)) / k for k in (1, 2, 3))
        trem = 1 + 0.5 * np.sin(2 * np.pi * rng.uniform(1, 4) * t + rng.uniform(0, 6.28))
        return (x * trem).astype(np.float32)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng((self.seed, int(index)))
        k = len(self.BASE_FREQS)
        c = int(rng.integers(k))
        b = int((c + 1 + rng.integers(k - 1)) % k)
        target = self._tone(c, rng)
        background = self._tone(b, rng) + 0.05 * rng.standard_normal(self.n).astype(np.float32)
        gain = 10 ** (rng.uniform(-self.gain_db, self.gain_db) / 20)
        background = (background * gain * np.sqrt((target**2).mean() / (background**2).mean())).astype(np.float32)
        descs = self._descs(c)
        return {
            "mixture": target + background,
            "target": target,
            "background": background,
            "cond_audio": self._tone(c, rng),
            "text": descs[int(rng.integers(len(descs)))],
            "descriptions": descs,
            "category": f"tone{c}",
            "clip_id": f"tone{c}",
        }


def _item(dataset: Any, index: int) -> dict[str, Any]:
    n = len(dataset) if hasattr(dataset, "__len__") else None
    return dataset[index % n if n else index]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def draw_example(dataset: Any, index: int) -> dict[str, Any]:
    """Item ``index`` with RMS-normalised audio; near-silent targets or backgrounds are redrawn.

    Redraws go to deterministic other indices, so the result stays a pure function of ``index``.
    Raises :class:`SfcliError` when the item and all its redraws are silent or non-finite: with real
    data that does not happen by chance, it means the audio is missing or broken (e.g. an incomplete
    corpus), and training or validating on silence would give meaningless numbers.
    """
    for attempt in range(MAX_REDRAWS + 1):
        j = index if attempt == 0 else index + attempt * 1_000_003
        item = dict(_item(dataset, j))
        mix = np.asarray(item["mixture"], dtype=np.float32).reshape(-1)
        tgt = np.asarray(item["target"], dtype=np.float32).reshape(-1)
        bg = np.asarray(item["background"], dtype=np.float32).reshape(-1)
        scale = TARGET_RMS / max(_rms(mix), 1e-12)
        if _rms(tgt) * scale > SILENCE_RMS and _rms(bg) * scale > SILENCE_RMS and np.isfinite(mix).all():
            item["mixture"], item["target"], item["background"] = mix * scale, tgt * scale, bg * scale
            item["cond_audio"] = np.asarray(item["cond_audio"], dtype=np.float32).reshape(-1)
            return item
    raise SfcliError(
        f"training example {index} and its {MAX_REDRAWS} redraws all have a silent or non-finite source; "
        "is the corpus audio complete?"
    )


def item_descriptions(item: dict[str, Any]) -> list[str]:
    """The target's descriptions: ``descriptions`` when the item has them, else its ``text``."""
    descs = item.get("descriptions") or item.get("text") or []
    if isinstance(descs, str):
        descs = [descs]
    descs = [d.strip() for d in descs if isinstance(d, str) and d.strip()]
    if not descs and item.get("category"):
        descs = [str(item["category"]).replace("_", " ")]
    return descs


def chosen_description(item: dict[str, Any], use_text: bool, pick: float) -> str | None:
    """The description an example is conditioned on, or None when it takes an audio query.

    ``use_text`` and ``pick`` come from :func:`example_choices`; an item without descriptions always
    takes an audio query.
    """
    descs = item_descriptions(item)
    if not (use_text and descs):
        return None
    return descs[min(int(pick * len(descs)), len(descs) - 1)]


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
        info = getattr(bank, "info", None) or {}
        cats = info.get("categories")
        if len(clips) != len(bank) or (cats is not None and sorted({c.category for c in clips}) != list(cats)):
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
    fingerprint of the words model); unseen texts are embedded when first met.
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
        items: Sequence[dict[str, Any]],
        use_text: Sequence[bool],
        picks: Sequence[float],
        windows: Sequence[Any] | None = None,
    ) -> np.ndarray:
        """``(B, D)`` conditioning vectors: text embedding of description ``picks[i]`` or audio embedding.

        ``windows[i]``, when given, holds item ``i``'s conditioning crop already cut into the SoundWords
        tower's windows (:func:`load_batch`); the embedding is the same as from ``cond_audio``.
        """
        out: list[np.ndarray | None] = [None] * len(items)
        need_text = []
        audio_idx = []
        for i, (item, t, p) in enumerate(zip(items, use_text, picks, strict=True)):
            d = chosen_description(item, t, p)
            if d is not None:
                need_text.append((i, d))
            else:
                key = str(item.get("clip_id", ""))
                pool = self.audio_pool.get(key, [])
                if self.reuse and key and len(pool) >= self.reuse:
                    out[i] = pool[min(int(p * len(pool)), len(pool) - 1)]
                    self.audio_reused += 1
                else:
                    audio_idx.append(i)
        if need_text:
            self.add_texts([d for _, d in need_text], save=False)
            text = np.stack([self.text[d] for _, d in need_text])
            if self.expander is not None:
                text = self.expander(text, [str(items[i].get("clip_id", "")) for i, _ in need_text])
            for (i, _), e in zip(need_text, text, strict=True):
                out[i] = e
        if audio_idx:
            if windows is not None and all(windows[i] is not None for i in audio_idx):
                wins = [np.asarray(windows[i]) for i in audio_idx]
                embs = np.asarray(self.words.embed_windows(wins), np.float32)  # type: ignore[attr-defined]
            else:
                clips = [np.asarray(items[i]["cond_audio"], dtype=np.float32) for i in audio_idx]
                embs = np.asarray(self.words.embed_audio(clips, self.sr), np.float32)
            self.audio_computed += len(audio_idx)
            for i, e in zip(audio_idx, embs, strict=True):
                out[i] = e
                if self.reuse:
                    key = str(items[i].get("clip_id", ""))
                    if key:
                        self.audio_pool.setdefault(key, []).append(e)
        return np.stack(out).astype(np.float32)  # type: ignore[arg-type]


@dataclass
class Batch:
    """Tensors of one (local) batch."""

    mixture: torch.Tensor
    target: torch.Tensor
    background: torch.Tensor
    cond: torch.Tensor
    text_fraction: float


def example_choices(seed: int, index: int, text_rate: float) -> tuple[bool, float]:
    """For global example ``index``: (condition on text?, which description as a fraction in [0, 1))."""
    rng = np.random.default_rng((seed, 7, int(index)))
    return bool(rng.random() < text_rate), float(rng.random())


@dataclass
class LoadedBatch:
    """The CPU half of a batch (:func:`load_batch`): audio, the examples' query choices and, for audio
    queries, the SoundWords tower's input windows when the embedder can prepare them ahead."""

    mixture: torch.Tensor
    target: torch.Tensor
    background: torch.Tensor
    items: list[dict[str, Any]]
    use_text: list[bool]
    picks: list[float]
    window_data: torch.Tensor | None  # every prepared window, stacked: (sum of counts, window_samples)
    window_counts: list[int]  # windows per item (0: none prepared)

    @property
    def windows(self) -> list[np.ndarray | None]:
        """Per item, its prepared SoundWords windows or ``None``."""
        out: list[np.ndarray | None] = []
        at = 0
        for k in self.window_counts:
            out.append(None if k == 0 or self.window_data is None else self.window_data[at : at + k].numpy())
            at += k
        return out


def _has_windows(words: Any) -> bool:
    return callable(getattr(words, "audio_windows", None)) and callable(getattr(words, "embed_windows", None))


def load_batch(
    dataset: Any, indices: Sequence[int], seed: int, text_rate: float, words: Any = None, sample_rate: int = 16000
) -> LoadedBatch:
    """Draw the examples ``indices`` (the part of :func:`make_batch` that needs no model on a device).

    With ``words`` that has ``audio_windows`` the audio-query examples also get their tower windows
    (resampling and framing, the expensive CPU part of an audio embedding), so data-loading worker
    processes can do it. Items keep only light fields (no arrays) to stay cheap to send between processes.
    """
    full = [draw_example(dataset, i) for i in indices]
    n = min(int(np.asarray(it["mixture"]).shape[-1]) for it in full)
    choices = [example_choices(seed, i, text_rate) for i in indices]
    wins: list[np.ndarray] = []
    counts: list[int] = []
    items = []
    for it, (t, p) in zip(full, choices, strict=True):
        light = {key: v for key, v in it.items() if not isinstance(v, np.ndarray)}
        counts.append(0)
        if chosen_description(it, t, p) is None:
            if words is not None and _has_windows(words):
                wins.append(np.asarray(words.audio_windows(it["cond_audio"], sample_rate), dtype=np.float32))
                counts[-1] = wins[-1].shape[0]
            else:
                light["cond_audio"] = torch.from_numpy(it["cond_audio"])
        items.append(light)

    def stack(key: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([it[key][:n] for it in full])).unsqueeze(1)

    return LoadedBatch(
        stack("mixture"),
        stack("target"),
        stack("background"),
        items,
        [c[0] for c in choices],
        [c[1] for c in choices],
        torch.from_numpy(np.concatenate(wins)) if wins else None,  # one tensor: cheap to pass between processes
        counts,
    )


def finish_batch(loaded: LoadedBatch, cache: ConditioningCache) -> Batch:
    """Add the conditioning vectors (SoundWords on its device) to a :class:`LoadedBatch`."""
    cond = cache.conditioning(loaded.items, loaded.use_text, loaded.picks, windows=loaded.windows)
    return Batch(
        loaded.mixture,
        loaded.target,
        loaded.background,
        torch.from_numpy(cond),
        float(np.mean(loaded.use_text)),
    )


def make_batch(dataset: Any, cache: ConditioningCache, indices: Sequence[int], seed: int, text_rate: float) -> Batch:
    """Load the examples ``indices`` and their conditioning vectors into a :class:`Batch`.

    With reused conditioning embeddings (``cache.reuse``) the windows are not prepared ahead: the cache
    decides per example whether an audio query needs computing at all, and skips the resampling if not.
    """
    words = None if cache.reuse else cache.words
    return finish_batch(load_batch(dataset, indices, seed, text_rate, words, cache.sr), cache)


class _StepBatches(torch.utils.data.Dataset):
    """Item ``k`` is the :class:`LoadedBatch` of training step ``start + k`` (for DataLoader workers)."""

    def __init__(
        self, dataset: Any, words: Any, opts: TrainFilterOptions, indices_of: Any, start: int, stop: int
    ) -> None:
        self.dataset, self.words, self.opts, self.indices_of = dataset, words, opts, indices_of
        self.start, self.stop = start, stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __getitem__(self, k: int) -> LoadedBatch:
        o = self.opts
        return load_batch(self.dataset, self.indices_of(self.start + k), o.seed, o.text_rate, self.words, o.sample_rate)


# ---------------------------------------------------------------------------------------------------
# Validation and checkpoint selection


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
            t, r = model(mix, cond, project=True, postfilter=postfilter)
            outs.append(t.cpu())
            ress.append(r.cpu())
            raws.append(model(mix, cond, project=False)[0].cpu())
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


# ---------------------------------------------------------------------------------------------------
# Progress


class _Reporter:
    """Rich progress on a TTY (main process only); one plain line per validation otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self.info = ""
        self.val = ""
        if enabled and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]train-filter[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=total, info="")

    def note(self, text: str) -> None:
        if not self.enabled:
            return
        if self.progress is not None:
            self.progress.console.print(text, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def step(self, step: int, loss: float, sdri: float, eps: float) -> None:
        self.info = f"loss {loss:.2f}  SI-SDRi {sdri:+.2f} dB  {eps:.1f} ex/s"
        if self.progress is not None:
            self.progress.update(self.task, completed=step, info=self.info + self.val)

    def validation(self, step: int, metrics: dict[str, float], best: bool) -> None:
        self.val = (
            f"  val dist {metrics['embedding_distance']:.4f} SI-SDRi {metrics['si_sdri']:+.2f} dB{' *' if best else ''}"
        )
        if self.progress is not None:
            self.progress.update(self.task, info=self.info + self.val)
        else:
            self.note(f"step {step}  {self.info}{self.val}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


# ---------------------------------------------------------------------------------------------------
# Training


def _lr_at(step: int, opts: TrainFilterOptions) -> float:
    """Learning rate at ``step``: linear warm-up, then constant or cosine decay to 5 %."""
    if step < opts.warmup:
        return opts.lr * (step + 1) / max(1, opts.warmup)
    if opts.lr_schedule == "cosine":
        t = min(1.0, (step - opts.warmup) / max(1, opts.steps - opts.warmup))
        return opts.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * t)))
    return opts.lr


def _param_groups(model: SoundFilter, refiner_scale: float) -> list[dict[str, Any]]:
    """The U-Net's parameters at the base learning rate; the mask refiner's (if any) at ``refiner_scale`` times it."""
    refiner = [] if model.refiner is None else list(model.refiner.parameters())
    ids = {id(q) for q in refiner}
    groups = [{"params": [q for q in model.parameters() if id(q) not in ids], "lr_scale": 1.0}]
    if refiner:
        groups.append({"params": refiner, "lr_scale": refiner_scale})
    return groups


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


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


def load_init_weights(model: SoundFilter, path: Path) -> None:
    """Warm-start ``model`` from a SoundFilter model folder or a ``train-filter`` checkpoint file
    (its latest weights). Shapes must match; a model with a mask refiner may start from one without."""
    if path.is_dir():
        state = {k: v.float() for k, v in SoundFilter.from_pretrained(path).state_dict().items()}
    else:
        blob = load_checkpoint(path)
        if blob is None or "model" not in blob:
            raise SfcliError(f"{path} is neither a SoundFilter model folder nor a train-filter checkpoint")
        state = blob["model"]
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise SfcliError(f"the weights in {path} do not fit this model configuration") from exc
    # A model without a mask refiner may start one (it begins as the fixed post-filter); nothing else may differ.
    if unexpected or any(not k.startswith("refiner.") for k in missing):
        raise SfcliError(f"the weights in {path} do not fit this model configuration")


def train_filter(
    opts: TrainFilterOptions,
    train_data: Any,
    valid_data: Any,
    words: Embedder,
    *,
    descriptions: Sequence[str] = (),
    progress: bool = True,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train (or continue training) a SoundFilter; returns a summary dict.

    ``train_data`` / ``valid_data`` are mixing datasets (indexable by example number, items as described
    in :mod:`sfcli.train.filter`); ``words`` embeds text and audio; ``descriptions`` are embedded up front.
    ``stop_after`` ends this call after that many steps (tests use it to simulate an interruption).
    """
    from sfcli.pretrained import resolve_device

    if not 0.0 <= opts.text_rate <= 1.0:
        raise SfcliError(f"the training text rate must be in [0, 1], not {opts.text_rate}")
    if opts.batch_size < 1 or opts.steps < 1:
        raise SfcliError("steps and batch size must be positive")
    if opts.model_config.refiner_channels and not opts.postfilter:
        raise SfcliError("a mask refiner is trained through the post-filter: add --postfilter")
    if opts.postfilter and not opts.model_config.postfilter_fft:
        raise SfcliError("--postfilter needs a post-filter size (--postfilter-fft > 0)")
    device = resolve_device(opts.device)
    info = init_distributed(device)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    run_dir = Path(opts.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    reporter = _Reporter(opts.steps, progress and info.is_main)
    try:
        return _train(opts, train_data, valid_data, words, descriptions, device, info, run_dir, reporter, stop_after)
    finally:
        reporter.close()
        cleanup_distributed()


def _train(
    opts: TrainFilterOptions,
    train_data: Any,
    valid_data: Any,
    words: Embedder,
    descriptions: Sequence[str],
    device: torch.device,
    info: DistInfo,
    run_dir: Path,
    reporter: _Reporter,
    stop_after: int | None,
) -> dict[str, Any]:
    cfg = opts.effective_model_config()
    set_seed(opts.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes; GPU runs are not bitwise reproducible anyway
    model = SoundFilter(cfg).to(device)
    model.train()
    optim = torch.optim.Adam(_param_groups(model, opts.refiner_lr_scale), lr=opts.lr)

    fp = words_fingerprint(words)
    t0 = time.monotonic()
    text_path = run_dir / "text_embeddings.pt"

    expander = None
    if opts.text_expansion:
        bank = getattr(words, "audio_bank", None)
        if bank is None:
            raise SfcliError(
                "--text-expansion needs a SoundWords model with an audio bank (scripts/make_audio_bank.py)"
            )
        expander = TextExpander.for_corpus(bank, getattr(train_data, "corpus", None))

    def make_cache() -> ConditioningCache:
        return ConditioningCache(
            words,
            opts.sample_rate,
            path=text_path,
            fingerprint=fp,
            reuse_per_clip=opts.reuse_cond_embeddings,
            expander=expander,
        )

    # The main process embeds every description once and stores them; the others then read that file.
    if info.is_main:
        cache = make_cache()
        if descriptions:
            reporter.note(f"embedding {len(set(descriptions))} descriptions with SoundWords")
            cache.add_texts(list(descriptions))
    if info.enabled:
        torch.distributed.barrier()
    if not info.is_main:
        cache = make_cache()
        cache.add_texts(list(descriptions), save=False)
    val = build_validation(valid_data, cache, opts.valid_size, opts.seed, opts.text_rate) if info.is_main else None
    setup_seconds = time.monotonic() - t0

    ckpt_path = run_dir / CHECKPOINT_NAME
    state = load_checkpoint(ckpt_path)
    step, train_seconds, examples = 0, 0.0, 0
    best: dict[str, Any] = {"distance": math.inf, "step": -1, "metrics": {}, "state": None}
    history: list[dict[str, Any]] = []
    if state is not None:
        # Read through SoundFilterConfig, so checkpoints written before a config field existed still match.
        saved = state.get("model_config")
        if saved is None or SoundFilterConfig.from_dict(saved).to_dict() != cfg.to_dict():
            raise SfcliError(
                f"{ckpt_path} was written for a different model or ablation setting; "
                "use another --run-dir or the same options"
            )
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optimizer"])
        step, best, history = state["step"], state["best"], state["history"]
        train_seconds, examples = state.get("train_seconds", 0.0), state.get("examples", 0)
        reporter.note(f"resuming {run_dir} at step {step}")
    elif opts.init is not None:
        load_init_weights(model, Path(opts.init))
        reporter.note(f"starting from the weights in {opts.init}")

    ddp: nn.Module = model
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    global_batch = opts.batch_size
    local = global_batch // info.world_size
    if local < 1 or local * info.world_size != global_batch:
        raise SfcliError(f"batch size {global_batch} must be a multiple of the {info.world_size} processes")

    def indices_of(s: int) -> list[int]:
        base = s * global_batch + info.rank * local
        return list(range(base, base + local))

    def save() -> None:
        if info.is_main:
            save_checkpoint(
                ckpt_path,
                {
                    "step": step,
                    "model": _state(model),
                    "optimizer": optim.state_dict(),
                    "best": best,
                    "history": history,
                    "model_config": cfg.to_dict(),
                    "options": {k: str(v) for k, v in asdict(opts).items()},
                    "train_seconds": train_seconds,
                    "examples": examples,
                },
            )

    loader_iter = None
    if opts.workers > 0:
        stop = opts.steps if stop_after is None else min(opts.steps, step + stop_after)
        loader = torch.utils.data.DataLoader(
            _StepBatches(train_data, words, opts, indices_of, step, stop),
            batch_size=None,
            shuffle=False,
            num_workers=opts.workers,
            prefetch_factor=4,
            persistent_workers=False,
        )
        loader_iter = iter(loader)
    pool = ThreadPoolExecutor(max_workers=1) if opts.prefetch and loader_iter is None else None
    pending: Future[Batch] | None = None
    done_here = 0
    last: dict[str, float] = {}
    ema_sdri: float | None = None
    t_mark, ex_mark = time.monotonic(), 0
    eps_rate = 0.0
    try:
        call_start = time.monotonic()
        saved_step = step
        while step < opts.steps and (stop_after is None or done_here < stop_after):
            if opts.max_seconds is not None:
                stop = torch.tensor(float(time.monotonic() - call_start > opts.max_seconds), device=device)
                if info.enabled:
                    torch.distributed.all_reduce(stop)  # every process stops at the same step
                if stop.item() > 0:
                    reporter.note(f"time budget of {opts.max_seconds:.0f} s spent; stopping at step {step}")
                    break
            t_step = time.monotonic()
            if loader_iter is not None:
                batch = finish_batch(next(loader_iter), cache)
            elif pool is None:
                batch = make_batch(train_data, cache, indices_of(step), opts.seed, opts.text_rate)
            else:
                if pending is None:
                    pending = pool.submit(make_batch, train_data, cache, indices_of(step), opts.seed, opts.text_rate)
                batch = pending.result()
                more = step + 1 < opts.steps and (stop_after is None or done_here + 1 < stop_after)
                pending = (
                    pool.submit(make_batch, train_data, cache, indices_of(step + 1), opts.seed, opts.text_rate)
                    if more
                    else None
                )
            for g in optim.param_groups:
                g["lr"] = _lr_at(step, opts) * g.get("lr_scale", 1.0)
            mix = batch.mixture.to(device)
            tgt_est, res_est = ddp(mix, batch.cond.to(device), postfilter=opts.postfilter)
            parts = separation_loss(
                tgt_est,
                res_est,
                batch.target.to(device),
                batch.background.to(device),
                mix,
                residual_output=opts.residual_output,
                consistency_loss=opts.use_consistency_loss,
            )
            if not torch.isfinite(parts.total):
                raise SfcliError(f"the loss became {float(parts.total)} at step {step + 1}; lower --lr")
            optim.zero_grad(set_to_none=True)
            parts.total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip)
            optim.step()
            step += 1
            done_here += 1
            examples += global_batch
            train_seconds += time.monotonic() - t_step
            last = parts.as_dict()
            sdri = float((parts.target_si_sdr.cpu() - si_sdr(batch.mixture, batch.target)).mean())
            ema_sdri = sdri if ema_sdri is None else 0.95 * ema_sdri + 0.05 * sdri
            last["si_sdri"] = sdri
            ex_mark += global_batch
            now = time.monotonic()
            if now - t_mark > 0:
                eps_rate = ex_mark / (now - t_mark)
            if now - t_mark > 10:
                t_mark, ex_mark = now, 0
            reporter.step(step, last["total"], ema_sdri, eps_rate)

            if step % opts.eval_every == 0 or step == opts.steps:
                if info.is_main and val is not None:
                    metrics = validate(model, val, words, opts.sample_rate, device, postfilter=opts.postfilter)
                    is_best = metrics["embedding_distance"] < best["distance"]
                    if is_best:
                        best = {"distance": metrics["embedding_distance"], "step": step, "metrics": metrics}
                        best["state"] = _state(model)
                    history.append(
                        {"step": step, "loss": last["total"], "train_si_sdri": ema_sdri, **metrics, "best": is_best}
                    )
                    reporter.validation(step, metrics, is_best)
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                save()
                saved_step = step
        if step != saved_step:
            save()
    finally:
        if pending is not None:
            pending.cancel()
        if pool is not None:
            pool.shutdown(wait=True)

    finished = step >= opts.steps
    summary: dict[str, Any] = {
        "step": step,
        "finished": finished,
        "loss": last.get("total", float("nan")),
        "loss_parts": last,
        "train_si_sdri_ema": ema_sdri,
        "global_batch": global_batch,
        "processes": info.world_size,
        "examples": examples,
        "train_seconds": round(train_seconds, 1),
        "examples_per_second": round(examples / train_seconds, 2) if train_seconds > 0 else None,
        "setup_seconds": round(setup_seconds, 1),
        "best_step": best["step"],
        "best_valid": best["metrics"],
        "text_rate": opts.text_rate,
        "text_expansion": opts.text_expansion,
        "audio_embeddings_computed": cache.audio_computed,
        "audio_embeddings_reused": cache.audio_reused,
        "parameters": model.num_parameters(),
    }
    if finished and info.is_main:
        final = SoundFilter(cfg)
        final.load_state_dict(best["state"] if best.get("state") is not None else _state(model))
        if opts.out is not None:
            final.save_pretrained(opts.out, half=False)
            summary["model"] = str(opts.out)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def _mixture_datasets(corpus: Any, seed: int, crop_seconds: float, gain_db: float) -> tuple[Any, Any, list[str]]:
    from sfcli.data.mixing import MixtureDataset

    # Every index gives a fresh mixture; a length of 2**62 keeps example numbers from wrapping around.
    train = MixtureDataset(corpus, "train", seed, crop_seconds=crop_seconds, gain_db=gain_db, length=2**62)
    valid = None
    for name in ("valid", "test"):
        try:
            valid = MixtureDataset(corpus, name, seed + 1, crop_seconds=crop_seconds, gain_db=gain_db)
            break
        except SfcliError:  # the split is empty or has a single category
            continue
    descs = [d for d in corpus.descriptions() if isinstance(d, str) and d.strip()]
    return train, valid, descs


def manifest_datasets(
    manifests: Sequence[str | Path], seed: int, crop_seconds: float = 2.0, gain_db: float = 4.0
) -> tuple[Any, Any, list[str]]:
    """Like :func:`corpus_datasets` for user manifests (Clotho, AudioCaps, FSD50K, ESC-50 or JSONL).

    The clips become an in-memory corpus (:meth:`sfcli.data.corpus.Corpus.from_records`); validation
    mixtures come from the ``valid`` split, else ``test``, else there is no validation set.
    """
    from sfcli.data.corpus import Corpus
    from sfcli.data.manifests import read_manifest

    records = [r for m in manifests for r in read_manifest(m)]
    if not records:
        raise SfcliError("the manifests hold no usable clips")
    return _mixture_datasets(Corpus.from_records(records), seed, crop_seconds, gain_db)


def corpus_datasets(
    root: str | Path | None, seed: int, crop_seconds: float = 2.0, gain_db: float = 4.0
) -> tuple[Any, Any, list[str]]:
    """Training and validation :class:`~sfcli.data.mixing.MixtureDataset` of the corpus + all descriptions."""
    from sfcli.data.corpus import Corpus

    corpus = Corpus.open(root) if root is not None else Corpus.open()
    return _mixture_datasets(corpus, seed, crop_seconds, gain_db)


__all__ = [
    "ConditioningCache",
    "LoadedBatch",
    "TextExpander",
    "ToneMixtures",
    "TrainFilterOptions",
    "build_validation",
    "corpus_datasets",
    "draw_example",
    "example_choices",
    "finish_batch",
    "load_batch",
    "make_batch",
    "manifest_datasets",
    "train_filter",
    "validate",
]
