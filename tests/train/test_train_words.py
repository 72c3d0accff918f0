"""train-words: the loss falls, resume is exact, SIGKILL resumes, 2-process DDP equals 1 process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from sfcli.train.words import PairSource, TrainWordsOptions, train_words, trainable_state
from sfcli.words import SoundWords, SoundWordsConfig

FREQS = [150, 450, 900, 1500, 2300, 3300]  # evenly spread on the mel scale


def _clip(cat: int, i: int, sr: int = 8000) -> np.ndarray:
    rng = np.random.default_rng(100 * cat + i)
    t = np.arange(int(sr * (0.6 + 0.1 * (i % 4)))) / sr
    x = np.sin(2 * np.pi * FREQS[cat] * (1 + 0.02 * rng.standard_normal()) * t)
    return (0.5 * x + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _sources(per_cat: int = 8) -> list[PairSource]:
    out = []
    for c in range(len(FREQS)):
        for i in range(per_cat):
            split = "valid" if i == 0 else "train"
            descs = [f"a tone number {c}", f"beep {c}"]
            out.append(PairSource(f"c{c}-{i}", descs, f"tone {c}", split, lambda c=c, i=i: (_clip(c, i), 8000)))
    return out


def _opts(run: Path, **kw) -> TrainWordsOptions:
    base = dict(
        run_dir=run,
        out=run / "model",
        steps=6,
        batch_size=16,
        lr=1e-2,
        warmup=1,
        eval_every=3,
        checkpoint_every=1,
        init_audio="none",
        model_config=SoundWordsConfig.tiny(),
    )
    base.update(kw)
    return TrainWordsOptions(**base)


def test_loss_falls_on_a_tiny_task(tmp_path: Path) -> None:
    src = _sources()
    first = train_words(_opts(tmp_path / "a", steps=1), src, progress=False)["loss"]
    s = train_words(_opts(tmp_path / "b", steps=80, eval_every=80), src, progress=False)
    assert s["finished"] and s["loss"] < first - 0.5
    sw = SoundWords.from_pretrained(tmp_path / "b" / "model")
    t = sw.embed_text([f"a tone number {c}" for c in range(len(FREQS))])
    a = sw.embed_audio([_clip(c, 0) for c in range(len(FREQS))], 8000)
    assert (np.argmax(a @ t.T, axis=1) == np.arange(len(FREQS))).mean() >= 0.5
    assert s["best_valid"]["zeroshot_top1"] >= 0.5


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    src = _sources()
    whole = train_words(_opts(tmp_path / "whole"), src, progress=False)
    part = train_words(_opts(tmp_path / "part"), src, progress=False, stop_after=4)
    assert not part["finished"] and part["step"] == 4
    rest = train_words(_opts(tmp_path / "part"), src, progress=False)
    assert rest["finished"] and rest["step"] == whole["step"] == 6
    a = (tmp_path / "whole" / "model" / "model.safetensors").read_bytes()
    b = (tmp_path / "part" / "model" / "model.safetensors").read_bytes()
    assert a == b


def _write_manifest(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for s in _sources(per_cat=6):
        clip, sr = s.load()
        sf.write(folder / f"{s.key}.wav", clip, sr)
        rows.append({"audio": f"{s.key}.wav", "text": s.descriptions[0], "label": s.category, "split": s.split})
    path = folder / "manifest.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_sigkill_then_rerun_resumes(tmp_path: Path, kill_after_checkpoint) -> None:
    manifest = _write_manifest(tmp_path / "data")
    run = tmp_path / "run"
    cmd = [sys.executable, "-c", "from sfcli.cli import main; main()", "train-words", "--tiny", "--quiet"]
    cmd += ["--manifest", str(manifest), "--run-dir", str(run), "--steps", "400000", "--batch-size", "8"]
    cmd += ["--checkpoint-every", "20", "--eval-every", "1000000"]
    step = kill_after_checkpoint(cmd, run / "checkpoint.pt", 0.3)
    assert 0 < step < 400000
    # Rerun with a smaller total: it resumes from the checkpoint and finishes.
    cmd[cmd.index("400000")] = str(step + 5)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["finished"] and summary["step"] == step + 5
    assert (run / "model" / "model.safetensors").is_file()


def _ddp_worker(rank: int, world: int, port: int, run: str, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    opts = _opts(Path(run), steps=3, batch_size=16, eval_every=100, checkpoint_every=100)
    train_words(opts, _sources(), progress=False)


def test_two_process_ddp_matches_one_process(tmp_path: Path) -> None:
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run2 = tmp_path / "ddp"
    mp.spawn(_ddp_worker, args=(2, port, str(run2), ""), nprocs=2, join=True)
    one = train_words(
        _opts(tmp_path / "one", steps=3, batch_size=16, eval_every=100, checkpoint_every=100),
        _sources(),
        progress=False,
    )
    assert one["global_batch"] == 16
    a = torch.load(run2 / "checkpoint.pt", weights_only=False)["trainable"]
    b = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=False)["trainable"]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=2e-5, rtol=1e-4)
    # Sanity: training did move the weights.
    fresh = trainable_state(SoundWords.tiny(seed=0))
    assert not torch.allclose(a["text_head.1.weight"], fresh["text_head.1.weight"])


def test_corpus_records_become_sources() -> None:
    from sfcli.data.corpus import ClipRecord, Corpus
    from sfcli.train.words import sources_from_corpus, split_sources

    clips = [
        ClipRecord(f"id{i}", "synth", "", "CC0", f"tone {i % 3}", [f"a tone {i % 3}"], 0.5, split)
        for i, split in enumerate(["train"] * 6 + ["valid", "test"])
    ]
    corpus = Corpus(clips, loader=lambda c: np.full(800, 0.1, np.float32))
    src = sources_from_corpus(corpus)
    assert [s.key for s in src][:2] == ["id0", "id1"] and len(src) == 8
    x, sr = src[0].load()
    assert sr == corpus.sample_rate and x.shape == (800,)
    parts = split_sources(src)
    assert len(parts["train"]) == 6 and len(parts["valid"]) == 1 and len(parts["test"]) == 1


def test_cached_features_equal_inference_features(tmp_path: Path) -> None:
    """The cache must be computed exactly as embed_audio does (BatchNorm in eval mode)."""
    from sfcli.train.words import extract_audio_features

    cfg = SoundWordsConfig(text_backbone="hashing", window_frames=16, window_hop_frames=8)
    torch.manual_seed(0)
    model = SoundWords(cfg)  # aiSFX layout (with BatchNorm), random weights, left in training mode
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(0, 0.5)
                m.running_var.uniform_(0.5, 2)
    src = _sources(per_cat=1)[:2]
    feats = extract_audio_features(model, src, tmp_path / "f.pt", max_windows=50, fingerprint="x")
    assert model.training
    ref = model.clip_window_features([s.load()[0] for s in src], 8000)
    for s, r in zip(src, ref, strict=True):
        torch.testing.assert_close(feats[s.key].float(), r, atol=2e-3, rtol=2e-3)


def test_holdout_split_takes_whole_categories_out() -> None:
    from sfcli.train.words import holdout_split

    src = [
        PairSource(f"k{c}-{i}", ["x"], f"cat {c}", "train", lambda: (np.zeros(8), 8000))
        for c in range(60)
        for i in range(3)
    ]
    kept, uv, ut = holdout_split(src, 0.3)
    cats = [{s.category for s in part} for part in (kept, uv, ut)]
    assert not (cats[0] & cats[1]) and not (cats[0] & cats[2]) and not (cats[1] & cats[2])
    assert cats[1] and cats[2] and 8 <= len(cats[1]) + len(cats[2]) <= 30
    assert len(kept) + len(uv) + len(ut) == len(src)
    assert [s.key for s in holdout_split(src, 0.3)[1]] == [s.key for s in uv]  # stable
    assert holdout_split(src, 0.0)[0] == src


def test_lock_text_head_is_a_frozen_pca() -> None:
    from sfcli.train.words import lock_text_head

    torch.manual_seed(0)
    model = SoundWords(SoundWordsConfig.tiny())
    feats = torch.randn(200, model.config.text_feature_dim) @ torch.randn(model.config.text_feature_dim, 48)
    feats = torch.nn.functional.pad(feats, (0, model.config.text_feature_dim - 48))
    lock_text_head(model, feats)
    w = model.text_head[-1].weight
    k = min(w.shape)
    gram = w[:k] @ w[:k].T
    assert torch.allclose(gram[:40, :40], torch.eye(40), atol=1e-4)  # orthonormal principal directions
    assert not any(p.requires_grad for p in model.text_head.parameters())


def test_lock_text_training_keeps_text_head_and_reports_unseen(tmp_path: Path) -> None:
    src = _sources()
    s = train_words(
        _opts(tmp_path / "r", steps=6, lock_text=True, holdout_categories=0.6, group_by="none"), src, progress=False
    )
    assert "unseen_valid" in s and "unseen_test" in s
    held = set(s["unseen_categories"]["valid"]) | set(s["unseen_categories"]["test"])
    assert held and len(held) < len(FREQS)
    saved = json.loads((tmp_path / "r" / "summary.json").read_text())
    for part, cats in (
        ("unseen_valid", s["unseen_categories"]["valid"]),
        ("unseen_test", s["unseen_categories"]["test"]),
    ):
        per_cat = saved[part].get("zeroshot_top1_per_category", {})  # each held-out category's own top-1
        assert sorted(per_cat) == cats
        assert not cats or saved[part]["zeroshot_top1_macro"] == np.mean(list(per_cat.values()))
    ck = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=False)
    hist = ck["history"]
    assert hist and all("unseen_valid" in h for h in hist)
    # The locked head is the PCA of the training texts: re-deriving it gives the same weights.
    sw = SoundWords.from_pretrained(tmp_path / "r" / "model")
    assert sw.text_head[-1].weight.abs().sum() > 0


def test_pooling_enters_the_feature_fingerprint_and_soft_targets_train(tmp_path: Path) -> None:
    from sfcli.train.words import backbone_fingerprint

    fp = {p: backbone_fingerprint(SoundWords(SoundWordsConfig(audio_pool=p)), "aisfx") for p in ("max", "meanmax")}
    assert fp["max"] != fp["meanmax"]
    assert "max" not in json.loads(fp["max"])  # caches written before pooling was a setting stay valid
    src = _sources()
    plain = train_words(_opts(tmp_path / "plain", steps=4), src, progress=False)
    soft = train_words(_opts(tmp_path / "soft", steps=4, text_soft=0.5), src, progress=False)
    assert soft["finished"] and np.isfinite(soft["loss"]) and soft["loss"] != plain["loss"]


def test_text_head_from_keeps_the_shared_space_and_category_text_leaves_the_pca(tmp_path: Path) -> None:
    src = _sources()
    a = tmp_path / "a"
    train_words(_opts(a, steps=3, lock_text=True), src, progress=False)
    # --category-text adds training pairs but the locked PCA is fitted on the descriptions only.
    train_words(_opts(tmp_path / "c", steps=3, lock_text=True, category_text=True), src, progress=False)
    old = SoundWords.from_pretrained(a / "model")
    with_names = SoundWords.from_pretrained(tmp_path / "c" / "model")
    for k, v in old.text_head.state_dict().items():
        torch.testing.assert_close(with_names.text_head.state_dict()[k], v)
    # A new run that copies the text head embeds every text exactly as the old model does.
    s = train_words(
        _opts(tmp_path / "b", steps=5, text_head_from=a / "model", category_text=True, lr=5e-2), src, progress=False
    )
    assert s["finished"]
    new = SoundWords.from_pretrained(tmp_path / "b" / "model")
    texts = ["a tone number 1", "something never seen"]
    np.testing.assert_allclose(new.embed_text(texts), old.embed_text(texts), atol=1e-3)  # fp16 weights
    assert not torch.allclose(new.audio_head[-1].weight, old.audio_head[-1].weight)


def test_balance_categories_weights_every_category_alike() -> None:
    from sfcli.train.words import sampling_weights

    groups = torch.tensor([0, 0, 0, 1])  # three clips of one category, one of another
    assert sampling_weights(groups, 0.0) is None
    full = sampling_weights(groups, 1.0)
    assert full is not None and np.isclose(full.sum(), 1.0)
    assert np.isclose(full[:3].sum(), 0.5) and np.isclose(full[3], 0.5)
    half = sampling_weights(groups, 0.5)
    assert half is not None and 0.5 < half[:3].sum() < 0.75  # between balanced and per clip (3/4)


def test_balance_categories_changes_the_batches_and_stays_deterministic(tmp_path: Path) -> None:
    # One category with many clips: balanced draws put fewer of its clips in each batch.
    src = _sources(per_cat=4) + [
        PairSource(f"big-{i}", ["a big tone"], "tone big", "train", lambda i=i: (_clip(0, i), 8000)) for i in range(40)
    ]
    runs = [
        train_words(_opts(tmp_path / name, steps=3, **kw), src, progress=False)["loss"]
        for name, kw in (("u", {}), ("b1", {"balance_categories": 1.0}), ("b2", {"balance_categories": 1.0}))
    ]
    assert runs[1] == runs[2] and runs[1] != runs[0]
