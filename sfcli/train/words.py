"""Training loop behind ``sfcli train-words``: contrastive training of SoundWords' projection heads.

What is trained, and why (measured on 2 CPU threads): the aiSFX audio CNN runs at about 20
windows/s forward, so back-propagating through it would give ~5 examples/s — a few thousand pairs
per hour. Both backbones are therefore frozen and their features cached once per clip window
(``features.pt``) and per text (``text_features.pt``) in the run folder; training then updates only
the two projection heads and the temperature, at thousands of pairs per second, with large batches.

Determinism and resume: every random choice of step ``t`` (which clips, which window, which
description) comes from ``numpy.random.default_rng((seed, t))``, so the run is a pure function of the
step counter. Checkpoints (``checkpoint.pt``, written atomically) hold the trainable weights, the
optimizer, all RNG states and the best validation state; running the same command again continues
from the last one and ends with the same weights as an uninterrupted run.

Several processes (``torchrun --nproc_per_node N --no-python sfcli train-words ...``): each process takes
its slice of the global batch, embeddings are gathered with :func:`all_gather_with_grad` so that the
negatives span the whole global batch, and DistributedDataParallel averages the gradients.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from sfcli.errors import SfcliError
from sfcli.train.common import (
    CHECKPOINT_NAME,
    DistInfo,
    cleanup_distributed,
    init_distributed,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    set_seed,
)
from sfcli.words import SoundWords, SoundWordsConfig, contrastive_loss
from sfcli.words_eval import EvalRecord, category_prompt, evaluate_embeddings

VALID_NAMES = ("valid", "validation", "val", "dev")


@dataclass
class PairSource:
    """One training clip: a stable key, its descriptions, category, split and an audio loader."""

    key: str
    descriptions: list[str]
    category: str | None
    split: str
    load: Callable[[], tuple[np.ndarray, int]]


@dataclass
class TrainWordsOptions:
    """Settings of one training run (saved in the checkpoint)."""

    run_dir: Path
    out: Path | None = None
    steps: int = 2000
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 50
    seed: int = 0
    eval_every: int = 100
    checkpoint_every: int = 100
    max_windows: int = 4
    group_by: str = "category"
    init_audio: str = "aisfx"
    keep_best: bool = True
    text_struct: float = 0.0
    max_per_category: int = 0
    balance_categories: float = 0.0
    holdout_categories: float = 0.0
    lock_text: bool = False
    text_soft: float = 0.0
    text_soft_temperature: float = 0.05
    category_text: bool = False
    text_head_from: Path | None = None
    test_eval: bool = False
    cache_dir: Path | None = None
    device: str = "cpu"
    model_config: SoundWordsConfig = field(default_factory=SoundWordsConfig)


# ---------------------------------------------------------------------------------------------------
# Data


def _split_of(name: str | None) -> str:
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
        out.setdefault(_split_of(s.split), []).append(s)
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


def corpus_sources(root: str | Path | None = None) -> list[PairSource]:
    """Every clip of the sfcli corpus (``sfcli.data.corpus``) as a :class:`PairSource`."""
    try:
        from sfcli.data.corpus import Corpus
    except ImportError as exc:  # pragma: no cover - depends on the corpus module
        raise SfcliError("the corpus module (sfcli.data.corpus) is not available") from exc
    return sources_from_corpus(Corpus.open(root) if root is not None else Corpus.open())


def sources_from_corpus(corpus: Any) -> list[PairSource]:
    """Adapt a :class:`sfcli.data.corpus.Corpus` (built or in-memory) to :class:`PairSource` records."""
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
            out.append(PairSource(str(clip.id), descs, clip.category or None, split, load))
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
        if not apath.is_absolute():
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


# ---------------------------------------------------------------------------------------------------
# Feature caches


def _spread(k: int, m: int) -> list[int]:
    if k <= m:
        return list(range(k))
    return sorted({round(i * (k - 1) / (m - 1)) for i in range(m)}) if m > 1 else [k // 2]


def _backbone_fingerprint(model: SoundWords, init_audio: str) -> str:
    cfg = model.config
    parts = [cfg.audio_backbone, cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.n_mels, cfg.f_min, cfg.f_max]
    parts += [cfg.window_frames, cfg.window_hop_frames, cfg.peak_normalize, init_audio, cfg.tiny_channels, "eval-bn"]
    if cfg.audio_pool != "max":  # "max" fingerprints stay as they were before pooling became a setting
        parts.append(cfg.audio_pool)
    return json.dumps(parts)


def extract_audio_features(
    model: SoundWords,
    sources: Sequence[PairSource],
    cache_path: Path,
    *,
    max_windows: int,
    fingerprint: str,
    report: Callable[[int, int], None] | None = None,
) -> dict[str, torch.Tensor]:
    """Frozen-backbone features of up to ``max_windows`` windows per clip, cached (float16) on disk."""
    blob = load_checkpoint(cache_path) or {}
    feats: dict[str, torch.Tensor] = blob.get("features", {}) if blob.get("fingerprint") == fingerprint else {}
    todo = [s for s in sources if s.key not in feats]
    last_save = time.monotonic()
    was_training = model.training
    model.eval()  # BatchNorm must use its running statistics, exactly as at inference
    try:
        _extract(model, todo, feats, cache_path, max_windows, fingerprint, report, last_save)
    finally:
        model.train(was_training)
    return feats


def _extract(
    model: SoundWords,
    todo: Sequence[PairSource],
    feats: dict[str, torch.Tensor],
    cache_path: Path,
    max_windows: int,
    fingerprint: str,
    report: Callable[[int, int], None] | None,
    last_save: float,
) -> None:
    for i, s in enumerate(todo):
        clip, sr = s.load()
        prepared = model.prepare_audio(clip, sr)
        wins = model.windows(prepared)
        wins = wins[_spread(wins.shape[0], max_windows)]
        with torch.no_grad():
            f = model.audio_features(torch.from_numpy(wins).to(model.device)).float().cpu()
        feats[s.key] = f.to(torch.float16)
        if time.monotonic() - last_save > 60:
            save_checkpoint(cache_path, {"fingerprint": fingerprint, "features": feats})
            last_save = time.monotonic()
            if report is not None:
                report(i + 1, len(todo))
    if todo:
        save_checkpoint(cache_path, {"fingerprint": fingerprint, "features": feats})


def cache_text_features(model: SoundWords, texts: Sequence[str], cache_path: Path) -> None:
    """Fill ``model.text_cache`` for ``texts``, reusing and extending the on-disk cache."""
    blob = load_checkpoint(cache_path) or {}
    if blob.get("backbone") == [model.config.text_backbone, model.config.hashing_dim]:
        model.text_cache.update(blob["features"])
    missing = [t for t in dict.fromkeys(texts) if t not in model.text_cache]
    if missing:
        model.text_features(missing)
        save_checkpoint(
            cache_path,
            {"backbone": [model.config.text_backbone, model.config.hashing_dim], "features": model.text_cache},
        )


# ---------------------------------------------------------------------------------------------------
# Training


class _Heads(nn.Module):
    """The trainable part (both heads + temperature), wrapped so DDP sees exactly these parameters."""

    def __init__(self, model: SoundWords) -> None:
        super().__init__()
        self.text_head = model.text_head
        self.audio_head = model.audio_head
        self.model = [model]  # not a submodule

    def forward(self, text_feats: torch.Tensor, audio_feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model[0]
        return m.project_text(text_feats), m.project_audio(audio_feats)


def trainable_state(model: SoundWords) -> dict[str, torch.Tensor]:
    """The weights that training changes (heads + temperature), cloned."""
    return {
        k: v.detach().clone()
        for k, v in model.state_dict().items()
        if k.startswith(("text_head.", "audio_head.")) or k == "logit_scale"
    }


def lock_text_head(model: SoundWords, text_features: torch.Tensor) -> None:
    """Freeze the text head as a PCA of the (normed) training-text features: "locked-text tuning".

    The text side then keeps MiniLM's own geometry (a linear map onto its top ``embed_dim`` principal
    directions) and only the audio head learns to land in it, so descriptions of sounds never seen in
    training still fall near related trained ones. Needs a linear text head.
    """
    head = model.text_head
    linear = head[-1]
    if len(head) > 2 or not isinstance(linear, nn.Linear):
        raise SfcliError("--lock-text needs a linear text head (text_head_hidden = 0)")
    with torch.no_grad():
        x = head[0](text_features) if len(head) == 2 else text_features
        mean = x.mean(dim=0)
        k = min(linear.out_features, x.shape[0], x.shape[1])
        _, _, v = torch.linalg.svd(x - mean, full_matrices=False)
        weight = torch.zeros_like(linear.weight)
        weight[:k] = v[:k]
        linear.weight.copy_(weight)
        linear.bias.copy_(-(weight @ mean))
    for p in head.parameters():
        p.requires_grad_(False)


def copy_text_head(model: SoundWords, folder: str | Path) -> None:
    """Take the text head of another SoundWords model and freeze it.

    The shared space is then exactly that model's: the text embeddings do not change at all, and the
    audio head learns to land where the old model's audio embeddings did, so a SoundFilter
    conditioned on the old model keeps working (and needs only a short fine-tune) with the new one.
    """
    old = SoundWords.from_pretrained(folder)
    if (old.config.text_backbone, old.config.text_head_hidden, old.config.embed_dim, old.config.head_norm) != (
        model.config.text_backbone,
        model.config.text_head_hidden,
        model.config.embed_dim,
        model.config.head_norm,
    ):
        raise SfcliError(f"{folder}: its text head has another layout than this model's")
    model.text_head.load_state_dict(old.text_head.state_dict())
    for p in model.text_head.parameters():
        p.requires_grad_(False)


def sampling_weights(group_ids: torch.Tensor, power: float) -> np.ndarray | None:
    """Per-clip probabilities of being drawn into a batch: ``count(category) ** -power``, normalised.

    ``power`` 0 draws clips uniformly (large categories dominate the batches), 1 gives every category
    the same total weight, values between interpolate. Returns ``None`` for uniform draws.
    """
    if power <= 0:
        return None
    counts = torch.bincount(group_ids).double()
    w = counts[group_ids].pow(-power).numpy()
    return w / w.sum()


def _lr_at(step: int, opts: TrainWordsOptions) -> float:
    if step < opts.warmup:
        return opts.lr * (step + 1) / opts.warmup
    t = (step - opts.warmup) / max(1, opts.steps - opts.warmup)
    return opts.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def _batch_indices(seed: int, step: int, n: int, size: int) -> np.random.Generator:
    return np.random.default_rng((seed, step, n, size))


def validate(
    model: SoundWords,
    sources: Sequence[PairSource],
    feats: dict[str, torch.Tensor],
    template: str | Sequence[str] = "{}",
) -> dict[str, Any]:
    """:func:`evaluate_embeddings` on cached features (window embeddings averaged per clip); ``template``:
    the zero-shot prompt template(s)."""
    if not sources:
        return {}
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            audio = model.embed_window_features([feats[s.key].float() for s in sources]).cpu().numpy()

            def text_embed(texts: list[str]) -> np.ndarray:
                return model.project_text(model.text_features(texts).to(model.device)).cpu().numpy()

            recs = [EvalRecord(s.descriptions, s.category) for s in sources]
            return evaluate_embeddings(audio, recs, text_embed, template=template)
    finally:
        model.train(was)


def _score(metrics: dict[str, Any]) -> float:
    keys = [k for k in ("t2a_R@10", "a2t_R@10", "zeroshot_top1") if k in metrics]
    return float(np.mean([metrics[k] for k in keys])) if keys else 0.0


class _Reporter:
    """Rich progress on a TTY (main process only), one plain line per validation otherwise."""

    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.progress: Any = None
        if self.tty:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]train-words[/]"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=total, completed=start, info="")
        self.info = ""
        self.val = ""

    def note(self, text: str) -> None:
        if self.enabled:
            if self.progress is not None:
                self.progress.console.print(text, markup=False)
            else:
                print(text, file=sys.stderr, flush=True)

    def step(self, step: int, loss: float, eps: float, temp: float) -> None:
        self.info = f"loss {loss:.3f}  {eps:,.0f} ex/s  T {temp:.3f}{self.val}"
        if self.progress is not None:
            self.progress.update(self.task, completed=step, info=self.info)

    def validation(self, step: int, metrics: dict[str, Any], loss: float) -> None:
        r10 = metrics.get("t2a_R@10", float("nan"))
        zs = metrics.get("zeroshot_top1", float("nan"))
        self.val = f"  val t2a R@10 {r10:.3f} zs@1 {zs:.3f}"
        if self.progress is not None:
            self.progress.update(self.task, info=self.info.split("  val")[0] + self.val)
        elif self.enabled:
            print(f"step {step} loss {loss:.4f}{self.val}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def build_model(opts: TrainWordsOptions, device: torch.device) -> SoundWords:
    """A fresh model for ``opts`` (seeded), audio CNN warm-started from aiSFX when asked."""
    set_seed(opts.seed)
    cfg = opts.model_config
    if opts.init_audio == "aisfx":  # frozen, so saved folders point at the wheel instead of copying it
        cfg = dataclasses.replace(cfg, audio_backbone_weights="aisfx")
    model = SoundWords(cfg)
    if opts.init_audio == "aisfx":
        model.load_aisfx()
    elif opts.init_audio not in ("none", "random"):
        raise SfcliError(f"unknown --init-audio {opts.init_audio!r} (aisfx or none)")
    model.to(device)
    for p in model.audio_backbone.parameters():
        p.requires_grad_(False)
    return model


def train_words(
    opts: TrainWordsOptions,
    sources: Sequence[PairSource],
    *,
    progress: bool = True,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train (or continue training) SoundWords' heads; returns a summary dict.

    ``stop_after`` ends the process's work after that many steps of this call (tests use it to
    simulate an interruption); a later call continues from the checkpoint.
    """
    from sfcli.pretrained import resolve_device

    device = resolve_device(opts.device)
    info: DistInfo = init_distributed(device)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    run_dir = Path(opts.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    reporter = _Reporter(opts.steps, 0, progress and info.is_main)
    try:
        return _train(opts, sources, device, info, run_dir, reporter, stop_after)
    finally:
        reporter.close()
        cleanup_distributed()


def _train(
    opts: TrainWordsOptions,
    sources: Sequence[PairSource],
    device: torch.device,
    info: DistInfo,
    run_dir: Path,
    reporter: _Reporter,
    stop_after: int | None,
) -> dict[str, Any]:
    unseen_valid: list[PairSource] = []
    unseen_test: list[PairSource] = []
    if opts.holdout_categories > 0:
        sources, unseen_valid, unseen_test = holdout_split(sources, opts.holdout_categories)
    splits = split_sources(sources)
    train, valid = splits.get("train", []), splits.get("valid", [])
    test = splits.get("test", []) if opts.test_eval else []
    if opts.max_per_category > 0:
        train = cap_per_category(train, opts.max_per_category, opts.seed)
    if not train:
        raise SfcliError("no training clips (records with split 'train')")
    model = build_model(opts, device)

    # Feature caches (main process computes; the others wait and read them).
    fingerprint = _backbone_fingerprint(model, opts.init_audio)
    cache_dir = Path(opts.cache_dir) if opts.cache_dir is not None else run_dir
    feat_path = cache_dir / "features.pt"
    todo = [*train, *valid, *test, *unseen_valid, *unseen_test]
    t0 = time.monotonic()
    if info.is_main:
        reporter.note(f"caching audio features of {len(todo)} clips in {feat_path}")
        feats = extract_audio_features(
            model,
            todo,
            feat_path,
            max_windows=opts.max_windows,
            fingerprint=fingerprint,
            report=lambda i, n: reporter.note(f"  features: {i}/{n} clips"),
        )
        texts = [d for s in todo for d in s.descriptions]
        texts += [category_prompt(s.category) for s in todo if s.category]
        cache_text_features(model, texts, cache_dir / "text_features.pt")
    if info.enabled:
        dist.barrier()
    if not info.is_main:
        feats = extract_audio_features(model, todo, feat_path, max_windows=opts.max_windows, fingerprint=fingerprint)
        cache_text_features(model, [], cache_dir / "text_features.pt")
    feature_seconds = time.monotonic() - t0

    # Train-set tensors.
    keys = [s.key for s in train]
    if opts.group_by == "category" and all(s.category for s in train):
        names = sorted({s.category for s in train if s.category})
        group_ids = torch.tensor([names.index(s.category) for s in train])  # type: ignore[arg-type]
    elif opts.group_by in ("category", "text"):
        names = sorted({s.descriptions[0] for s in train})
        group_ids = torch.tensor([names.index(s.descriptions[0]) for s in train])
    else:
        group_ids = None
    if opts.balance_categories > 0 and group_ids is None:
        raise SfcliError("--balance-categories needs categories (--group-by category or text)")
    draw_p = sampling_weights(group_ids, opts.balance_categories) if group_ids is not None else None
    # Padded (clips, max_windows, D) audio features and a (texts, D) table for vectorised batches.
    n_win = torch.tensor([feats[k].shape[0] for k in keys])
    audio_table = torch.zeros(len(keys), int(n_win.max()), model.config.audio_feature_dim)
    for i, k in enumerate(keys):
        audio_table[i, : n_win[i]] = feats[k].float()
    description_texts = list(dict.fromkeys(t for s in train for t in s.descriptions))
    if opts.category_text:  # the category name is one more description of each clip
        train = [
            dataclasses.replace(s, descriptions=list(dict.fromkeys([*s.descriptions, category_prompt(s.category)])))
            if s.category
            else s
            for s in train
        ]
    text_list = list(dict.fromkeys(t for s in train for t in s.descriptions))
    text_index = {t: j for j, t in enumerate(text_list)}
    text_table = torch.stack([model.text_cache[t] for t in text_list]).float()
    n_desc = torch.tensor([len(s.descriptions) for s in train])
    desc_table = torch.full((len(train), int(n_desc.max())), -1, dtype=torch.long)
    for i, s in enumerate(train):
        desc_table[i, : len(s.descriptions)] = torch.tensor([text_index[t] for t in s.descriptions])

    if opts.text_head_from is not None:
        copy_text_head(model, opts.text_head_from)
    elif opts.lock_text:  # fitted on the descriptions only, so --category-text leaves the space as it is
        lock_text_head(model, torch.stack([model.text_cache[t] for t in description_texts]).float())
    heads = _Heads(model)
    head_params = [p for p in [*model.text_head.parameters(), *model.audio_head.parameters()] if p.requires_grad]
    params = [*head_params, model.logit_scale]
    ddp: nn.Module = heads
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(heads, device_ids=[device.index] if device.type == "cuda" else None)
    optim = torch.optim.AdamW(
        [
            {"params": head_params},
            {"params": [model.logit_scale], "weight_decay": 0.0},
        ],
        lr=opts.lr,
        weight_decay=opts.weight_decay,
    )

    ckpt_path = run_dir / CHECKPOINT_NAME
    state = load_checkpoint(ckpt_path)
    step, best, history = 0, {"score": -1.0, "step": -1, "metrics": {}, "state": None}, []
    train_seconds = 0.0
    if state is not None:
        model.load_state_dict({**model.state_dict(), **state["trainable"]})
        optim.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        step, best, history = state["step"], state["best"], state["history"]
        train_seconds = state.get("train_seconds", 0.0)
        reporter.note(f"resuming {run_dir} at step {step}")
    model.train()
    model.audio_backbone.eval()

    global_batch = min(opts.batch_size, len(train))
    local = global_batch // info.world_size
    if local < 1:
        raise SfcliError("batch size smaller than the number of processes")
    global_batch = local * info.world_size

    def save(final: bool = False) -> None:
        if not info.is_main:
            return
        save_checkpoint(
            ckpt_path,
            {
                "step": step,
                "trainable": trainable_state(model),
                "optimizer": optim.state_dict(),
                "rng": rng_state(),
                "best": best,
                "history": history,
                "options": {k: str(v) for k, v in asdict(opts).items()},
                "train_seconds": train_seconds,
            },
        )

    done_here = 0
    last_loss = float("nan")
    t_mark, ex_mark = time.monotonic(), 0
    while step < opts.steps and (stop_after is None or done_here < stop_after):
        t_step = time.monotonic()
        rng = _batch_indices(opts.seed, step, len(train), global_batch)
        idx = rng.choice(len(train), size=global_batch, replace=False, p=draw_p)
        win_pick = rng.random(global_batch)
        desc_pick = rng.random(global_batch)
        mine = slice(info.rank * local, (info.rank + 1) * local)
        gi = torch.from_numpy(idx)
        texts = desc_table[gi, (torch.from_numpy(desc_pick) * n_desc[gi]).long()]  # the global batch's
        li = gi[mine]
        wi = (torch.from_numpy(win_pick[mine]) * n_win[li]).long()
        a = audio_table[li, wi].to(device)
        t = text_table[texts[mine]].to(device)
        soft = None
        if opts.text_soft > 0:  # soft targets from the text backbone's similarities over the global batch
            raw = torch.nn.functional.normalize(text_table[texts].to(device), dim=1)
            soft = torch.softmax(raw @ raw.t() / opts.text_soft_temperature, dim=1)
        for g in optim.param_groups:
            g["lr"] = _lr_at(step, opts)
        te, ae = ddp(t, a)
        if info.enabled:
            from sfcli.train.common import all_gather_with_grad

            te, ae = all_gather_with_grad(te), all_gather_with_grad(ae)
        groups = group_ids[gi].to(device) if group_ids is not None else None
        loss = contrastive_loss(te, ae, model.logit_scale, groups, soft, opts.text_soft)
        if opts.text_struct > 0:
            # Keep the text head close to MiniLM's geometry (helps categories never seen in training).
            raw = torch.nn.functional.normalize(t, dim=1)
            local_te = te[info.rank * local : (info.rank + 1) * local] if info.enabled else te
            loss = loss + opts.text_struct * (local_te @ local_te.t() - raw @ raw.t()).square().mean()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        optim.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0.0, math.log(100.0))
        step += 1
        done_here += 1
        train_seconds += time.monotonic() - t_step
        last_loss = float(loss.item())
        ex_mark += global_batch
        now = time.monotonic()
        reporter.step(step, last_loss, ex_mark / max(now - t_mark, 1e-9), model.temperature())
        if now - t_mark > 5:
            t_mark, ex_mark = now, 0

        if step % opts.eval_every == 0 or step == opts.steps:
            metrics = validate(model, valid, feats) if info.is_main else {}
            if info.is_main and unseen_valid:
                metrics["unseen_valid"] = validate(model, unseen_valid, feats)
            if info.is_main:
                history.append({"step": step, "loss": last_loss, **metrics})
                reporter.validation(step, metrics, last_loss)
                score = _score(metrics)
                if score > best["score"]:
                    best = {"score": score, "step": step, "metrics": metrics, "state": trainable_state(model)}
        if step % opts.checkpoint_every == 0 or step == opts.steps:
            save()

    finished = step >= opts.steps
    summary: dict[str, Any] = {
        "step": step,
        "finished": finished,
        "loss": last_loss,
        "temperature": model.temperature(),
        "train_clips": len(train),
        "valid_clips": len(valid),
        "global_batch": global_batch,
        "feature_seconds": round(feature_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "best_step": best["step"],
        "best_valid": best["metrics"],
    }
    if finished and info.is_main:
        if opts.keep_best and best["state"] is not None:
            model.load_state_dict({**model.state_dict(), **best["state"]})
        if test:
            summary["test"] = validate(model, test, feats)
            summary["test_clips"] = len(test)
        if unseen_valid or unseen_test:
            summary["unseen_valid"] = validate(model, unseen_valid, feats)
            summary["unseen_test"] = validate(model, unseen_test, feats)
            summary["unseen_categories"] = {
                "valid": sorted({s.category for s in unseen_valid if s.category}),
                "test": sorted({s.category for s in unseen_test if s.category}),
            }
        if opts.out is not None:
            prompts = [category_prompt(x.category) for x in sources if x.category]
            descs = [d for x in sources for d in x.descriptions]
            cached = list(dict.fromkeys([*prompts, *descs]))[:4000]
            model.save_pretrained(opts.out, text_cache=[t for t in cached if t in model.text_cache])
            summary["model"] = str(opts.out)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary
