"""Readers for the audio-text datasets that users bring: Clotho, AudioCaps, FSD50K, ESC-50 and generic JSONL.

Every reader returns :class:`AudioTextRecord` (audio path, list of texts, category, split). Audio files are
looked up relative to ``audio_dir`` (default: the manifest's folder, then common sub-folders); records whose
audio file is missing are skipped, and a manifest with no usable record raises :class:`SfcliError`.

Formats (CSV unless noted):

* Clotho: ``file_name, caption_1 .. caption_5`` (split from the file name: development / validation /
  evaluation).
* AudioCaps: ``audiocap_id, youtube_id, start_time, caption``; local audio named ``{youtube_id}_{start}.wav``
  / ``{youtube_id}.wav`` / ``{audiocap_id}.wav`` (any audio extension); rows of one clip are merged.
* FSD50K: ``fname, labels[, mids, split]``; audio ``{fname}.wav``; texts from the labels
  ("Dog, Bark" -> "the sound of dog and bark").
* ESC-50: ``filename, fold, target, category[, esc10, src_file, take]``; fold 5 is test, fold 4 valid.
* JSONL: one object per line with ``audio`` and ``text`` (string) or ``texts`` (list); optional
  ``category``, ``split``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from sfcli.errors import SfcliError

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aiff", ".aif")
KINDS = ("clotho", "audiocaps", "fsd50k", "esc50", "jsonl")


@dataclass
class AudioTextRecord:
    """One audio file with its texts.

    ``descriptions`` duplicates ``texts`` so that code reading either name works.
    """

    audio: Path
    texts: list[str]
    category: str | None = None
    split: str = "train"
    source: str = ""
    extra: dict = field(default_factory=dict)
    descriptions: list[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.audio = Path(self.audio)
        self.descriptions = self.texts  # the same list, under the name other readers use


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SfcliError(f"{path}: cannot read CSV ({exc})") from exc
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in rows]


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise SfcliError(f"{path}: cannot read ({exc})") from exc
    return [h.strip().lower() for h in next(csv.reader([first]), [])]


def detect_kind(path: str | Path) -> str:
    """Guess the manifest format from the file's extension and header."""
    path = Path(path)
    if not path.is_file():
        raise SfcliError(f"{path}: no such manifest")
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    cols = set(_header(path))
    if "file_name" in cols and any(c.startswith("caption_") for c in cols):
        return "clotho"
    if {"youtube_id", "caption"} <= cols:
        return "audiocaps"
    if {"filename", "category"} <= cols and ("fold" in cols or "target" in cols):
        return "esc50"
    if {"fname", "labels"} <= cols:
        return "fsd50k"
    raise SfcliError(f"{path}: unknown manifest format (columns: {', '.join(sorted(cols)) or 'none'})")


def _audio_dirs(path: Path, audio_dir: str | Path | None, extra: tuple[str, ...] = ()) -> list[Path]:
    if audio_dir is not None:
        d = Path(audio_dir)
        if not d.is_dir():
            raise SfcliError(f"{d}: audio folder not found")
        return [d]
    base = path.parent
    dirs = [base, base / "audio", *(base / e for e in extra)]
    return [d for d in dirs if d.is_dir()]


def _find(dirs: list[Path], names: list[str]) -> Path | None:
    for d in dirs:
        for n in names:
            p = d / n
            if p.is_file():
                return p
            if not Path(n).suffix:
                for ext in AUDIO_EXTS:
                    q = d / (n + ext)
                    if q.is_file():
                        return q
    return None


def _note(missing: list[str] | None, name: str) -> None:
    """Record an audio file a manifest names but that was not found (the record is skipped)."""
    if missing is not None:
        missing.append(name)


def _split_from_name(name: str) -> str:
    low = name.lower()
    if "eval" in low or "test" in low:
        return "test"
    if "valid" in low or "val" in low:
        return "valid"
    return "train"


def read_clotho(
    path: Path, audio_dir: str | Path | None = None, missing: list[str] | None = None
) -> list[AudioTextRecord]:
    """Clotho captions CSV (``file_name``, ``caption_1`` .. ``caption_5``)."""
    split = _split_from_name(path.stem)
    stem = path.stem.replace("clotho_captions_", "")
    dirs = _audio_dirs(path, audio_dir, (stem, "development", "validation", "evaluation"))
    out = []
    for r in _read_csv(path):
        name = r.get("file_name", "")
        texts = [r[k] for k in sorted(r) if k.startswith("caption_") and r[k]]
        audio = _find(dirs, [name]) if name else None
        if audio is None and name and texts:
            _note(missing, name)
        if audio is None or not texts:
            continue
        out.append(AudioTextRecord(audio, texts, None, split, "clotho"))
    return out


def read_audiocaps(
    path: Path, audio_dir: str | Path | None = None, missing: list[str] | None = None
) -> list[AudioTextRecord]:
    """AudioCaps CSV (``audiocap_id``, ``youtube_id``, ``start_time``, ``caption``) with local audio files."""
    split = _split_from_name(path.stem)
    dirs = _audio_dirs(path, audio_dir, (path.stem,))
    merged: dict[Path, AudioTextRecord] = {}
    for r in _read_csv(path):
        yid, cap = r.get("youtube_id", ""), r.get("caption", "")
        if not yid or not cap:
            continue
        start = r.get("start_time", "")
        try:
            start_i = str(int(float(start))) if start else ""
        except ValueError:
            start_i = start
        names = [f"{yid}_{start_i}", f"{yid}_{start_i}000", f"Y{yid}", yid, r.get("audiocap_id", "")]
        if start_i:
            names.insert(1, f"{yid}_{start_i}_{int(start_i) + 10}")
        audio = _find(dirs, [n for n in names if n])
        if audio is None:
            _note(missing, f"{yid}_{start_i}" if start_i else yid)
            continue
        if audio in merged:
            if cap not in merged[audio].texts:
                merged[audio].texts.append(cap)
        else:
            merged[audio] = AudioTextRecord(audio, [cap], None, split, "audiocaps", {"youtube_id": yid})
    return list(merged.values())


def _labels_text(labels: list[str]) -> str:
    words = [lab.replace("_and_", " and ").replace("_", " ").strip().lower() for lab in labels if lab.strip()]
    if not words:
        return ""
    if len(words) == 1:
        return f"the sound of {words[0]}"
    return "the sound of " + ", ".join(words[:-1]) + " and " + words[-1]


def read_fsd50k(
    path: Path, audio_dir: str | Path | None = None, missing: list[str] | None = None
) -> list[AudioTextRecord]:
    """FSD50K ground-truth CSV (``fname``, ``labels``[, ``split``]); labels become the text."""
    default_split = "test" if "eval" in path.stem.lower() else "train"
    dirs = _audio_dirs(path, audio_dir, ("FSD50K.dev_audio", "FSD50K.eval_audio", "dev_audio", "eval_audio"))
    out = []
    for r in _read_csv(path):
        fname, labels = r.get("fname", ""), [x for x in r.get("labels", "").split(",") if x.strip()]
        audio = _find(dirs, [fname]) if fname else None
        if audio is None and fname and labels:
            _note(missing, fname)
        if audio is None or not labels:
            continue
        split = {"val": "valid", "train": "train"}.get(r.get("split", ""), default_split)
        cat = labels[-1].replace("_", " ").lower()
        texts = [_labels_text(labels)]
        if len(labels) > 1:
            texts.append(_labels_text(labels[-1:]))
        out.append(AudioTextRecord(audio, texts, cat, split, "fsd50k", {"labels": labels}))
    return out


def read_esc50(
    path: Path, audio_dir: str | Path | None = None, missing: list[str] | None = None
) -> list[AudioTextRecord]:
    """ESC-50 metadata CSV (``filename``, ``fold``, ``target``, ``category``); fold 5 test, fold 4 valid."""
    dirs = _audio_dirs(path, audio_dir, ("audio", "../audio"))
    out = []
    for r in _read_csv(path):
        name, cat = r.get("filename", ""), r.get("category", "").replace("_", " ").strip()
        audio = _find(dirs, [name]) if name else None
        if audio is None and name and cat:
            _note(missing, name)
        if audio is None or not cat:
            continue
        fold = r.get("fold", "")
        split = {"5": "test", "4": "valid"}.get(fold, "train")
        out.append(AudioTextRecord(audio, [f"the sound of {cat}", cat], cat, split, "esc50", {"fold": fold}))
    return out


def read_jsonl(
    path: Path, audio_dir: str | Path | None = None, missing: list[str] | None = None
) -> list[AudioTextRecord]:
    """Generic JSONL: ``audio`` plus ``text`` (string) or ``texts`` (list); optional ``category``, ``split``."""
    base = Path(audio_dir) if audio_dir is not None else path.parent
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SfcliError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not row.get("audio"):
            raise SfcliError(f"{path}:{n}: each line needs an 'audio' field")
        texts = row.get("texts", row.get("text"))
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise SfcliError(f"{path}:{n}: 'text' must be a string or 'texts' a list of strings")
        texts = [t.strip() for t in texts if t.strip()]
        if not texts:
            raise SfcliError(f"{path}:{n}: no text for {row['audio']}")
        audio = Path(row["audio"])
        audio = audio if audio.is_absolute() else base / audio
        if not audio.is_file():
            _note(missing, str(audio))
            continue
        split = str(row.get("split") or "train")
        split = {"validation": "valid", "val": "valid", "dev": "valid", "eval": "test"}.get(split, split)
        extra = {k: v for k, v in row.items() if k not in ("audio", "text", "texts", "category", "split")}
        out.append(AudioTextRecord(audio, texts, row.get("category"), split, "jsonl", extra))
    return out


READERS = {
    "clotho": read_clotho,
    "audiocaps": read_audiocaps,
    "fsd50k": read_fsd50k,
    "esc50": read_esc50,
    "jsonl": read_jsonl,
}


def read_manifest(
    path: str | Path, kind: str = "auto", audio_dir: str | Path | None = None, missing: list[str] | None = None
) -> list[AudioTextRecord]:
    """Read any supported manifest (``kind`` one of ``auto``, clotho, audiocaps, fsd50k, esc50, jsonl).

    Records whose audio file is not found are skipped; their file names are appended to ``missing``
    when it is given (see :func:`missing_audio`).
    """
    path = Path(path)
    if not path.is_file():
        raise SfcliError(f"{path}: no such manifest")
    kind = kind.lower().replace("-", "")
    if kind == "auto":
        kind = detect_kind(path)
    if kind not in READERS:
        raise SfcliError(f"unknown manifest kind {kind!r} (use one of {', '.join(KINDS)} or auto)")
    skipped: list[str] = []
    records = READERS[kind](path, audio_dir, skipped)
    if missing is not None:
        missing.extend(skipped)
    if not records:
        if skipped:
            raise SfcliError(
                f"{path}: no usable records: none of its audio files was found ({len(skipped)} missing, first "
                f"{skipped[0]}); audio paths are read relative to the manifest's folder"
            )
        raise SfcliError(f"{path}: no usable records (none has both an audio file and a text or label)")
    return records


def missing_audio(path: str | Path, kind: str = "auto", audio_dir: str | Path | None = None) -> list[str]:
    """The audio files ``path`` names that are not found: the records :func:`read_manifest` skips.

    For commands that must not score a subset silently (``sfcli eval words``): an empty list when
    every record's audio is there. Other problems (no such manifest, bad rows, no records at all)
    raise :class:`SfcliError` as :func:`read_manifest` does.
    """
    missing: list[str] = []
    try:
        read_manifest(path, kind, audio_dir, missing)
    except SfcliError:
        if not missing:
            raise
    return missing


__all__ = [
    "KINDS",
    "AudioTextRecord",
    "detect_kind",
    "missing_audio",
    "read_audiocaps",
    "read_clotho",
    "read_esc50",
    "read_fsd50k",
    "read_jsonl",
    "read_manifest",
]
