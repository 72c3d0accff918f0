"""Evaluation mixtures from labelled real clips: any JSONL/CSV manifest or folder of recordings.

This is how sfcli measures separation on recordings from outside its training corpus (for example
``../shared/data/kitchen20``). Input is a set of clips with a class label each:

* JSONL: one object per line with ``audio`` and ``label`` (or ``category``); optional ``text`` (the
  description used as the text query; default: the label) and ``source_id`` (clips sharing it are
  cuts of one recording and are never used as each other's reference).
* CSV: columns ``audio`` (or ``filename``), ``label`` (or ``category``), optional ``text``, ``source_id``.
* A folder: every audio file below ``ROOT/<label>/``.

Two protocols build two-source mixtures whose target and background never share a label:

* ``paper`` (paper 3.3.1): a 2–4 s crop of the target clip (the whole clip when shorter than 2 s), a
  background crop of the same length from a clip of another label (looped when shorter), both
  RMS-normalised and the background at a uniform gain in [−4, +4] dB; the text query is the clip's
  ``text``; the audio query is a crop of the same length from *another recording* of the target label.
* ``esc50`` (AudioSep's ESC-50 protocol): whole clips, the background cut or looped to the target's
  length, 0 dB, and the label itself (``-``/``_`` read as spaces) as the text query; the reference is
  another whole recording of the label.

Every mixture also carries an *absent* query, the text and a reference clip of a third label that is in
neither source: a separator that follows its query should return (almost) nothing for it.
Everything is deterministic for ``(seed, index)``; ``mixture == target + background`` exactly.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sfcli.data.mixing import rms
from sfcli.errors import SfcliError
from sfcli.evaluation import EvalMixture

PROTOCOLS = ("paper", "esc50")
AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
TARGET_RMS = 0.1  # -20 dBFS: the level both sources are normalised to before the background gain
PAPER_SECONDS = (2.0, 4.0)
PAPER_GAIN_DB = 4.0


@dataclass(frozen=True)
class LabelledClip:
    """One real recording: its file, class label, text query and recording id (cuts share it)."""

    audio: Path
    label: str
    text: str
    source: str


def label_text(label: str) -> str:
    """A class label as plain words: ``"frying-pan"`` -> ``"frying pan"``."""
    return " ".join(label.replace("_", " ").replace("-", " ").split())


def _clip(audio: Path, label: str, text: str | None, source: str | None) -> LabelledClip:
    label = str(label).strip()
    return LabelledClip(audio, label, (text or "").strip() or label_text(label), str(source or audio))


def _rows_jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SfcliError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise SfcliError(f"{path}:{n}: expected a JSON object")
        rows.append(row)
    return rows


def _rows_csv(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(f)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SfcliError(f"{path}: cannot read CSV ({exc})") from exc


def _from_rows(path: Path, rows: list[dict]) -> list[LabelledClip]:
    out = []
    for n, row in enumerate(rows, 1):
        audio = row.get("audio") or row.get("filename") or row.get("file")
        label = row.get("label") or row.get("category")
        if not audio or not label:
            raise SfcliError(f"{path}: row {n} needs 'audio' and 'label' (or 'category')")
        p = Path(str(audio))
        p = p if p.is_absolute() else path.parent / p
        if not p.is_file() and (path.parent / "audio" / p.name).is_file():
            p = path.parent / "audio" / p.name
        if not p.is_file():
            raise SfcliError(f"{path}: row {n}: audio file {p} not found")
        source = row.get("source_id") or row.get("src_file") or None
        out.append(_clip(p, str(label), row.get("text") if isinstance(row.get("text"), str) else None, source))
    return out


def read_labelled(path: str | Path) -> list[LabelledClip]:
    """Read labelled clips from a JSONL/CSV manifest or a folder of ``<label>/`` sub-folders.

    Raises :class:`SfcliError` for a missing path, a row without audio or label, a missing audio file, or
    fewer than two labels (the background needs another label than the target; the absent-sound
    query a third, checked by :func:`labelled_mixtures`).
    """
    path = Path(path)
    if path.is_dir():
        clips = [
            _clip(f, f.parent.relative_to(path).parts[0], None, None)
            for f in sorted(path.rglob("*"))
            if f.is_file() and f.suffix.lower() in AUDIO_EXTS and f.parent != path
        ]
    elif path.is_file():
        rows = _rows_jsonl(path) if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else _rows_csv(path)
        clips = _from_rows(path, rows)
    else:
        raise SfcliError(f"{path}: no such manifest or folder")
    if len({c.label for c in clips}) < 2:
        raise SfcliError(f"{path}: needs clips of at least 2 labels (found {len({c.label for c in clips})})")
    return clips


def is_labelled_manifest(path: str | Path) -> bool:
    """True for a folder, or a manifest whose first record has ``audio`` but no ``mixture`` field."""
    path = Path(path)
    if path.is_dir():
        return True
    if not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8-sig") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError):
        return False
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        try:
            row = json.loads(first)
        except json.JSONDecodeError:
            return False
        return isinstance(row, dict) and "mixture" not in row and ("audio" in row or "filename" in row)
    cols = {c.strip().lower() for c in next(csv.reader([first]), [])}
    return bool(cols & {"audio", "filename", "file"}) and bool(cols & {"label", "category"})


class _Audio:
    """Lazy mono float32 loader at one sample rate, caching every clip it has read."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._cache: dict[Path, np.ndarray] = {}

    def __call__(self, clip: LabelledClip) -> np.ndarray:
        if clip.audio not in self._cache:
            from sfcli.audio import load_audio_mono

            x = load_audio_mono(clip.audio, self.sample_rate)
            if x.size == 0 or not np.isfinite(x).all():
                raise SfcliError(f"{clip.audio}: empty or non-finite audio")
            self._cache[clip.audio] = np.ascontiguousarray(x, dtype=np.float32)
        return self._cache[clip.audio]


def _fit(x: np.ndarray, n: int, rng: np.random.Generator, tries: int = 8) -> np.ndarray:
    """A random ``n``-sample crop of ``x`` (or ``x`` looped to ``n`` samples when shorter).

    Near-silent crops (RMS below a quarter of the clip's) are redrawn up to ``tries`` times and the
    loudest is kept: a silent target or reference says nothing about separation.
    """
    if x.size < n:
        return np.tile(x, -(-n // x.size))[:n]
    floor = 0.25 * rms(x)
    best, best_rms = x[:n], -1.0
    for _ in range(tries):
        start = int(rng.integers(0, x.size - n + 1))
        crop = x[start : start + n]
        r = rms(crop)
        if r >= floor and r > 1e-6:
            return crop
        if r > best_rms:
            best, best_rms = crop, r
    return best


def _normalise(x: np.ndarray) -> np.ndarray:
    level = rms(x)
    return (x * (TARGET_RMS / level)).astype(np.float32) if level > 1e-8 else x.astype(np.float32)


def _other_recording(pool: list[LabelledClip], clip: LabelledClip, rng: np.random.Generator) -> LabelledClip:
    """A clip of ``pool`` from another recording than ``clip`` (another cut of it when there is none)."""
    others = [c for c in pool if c.source != clip.source] or [c for c in pool if c != clip] or pool
    return others[int(rng.integers(len(others)))]


def _pick_labels(labels: list[str], rng: np.random.Generator) -> tuple[str, str, str | None]:
    """Target, background and absent label; with only two labels there is no absent one."""
    if len(labels) < 3:
        target, background = rng.choice(len(labels), size=2, replace=False)
        return labels[int(target)], labels[int(background)], None
    target, background, absent = rng.choice(len(labels), size=3, replace=False)
    return labels[int(target)], labels[int(background)], labels[int(absent)]


def build_mixture(
    clips_by_label: dict[str, list[LabelledClip]], audio: _Audio, protocol: str, seed: int, index: int
) -> EvalMixture:
    """Mixture ``index`` of ``seed`` under ``protocol`` (see the module docstring)."""
    rng = np.random.default_rng([seed, index, PROTOCOLS.index(protocol)])
    labels = sorted(clips_by_label)
    t_label, b_label, a_label = _pick_labels(labels, rng)
    t_clip = clips_by_label[t_label][int(rng.integers(len(clips_by_label[t_label])))]
    b_clip = clips_by_label[b_label][int(rng.integers(len(clips_by_label[b_label])))]
    t_audio = audio(t_clip)
    if protocol == "paper":
        lo, hi = (int(s * audio.sample_rate) for s in PAPER_SECONDS)
        n = min(t_audio.size, int(rng.integers(lo, hi + 1))) if t_audio.size >= lo else t_audio.size
        gain_db = float(rng.uniform(-PAPER_GAIN_DB, PAPER_GAIN_DB))
    else:
        n, gain_db = t_audio.size, 0.0
    target = _normalise(_fit(t_audio, n, rng))
    background = _normalise(_fit(audio(b_clip), n, rng)) * np.float32(10 ** (gain_db / 20))
    peak = float(np.max(np.abs(target + background)))
    if peak > 0.99:
        target, background = target * np.float32(0.99 / peak), background * np.float32(0.99 / peak)
    ref_clip = _other_recording(clips_by_label[t_label], t_clip, rng)
    whole = protocol == "esc50"
    absent_text, absent_ref = None, None
    if a_label is not None:
        absent_clip = clips_by_label[a_label][int(rng.integers(len(clips_by_label[a_label])))]
    ref = audio(ref_clip) if whole else _fit(audio(ref_clip), n, rng)
    if a_label is not None:
        absent_ref = audio(absent_clip) if whole else _fit(audio(absent_clip), n, rng)
        absent_text = label_text(a_label) if whole else absent_clip.text
    text = label_text(t_label) if whole else t_clip.text
    return EvalMixture(
        name=f"{protocol}-s{seed}-{index:04d}",
        mixture=(target + background).astype(np.float32),
        target=target.astype(np.float32),
        background=background.astype(np.float32),
        sample_rate=audio.sample_rate,
        text=text,
        ref=np.ascontiguousarray(ref, dtype=np.float32),
        ref_sample_rate=audio.sample_rate,
        category=t_label,
        absent_text=absent_text,
        absent_ref=None if absent_ref is None else np.ascontiguousarray(absent_ref, dtype=np.float32),
    )


def labelled_mixtures(
    clips: list[LabelledClip],
    protocol: str = "paper",
    seed: int = 0,
    n: int = 200,
    sample_rate: int = 16000,
    absent: bool = True,
) -> list[EvalMixture]:
    """``n`` evaluation mixtures of ``clips`` under ``protocol`` (``paper`` or ``esc50``), deterministic by seed.

    ``mixture == target + background`` for every item (float32, exactly: the mixture is their sum).
    ``absent``: every mixture needs an absent-sound query, so at least 3 labels; without it 2 labels
    will do (and then no mixture has one). The mixtures of a seed do not depend on ``absent``.
    """
    if protocol not in PROTOCOLS:
        raise SfcliError(f"unknown protocol {protocol!r} (use {' or '.join(PROTOCOLS)})")
    by_label: dict[str, list[LabelledClip]] = {}
    for c in clips:
        by_label.setdefault(c.label, []).append(c)
    if len(by_label) < (3 if absent else 2):
        why = "; the absent-sound query needs a third (sfcli eval --no-absent goes without)" if absent else ""
        raise SfcliError(f"needs clips of at least {3 if absent else 2} labels (found {len(by_label)}){why}")
    audio = _Audio(sample_rate)
    return [build_mixture(by_label, audio, protocol, seed, i) for i in range(n)]


__all__ = [
    "PROTOCOLS",
    "LabelledClip",
    "build_mixture",
    "is_labelled_manifest",
    "label_text",
    "labelled_mixtures",
    "read_labelled",
]
