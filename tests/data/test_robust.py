"""sfcli.data.robust: label-free, absent-target, multi-source and augmented mixtures stay exact."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from sfcli.data.augment import rir_bank
from sfcli.data.corpus import Corpus
from sfcli.data.robust import PoolCategories, RobustMixtures, RobustOptions
from sfcli.errors import SfcliError
from tests.data.test_corpus import write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    spec = [(cat, "train", 3.0 + j) for cat in ["dog", "rain", "bell", "car", "wind"] for j in range(2)]
    return Corpus.open(write_corpus(tmp_path_factory.mktemp("c"), spec))


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = write_corpus(tmp_path_factory.mktemp("p"), [("", "train", 4.0) for _ in range(6)], seed=3)
    rows = [json.loads(line) for line in (root / "clips.jsonl").read_text().splitlines()]
    for i, r in enumerate(rows):
        r.update(source=f"pkg{i % 3}", descriptions=[], id=f"p{i:04d}")
    (root / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return Corpus.open(root)


@pytest.fixture(scope="module")
def rirs() -> list[np.ndarray]:
    return rir_bank(seed=0, n=3)


def test_plain_options_reproduce_the_corpus_mixtures(corpus: Corpus) -> None:
    from sfcli.data.mixing import MixtureDataset

    ds = RobustMixtures(corpus, seed=2, length=10)
    base = MixtureDataset(corpus, seed=2, length=10)
    assert not ds.options.enabled
    for i in range(4):
        a, b = ds[i], base[i]
        np.testing.assert_allclose(a["mixture"], b["mixture"], atol=1e-6)
        np.testing.assert_allclose(a["target"], b["target"], atol=1e-6)
        assert not a["absent"] and not a["label_free"] and a["text"] == b["text"]


def test_every_kind_of_example_is_exact_and_deterministic(corpus: Corpus, pool: Corpus, rirs) -> None:
    opts = RobustOptions(label_free=0.4, absent=0.3, extra_sources=(0.4, 0.4, 0.2), gain_db=10.0, augment=1.0)
    ds = RobustMixtures(corpus, seed=0, options=opts, pool=pool, length=60, rirs=rirs)
    seen = {"absent": 0, "label_free": 0, "multi": 0}
    for i in range(40):
        ex = ds[i]
        assert np.array_equal(ex["mixture"], ex["target"] + ex["background"])
        for k in ("mixture", "target", "background", "cond_audio"):
            assert ex[k].shape == (32000,) and ex[k].dtype == np.float32 and np.isfinite(ex[k]).all()
        assert float(np.max(np.abs(ex["mixture"]))) <= 0.99 + 1e-6
        if ex["absent"]:
            seen["absent"] += 1
            assert not np.any(ex["target"])  # the true target of an absent query is silence
            assert ex["query_category"] not in (ex["category"], ex["background_category"])
            assert corpus.by_id(ex["clip_id"]).category == ex["query_category"]  # the query's clip
            assert isinstance(ex["text"], str)
        if ex["label_free"]:
            seen["label_free"] += 1
            assert ex["category"].startswith("pool:") and ex["clip_id"].startswith("p")
            assert ex["text"] is None
        seen["multi"] += ex["n_sources"] > 2
    assert all(v > 0 for v in seen.values()), seen
    again = RobustMixtures(corpus, seed=0, options=opts, pool=pool, length=60, rirs=rirs)
    for i in (0, 7, 13):
        assert np.array_equal(ds[i]["mixture"], again[i]["mixture"])


def test_label_free_needs_a_pool(corpus: Corpus) -> None:
    with pytest.raises(SfcliError, match="pool"):
        RobustMixtures(corpus, options=RobustOptions(label_free=0.5))


def test_pool_categories_are_sources(pool: Corpus) -> None:
    cats = {c.category for c in PoolCategories(pool).split("train")}
    assert cats == {"pool:pkg0", "pool:pkg1", "pool:pkg2"}
    assert all(c.category == "" for c in pool.split("train"))  # the pool itself is not changed


def test_absent_examples_keep_the_mixture_in_the_background(corpus: Corpus, tmp_path: Path) -> None:
    ds = RobustMixtures(corpus, seed=1, options=RobustOptions(absent=1.0), length=5)
    ex = ds[0]
    assert ex["absent"] and np.array_equal(ex["background"], ex["mixture"])


def test_other_take_queries_come_from_another_clip_of_the_category(corpus: Corpus) -> None:
    plain = RobustMixtures(corpus, seed=3, length=20)
    ds = RobustMixtures(corpus, seed=3, options=RobustOptions(other_take=1.0), length=20)
    assert ds.options.enabled
    swapped = 0
    for i in range(12):
        a, b = ds[i], plain[i]
        np.testing.assert_array_equal(a["mixture"], b["mixture"])  # only the query changes
        np.testing.assert_array_equal(a["mixture"], a["target"] + a["background"])
        assert a["clip_id"] == b["clip_id"]  # text expansion still leaves out the target's own clip
        if "query_clip_id" in a:
            swapped += 1
            assert a["query_clip_id"] != a["clip_id"]
            assert corpus.by_id(a["query_clip_id"]).category == a["category"]
            assert not np.array_equal(a["cond_audio"], b["cond_audio"])
    assert swapped > 0


@pytest.mark.parametrize("label_free", [0.0, 1.0])
def test_swapped_pairs_query_the_background_of_the_same_mixture(
    corpus: Corpus, pool: Corpus, label_free: float
) -> None:
    opts = RobustOptions(swap_pairs=1.0, label_free=label_free)
    ds = RobustMixtures(corpus, seed=4, options=opts, pool=pool, length=20)
    plain = RobustMixtures(corpus, seed=4, options=dataclasses.replace(opts, swap_pairs=0.0), pool=pool, length=20)
    for i in range(0, 8, 2):
        first, second = ds[i], ds[i + 1]
        for k in ("mixture", "target", "background", "cond_audio"):  # the first of a pair is unchanged
            np.testing.assert_array_equal(first[k], plain[i][k])
        assert second.get("swapped") and not first.get("swapped")
        np.testing.assert_array_equal(second["mixture"], first["mixture"])
        np.testing.assert_array_equal(second["target"], first["background"])
        np.testing.assert_array_equal(second["background"], first["target"])
        np.testing.assert_array_equal(second["mixture"], second["target"] + second["background"])
        assert second["clip_id"] == first["background_clip_id"] != first["clip_id"]
        assert second["category"] == first["background_category"]
        assert (second["text"] is None) == bool(label_free)
        if not label_free:
            assert second["text"] in corpus.by_id(second["clip_id"]).descriptions
        np.testing.assert_array_equal(ds[i + 1]["cond_audio"], second["cond_audio"])  # deterministic


def test_swapped_pairs_skip_absent_examples(corpus: Corpus) -> None:
    ds = RobustMixtures(corpus, seed=1, options=RobustOptions(swap_pairs=1.0, absent=1.0), length=5)
    assert not ds[1].get("swapped") and ds[1]["absent"]


def test_a_crop_can_avoid_another_crop_of_the_clip(corpus: Corpus) -> None:
    from sfcli.data.mixing import MixtureDataset

    ds = MixtureDataset(corpus, seed=0, length=4)
    clip = max(ds.clips, key=ds._length)  # 4 s: room for two disjoint 2 s crops
    L, n = ds._length(clip), ds.n
    for seed in range(20):
        rng = np.random.default_rng(seed)
        avoid = int(rng.integers(0, L - n + 1))
        _, start = ds.random_crop_at(clip, rng, avoid=avoid)
        if avoid >= n or avoid + 2 * n <= L:
            assert start + n <= avoid or start >= avoid + n
        else:  # no disjoint crop fits: the farthest one
            assert start in (0, L - n) and abs(start - avoid) == max(avoid, L - n - avoid)


def test_procedural_targets_are_exact_audio_queried_and_leave_other_examples_alone(corpus: Corpus, rirs) -> None:
    opts = RobustOptions(procedural=0.5, augment=1.0, other_take=0.5)
    ds = RobustMixtures(corpus, seed=6, options=opts, length=40, rirs=rirs)
    without = RobustMixtures(corpus, seed=6, options=dataclasses.replace(opts, procedural=0.0), length=40, rirs=rirs)
    n_proc = 0
    for i in range(24):
        ex = ds[i]
        assert np.array_equal(ex["mixture"], ex["target"] + ex["background"])
        if ex.get("procedural"):
            n_proc += 1
            assert ex["category"].startswith("procedural:") and ex["text"] is None and ex["label_free"]
            assert ex["background_category"] in corpus.categories  # over a real background
            assert float(np.sqrt(np.mean(ex["target"] ** 2))) > 1e-3
        else:  # the draw has its own stream: every other example is the one the run without it sees
            np.testing.assert_array_equal(ex["mixture"], without[i]["mixture"])
            np.testing.assert_array_equal(ex["cond_audio"], without[i]["cond_audio"])
    assert 4 <= n_proc <= 20
    np.testing.assert_array_equal(
        ds[3]["mixture"], RobustMixtures(corpus, seed=6, options=opts, length=40, rirs=rirs)[3]["mixture"]
    )


def test_swapping_a_procedural_example_queries_its_described_background_by_text(corpus: Corpus) -> None:
    ds = RobustMixtures(corpus, seed=2, options=RobustOptions(procedural=1.0, swap_pairs=1.0), length=10)
    first, second = ds[0], ds[1]
    assert first.get("procedural") and second.get("swapped")
    np.testing.assert_array_equal(second["target"], first["background"])
    assert not second["label_free"] and second["text"] in corpus.by_id(second["clip_id"]).descriptions


def test_procedural_backgrounds_are_exact_and_a_swapped_pair_queries_them(corpus: Corpus, rirs) -> None:
    opts = RobustOptions(procedural_backgrounds=1.0, swap_pairs=1.0, augment=1.0)
    ds = RobustMixtures(corpus, seed=3, options=opts, length=10, rirs=rirs)
    for i in (0, 2):
        first, second = ds[i], ds[i + 1]
        assert first["background_category"].startswith("procedural:") and not first["label_free"]
        assert isinstance(first["text"], str)  # the described target keeps its text
        np.testing.assert_array_equal(first["mixture"], first["target"] + first["background"])
        assert second.get("swapped") and second["label_free"] and second["text"] is None
        assert second["category"] == first["background_category"]
        np.testing.assert_array_equal(second["target"], first["background"])
        np.testing.assert_array_equal(second["mixture"], second["target"] + second["background"])
        assert second["cond_audio"].shape == (32000,) and np.isfinite(second["cond_audio"]).all()
        assert float(np.sqrt(np.mean(second["cond_audio"] ** 2))) > 1e-3
        np.testing.assert_array_equal(ds[i + 1]["cond_audio"], second["cond_audio"])  # deterministic


def test_similar_backgrounds_come_from_the_nearest_categories_and_stay_exact(corpus: Corpus, rirs) -> None:
    # "dog" sounds like "bell" here, "rain" like "wind", ...: each target's background must be its neighbour
    pairs = {"dog": "bell", "bell": "dog", "rain": "wind", "wind": "rain", "car": "dog"}
    emb = {
        "dog": np.array([1.0, 0.0, 0.0]),
        "bell": np.array([0.9, 0.1, 0.0]),
        "rain": np.array([0.0, 1.0, 0.0]),
        "wind": np.array([0.1, 0.9, 0.0]),
        "car": np.array([0.3, 0.0, 1.0]),
    }
    opts = RobustOptions(similar_backgrounds=1.0, augment=1.0, swap_pairs=1.0)
    ds = RobustMixtures(corpus, seed=4, options=opts, length=40, rirs=rirs, category_embeddings=emb)
    assert all(ds.similar[c][0] == b for c, b in pairs.items())
    for i in range(0, 16, 2):
        ex, swapped = ds[i], ds[i + 1]
        assert ex["background_category"] in ds.similar[ex["category"]]
        assert ex["background_category"] in ds.corpus_ds.background_categories[ex["category"]]
        np.testing.assert_array_equal(ex["mixture"], ex["target"] + ex["background"])
        assert swapped.get("swapped") and swapped["category"] == ex["background_category"]
        np.testing.assert_array_equal(swapped["target"], ex["background"])
    again = RobustMixtures(corpus, seed=4, options=opts, length=40, rirs=rirs, category_embeddings=emb)
    np.testing.assert_array_equal(again[6]["mixture"], ds[6]["mixture"])


def test_similar_backgrounds_leave_other_examples_alone_and_need_embeddings(corpus: Corpus) -> None:
    emb = {c: np.eye(5)[j] for j, c in enumerate(["dog", "rain", "bell", "car", "wind"])}
    opts = RobustOptions(similar_backgrounds=0.5)
    half = RobustMixtures(corpus, seed=1, options=opts, length=40, category_embeddings=emb)
    plain = RobustMixtures(corpus, seed=1, length=40)
    changed = sum(not np.array_equal(half[i]["background"], plain[i]["background"]) for i in range(30))
    same_target = all(np.array_equal(half[i]["target"], plain[i]["target"]) for i in range(30))
    assert 5 <= changed <= 25 and same_target
    with pytest.raises(SfcliError, match="similar backgrounds"):
        RobustMixtures(corpus, options=RobustOptions(similar_backgrounds=0.5), length=4)


def test_category_embeddings_average_the_bank_rows_of_each_category(corpus: Corpus) -> None:
    from sfcli.train.datasets import category_embeddings
    from sfcli.words.bank import AudioBank

    clips = corpus.split("train")
    rows = np.random.default_rng(0).standard_normal((len(clips), 4)).astype(np.float32)
    bank = AudioBank(rows)
    emb = category_embeddings(bank, corpus)
    normed = bank.embeddings.numpy()
    dog = [i for i, c in enumerate(clips) if c.category == "dog"]
    assert sorted(emb) == sorted({c.category for c in clips})
    np.testing.assert_allclose(emb["dog"], normed[dog].mean(axis=0), atol=1e-6)
    with pytest.raises(SfcliError, match="audio bank of this corpus' train split"):
        category_embeddings(AudioBank(rows[:-1]), corpus)
    with pytest.raises(SfcliError, match="no audio bank"):
        category_embeddings(None, corpus)


def test_similar_backgrounds_of_any_group_may_share_the_targets_group(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "g", [(c, "train", 3.0) for c in ["dog", "bell", "rain", "car"] for _ in range(2)])
    rows = [json.loads(line) for line in (root / "clips.jsonl").read_text().splitlines()]
    for r in rows:  # "dog" and "bell" share a coarse group: plain mixtures never pair them
        r["group"] = "g" if r["category"] in ("dog", "bell") else ""
    (root / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    corpus = Corpus.open(root)
    emb = {"dog": np.array([1.0, 0.0]), "bell": np.array([0.95, 0.05]), "rain": np.array([0.0, 1.0])}
    emb["car"] = np.array([0.5, 0.5])
    opts = RobustOptions(similar_backgrounds=1.0)
    plain = RobustMixtures(corpus, options=opts, length=8, category_embeddings=emb)
    both = RobustMixtures(
        corpus, options=dataclasses.replace(opts, similar_any_group=True), length=8, category_embeddings=emb
    )
    assert "bell" not in plain.similar["dog"] and plain.similar["dog"][0] == "car"
    assert both.similar["dog"][0] == "bell" and "dog" not in both.similar["dog"]
    ex = both[0]
    assert ex["background_category"] in both.similar[ex["category"]]
    np.testing.assert_array_equal(ex["mixture"], ex["target"] + ex["background"])


def test_similar_pool_backgrounds_come_from_the_target_clips_neighbours(corpus: Corpus, pool: Corpus, rirs) -> None:
    # pool clips p0000..p0005 of sources pkg0, pkg1, pkg2, pkg0, pkg1, pkg2; p0000 sounds like p0004 (another
    # source), p0003 (its own source, never chosen) aside
    emb = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0.01, 0], [0.9, 0.1, 0], [0, 0.9, 0.1]], np.float32)
    opts = RobustOptions(label_free=1.0, similar_pool=1.0, augment=1.0, swap_pairs=1.0)
    ds = RobustMixtures(corpus, seed=3, options=opts, pool=pool, length=40, rirs=rirs, pool_embeddings=emb)
    assert ds._pool_near["p0000"][0].id == "p0004"
    assert all(c.category != "pool:pkg0" for c in ds._pool_near["p0000"])
    for i in range(0, 12, 2):
        ex, swapped = ds[i], ds[i + 1]
        assert ex["label_free"] and ex["background_clip_id"] in {c.id for c in ds._pool_near[ex["clip_id"]]}
        np.testing.assert_array_equal(ex["mixture"], ex["target"] + ex["background"])
        assert swapped.get("swapped") and swapped["clip_id"] == ex["background_clip_id"]
        np.testing.assert_array_equal(swapped["target"], ex["background"])
    again = RobustMixtures(corpus, seed=3, options=opts, pool=pool, length=40, rirs=rirs, pool_embeddings=emb)
    np.testing.assert_array_equal(again[4]["mixture"], ds[4]["mixture"])


def test_similar_pool_backgrounds_leave_described_examples_alone_and_need_embeddings(
    corpus: Corpus, pool: Corpus
) -> None:
    emb = np.eye(6, dtype=np.float32)
    half = RobustMixtures(corpus, seed=1, options=RobustOptions(label_free=0.5, similar_pool=0.5), pool=pool,
                          length=60, pool_embeddings=emb)  # fmt: skip
    plain = RobustMixtures(corpus, seed=1, options=RobustOptions(label_free=0.5), pool=pool, length=60)
    changed = [not np.array_equal(half[i]["background"], plain[i]["background"]) for i in range(40)]
    assert all(np.array_equal(half[i]["target"], plain[i]["target"]) for i in range(40))
    assert not any(c for i, c in enumerate(changed) if not plain[i]["label_free"])
    assert 3 <= sum(changed) <= sum(plain[i]["label_free"] for i in range(40)) - 3
    with pytest.raises(SfcliError, match="embedding of each pool clip"):
        RobustMixtures(corpus, options=RobustOptions(label_free=0.5, similar_pool=0.5), pool=pool, length=4)
    with pytest.raises(SfcliError, match="need label-free examples"):
        RobustMixtures(corpus, options=RobustOptions(similar_pool=0.5), pool=pool, length=4, pool_embeddings=emb)


def test_pool_other_takes_query_a_neighbour_of_the_same_source(corpus: Corpus, pool: Corpus, rirs) -> None:
    # p0000 and p0003 share source pkg0 and sound alike; every label-free query must come from the source's
    # other clip, the target and background untouched
    emb = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0.01, 0], [0.9, 0.1, 0], [0, 0.9, 0.1]], np.float32)
    opts = RobustOptions(label_free=1.0, pool_other_take=1.0, augment=1.0)
    ds = RobustMixtures(corpus, seed=3, options=opts, pool=pool, length=40, rirs=rirs, pool_embeddings=emb)
    plain = RobustMixtures(corpus, seed=3, options=dataclasses.replace(opts, pool_other_take=0.0), pool=pool,
                           length=40, rirs=rirs)  # fmt: skip
    assert [c.id for c in ds._pool_takes["p0000"]] == ["p0003"]
    for i in range(10):
        ex, base = ds[i], plain[i]
        src = {c.id: c.category for c in ds.pool_ds.clips}
        assert ex["query_clip_id"] != ex["clip_id"] and src[ex["query_clip_id"]] == src[ex["clip_id"]]
        np.testing.assert_array_equal(ex["mixture"], base["mixture"])
        assert not np.array_equal(ex["cond_audio"], base["cond_audio"])
    with pytest.raises(SfcliError, match="embedding of each pool clip"):
        RobustMixtures(corpus, options=RobustOptions(label_free=0.5, pool_other_take=0.5), pool=pool, length=4)
