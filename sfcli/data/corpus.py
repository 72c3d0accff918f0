"""The sfcli training corpus: one memory-mapped int16 array plus a JSONL clip index.

Layout of a corpus folder (built by ``python scripts/corpus/build.py``)::

    audio.int16   all clips concatenated, 16 kHz mono int16 (read with ``np.memmap``)
    clips.jsonl   one JSON object per clip (see :class:`ClipRecord`)
    meta.json     sample_rate, counts, build date, command

Random crops are cheap: a crop is a slice of the memory map, converted to float32 in [-1, 1).
Clips are stored raw (peak-safe, not loudness-normalised); callers RMS-normalise as they need.
A corpus can also be built in memory from manifest records (:meth:`Corpus.from_records`), so that
user-supplied standard datasets (Clotho, AudioCaps, ...) train through the same code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sfcli.errors import AudioError, SfcliError

SAMPLE_RATE = 16000
SPLITS = ("train", "valid", "test")
_SPLIT_ALIASES = {"validation": "valid", "val": "valid", "dev": "valid", "eval": "test"}


def default_cache_dir() -> Path:
    """The sfcli cache folder: ``$SFCLI_CACHE`` or ``~/.cache/sfcli``."""
    env = os.environ.get("SFCLI_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "sfcli"


def default_corpus_dir() -> Path:
    """Where the built corpus lives: ``$SFCLI_CACHE/corpus`` (default ``~/.cache/sfcli/corpus``)."""
    return default_cache_dir() / "corpus"


@dataclass
class ClipRecord:
    """One clip of the corpus.

    ``offset`` and ``length`` are in samples into ``audio.int16``; for in-memory corpora
    (:meth:`Corpus.from_records`) ``offset`` indexes the clip list and ``length`` is filled on load.
    """

    id: str
    source: str
    path: str
    licence: str
    category: str
    descriptions: list[str]
    duration: float
    split: str
    offset: int = 0
    length: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (``extra`` keys are merged at top level)."""
        d = asdict(self)
        extra = d.pop("extra") or {}
        d.update({k: v for k, v in extra.items() if k not in d})
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClipRecord:
        """Build a record from one ``clips.jsonl`` object; unknown keys go to ``extra``."""
        known = {"id", "source", "path", "licence", "category", "descriptions", "duration", "split", "offset", "length"}
        missing = [k for k in ("id", "category", "descriptions", "split") if k not in d]
        if missing:
            raise SfcliError(f"corpus record lacks {', '.join(missing)}: {str(d)[:120]}")
        descs = d["descriptions"]
        if isinstance(descs, str):
            descs = [descs]
        return cls(
            id=str(d["id"]),
            source=str(d.get("source", "")),
            path=str(d.get("path", "")),
            licence=str(d.get("licence", "")),
            category=str(d["category"]),
            descriptions=[str(x) for x in descs],
            duration=float(d.get("duration", 0.0)),
            split=_SPLIT_ALIASES.get(str(d["split"]), str(d["split"])),
            offset=int(d.get("offset", 0)),
            length=int(d.get("length", 0)),
            extra={k: v for k, v in d.items() if k not in known},
        )


def _to_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32) / 32768.0


class Corpus:
    """A set of described clips with splits and cheap random access to 16 kHz mono audio."""

    def __init__(
        self,
        clips: Sequence[ClipRecord],
        audio: np.ndarray | None = None,
        sample_rate: int = SAMPLE_RATE,
        root: Path | None = None,
        loader: Any = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Wrap clip records and either a flat int16 array (``audio``) or a per-clip ``loader``."""
        self.clips: list[ClipRecord] = list(clips)
        self.sample_rate = int(sample_rate)
        self.root = root
        self.meta = meta or {}
        self._audio = audio
        self._loader = loader
        self._cache: dict[str, np.ndarray] = {}
        self._by_split: dict[str, list[ClipRecord]] = {}
        for c in self.clips:
            self._by_split.setdefault(c.split, []).append(c)

    # -- construction --------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path | None = None) -> Corpus:
        """Open a built corpus folder (default :func:`default_corpus_dir`)."""
        root = Path(path).expanduser() if path is not None else default_corpus_dir()
        if root.is_file() and root.name == "clips.jsonl":
            root = root.parent
        index = root / "clips.jsonl"
        data = root / "audio.int16"
        if not index.is_file() or not data.is_file():
            raise SfcliError(
                f"{root}: no corpus here (need clips.jsonl and audio.int16); "
                "build it with `python scripts/corpus/build.py`"
            )
        meta: dict[str, Any] = {}
        if (root / "meta.json").is_file():
            meta = json.loads((root / "meta.json").read_text())
        sr = int(meta.get("sample_rate", SAMPLE_RATE))
        clips = []
        with index.open() as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    clips.append(ClipRecord.from_json(json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise SfcliError(f"{index}:{n}: not valid JSON ({exc.msg})") from exc
        size = data.stat().st_size // 2
        audio = np.memmap(data, dtype=np.int16, mode="r", shape=(size,)) if size else np.zeros(0, np.int16)
        for c in clips:
            if c.offset < 0 or c.length <= 0 or c.offset + c.length > size:
                raise SfcliError(
                    f"{index}: clip {c.id} lies outside audio.int16 (offset {c.offset}, length {c.length})"
                )
        return cls(clips, audio=audio, sample_rate=sr, root=root, meta=meta)

    @classmethod
    def from_records(cls, records: Iterable[Any], sample_rate: int = SAMPLE_RATE) -> Corpus:
        """An in-memory corpus from manifest records (:class:`sfcli.data.manifests.AudioTextRecord`).

        Audio is loaded lazily from each record's file, mixed to mono and resampled to ``sample_rate``.
        """
        clips = []
        paths = []
        for i, r in enumerate(records):
            texts = [t for t in (getattr(r, "texts", None) or []) if t and t.strip()]
            if not texts:
                continue
            audio_path = str(r.audio)
            cat = getattr(r, "category", None) or texts[0]
            split = _SPLIT_ALIASES.get(getattr(r, "split", None) or "train", getattr(r, "split", None) or "train")
            clips.append(
                ClipRecord(
                    id=f"m{i:06d}",
                    source=str(getattr(r, "source", "") or "manifest"),
                    path=audio_path,
                    licence=str(getattr(r, "licence", "") or ""),
                    category=str(cat),
                    descriptions=texts[:5],
                    duration=float(getattr(r, "duration", 0.0) or 0.0),
                    split=split,
                    offset=len(paths),
                    length=0,
                )
            )
            paths.append(audio_path)

        def load(clip: ClipRecord) -> np.ndarray:
            from sfcli.audio import load_audio_mono

            x = load_audio_mono(paths[clip.offset], sample_rate)
            return np.asarray(x, dtype=np.float32).reshape(-1)

        return cls(clips, audio=None, sample_rate=sample_rate, loader=load)

    # -- queries --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.clips)

    def split(self, name: str) -> list[ClipRecord]:
        """Clips of split ``name`` (``train``, ``valid``/``validation``, ``test``); raises if empty."""
        key = _SPLIT_ALIASES.get(name, name)
        if key not in SPLITS and key not in self._by_split:
            raise SfcliError(f"unknown split {name!r} (use train, valid or test)")
        out = self._by_split.get(key, [])
        if not out:
            raise SfcliError(f"the corpus has no clips in split {name!r}")
        return list(out)

    @property
    def categories(self) -> list[str]:
        """Sorted unique categories of all clips."""
        return sorted({c.category for c in self.clips})

    def descriptions(self) -> list[str]:
        """Sorted unique list of every description string in the corpus."""
        return sorted({d for c in self.clips for d in c.descriptions})

    def by_id(self, clip_id: str) -> ClipRecord:
        """The clip with id ``clip_id``."""
        for c in self.clips:
            if c.id == clip_id:
                return c
        raise SfcliError(f"no clip with id {clip_id!r}")

    # -- audio -----------------------------------------------------------------------------------------
    def num_samples(self, clip: ClipRecord) -> int:
        """Length of ``clip`` in samples (loads in-memory clips once)."""
        if self._audio is not None:
            return clip.length
        return len(self.audio(clip))

    def audio(self, clip: ClipRecord) -> np.ndarray:
        """The whole clip as float32 ``(n,)`` in [-1, 1)."""
        if self._audio is not None:
            return _to_float(self._audio[clip.offset : clip.offset + clip.length])
        if clip.id not in self._cache:
            try:
                x = self._loader(clip)
            except SfcliError:
                raise
            except Exception as exc:
                raise AudioError(f"{clip.path}: cannot read audio ({exc})") from exc
            if x.size == 0:
                raise AudioError(f"{clip.path}: empty audio")
            self._cache[clip.id] = x
            clip.length = int(x.size)
            clip.duration = x.size / self.sample_rate
        return self._cache[clip.id]

    def crop(self, clip: ClipRecord, start: int, length: int) -> np.ndarray:
        """``length`` samples of ``clip`` from ``start`` as float32, zero-padded past the clip's end."""
        if length <= 0:
            return np.zeros(0, np.float32)
        start = max(0, int(start))
        out = np.zeros(int(length), np.float32)
        if self._audio is not None:
            n = min(int(length), clip.length - start)
            if n > 0:
                out[:n] = _to_float(self._audio[clip.offset + start : clip.offset + start + n])
            return out
        x = self.audio(clip)
        seg = x[start : start + length]
        out[: seg.size] = seg
        return out


__all__ = ["SAMPLE_RATE", "SPLITS", "ClipRecord", "Corpus", "default_cache_dir", "default_corpus_dir"]
