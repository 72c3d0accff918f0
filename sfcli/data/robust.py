"""Training mixtures that look like the recordings users have (issue 20): the corpus's described
mixtures (:class:`sfcli.data.mixing.MixtureDataset`) extended with

* **label-free audio**: examples whose target comes from the label-free pool (any recorded sound, no
  description; the query is a disjoint crop of the same clip, so only audio conditioning is used);
* **augmentation** (:mod:`sfcli.data.augment`): each source and the conditioning crop through their own
  random room / microphone / band-limit / speed chain, a low-bitrate codec on the mixture;
* **harder mixtures**: up to ``max_sources`` sources (1-3 backgrounds) and a wider gain range;
* **absent targets**: a share of examples whose query is a sound of a third category that is *not* in
  the mixture; their true target is silence and their background the whole mixture;
* **other-take queries**: a share of described examples whose audio query is a crop of *another clip*
  of the target's category instead of a disjoint crop of the same clip — what a user's reference is
  (another recording of the sound, not a piece of the one in the mixture).
* **swapped pairs**: for a share of example pairs ``(2k, 2k + 1)``, example ``2k + 1`` is example
  ``2k``'s very mixture with the roles swapped — its background is the target, queried by a crop of the
  background's clip (disjoint from the background crop, or another clip of its category as above) or by
  one of that clip's descriptions. Both examples land in the same batch, so the network is shown that
  the same mixture gives different outputs for different queries, and cannot lean on which of two
  sounds "looks like a target" (out of domain it returns the wrong one for about a quarter of the
  mixtures; docs/notebook/realworld-ablation.md).
* **procedural targets** (:mod:`sfcli.data.procedural`): a share of examples whose target is a sound
  drawn from a physical model (impacts, textures, motors, bubbles, crackle, scrapes, tones) with random
  parameters, over the example's own background; the query is another stretch of the same sound or,
  as for other-take queries, a new realisation with the same parameters; and a share of examples whose
  (first) background is one, so that real targets are also heard over such sounds (a swapped pair then
  queries the procedural background with its own query).
* **similar backgrounds**: a share of described examples whose background comes from one of the
  categories that sound most like the target's (nearest in SoundWords audio space; not of a
  conflicting group unless ``similar_any_group``, e.g. two engines): two kitchen clatters rather than a
  clatter over a song, so that the query and not the kind of sound has to say which one to return.
* **the pool's neighbours** (given one SoundWords embedding per pool clip): a share of label-free
  examples over one of the pool clips of other sources nearest to the target's clip
  (``similar_pool``), and a share queried by a crop of one of the nearest clips of the target's own
  source (``pool_other_take``); neither helped out of domain (docs/notebook/realworld-ablation.md).

Every example still satisfies ``mixture == target + background`` exactly (float32) and is deterministic
for ``(seed, index)``. Items are the same dicts as :class:`MixtureDataset`'s plus ``absent`` and
``label_free`` flags; ``text`` is ``None`` for label-free examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sfcli.data.alike import nearest_categories, nearest_clips
from sfcli.data.augment import AugmentConfig, Augmenter
from sfcli.data.mixing import SOURCE_RMS, MixtureDataset, _groups_conflict, _normalise, pick_description
from sfcli.data.pool import PoolCategories
from sfcli.data.procedural import procedural_pair
from sfcli.errors import SfcliError

SIMILAR_K = 10  # a similar background comes from one of the target category's 10 nearest categories
SIMILAR_POOL_K = 20  # a similar pool background comes from one of the target clip's 20 nearest pool clips
POOL_TAKE_K = 5  # a pool other-take query comes from one of the 5 nearest clips of the target's source


@dataclass
class RobustOptions:
    """Shares and ranges of the issue-20 training mixtures (all off = the plain corpus mixtures)."""

    label_free: float = 0.0  # share of examples whose target is a label-free pool clip
    absent: float = 0.0  # share of examples whose query is in neither source (target = silence)
    extra_sources: tuple[float, ...] = (1.0,)  # probabilities of 1, 2, 3, ... background sources
    gain_db: float = 4.0  # backgrounds at a uniform gain in [-gain_db, +gain_db] dB
    augment: float = 0.0  # strength of sfcli.data.augment (0 = off, 1 = its defaults)
    other_take: float = 0.0  # share of described examples queried by another clip of the target's category
    swap_pairs: float = 0.0  # share of example pairs whose second example is the first with the roles swapped
    procedural: float = 0.0  # share of examples whose target is a procedural sound (sfcli.data.procedural)
    procedural_backgrounds: float = 0.0  # share of examples whose first background is a procedural sound
    similar_backgrounds: float = 0.0  # share of described examples with a background of a similar category
    similar_any_group: bool = False  # similar backgrounds may share the target's coarse group (two engines)
    similar_pool: float = 0.0  # share of label-free examples with a background of a nearby pool clip
    pool_other_take: float = 0.0  # share of label-free examples queried by a nearby clip of the same source

    @property
    def enabled(self) -> bool:
        """Whether anything differs from the plain corpus mixtures."""
        return bool(
            self.label_free
            or self.absent
            or len(self.extra_sources) > 1
            or self.augment
            or self.other_take
            or self.swap_pairs
            or self.procedural
            or self.procedural_backgrounds
            or self.similar_backgrounds
            or self.similar_pool
            or self.pool_other_take
        )


class RobustMixtures:
    """The issue-20 training mixtures over a described corpus split and an optional label-free pool."""

    def __init__(
        self,
        corpus: Any,
        split: str = "train",
        seed: int = 0,
        options: RobustOptions | None = None,
        pool: Any | None = None,
        crop_seconds: float = 2.0,
        length: int | None = None,
        rirs: list[np.ndarray] | None = None,
        category_embeddings: dict[str, np.ndarray] | None = None,
        pool_embeddings: np.ndarray | None = None,
    ) -> None:
        """``pool`` is a corpus-format folder opened with :meth:`Corpus.open` (its ``train`` split is used);
        ``category_embeddings`` (a SoundWords audio embedding per category, e.g. the mean of its clips')
        say which categories are similar (:func:`~sfcli.data.alike.nearest_categories`; needed for
        ``similar_backgrounds``); ``pool_embeddings`` (one row per clip of the pool's train split, in its
        order; :func:`sfcli.data.pool.pool_embeddings`) which pool clips are (needed for ``similar_pool``)."""
        self.options = options or RobustOptions()
        self.corpus = corpus  # the described corpus (text expansion maps its train split to the audio bank)
        self.seed = int(seed)
        self.corpus_ds = MixtureDataset(corpus, split, seed, crop_seconds, self.options.gain_db, length)
        self.pool_ds = None
        if pool is not None and self.options.label_free > 0:
            self.pool_ds = MixtureDataset(PoolCategories(pool), "train", seed + 1, crop_seconds, self.options.gain_db)
        if self.options.label_free > 0 and self.pool_ds is None:
            raise SfcliError("label-free examples need a pool (see scripts/corpus/unlabelled.py)")
        self.similar: dict[str, list[str]] = {}
        if self.options.similar_backgrounds > 0:
            if not category_embeddings:
                raise SfcliError("similar backgrounds need a SoundWords embedding of each category")
            allowed = self.corpus_ds.background_categories
            if self.options.similar_any_group:
                allowed = {c: [b for b in self.corpus_ds.categories if b != c] for c in self.corpus_ds.categories}
            self.similar = nearest_categories(category_embeddings, allowed, SIMILAR_K)
        self._pool_near: dict[str, list[Any]] = {}
        if self.options.similar_pool > 0:
            self._pool_near = self._nearest_pool_clips(pool_embeddings, SIMILAR_POOL_K, False)
        self._pool_takes: dict[str, list[Any]] = {}
        if self.options.pool_other_take > 0:
            self._pool_takes = self._nearest_pool_clips(pool_embeddings, POOL_TAKE_K, True)
        self.sample_rate = self.corpus_ds.sample_rate
        config = AugmentConfig.scaled(self.options.augment) if self.options.augment > 0 else AugmentConfig.off()
        self.augmenter = Augmenter(config, self.sample_rate, rirs if rirs is not None or config.reverb <= 0 else None)
        self.length = len(self.corpus_ds)
        self.categories = self.corpus_ds.categories
        self.clips = self.corpus_ds.clips
        self._last_first: tuple[int, dict[str, Any]] | None = None  # the last pair's first example

    def __len__(self) -> int:
        return self.length

    def _nearest_pool_clips(self, embeddings: np.ndarray | None, k: int, same: bool) -> dict[str, list[Any]]:
        """Each pool clip's id -> its ``k`` nearest pool clips of other sources (``same``: of its own)."""
        if self.pool_ds is None:
            raise SfcliError("similar pool clips need label-free examples (a pool and a label-free share)")
        clips = self.pool_ds.corpus.split("train")
        if embeddings is None or len(embeddings) != len(clips):
            raise SfcliError("similar pool clips need a SoundWords embedding of each pool clip")
        emb = np.asarray(embeddings, dtype=np.float32)
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        near = nearest_clips(emb, [c.category for c in clips], k, same_group=same)
        return {c.id: [clips[j] for j in row if j >= 0] for c, row in zip(clips, near, strict=True)}

    def _other_category(self, category: str, exclude: set[str], rng: np.random.Generator) -> str:
        """A described category outside ``exclude`` whose group does not conflict with ``category``'s."""
        ds = self.corpus_ds
        group = _group_of(ds, category)
        cats = [c for c in ds.categories if c not in exclude and not _groups_conflict(group, _group_of(ds, c))]
        return cats[int(rng.integers(len(cats)))] if cats else ds.categories[int(rng.integers(len(ds.categories)))]

    def _random_clip(self, category: str, rng: np.random.Generator) -> Any:
        pool = self.corpus_ds.by_cat[category]
        return pool[int(rng.integers(len(pool)))]

    def _absent_query(self, category: str, exclude: set[str], rng: np.random.Generator) -> dict[str, Any]:
        """A query (crop and description) of a third category that is in neither source."""
        cat = self._other_category(category, exclude, rng)
        clip = self._random_clip(cat, rng)
        crop = self.corpus_ds.random_crop(clip, rng)
        text = pick_description(clip, rng, cat)
        # the query's clip id: conditioning caches and text expansion key on the clip the query comes from
        return {"cond_audio": crop, "text": text, "descriptions": [text], "clip_id": clip.id, "query_category": cat}

    def _other_take(self, item: dict[str, Any], rng: np.random.Generator) -> None:
        """Replace ``item``'s audio query by a crop of another clip of its category, if it has one.

        The item keeps its ``clip_id`` (text expansion must still leave out the target's own clip); the
        query's clip is ``query_clip_id``."""
        others = [c for c in self.corpus_ds.by_cat.get(item["category"], []) if c.id != item.get("clip_id")]
        if others:
            clip = others[int(rng.integers(len(others)))]
            item.update(cond_audio=self.corpus_ds.random_crop(clip, rng), query_clip_id=clip.id)

    def __getitem__(self, i: int) -> dict[str, Any]:
        """Example ``i`` (deterministic for ``(seed, i)``); see the module docstring."""
        if i < 0:
            raise IndexError(i)
        if self.options.swap_pairs <= 0:
            return self._example(i)
        if i % 2 == 0:  # kept for its pair's second example, which batches ask for next
            item = self._example(i)
            self._last_first = (i, item)
            return dict(item)
        # drawn only when asked for, so that runs without swapped pairs see the examples they saw before
        rng = np.random.default_rng([self.seed, int(i), 21])
        if rng.random() < self.options.swap_pairs:
            last = self._last_first
            swapped = self._swapped(last[1] if last and last[0] == i - 1 else self._example(i - 1), rng)
            if swapped is not None:
                return swapped
        return self._example(i)

    def _swapped(self, base: dict[str, Any], rng: np.random.Generator) -> dict[str, Any] | None:
        """``base``'s mixture with target and background exchanged, queried for the background's clip;
        None when that is not a single sound of a known clip (absent targets, several backgrounds)."""
        if base["absent"] or base["n_sources"] != 2:
            return None
        if "background_query" in base:
            return self._swapped_procedural(base, rng)
        from_pool = bool(base.get("background_label_free", base["label_free"]))
        ds = self.pool_ds if from_pool and self.pool_ds is not None else self.corpus_ds
        clip = ds.clip_by_id.get(base["background_clip_id"])
        if clip is None:
            return None
        item = _exchanged(base)
        item["label_free"] = from_pool
        item["cond_audio"], _ = ds.random_crop_at(clip, rng, avoid=int(base["background_start"]))
        if from_pool:
            item["text"] = None
        else:
            item["text"] = pick_description(clip, rng, item["category"])
            if self.options.other_take > 0 and rng.random() < self.options.other_take:
                self._other_take(item, rng)
        item["cond_audio"] = self._query_audio(item["cond_audio"], rng)
        return item

    def _swapped_procedural(self, base: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """``base``'s mixture queried for its procedural background (with that sound's own query)."""
        item = _exchanged(base)
        del item["background_query"]
        item.update(
            cond_audio=self._query_audio(base["background_query"], rng), text=None, label_free=True, procedural=True
        )
        return item

    def _pick(
        self, i: int, stream: int, share: float, choices: list[Any] | None
    ) -> tuple[Any, np.random.Generator] | None:
        """With probability ``share``, one of ``choices`` drawn in example ``i``'s own random stream
        ``stream`` (so that runs without the option see the examples they saw before), and that stream."""
        rng = np.random.default_rng([self.seed, int(i), stream])
        if rng.random() >= share or not choices:
            return None
        return choices[int(rng.integers(len(choices)))], rng

    def _similar_background(self, item: dict[str, Any], i: int) -> None:
        """With probability ``similar_backgrounds``, replace example ``i``'s background by a crop of a clip
        of a category similar to the target's (drawn in its own stream, as the procedural sounds are)."""
        picked = self._pick(i, 24, self.options.similar_backgrounds, self.similar.get(item["category"]))
        if picked is None:
            return
        cat, rng = picked
        clip = self._random_clip(cat, rng)
        crop, start = self.corpus_ds.random_crop_at(clip, rng)
        item.update(background=crop, background_category=cat, background_clip_id=clip.id, background_start=start)

    def _similar_pool_background(self, item: dict[str, Any], i: int) -> None:
        """With probability ``similar_pool``, replace label-free example ``i``'s background by a crop of one
        of the pool clips nearest to its target's clip (from another source; drawn in its own stream)."""
        picked = self._pick(i, 25, self.options.similar_pool, self._pool_near.get(item["clip_id"]))
        if picked is None or self.pool_ds is None:
            return
        clip, rng = picked
        crop, start = self.pool_ds.random_crop_at(clip, rng)
        item.update(
            background=crop, background_category=clip.category, background_clip_id=clip.id, background_start=start
        )

    def _pool_other_take(self, item: dict[str, Any], i: int) -> None:
        """With probability ``pool_other_take``, replace label-free example ``i``'s audio query by a crop of
        one of the clips of its target's source nearest to the target's clip (drawn in its own stream)."""
        picked = self._pick(i, 26, self.options.pool_other_take, self._pool_takes.get(item["clip_id"]))
        if picked is None or self.pool_ds is None:
            return
        clip, rng = picked
        item.update(cond_audio=self.pool_ds.random_crop(clip, rng), query_clip_id=clip.id)

    def _procedural_background(self, item: dict[str, Any], i: int, rng: np.random.Generator) -> None:
        """Replace ``item``'s background by a procedural sound; keep that sound's query for a swapped pair."""
        n = int(np.asarray(item["background"]).size)
        background, query, family = procedural_pair(rng, n, self.sample_rate, self.options.other_take)
        item.update(
            background=background,
            background_category=f"procedural:{family}",
            background_clip_id=f"procedural-background:{i}",
            background_query=query,
        )

    def _procedural(self, item: dict[str, Any], i: int, rng: np.random.Generator) -> None:
        """Replace ``item``'s target and query by a procedural sound (audio query only)."""
        n = int(np.asarray(item["target"]).size)
        target, query, family = procedural_pair(rng, n, self.sample_rate, self.options.other_take)
        item.update(
            target=target,
            cond_audio=query,
            category=f"procedural:{family}",
            clip_id=f"procedural:{i}",
            text=None,
            procedural=True,
        )
        item.pop("query_clip_id", None)

    def _query_audio(self, crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """An audio query crop augmented, at the sources' level and below clipping (float32)."""
        cond = _normalise(self.augmenter.source(crop, rng), SOURCE_RMS)
        cpeak = float(np.max(np.abs(cond))) if cond.size else 0.0
        return (cond * np.float32(0.99 / cpeak) if cpeak > 0.99 else cond).astype(np.float32)

    def _example(self, i: int) -> dict[str, Any]:
        """Example ``i`` before pairing."""
        opts = self.options
        rng = np.random.default_rng([self.seed, int(i), 20])
        label_free = self.pool_ds is not None and rng.random() < opts.label_free
        item = dict((self.pool_ds if label_free else self.corpus_ds)[i])
        if label_free and (opts.similar_pool > 0 or opts.pool_other_take > 0):
            self._similar_pool_background(item, i)
            self._pool_other_take(item, i)
        if opts.procedural > 0:  # its own stream, so that runs without it see the examples they saw before
            prng = np.random.default_rng([self.seed, int(i), 22])
            if prng.random() < opts.procedural:
                self._procedural(item, i, prng)
                item["background_label_free"] = bool(label_free)  # where the (kept) background clip came from
                label_free = True
        if opts.similar_backgrounds > 0 and not label_free:
            self._similar_background(item, i)
        if opts.procedural_backgrounds > 0:
            brng = np.random.default_rng([self.seed, int(i), 23])
            if brng.random() < opts.procedural_backgrounds:
                self._procedural_background(item, i, brng)
        n_bg = 1 + int(rng.choice(len(opts.extra_sources), p=np.asarray(opts.extra_sources) / sum(opts.extra_sources)))
        used = {item["category"], item.get("background_category", "")}
        target = self.augmenter.source(item["target"], rng)
        backgrounds = [self.augmenter.source(item["background"], rng)]
        gains = [float(item.get("gain_db", 0.0))]
        for _ in range(n_bg - 1):
            cat = self._other_category(item["category"] if not label_free else "", used, rng)
            used.add(cat)
            crop = self.corpus_ds.random_crop(self._random_clip(cat, rng), rng)
            backgrounds.append(self.augmenter.source(crop, rng))
            gains.append(float(rng.uniform(-opts.gain_db, opts.gain_db)))
        target = _normalise(target, SOURCE_RMS)
        background = np.sum(
            [_normalise(b, SOURCE_RMS * 10 ** (g / 20)) for b, g in zip(backgrounds, gains, strict=True)], 0
        )
        absent = rng.random() < opts.absent and not label_free  # a pool clip's sound class is unknown
        if absent:
            item.update(self._absent_query(item["category"], used, rng))
            target, background = np.zeros_like(target), (target + background).astype(np.float32)
        mixture, target, background = self.augmenter.mixture(target, background.astype(np.float32), rng)
        peak = float(np.max(np.abs(mixture))) if mixture.size else 0.0
        if peak > 0.99:
            k = np.float32(0.99 / peak)
            target, background = target * k, background * k
            mixture = target + background
        # drawn only when asked for, so that runs without it see exactly the examples they saw before
        if opts.other_take > 0 and not (label_free or absent) and rng.random() < opts.other_take:
            self._other_take(item, rng)
        item.update(
            mixture=mixture.astype(np.float32),
            target=target.astype(np.float32),
            background=background.astype(np.float32),
            cond_audio=self._query_audio(item["cond_audio"], rng),
            absent=bool(absent),
            label_free=bool(label_free),
            n_sources=1 + len(backgrounds),
        )
        if label_free and not absent:
            item["text"] = None
        return item


def _exchanged(base: dict[str, Any]) -> dict[str, Any]:
    """A copy of example ``base`` with target and background (audio, category, clip id) exchanged,
    marked ``swapped``, without ``base``'s query clip; the caller sets the query."""
    item = {k: v for k, v in base.items() if k != "query_clip_id"}
    item.update(
        target=base["background"],
        background=base["target"],
        category=base["background_category"],
        background_category=base["category"],
        clip_id=base["background_clip_id"],
        background_clip_id=base["clip_id"],
        swapped=True,
    )
    return item


def _group_of(ds: MixtureDataset, category: str) -> str:
    clips = ds.by_cat.get(category)
    return str((getattr(clips[0], "extra", None) or {}).get("group") or "") if clips else ""


__all__ = ["PoolCategories", "RobustMixtures", "RobustOptions", "nearest_categories"]
