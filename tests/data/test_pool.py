"""The label-free pool loader (sfcli.data.pool) on tiny pools written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sfcli.data.pool import POOL_EMBEDDINGS, clip_ids_digest, default_pool_dir, open_pool, pool_embeddings, random_crop
from sfcli.errors import SfcliError

SR = 16000


def write_pool(root: Path, clips: list[tuple[np.ndarray, str]]) -> Path:
    """A pool folder in the corpus format: (float audio, kind) per clip, category "" and no descriptions."""
    root.mkdir(parents=True, exist_ok=True)
    off, lines = 0, []
    with open(root / "audio.int16", "wb") as f:
        for i, (x, kind) in enumerate(clips):
            q = np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
            f.write(q.tobytes())
            rec = {"id": f"p{i:07d}", "source": "t", "path": f"{i}.wav", "licence": "CC0", "category": "",
                   "descriptions": [], "duration": q.size / SR, "split": "train", "offset": off,
                   "length": int(q.size), "family": f"t:{i}", "group": "", "kind": kind}  # fmt: skip
            lines.append(json.dumps(rec) + "\n")
            off += q.size
    (root / "clips.jsonl").write_text("".join(lines))
    (root / "meta.json").write_text(json.dumps({"sample_rate": SR}))
    return root


def _noise(seconds: float, seed: int, amp: float = 0.3) -> np.ndarray:
    return amp * np.random.default_rng(seed).standard_normal(int(seconds * SR)).clip(-3, 3) / 3


def test_default_dir_and_missing_pool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SFCLI_CACHE", str(tmp_path))
    assert default_pool_dir() == tmp_path / "pool"
    assert open_pool() is None
    assert open_pool(tmp_path / "nowhere") is None


def test_open_pool_reads_label_free_clips(tmp_path: Path) -> None:
    pool = open_pool(write_pool(tmp_path / "pool", [(_noise(1.0, 0), "sfx"), (_noise(3.0, 1), "music")]))
    assert pool is not None and len(pool) == 2
    assert [c.category for c in pool.split("train")] == ["", ""]
    assert [c.extra["kind"] for c in pool.clips] == ["sfx", "music"]


def test_broken_pool_raises(tmp_path: Path) -> None:
    root = tmp_path / "pool"
    root.mkdir()
    (root / "clips.jsonl").write_text('{"id": "x"}\n')
    with pytest.raises(SfcliError):
        open_pool(root)


def test_random_crop_is_deterministic_and_sized(tmp_path: Path) -> None:
    pool = open_pool(write_pool(tmp_path / "pool", [(_noise(2.0, i), "sfx") for i in range(5)]))
    assert pool is not None
    a, ca = random_crop(pool, 8000, np.random.default_rng(3))
    b, cb = random_crop(pool, 8000, np.random.default_rng(3))
    c, _ = random_crop(pool, 8000, np.random.default_rng(4))
    assert a.shape == (8000,) and a.dtype == np.float32
    assert ca.id == cb.id and np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_crop_retries_silent_parts(tmp_path: Path) -> None:
    # one clip, silent for its first half: a single try lands in the silence about half the time
    x = np.concatenate([np.zeros(4 * SR), _noise(4.0, 0)])
    pool = open_pool(write_pool(tmp_path / "pool", [(x, "ambience")]))
    assert pool is not None
    silent_once = sum(float(np.abs(random_crop(pool, SR, np.random.default_rng(s), tries=1)[0]).max()) == 0.0
                      for s in range(40))  # fmt: skip
    silent_retry = sum(
        float(np.abs(random_crop(pool, SR, np.random.default_rng(s))[0]).max()) == 0.0 for s in range(40)
    )
    assert silent_once >= 10
    assert silent_retry == 0


def test_short_clip_is_padded_and_kinds_filter(tmp_path: Path) -> None:
    pool = open_pool(write_pool(tmp_path / "pool", [(_noise(0.5, 0), "speech"), (_noise(3.0, 1), "music")]))
    assert pool is not None
    for s in range(10):
        x, clip = random_crop(pool, SR, np.random.default_rng(s), kinds=("speech",))
        assert clip.extra["kind"] == "speech"
        assert x.shape == (SR,) and int(np.count_nonzero(x)) <= SR // 2
    with pytest.raises(SfcliError):
        random_crop(pool, SR, np.random.default_rng(0), kinds=("sfx",))


def test_pool_embeddings_load_for_their_clips_only(tmp_path: Path) -> None:
    root = write_pool(tmp_path / "pool", [(_noise(1.0, i), "sfx") for i in range(3)])
    pool = open_pool(root)
    assert pool is not None
    clips = pool.split("train")
    with pytest.raises(SfcliError, match=r"make_pool_embeddings\.py"):
        pool_embeddings(root, clips)  # not written yet
    rows = np.arange(6, dtype=np.float16).reshape(3, 2)
    np.save(root / f"{POOL_EMBEDDINGS}.npy", rows)
    (root / f"{POOL_EMBEDDINGS}.json").write_text(json.dumps({"clips": 3, "clip_ids": clip_ids_digest(clips)}))
    got = pool_embeddings(root, clips)
    assert got.dtype == np.float32 and got.tolist() == rows.astype(np.float32).tolist()
    with pytest.raises(SfcliError, match="made for other clips"):
        pool_embeddings(root, clips[:2])
    assert clip_ids_digest(clips) != clip_ids_digest(clips[::-1])
