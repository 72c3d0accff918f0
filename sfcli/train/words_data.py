"""Training pairs of ``sfcli train-words``: :class:`PairSource` records from the corpus or a manifest,
and the split / hold-out / cap choices made on them (stable hashes, so every run picks the same clips)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sfcli.errors import SfcliError
from sfcli.words_eval import category_prompt

VALID_NAMES = ("valid", "validation", "val", "dev")


@dataclass
class PairSource:
    """One training clip: a stable key, its descriptions, category, split and an audio loader."""

    key: str
    descriptions: list[str]
    category: str | None
    split: str
    load: Callable[[], tuple[np.ndarray, int]]


def split_of(name: str | None) -> str:
    """The canonical split name (``train``, ``valid`` or ``test``) of a manifest's or corpus' split name;
    an unknown name is returned lower-cased as it is (``None`` means ``train``)."""
    name = (name or "train").lower()
    if name in VALID_NAMES:
        return "valid"
    if name in ("eval", "evaluation", "test"):
        return "test"
    return "train" if name in ("train", "development", "dev_train") else name


def _hash_fraction(key: str) -> float:
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_sources(sources: Sequence[PairSource], valid_fraction: float = 0.1) -> dict[str, list[PairSource]]:
    """Group sources by split; with no validation split, hold out a stable hashed slice of train."""
    out: dict[str, list[PairSource]] = {}
    for s in sources:
        out.setdefault(split_of(s.split), []).append(s)
    if not out.get("valid") and out.get("train"):
        train = out["train"]
        out["valid"] = [s for s in train if _hash_fraction(s.key) < valid_fraction]
        out["train"] = [s for s in train if _hash_fraction(s.key) >= valid_fraction]
    return out


def holdout_split(
    sources: Sequence[PairSource], fraction: float
) -> tuple[list[PairSource], list[PairSource], list[PairSource]]:
    """Take whole categories out of training to measure transfer to categories never seen.

    A stable hashed ``fraction`` of the category names is held out; the first half of it (by hash)
    becomes the *unseen-valid* set (for comparing settings), the second the *unseen-test* set (for
    reporting). Returns ``(kept, unseen_valid, unseen_test)``; clips of held-out categories are taken
    from every split.
    """
    kept: list[PairSource] = []
    unseen_valid: list[PairSource] = []
    unseen_test: list[PairSource] = []
    for s in sources:
        h = _hash_fraction(f"holdout:{s.category}") if s.category else 1.0
        if h < fraction / 2:
            unseen_valid.append(s)
        elif h < fraction:
            unseen_test.append(s)
        else:
            kept.append(s)
    return kept, unseen_valid, unseen_test


def cap_per_category(sources: Sequence[PairSource], cap: int, seed: int = 0) -> list[PairSource]:
    """At most ``cap`` clips per category (a stable hashed choice), order kept; balances the classes
    and bounds the feature-extraction time on large corpora."""
    by_cat: dict[str | None, list[PairSource]] = {}
    for s in sources:
        by_cat.setdefault(s.category, []).append(s)
    keep: set[str] = set()
    for group in by_cat.values():
        group = sorted(group, key=lambda s: _hash_fraction(f"{seed}:{s.key}"))
        keep.update(s.key for s in group[:cap])
    return [s for s in sources if s.key in keep]


def corpus_sources(root: str | Path | None = None, key_prefix: str = "") -> list[PairSource]:
    """Every clip of the sfcli corpus (``sfcli.data.corpus``) as a :class:`PairSource`; ``key_prefix``
    keeps the keys of an added corpus (e.g. mined labels) apart from the main corpus's."""
    try:
        from sfcli.data.corpus import Corpus
    except ImportError as exc:  # pragma: no cover - depends on the corpus module
        raise SfcliError("the corpus module (sfcli.data.corpus) is not available") from exc
    return sources_from_corpus(Corpus.open(root) if root is not None else Corpus.open(), key_prefix)


def sources_from_corpus(corpus: Any, key_prefix: str = "") -> list[PairSource]:
    """Adapt a :class:`sfcli.data.corpus.Corpus` (built or in-memory) to :class:`PairSource` records
    (keys: ``key_prefix`` + clip id)."""
    sr = int(corpus.sample_rate)
    out = []
    for split in ("train", "valid", "test"):
        try:
            clips = corpus.split(split)
        except SfcliError:  # an empty split (e.g. no validation clips: split_sources hashes some off)
            continue
        for clip in clips:

            def load(c: Any = clip) -> tuple[np.ndarray, int]:
                return np.asarray(corpus.audio(c), dtype=np.float32), sr

            descs = [d for d in clip.descriptions if d and d.strip()] or [category_prompt(clip.category)]
            out.append(PairSource(f"{key_prefix}{clip.id}", descs, clip.category or None, split, load))
    return out


def manifest_sources(path: str | Path) -> list[PairSource]:
    """Read a JSONL manifest (``audio`` path relative to the manifest, ``text`` / ``captions`` /
    ``descriptions``, ``category`` / ``label``, ``split``) into :class:`PairSource` records.

    Uses the readers of :mod:`sfcli.data.manifests` when that module offers ``read_manifest``.
    """
    path = Path(path)
    if not path.is_file():
        raise SfcliError(f"{path}: no such manifest")
    try:  # prefer the project's manifest readers (Clotho, AudioCaps, FSD50K, ESC-50, JSONL)
        from sfcli.data import manifests  # type: ignore[attr-defined]

        reader = getattr(manifests, "read_manifest", None)
    except ImportError:
        reader = None
    rows: list[dict[str, Any]] = []
    if reader is not None:
        for r in reader(path):
            rows.append(r if isinstance(r, dict) else dict(vars(r)))
    else:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SfcliError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
    out = []
    for i, row in enumerate(rows):
        audio = row.get("audio") or row.get("path")
        if not audio:
            raise SfcliError(f"{path}: record {i + 1} has no 'audio' field")
        apath = Path(audio)
        if reader is None and not apath.is_absolute():  # the project's readers resolve paths themselves
            apath = path.parent / apath
        descs = row.get("descriptions") or row.get("captions") or row.get("texts") or row.get("text") or []
        if isinstance(descs, str):
            descs = [descs]
        extra = row.get("extra") if isinstance(row.get("extra"), dict) else {}
        cat = row.get("category") or row.get("label") or extra.get("category") or extra.get("label")
        descs = [d for d in descs if isinstance(d, str) and d.strip()] or ([str(cat)] if cat else [])
        if not descs:
            continue

        def load(p: Path = apath) -> tuple[np.ndarray, int]:
            from sfcli.audio import load_audio

            x, sr = load_audio(p)
            return x.mean(axis=0), sr

        out.append(PairSource(str(audio), descs, str(cat) if cat else None, str(row.get("split") or "train"), load))
    if not out:
        raise SfcliError(f"{path}: no usable records")
    return out
