"""The corpus store (sfcli.data.corpus) and the recipe's split / decoding helpers, on tiny fixtures."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfcli.data.corpus import ClipRecord, Corpus, default_corpus_dir
from sfcli.errors import SfcliError

ROOT = Path(__file__).resolve().parents[2]
SR = 16000


def write_corpus(root: Path, spec: list[tuple[str, str, float]], seed: int = 0) -> Path:
    """Write a corpus folder: spec = (category, split, seconds) per clip; tones of distinct pitch."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    off = 0
    lines = []
    with open(root / "audio.int16", "wb") as f:
        for i, (cat, split, sec) in enumerate(spec):
            n = int(sec * SR)
            t = np.arange(n) / SR
            x = 0.3 * np.sin(2 * np.pi * (200 + 37 * i) * t) + 0.01 * rng.standard_normal(n)
            q = np.round(x * 32767).astype(np.int16)
            f.write(q.tobytes())
            lines.append(
                {
                    "id": f"c{i:04d}",
                    "source": "test",
                    "path": f"x/{i}.wav",
                    "licence": "CC0",
                    "category": cat,
                    "descriptions": [f"a {cat} sound", f"{cat}"],
                    "duration": n / SR,
                    "split": split,
                    "offset": off,
                    "length": n,
                    "family": f"fam{i}",
                }
            )
            off += n
    (root / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (root / "meta.json").write_text(json.dumps({"sample_rate": SR}))
    return root


def test_default_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SFCLI_CACHE", str(tmp_path))
    assert default_corpus_dir() == tmp_path / "corpus"


def test_open_split_crop(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "c", [("dog", "train", 1.0), ("cat", "train", 3.0), ("dog", "test", 0.5)])
    c = Corpus.open(root)
    assert len(c.clips) == 3 and c.categories == ["cat", "dog"]
    assert [x.id for x in c.split("test")] == ["c0002"]
    assert c.split("validation") if c._by_split.get("valid") else True
    clip = c.clips[1]
    a = c.audio(clip)
    assert a.dtype == np.float32 and a.shape == (3 * SR,)
    crop = c.crop(clip, SR, SR)
    np.testing.assert_array_equal(crop, a[SR : 2 * SR])
    tail = c.crop(c.clips[0], SR // 2, SR)  # past the end: zero padded
    assert tail.shape == (SR,) and np.all(tail[SR // 2 :] == 0)
    assert c.descriptions() == sorted({"a cat sound", "cat", "a dog sound", "dog"})
    with pytest.raises(SfcliError):
        c.split("valid")  # empty
    with pytest.raises(SfcliError):
        c.split("nonsense")


def test_open_missing_and_bad(tmp_path: Path) -> None:
    with pytest.raises(SfcliError, match="no corpus"):
        Corpus.open(tmp_path)
    root = write_corpus(tmp_path / "c", [("dog", "train", 0.5)])
    rec = json.loads((root / "clips.jsonl").read_text())
    rec["length"] = 10**9
    (root / "clips.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(SfcliError, match="outside"):
        Corpus.open(root)


def test_record_roundtrip() -> None:
    r = ClipRecord("a", "s", "p", "CC0", "dog", ["a dog"], 1.0, "validation", 0, 10, {"family": "f"})
    d = r.to_json()
    assert d["family"] == "f"
    back = ClipRecord.from_json(d)
    assert back.split == "valid" and back.extra == {"family": "f"}


def test_from_records(tmp_path: Path) -> None:
    from sfcli.data.manifests import AudioTextRecord

    p = tmp_path / "a.wav"
    sf.write(p, np.zeros((8000, 2), np.float32) + 0.1, 8000)
    c = Corpus.from_records([AudioTextRecord(p, ["rain"], "rain", "test"), AudioTextRecord(p, [], None)])
    assert len(c.clips) == 1
    clip = c.split("test")[0]
    x = c.audio(clip)
    assert x.shape == (SR,) and clip.length == SR
    assert c.crop(clip, 0, 100).shape == (100,)


def _load_build():
    sys.path.insert(0, str(ROOT / "scripts" / "corpus"))
    spec = importlib.util.spec_from_file_location("corpus_build", ROOT / "scripts" / "corpus" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["corpus_build"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_family_and_splits_disjoint() -> None:
    b = _load_build()
    assert b.family_of("p", "a/sword_hit_03.ogg") == b.family_of("p", "a/sword_hit_12b.ogg")
    assert b.family_of("p", "a/dog.ogg") != b.family_of("p", "a/cat.ogg")
    clips = []
    for cat in range(40):
        for fam in range(6):
            for _take in range(3):
                clips.append({"category": f"k{cat}", "_family": f"f{cat}-{fam}"})
    clips.append({"category": "k0", "_family": "f1-0"})  # a family spanning two categories
    b.assign_splits(clips)
    seen: dict[str, str] = {}
    for c in clips:
        assert seen.setdefault(c["_family"], c["split"]) == c["split"]
    test_cats = {c["category"] for c in clips if c["split"] == "test"}
    assert len(test_cats) == 40
    assert {c["split"] for c in clips} == {"train", "valid", "test"}


def test_decode_trims_resamples_and_segments() -> None:
    b = _load_build()
    sr = 22050
    x = np.concatenate([np.zeros(sr), 0.5 * np.sin(np.arange(sr * 45) / 3), np.zeros(sr)]).astype(np.float32)
    import io

    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV")
    segs = b.decode(buf.getvalue(), segments=4)
    assert len(segs) == 3  # 45 s -> 20 s + 20 s + a 5 s rest (rests are kept when >= 4 s)
    assert all(s.dtype == np.float32 for s in segs)
    assert segs[0].size == 20 * SR
    assert b.decode(b"garbage") == []
    assert b.decode(np.zeros(SR, np.float32), SR) == []


def test_build_end_to_end_without_debian(tmp_path: Path) -> None:
    """The whole recipe on a fake ../shared (no Debian, no synthesis): store, splits, eval set."""
    b = _load_build()
    shared = tmp_path / "shared"
    rng = np.random.default_rng(0)
    for name, n in (("fsdd", 24), ("donateacry", 12)):
        d = shared / name
        d.mkdir(parents=True)
        rows = []
        for i in range(n):
            fn = f"{name}_{i}.flac"
            sf.write(d / fn, (0.2 * rng.standard_normal(8000 * 3)).astype(np.float32), 8000)
            rows.append({"audio": fn, "text": "a person saying the number one", "speaker": f"s{i % 6}"})
        (d / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "corpus"
    rc = b.main(
        [
            "--no-debian",
            "--no-synth",
            "--shared",
            str(shared),
            "--out",
            str(out),
            "--eval-n",
            "3",
            "--cache",
            str(tmp_path / "cache"),
            "--jobs",
            "1",
        ]
    )
    assert rc == 0
    c = Corpus.open(out)
    assert set(c.categories) == {"spoken digits", "baby crying"}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["clips"] == len(c.clips) == 36
    assert (out / "eval" / "test.jsonl").is_file()
