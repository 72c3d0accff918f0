"""The label-free training pool (issue 20): recordings without descriptions, for query-by-example training.

Built by ``python scripts/corpus/unlabelled.py`` into ``$SFCLI_CACHE/pool`` in the corpus format
(:class:`sfcli.data.corpus.Corpus` opens it): every clip has ``category`` "" , no descriptions, split
``train`` and the extra keys ``kind`` (sfx / music / speech / ambience) and ``origin`` (recorded / designed).
A pool clip serves as a target (its conditioning crop comes from the same clip) or as a background.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sfcli.data.corpus import ClipRecord, Corpus, default_cache_dir
from sfcli.data.mixing import rms
from sfcli.errors import SfcliError

_TRIES = 8
_MIN_RMS = 1e-4  # -80 dBFS
POOL_EMBEDDINGS = "soundwords"  # <pool>/soundwords.npy + .json, written by scripts/make_pool_embeddings.py


def default_pool_dir() -> Path:
    """Where the pool lives: ``$SFCLI_CACHE/pool`` (default ``~/.cache/sfcli/pool``)."""
    return default_cache_dir() / "pool"


def open_pool(path: str | Path | None = None) -> Corpus | None:
    """The pool at ``path`` (default :func:`default_pool_dir`), or None when no pool was built there.

    A folder that holds a pool but cannot be read raises :class:`~sfcli.errors.SfcliError`."""
    root = Path(path).expanduser() if path is not None else default_pool_dir()
    if not (root / "clips.jsonl").is_file() and not (root / "audio.int16").is_file():
        return None
    pool = Corpus.open(root)
    return pool if len(pool) else None


def random_crop(
    pool: Corpus,
    n: int,
    rng: np.random.Generator,
    kinds: Sequence[str] | None = None,
    tries: int = _TRIES,
) -> tuple[np.ndarray, ClipRecord]:
    """A crop of ``n`` samples (float32) from a clip drawn uniformly from ``pool``, and that clip.

    Deterministic for the state of ``rng``. A crop whose RMS is below a quarter of its clip's RMS (or below
    -80 dBFS) is drawn again, from another clip, up to ``tries`` times; then the loudest candidate is kept.
    A clip shorter than ``n`` is placed whole at a random offset in a zero window. ``kinds`` limits the
    clips to those kinds (e.g. ``("sfx", "ambience")``)."""
    if n <= 0:
        raise SfcliError("crop length must be positive")
    clips = [c for c in pool.clips if not kinds or c.extra.get("kind") in kinds]
    if not clips:
        raise SfcliError(f"the pool has no clips of kind {', '.join(kinds or [])}")
    best: tuple[float, np.ndarray, ClipRecord] | None = None
    for _ in range(max(1, tries)):
        clip = clips[int(rng.integers(len(clips)))]
        length = pool.num_samples(clip)
        if length >= n:
            x = pool.crop(clip, int(rng.integers(length - n + 1)), n)
        else:
            x = np.zeros(n, np.float32)
            start = int(rng.integers(n - length + 1))
            x[start : start + length] = pool.crop(clip, 0, length)
        level = rms(x)
        if level >= max(_MIN_RMS, 0.25 * rms(pool.audio(clip)) * min(1.0, (length / n) ** 0.5)):
            return x, clip
        if best is None or level > best[0]:
            best = (level, x, clip)
    assert best is not None
    return best[1], best[2]


class PoolCategories:
    """A label-free pool corpus seen with one pseudo-category per source package / set.

    :class:`MixtureDataset` then draws a target clip and a background from *another source*, which is
    all that query-by-example training needs; the records keep their audio offsets.
    """

    def __init__(self, pool: Any) -> None:
        self.inner = pool
        self.sample_rate = int(getattr(pool, "sample_rate", 16000))
        self._splits: dict[str, list[Any]] = {}

    def split(self, name: str) -> list[Any]:
        """The pool's clips of split ``name`` with ``category = "pool:<source>"`` and no group."""
        if name not in self._splits:
            self._splits[name] = [
                dataclasses.replace(c, category=f"pool:{c.source or 'unknown'}", extra={**(c.extra or {}), "group": ""})
                for c in self.inner.split(name)
            ]
        return self._splits[name]

    def audio(self, clip: Any) -> np.ndarray:
        """The whole clip as float32."""
        return self.inner.audio(clip)

    def crop(self, clip: Any, start: int, length: int) -> np.ndarray:
        """``length`` samples of the clip from ``start``."""
        return self.inner.crop(clip, start, length)

    def num_samples(self, clip: Any) -> int:
        """The clip's length in samples."""
        return self.inner.num_samples(clip)


def clip_ids_digest(clips: Sequence[ClipRecord]) -> str:
    """A short digest of the clips' ids in their order (says which rows an embedding file belongs to)."""
    return hashlib.sha1("\n".join(str(c.id) for c in clips).encode()).hexdigest()[:16]


def pool_embeddings(root: str | Path, clips: Sequence[ClipRecord]) -> np.ndarray:
    """The SoundWords audio embedding of each of ``clips`` (the pool's train split at ``root``, in its
    order), float32 ``(len(clips), dim)``, as ``scripts/make_pool_embeddings.py`` wrote them; a missing
    file or one made for other clips raises :class:`~sfcli.errors.SfcliError`."""
    base = Path(root).expanduser() / POOL_EMBEDDINGS
    hint = f"run: python scripts/make_pool_embeddings.py --pool {Path(root).expanduser()}"
    try:
        info = json.loads(base.with_suffix(".json").read_text())
        rows = np.load(base.with_suffix(".npy"))
    except (OSError, ValueError) as e:
        raise SfcliError(f"no readable pool embeddings at {base}.npy ({hint})") from e
    if info.get("clip_ids") != clip_ids_digest(clips) or len(rows) != len(clips):
        raise SfcliError(f"the pool embeddings at {base}.npy were made for other clips ({hint})")
    return np.asarray(rows, dtype=np.float32)


__all__ = [
    "POOL_EMBEDDINGS",
    "PoolCategories",
    "clip_ids_digest",
    "default_pool_dir",
    "open_pool",
    "pool_embeddings",
    "random_crop",
]
