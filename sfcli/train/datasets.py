"""Mixing datasets for ``train-filter``: the corpus, user manifests, or synthetic tones (``--tiny``).

A mixing dataset is indexable by example number and returns dicts with ``mixture``, ``target``,
``background``, ``cond_audio`` and ``text`` / ``descriptions`` / ``category`` / ``clip_id``
(:class:`sfcli.data.mixing.MixtureDataset`); :class:`sfcli.train.examples.Example` types them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sfcli.errors import SfcliError


class ToneMixtures:
    """A synthetic mixing dataset for ``train-filter --tiny`` smoke runs, tests and benchmarks.

    It lives in the package, not in ``tests/``, because the CLI's ``--tiny`` mode (and the recipes'
    smoke runs built on it) train on it without a corpus. Category ``c`` is a harmonic tone at
    ``BASE_FREQS[c]`` with a random tremolo; each item mixes a target of one category with a background of
    another plus a little noise, at ±``gain_db``. Item ``i`` is a pure function of ``(seed, i)``.
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


def tone_datasets(seed: int, crop_seconds: float) -> tuple[ToneMixtures, ToneMixtures, list[str]]:
    """``--tiny``: training and validation tone mixtures (a quarter of ``crop_seconds`` long) + descriptions."""
    train = ToneMixtures(seed, seconds=crop_seconds / 4)
    return train, ToneMixtures(seed + 1, crop_seconds / 4), train.descriptions()


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


def check_manifest_audio(manifests: Sequence[str | Path]) -> None:
    """Refuse, before any model or audio loads, a manifest some of whose audio files are missing (the
    manifest readers skip such records; training on the rest would silently use fewer clips)."""
    from sfcli.data.manifests import missing_audio

    for manifest in manifests:
        missing = missing_audio(manifest)
        if missing:
            files = "audio file" if len(missing) == 1 else "audio files"
            raise SfcliError(f"{manifest}: {len(missing)} {files} not found (first: {missing[0]})")


def corpus_datasets(
    root: str | Path | None, seed: int, crop_seconds: float = 2.0, gain_db: float = 4.0
) -> tuple[Any, Any, list[str]]:
    """Training and validation :class:`~sfcli.data.mixing.MixtureDataset` of the corpus + all descriptions."""
    from sfcli.data.corpus import Corpus

    corpus = Corpus.open(root) if root is not None else Corpus.open()
    return _mixture_datasets(corpus, seed, crop_seconds, gain_db)


def robust_corpus_datasets(
    root: str | Path | None,
    seed: int,
    options: Any,
    pool: str | Path | None = None,
    crop_seconds: float = 2.0,
    bank: Any | None = None,
) -> tuple[Any, Any, list[str]]:
    """Like :func:`corpus_datasets`, but training on :class:`~sfcli.data.robust.RobustMixtures` with
    ``options`` (and the label-free pool at ``pool``); validation stays on plain corpus mixtures.
    ``bank``: the SoundWords audio bank of the corpus's train split, whose rows say which categories
    sound alike (needed for ``options.similar_backgrounds``); ``options.similar_pool`` and
    ``options.pool_other_take`` read the pool's clip embeddings (:func:`sfcli.data.pool.pool_embeddings`)."""
    from sfcli.data.corpus import Corpus
    from sfcli.data.robust import RobustMixtures

    corpus = Corpus.open(root) if root is not None else Corpus.open()
    _, valid, descs = _mixture_datasets(corpus, seed, crop_seconds, 4.0)
    if pool is not None and not Path(pool).exists():
        raise SfcliError(f"no label-free pool at {pool}; build it with scripts/corpus/unlabelled.py")
    pool_corpus = Corpus.open(pool) if pool is not None else None
    cat_emb = category_embeddings(bank, corpus) if options.similar_backgrounds > 0 else None
    pool_emb = None
    if (options.similar_pool > 0 or options.pool_other_take > 0) and pool_corpus is not None:
        from sfcli.data.pool import pool_embeddings

        pool_emb = pool_embeddings(pool, pool_corpus.split("train"))
    train = RobustMixtures(
        corpus,
        "train",
        seed,
        options,
        pool_corpus,
        crop_seconds,
        length=2**62,
        category_embeddings=cat_emb,
        pool_embeddings=pool_emb,
    )
    return train, valid, descs


def category_embeddings(bank: Any | None, corpus: Any) -> dict[str, np.ndarray]:
    """The mean audio-bank row of each category of ``corpus``'s train split (the bank must have been
    built from that split, one row per clip in its order, as ``scripts/make_audio_bank.py`` writes it)."""
    from sfcli.train.conditioning import bank_matches_clips

    clips = corpus.split("train")
    if bank is None or not bank_matches_clips(bank, clips):
        have = "no audio bank" if bank is None else f"an audio bank of {len(bank)} rows"
        raise SfcliError(
            f"--similar-backgrounds needs the SoundWords audio bank of this corpus' train split ({len(clips)} "
            f"clips); the model has {have} (rebuild it with scripts/make_audio_bank.py)"
        )
    rows = np.asarray(bank.embeddings, dtype=np.float32)
    by_cat: dict[str, list[int]] = {}
    for i, c in enumerate(clips):
        by_cat.setdefault(c.category, []).append(i)
    return {cat: rows[idx].mean(axis=0) for cat, idx in by_cat.items()}


__all__ = [
    "ToneMixtures",
    "category_embeddings",
    "check_manifest_audio",
    "corpus_datasets",
    "manifest_datasets",
    "robust_corpus_datasets",
    "tone_datasets",
]
