"""SoundFilter training mixtures (paper 3.3.1) and fixed evaluation mixture sets.

An example is a 2 s *target* crop of a described clip plus a 2 s *background* crop of a clip from another
category at a uniform random gain in [-gain_db, +gain_db] dB, a disjoint 2 s *conditioning* crop of the same
clip as the target, and one of the target clip's descriptions. Everything is deterministic for
``(seed, index)``.

Backgrounds. The background's category always differs from the target's. When clips carry a coarse
``group`` (the built corpus writes one, e.g. ``footsteps``, ``weather``, ``music/strings``), the
background is also never from the target's group or an enclosing one (``music`` encloses
``music/strings``), so that near-synonyms ("footsteps on gravel" / "footsteps on dirt") are not mixed.

Crops. Near-silent crops are retried (crop RMS below a quarter of the clip's RMS, or below -80 dBFS);
after 8 tries the loudest candidate is kept. Target and background are RMS-normalised (target to
-20 dBFS) before mixing, and the three signals share one scale factor if the mixture would clip, so
``mixture == target + background`` holds exactly (up to float rounding).

Short clips. A clip of ``L`` samples with ``L >= 2 n`` (``n`` = crop length) gets two disjoint crops.
For ``n <= L < 2 n`` the two crops are the start and the end of the clip (the least-overlapping pair;
they overlap by ``2 n - L`` samples). For ``L < n`` the whole clip is used for both, each placed at its
own random offset in a zero-padded window.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sfcli.errors import SfcliError

SOURCE_RMS = 0.1  # -20 dBFS: target and conditioning crops are normalised to it; the background to it x gain
_MIN_RMS = 1e-4
_TRIES = 8


def _group(clip: Any) -> str:
    extra = getattr(clip, "extra", None) or {}
    return str(extra.get("group") or "")


def _groups_conflict(a: str, b: str) -> bool:
    """Same coarse group, or one encloses the other ("music" encloses "music/piano")."""
    if not a or not b:
        return False
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def rms(x: np.ndarray) -> float:
    """Root-mean-square level of ``x`` (in float64; 0 for an empty array)."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def pick_description(clip: Any, rng: np.random.Generator, fallback: str) -> str:
    """One of ``clip``'s descriptions drawn with ``rng``, or ``fallback`` when it has none."""
    return clip.descriptions[int(rng.integers(len(clip.descriptions)))] if clip.descriptions else fallback


def _normalise(x: np.ndarray, level: float) -> np.ndarray:
    r = rms(x)
    return (x * (level / r)).astype(np.float32) if r > 1e-8 else x.astype(np.float32)


class MixtureDataset:
    """Deterministic target/background mixtures drawn from one corpus split.

    ``__getitem__(i)`` returns a dict with float32 arrays ``mixture``, ``target``, ``background``,
    ``cond_audio`` (each ``crop_seconds * sample_rate`` long) and strings ``text``, ``category``,
    ``clip_id``, plus ``background_category``, ``background_clip_id``, ``background_start`` and ``gain_db``.
    Target categories are drawn uniformly, then a clip uniformly within the category.
    """

    def __init__(
        self,
        corpus: Any,
        split: str = "train",
        seed: int = 0,
        crop_seconds: float = 2.0,
        gain_db: float = 4.0,
        length: int | None = None,
        min_clips: int = 1,
    ) -> None:
        """Index the split's clips by category (categories with fewer than ``min_clips`` clips in the split
        are left out); needs at least two categories."""
        self.corpus = corpus
        self.split_name = split
        self.seed = int(seed)
        self.sample_rate = int(getattr(corpus, "sample_rate", 16000))
        self.n = round(crop_seconds * self.sample_rate)
        if self.n <= 0:
            raise SfcliError("crop_seconds must be positive")
        if gain_db < 0:
            raise SfcliError("gain_db must be >= 0")
        self.gain_db = float(gain_db)
        by_cat: dict[str, list[Any]] = {}
        for c in corpus.split(split):
            by_cat.setdefault(c.category, []).append(c)
        self.by_cat = {k: v for k, v in by_cat.items() if len(v) >= max(1, int(min_clips))}
        self.clips = [c for v in self.by_cat.values() for c in v]
        self.clip_by_id = {c.id: c for c in self.clips}
        self.categories = sorted(self.by_cat)
        if len(self.categories) < 2:
            raise SfcliError(f"split {split!r} needs clips of at least two categories for mixtures")
        self.length = int(length) if length is not None else len(self.clips)
        self._clip_rms: dict[str, float] = {}
        groups = {cat: _group(self.by_cat[cat][0]) for cat in self.categories}
        self.background_categories: dict[str, list[str]] = {}
        for cat in self.categories:
            others = [c for c in self.categories if c != cat]
            allowed = [c for c in others if not _groups_conflict(groups[cat], groups[c])]
            self.background_categories[cat] = allowed or others

    def __len__(self) -> int:
        return self.length

    # -- crops -------------------------------------------------------------------------------------
    def _length(self, clip: Any) -> int:
        n = int(getattr(clip, "length", 0) or 0)
        return n if n > 0 else int(self.corpus.num_samples(clip))

    def _clip_level(self, clip: Any) -> float:
        if clip.id not in self._clip_rms:
            self._clip_rms[clip.id] = rms(self.corpus.audio(clip))
        return self._clip_rms[clip.id]

    def _threshold(self, clip: Any) -> float:
        return max(_MIN_RMS, 0.25 * self._clip_level(clip))

    def _place(self, clip: Any, rng: np.random.Generator) -> np.ndarray:
        """The whole (short) clip at a random offset in a zero window of n samples."""
        x = self.corpus.audio(clip)[: self.n]
        out = np.zeros(self.n, np.float32)
        off = int(rng.integers(0, self.n - x.size + 1))
        out[off : off + x.size] = x
        return out

    def random_crop(self, clip: Any, rng: np.random.Generator) -> np.ndarray:
        """One n-sample crop of ``clip``, retrying near-silent crops."""
        return self.random_crop_at(clip, rng)[0]

    def random_crop_at(self, clip: Any, rng: np.random.Generator, avoid: int | None = None) -> tuple[np.ndarray, int]:
        """(crop, start) as :meth:`random_crop`; with ``avoid`` (a crop start), the crop does not overlap
        ``[avoid, avoid + n)`` where the clip is long enough (else the farthest start is taken). A clip
        shorter than n is placed whole (start 0)."""
        L = self._length(clip)
        if L <= self.n:
            return self._place(clip, rng), 0
        starts = None
        if avoid is not None:
            starts = [(0, avoid - self.n + 1), (avoid + self.n, L - self.n + 1)]
            starts = [(a, b) for a, b in starts if b > a]
            if not starts:
                far = 0 if avoid >= L - self.n - avoid else L - self.n
                return self.corpus.crop(clip, far, self.n), far
        thr = self._threshold(clip)
        best, best_r = None, -1.0
        for _ in range(_TRIES):
            if starts is None:
                s = int(rng.integers(0, L - self.n + 1))
            else:
                a, b = starts[int(rng.integers(len(starts)))]
                s = int(rng.integers(a, b))
            x = self.corpus.crop(clip, s, self.n)
            r = rms(x)
            if r >= thr:
                return x, s
            if r > best_r:
                best, best_r = (x, s), r
        assert best is not None
        return best

    def crop_pair(self, clip: Any, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """(target crop, conditioning crop, (target start, conditioning start)), disjoint when possible."""
        L, n = self._length(clip), self.n
        if L < n:
            return self._place(clip, rng), self._place(clip, rng), (0, 0)
        if L < 2 * n:
            starts = (0, L - n) if rng.random() < 0.5 else (L - n, 0)
            return self.corpus.crop(clip, starts[0], n), self.corpus.crop(clip, starts[1], n), starts
        thr = self._threshold(clip)
        best = None
        best_score = -1.0
        for _ in range(_TRIES):
            a = int(rng.integers(0, L - 2 * n + 1))
            b = int(rng.integers(a + n, L - n + 1))
            t_s, c_s = (a, b) if rng.random() < 0.5 else (b, a)
            t = self.corpus.crop(clip, t_s, n)
            c = self.corpus.crop(clip, c_s, n)
            score = min(rms(t), rms(c))
            if score >= thr:
                return t, c, (t_s, c_s)
            if score > best_score:
                best, best_score = (t, c, (t_s, c_s)), score
        assert best is not None
        return best

    # -- examples ----------------------------------------------------------------------------------
    def __getitem__(self, i: int) -> dict[str, Any]:
        """Example ``i`` (any non-negative int; deterministic for ``(seed, i)``)."""
        if i < 0:
            raise IndexError(i)
        rng = np.random.default_rng([self.seed, int(i)])
        cat = self.categories[int(rng.integers(len(self.categories)))]
        pool = self.by_cat[cat]
        clip = pool[int(rng.integers(len(pool)))]
        target, cond, starts = self.crop_pair(clip, rng)
        others = self.background_categories[cat]
        bcat = others[int(rng.integers(len(others)))]
        bpool = self.by_cat[bcat]
        bclip = bpool[int(rng.integers(len(bpool)))]
        background, bstart = self.random_crop_at(bclip, rng)
        gain = float(rng.uniform(-self.gain_db, self.gain_db))
        target = _normalise(target, SOURCE_RMS)
        background = _normalise(background, SOURCE_RMS * 10 ** (gain / 20))
        cond = _normalise(cond, SOURCE_RMS)
        mixture = target + background
        peak = float(np.max(np.abs(mixture))) if mixture.size else 0.0
        if peak > 0.99:
            k = 0.99 / peak
            target, background, mixture = target * k, background * k, mixture * k
        cpeak = float(np.max(np.abs(cond))) if cond.size else 0.0
        if cpeak > 0.99:
            cond = cond * (0.99 / cpeak)
        text = pick_description(clip, rng, cat)
        return {
            "mixture": mixture.astype(np.float32),
            "target": target.astype(np.float32),
            "background": background.astype(np.float32),
            "cond_audio": cond.astype(np.float32),
            "text": text,
            "category": cat,
            "clip_id": clip.id,
            "background_category": bcat,
            "background_clip_id": bclip.id,
            "background_start": int(bstart),
            "gain_db": gain,
            "target_start": int(starts[0]),
            "cond_start": int(starts[1]),
        }


def write_eval_set(corpus: Any, split: str, n: int, seed: int, out_dir: str | Path) -> Path:
    """Write ``n`` mixtures of ``split`` as 16 kHz float WAVs plus ``<split>.jsonl`` in ``out_dir``.

    Each JSONL line: ``id``, ``mixture``, ``target``, ``background``, ``ref`` (conditioning crop),
    paths relative to the manifest, and ``text``, ``category``, ``clip_id``, ``background_category``,
    ``gain_db``. Returns the manifest path.
    """
    import soundfile as sf

    if n <= 0:
        raise SfcliError("n must be positive")
    out = Path(out_dir)
    audio_dir = out / split
    audio_dir.mkdir(parents=True, exist_ok=True)
    ds = MixtureDataset(corpus, split, seed, length=n)
    manifest = out / f"{split}.jsonl"
    tmp = manifest.with_suffix(".jsonl.tmp")
    with tmp.open("w") as f:
        for i in range(n):
            ex = ds[i]
            name = f"{split}_{i:04d}"
            row: dict[str, Any] = {"id": name}
            for key, field in (
                ("mixture", "mixture"),
                ("target", "target"),
                ("background", "background"),
                ("ref", "cond_audio"),
            ):
                rel = f"{split}/{name}_{key}.wav"
                sf.write(str(out / rel), ex[field], ds.sample_rate, subtype="FLOAT")
                row[key] = rel
            row.update(
                {
                    "text": ex["text"],
                    "category": ex["category"],
                    "clip_id": ex["clip_id"],
                    "background_category": ex["background_category"],
                    "background_clip_id": ex["background_clip_id"],
                    "gain_db": round(ex["gain_db"], 3),
                }
            )
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(manifest)
    return manifest


def read_eval_set(path: str | Path) -> list[dict[str, Any]]:
    """Read an evaluation manifest: each row with ``mixture``/``target``/``background``/``ref`` resolved to
    absolute paths (audio is not loaded)."""
    path = Path(path)
    if not path.is_file():
        raise SfcliError(f"{path}: no such evaluation manifest")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SfcliError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        for key in ("mixture", "target", "background"):
            if not row.get(key):
                raise SfcliError(f"{path}:{n}: missing field {key!r}")
        for key in ("mixture", "target", "background", "ref"):
            if row.get(key):
                p = Path(row[key])
                row[key] = str(p if p.is_absolute() else path.parent / p)
        rows.append(row)
    return rows


__all__ = ["MixtureDataset", "pick_description", "read_eval_set", "rms", "write_eval_set"]
