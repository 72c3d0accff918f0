"""MixtureDataset properties and evaluation mixture sets (sfcli.data.mixing)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sfcli.data.corpus import Corpus
from sfcli.data.mixing import MixtureDataset, read_eval_set, write_eval_set
from sfcli.errors import SfcliError
from tests.data.test_corpus import write_corpus

SR = 16000


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    spec = []
    for k, cat in enumerate(["dog", "rain", "bell", "car"]):
        for j in range(3):
            sec = [5.0, 3.0, 1.0][j]  # long, between 2 and 4 s, shorter than the crop
            spec.append((cat, "test" if k < 3 else "train", sec))
            spec.append((cat, "train", 6.0))
    return Corpus.open(write_corpus(tmp_path / "c", spec))


def test_shapes_and_sum(corpus: Corpus) -> None:
    ds = MixtureDataset(corpus, "train", seed=1, length=20)
    assert len(ds) == 20
    ex = ds[3]
    for k in ("mixture", "target", "background", "cond_audio"):
        assert ex[k].shape == (32000,) and ex[k].dtype == np.float32
    np.testing.assert_allclose(ex["mixture"], ex["target"] + ex["background"], atol=1e-6)
    assert isinstance(ex["text"], str) and ex["text"] in corpus.by_id(ex["clip_id"]).descriptions
    assert ex["category"] == corpus.by_id(ex["clip_id"]).category


def test_deterministic(corpus: Corpus) -> None:
    a, b = MixtureDataset(corpus, "train", seed=7), MixtureDataset(corpus, "train", seed=7)
    for i in (0, 5, 11):
        x, y = a[i], b[i]
        assert x["clip_id"] == y["clip_id"] and x["text"] == y["text"]
        np.testing.assert_array_equal(x["mixture"], y["mixture"])
    c = MixtureDataset(corpus, "train", seed=8)
    assert any(not np.array_equal(a[i]["mixture"], c[i]["mixture"]) for i in range(5))


def test_gain_range_and_category_exclusion(corpus: Corpus) -> None:
    ds = MixtureDataset(corpus, "train", seed=0, gain_db=4.0)
    gains = []
    for i in range(150):
        ex = ds[i]
        assert ex["background_category"] != ex["category"]
        assert corpus.by_id(ex["background_clip_id"]).category == ex["background_category"]
        g = 20 * np.log10(np.sqrt(np.mean(ex["background"] ** 2)) / np.sqrt(np.mean(ex["target"] ** 2)))
        assert abs(g - ex["gain_db"]) < 0.05
        gains.append(ex["gain_db"])
    assert min(gains) >= -4.0 and max(gains) <= 4.0
    assert min(gains) < -3.0 and max(gains) > 3.0


def test_disjoint_conditioning_crop(corpus: Corpus) -> None:
    ds = MixtureDataset(corpus, "train", seed=3)
    n = ds.n
    checked = 0
    for i in range(120):
        ex = ds[i]
        clip = corpus.by_id(ex["clip_id"])
        if clip.length >= 2 * n:
            assert abs(ex["target_start"] - ex["cond_start"]) >= n
            checked += 1
        elif clip.length >= n:  # least overlapping: start and end of the clip
            assert {ex["target_start"], ex["cond_start"]} == {0, clip.length - n}
    assert checked > 10


def test_short_clips_and_errors(corpus: Corpus, tmp_path: Path) -> None:
    ds = MixtureDataset(corpus, "test", seed=0)
    for i in range(30):
        ex = ds[i]
        assert np.isfinite(ex["mixture"]).all() and np.abs(ex["mixture"]).max() <= 0.99 + 1e-6
    one = Corpus.open(write_corpus(tmp_path / "one", [("dog", "train", 3.0)]))
    with pytest.raises(SfcliError):
        MixtureDataset(one, "train")
    with pytest.raises(IndexError):
        ds[-1]
    with pytest.raises(SfcliError):
        MixtureDataset(corpus, "test", min_clips=99)
    assert len(MixtureDataset(corpus, "train", min_clips=3).categories) == 4
    with pytest.raises(SfcliError):  # only "car" has >= 4 clips in train
        MixtureDataset(corpus, "train", min_clips=4)


def test_eval_set_roundtrip(corpus: Corpus, tmp_path: Path) -> None:
    path = write_eval_set(corpus, "test", 4, 0, tmp_path / "eval")
    assert path.name == "test.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(rows) == 4
    for r in rows:
        for k in ("mixture", "target", "background", "ref", "text", "category"):
            assert r[k]
        assert not Path(r["mixture"]).is_absolute()
    back = read_eval_set(path)
    assert all(Path(r["mixture"]).is_file() and Path(r["ref"]).is_file() for r in back)
    from sfcli.evaluation import read_manifest

    mixes = read_manifest(path)
    assert len(mixes) == 4
    np.testing.assert_allclose(mixes[0].mixture, mixes[0].target + mixes[0].background, atol=1e-5)
    again = write_eval_set(corpus, "test", 4, 0, tmp_path / "eval2")
    assert [json.loads(x)["text"] for x in again.read_text().splitlines()] == [r["text"] for r in rows]


def test_group_exclusion(tmp_path: Path) -> None:
    spec = [
        (cat, "train", 3.0)
        for cat in ("steps on gravel", "steps on dirt", "violin", "strings", "rain")
        for _ in range(2)
    ]
    root = write_corpus(tmp_path / "g", spec)
    groups = {
        "steps on gravel": "footsteps",
        "steps on dirt": "footsteps",
        "violin": "music/strings",
        "strings": "music",
    }
    lines = [json.loads(x) for x in (root / "clips.jsonl").read_text().splitlines()]
    for r in lines:
        r["group"] = groups.get(r["category"], "")
    (root / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    ds = MixtureDataset(Corpus.open(root), "train", seed=0)
    assert ds.background_categories["steps on gravel"] == ["rain", "strings", "violin"]
    assert ds.background_categories["violin"] == ["rain", "steps on dirt", "steps on gravel"]
    for i in range(60):
        ex = ds[i]
        pair = {ex["category"], ex["background_category"]}
        assert pair not in ({"steps on gravel", "steps on dirt"}, {"violin", "strings"})
