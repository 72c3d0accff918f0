"""SoundFilter training examples and batches: dataset item -> :class:`Example` -> :class:`Batch`.

Example ``i`` of a run is dataset item ``i`` (datasets are pure functions of their seed and the index),
typed as an :class:`Example`, optionally transformed (``transform``, e.g. augmentation; the mixture is
then recomputed as ``target + background``), and scaled so that its mixture has RMS :data:`MIXTURE_RMS`
(:meth:`Example.normalised`, the one place training normalises audio). Near-silent sources are redrawn.

A batch is drawn in two halves so that the first can run in DataLoader worker processes
(``--workers``): :func:`load_batch` (examples, query choices, SoundWords tower windows; CPU only) and
:func:`finish_batch` (conditioning vectors on SoundWords' device). :func:`make_batch` does both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sfcli.data.mixing import rms
from sfcli.embedder import Embedder
from sfcli.errors import SfcliError
from sfcli.train.conditioning import ConditioningCache, chosen_description, example_choices

MIXTURE_RMS = 0.1  # every training example is scaled so that its mixture has this RMS (-20 dBFS)
SILENCE_RMS = 1e-4  # examples whose target or background is quieter than this after scaling are redrawn
MAX_REDRAWS = 8
_AUDIO = ("mixture", "target", "background", "cond_audio")
_TYPED = (*_AUDIO, "text", "descriptions", "clip_id", "category", "absent", "label_free")


@dataclass
class Example:
    """One training example. Audio fields are mono float32 arrays (``None`` once dropped for transport).

    ``absent``: the query's sound is not in the mixture (the target is silence); ``label_free``: the
    example carries no trustworthy description. ``extra`` holds the dataset's other fields (gain, starts...).
    """

    mixture: np.ndarray | None
    target: np.ndarray | None
    background: np.ndarray | None
    cond_audio: np.ndarray | torch.Tensor | None
    text: str | None = None
    descriptions: list[str] = field(default_factory=list)
    clip_id: str = ""
    category: str = ""
    absent: bool = False
    label_free: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Example:
        """Type a dataset item (a dict as :class:`sfcli.data.mixing.MixtureDataset` returns it)."""

        def audio(key: str) -> np.ndarray | None:
            return None if item.get(key) is None else np.asarray(item[key], dtype=np.float32).reshape(-1)

        descs = item.get("descriptions")
        return cls(
            *(audio(k) for k in _AUDIO),
            text=item.get("text"),
            descriptions=[descs] if isinstance(descs, str) else list(descs or []),
            clip_id=str(item.get("clip_id", "")),
            category=str(item.get("category") or ""),
            absent=bool(item.get("absent", False)),
            label_free=bool(item.get("label_free", False)),
            extra={k: v for k, v in item.items() if k not in _TYPED},
        )

    def remixed(self) -> Example:
        """This example with ``mixture = target + background``."""
        return dataclasses.replace(self, mixture=self.target + self.background)

    def normalised(self) -> Example | None:
        """Scaled so that the mixture has RMS :data:`MIXTURE_RMS`; ``None`` when unusable as a training
        example (a near-silent target (unless ``absent``) or background, or a non-finite mixture)."""
        scale = MIXTURE_RMS / max(rms(self.mixture), 1e-12)
        audible = self.absent or rms(self.target) * scale > SILENCE_RMS
        if not (audible and rms(self.background) * scale > SILENCE_RMS and np.isfinite(self.mixture).all()):
            return None
        return dataclasses.replace(
            self, mixture=self.mixture * scale, target=self.target * scale, background=self.background * scale
        )

    def light(self, cond_audio: torch.Tensor | None = None) -> Example:
        """A copy without audio arrays (cheap to send between processes), holding ``cond_audio`` if given."""
        extra = {k: v for k, v in self.extra.items() if not isinstance(v, np.ndarray)}
        return dataclasses.replace(self, mixture=None, target=None, background=None, cond_audio=cond_audio, extra=extra)


ExampleTransform = Callable[[Example, int], Example]
"""``transform(example, index)``: a changed example (deterministic for ``index``); see :func:`draw_example`."""


def _item(dataset: Any, index: int) -> Mapping[str, Any]:
    n = len(dataset) if hasattr(dataset, "__len__") else None
    return dataset[index % n if n else index]


def draw_example(dataset: Any, index: int, transform: ExampleTransform | None = None) -> Example:
    """Item ``index`` as a normalised :class:`Example`; near-silent targets or backgrounds are redrawn.

    ``transform(example, j)`` (``j``: the dataset index drawn) may change the target, background and
    conditioning audio before normalisation; the mixture is then recomputed as target + background.
    Redraws go to deterministic other indices, so the result stays a pure function of ``index``.
    Raises :class:`SfcliError` when the item and all its redraws are silent or non-finite: with real
    data that does not happen by chance, it means the audio is missing or broken (e.g. an incomplete
    corpus), and training or validating on silence would give meaningless numbers.
    """
    for attempt in range(MAX_REDRAWS + 1):
        j = index if attempt == 0 else index + attempt * 1_000_003
        ex = Example.from_item(_item(dataset, j))
        if transform is not None:
            ex = transform(ex, j).remixed()
        scaled = ex.normalised()
        if scaled is not None:
            return scaled
    raise SfcliError(
        f"training example {index} and its {MAX_REDRAWS} redraws all have a silent or non-finite source; "
        "is the corpus audio complete?"
    )


@dataclass
class Batch:
    """Tensors of one (local) batch."""

    mixture: torch.Tensor
    target: torch.Tensor
    background: torch.Tensor
    cond: torch.Tensor
    text_fraction: float
    absent: torch.Tensor | None = None  # (B,) bool: the query's sound is not in the mixture


@dataclass
class LoadedBatch:
    """The CPU half of a batch (:func:`load_batch`): audio, the examples' query choices and, for audio
    queries, the SoundWords tower's input windows when the embedder can prepare them ahead."""

    mixture: torch.Tensor
    target: torch.Tensor
    background: torch.Tensor
    items: list[Example]  # light examples (:meth:`Example.light`)
    use_text: list[bool]
    picks: list[float]
    window_data: torch.Tensor | None  # every prepared window, stacked: (sum of counts, window_samples)
    window_counts: list[int]  # windows per item (0: none prepared)
    absent: torch.Tensor | None = None  # (B,) bool, None when no example is absent

    @property
    def windows(self) -> list[np.ndarray | None]:
        """Per item, its prepared SoundWords windows or ``None``."""
        out: list[np.ndarray | None] = []
        at = 0
        for k in self.window_counts:
            out.append(None if k == 0 or self.window_data is None else self.window_data[at : at + k].numpy())
            at += k
        return out


def _has_windows(words: Embedder | None) -> bool:
    return callable(getattr(words, "audio_windows", None)) and callable(getattr(words, "embed_windows", None))


def load_batch(
    dataset: Any,
    indices: Sequence[int],
    seed: int,
    text_rate: float,
    words: Embedder | None = None,
    sample_rate: int = 16000,
    transform: ExampleTransform | None = None,
) -> LoadedBatch:
    """Draw the examples ``indices`` (the part of :func:`make_batch` that needs no model on a device).

    With ``words`` that has ``audio_windows`` the audio-query examples also get their tower windows
    (resampling and framing, the expensive CPU part of an audio embedding), so data-loading worker
    processes can do it. Items are light examples (no arrays) to stay cheap to send between processes.
    """
    full = [draw_example(dataset, i, transform) for i in indices]
    n = min(int(ex.mixture.shape[-1]) for ex in full)
    choices = [example_choices(seed, i, text_rate) for i in indices]
    wins: list[np.ndarray] = []
    counts: list[int] = []
    items = []
    for ex, (t, p) in zip(full, choices, strict=True):
        cond = None
        counts.append(0)
        if chosen_description(ex, t, p) is None:
            if words is not None and _has_windows(words):
                wins.append(np.asarray(words.audio_windows(ex.cond_audio, sample_rate), dtype=np.float32))
                counts[-1] = wins[-1].shape[0]
            else:
                cond = torch.from_numpy(ex.cond_audio)
        items.append(ex.light(cond))

    def stack(key: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([getattr(ex, key)[:n] for ex in full])).unsqueeze(1)

    return LoadedBatch(
        stack("mixture"),
        stack("target"),
        stack("background"),
        items,
        [c[0] for c in choices],
        [c[1] for c in choices],
        torch.from_numpy(np.concatenate(wins)) if wins else None,  # one tensor: cheap to pass between processes
        counts,
        torch.tensor([ex.absent for ex in full]) if any(ex.absent for ex in full) else None,
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
        loaded.absent,
    )


def make_batch(
    dataset: Any,
    cache: ConditioningCache,
    indices: Sequence[int],
    seed: int,
    text_rate: float,
    transform: ExampleTransform | None = None,
) -> Batch:
    """Load the examples ``indices`` and their conditioning vectors into a :class:`Batch`.

    With reused conditioning embeddings (``cache.reuse``) the windows are not prepared ahead: the cache
    decides per example whether an audio query needs computing at all, and skips the resampling if not.
    """
    words = None if cache.reuse else cache.words
    return finish_batch(load_batch(dataset, indices, seed, text_rate, words, cache.sr, transform), cache)


@dataclass
class BatchPlan:
    """What fixes the batches of a run: example ``i`` and its query are pure functions of these."""

    dataset: Any
    seed: int
    text_rate: float
    indices_of: Callable[[int], list[int]]  # step -> this process's global example numbers
    sample_rate: int = 16000
    transform: ExampleTransform | None = None

    def load(self, step: int, words: Any = None) -> LoadedBatch:
        """The CPU half of step ``step``'s batch."""
        return load_batch(
            self.dataset, self.indices_of(step), self.seed, self.text_rate, words, self.sample_rate, self.transform
        )

    def make(self, step: int, cache: ConditioningCache) -> Batch:
        """Step ``step``'s whole batch (:func:`make_batch`)."""
        return make_batch(self.dataset, cache, self.indices_of(step), self.seed, self.text_rate, self.transform)


class StepBatches(torch.utils.data.Dataset):
    """Item ``k`` is the :class:`LoadedBatch` of training step ``start + k`` (for DataLoader workers)."""

    def __init__(self, plan: BatchPlan, words: Any, start: int, stop: int) -> None:
        self.plan, self.words, self.start, self.stop = plan, words, start, stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __getitem__(self, k: int) -> LoadedBatch:
        return self.plan.load(self.start + k, self.words)


__all__ = [
    "MIXTURE_RMS",
    "Batch",
    "BatchPlan",
    "Example",
    "ExampleTransform",
    "LoadedBatch",
    "StepBatches",
    "draw_example",
    "finish_batch",
    "load_batch",
    "make_batch",
]
