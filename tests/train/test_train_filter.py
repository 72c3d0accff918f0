"""train-filter: SI-SDR rises on a tiny task, ablation switches, exact resume, SIGKILL, 2-process DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sfcli.errors import SfcliError
from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.train.conditioning import ConditioningCache, TextExpander, chosen_description, example_choices
from sfcli.train.datasets import ToneMixtures
from sfcli.train.examples import Example, draw_example, load_batch
from sfcli.train.filter import TrainFilterOptions, train_filter
from sfcli.words import SoundWords


def _opts(run: Path, **kw) -> TrainFilterOptions:
    base = dict(
        run_dir=run,
        out=run / "model",
        steps=4,
        batch_size=8,
        lr=3e-3,
        warmup=2,
        eval_every=2,
        checkpoint_every=1,
        valid_size=8,
        model_config=SoundFilterConfig.tiny(),
    )
    base.update(kw)
    return TrainFilterOptions(**base)


def _data(seconds: float = 0.25) -> tuple[ToneMixtures, ToneMixtures]:
    return ToneMixtures(seed=0, seconds=seconds), ToneMixtures(seed=1, seconds=seconds)


def _train(opts: TrainFilterOptions, **kw):
    tr, va = _data()
    return train_filter(opts, tr, va, SoundWords.tiny(seed=0), descriptions=tr.descriptions(), progress=False, **kw)


class LowHumOverHiss(ToneMixtures):
    """A task a tiny model learns in a few dozen steps: a low tone over high-passed noise."""

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng((self.seed, int(index)))
        t = np.arange(self.n) / self.sr
        target = np.sin(2 * np.pi * rng.uniform(200, 400) * t + rng.uniform(0, 6.3)).astype(np.float32)
        hiss = np.diff(rng.standard_normal(self.n + 1)) * 0.5 * 10 ** (rng.uniform(-4, 4) / 20)
        return {
            "mixture": target + hiss.astype(np.float32),
            "target": target,
            "background": hiss.astype(np.float32),
            "cond_audio": target.copy(),
            "text": "a low hum",
            "category": "hum",
            "clip_id": "hum",
        }


def _train_hum(run: Path, **kw):
    data, valid = LowHumOverHiss(0, seconds=0.25), LowHumOverHiss(1, seconds=0.25)
    return train_filter(_opts(run, lr=1e-2, **kw), data, valid, SoundWords.tiny(seed=0), progress=False)


def test_training_raises_si_sdr(tmp_path: Path) -> None:
    # Exact projection: validation SI-SDRi (as Separator would output) rises.
    first = _train_hum(tmp_path / "p1", steps=1, eval_every=1, projection=True)
    s = _train_hum(tmp_path / "p30", steps=30, eval_every=10, checkpoint_every=30, projection=True)
    assert s["finished"] and s["step"] == 30 and s["examples"] == 30 * 8
    assert s["best_valid"]["si_sdri"] > first["best_valid"]["si_sdri"] + 2.0
    assert s["examples_per_second"] > 0
    # Paper recipe (soft consistency loss): the raw target output's SI-SDR rises.
    first = _train_hum(tmp_path / "s1", steps=1, eval_every=1)
    s = _train_hum(tmp_path / "s30", steps=30, eval_every=10, checkpoint_every=30)
    assert s["train_si_sdri_ema"] > first["train_si_sdri_ema"] + 5.0
    assert s["best_valid"]["si_sdri_unprojected"] > first["best_valid"]["si_sdri_unprojected"] + 5.0
    # The selected model is written, loads, and is one of the validated steps.
    model = SoundFilter.from_pretrained(tmp_path / "s30" / "model")
    assert model.config.residual_output and model.config.consistency == "none"
    assert json.loads((tmp_path / "s30" / "summary.json").read_text())["best_step"] in (10, 20, 30)


def test_bf16_autocast_trains_and_changes_the_arithmetic(tmp_path: Path) -> None:
    # --bf16: the forward pass runs in bfloat16 (so the weights differ from the float32 run's), the
    # exported weights stay float32, and the model still learns the task.
    first = _train_hum(tmp_path / "b1", steps=1, eval_every=1, projection=True, postfilter=True)
    s = _train_hum(
        tmp_path / "b30", steps=30, eval_every=10, checkpoint_every=30, projection=True, postfilter=True, bf16=True
    )
    _train_hum(tmp_path / "f30", steps=30, eval_every=10, checkpoint_every=30, projection=True, postfilter=True)
    assert s["finished"] and s["best_valid"]["si_sdri"] > first["best_valid"]["si_sdri"] + 2.0
    bf16 = SoundFilter.from_pretrained(tmp_path / "b30" / "model").state_dict()
    fp32 = SoundFilter.from_pretrained(tmp_path / "f30" / "model").state_dict()
    assert all(v.dtype == torch.float32 for v in bf16.values() if v.is_floating_point())
    assert any(not torch.equal(bf16[k], fp32[k]) for k in fp32)


def test_ablation_switches_change_what_they_claim(tmp_path: Path) -> None:
    default = _train(_opts(tmp_path / "d", steps=1))
    assert {"target_loss", "residual_loss", "consistency_loss"} <= set(default["loss_parts"])

    no_cons = _train(_opts(tmp_path / "nc", steps=1, consistency_loss=False))
    assert "consistency_loss" not in no_cons["loss_parts"] and "residual_loss" in no_cons["loss_parts"]

    no_res = _train(_opts(tmp_path / "nr", steps=1, residual_output=False))
    assert "residual_loss" not in no_res["loss_parts"] and "consistency_loss" not in no_res["loss_parts"]
    m = SoundFilter.from_pretrained(tmp_path / "nr" / "model")
    assert m.config.residual_output is False
    assert m.head.out_channels == SoundFilterConfig.tiny().fb_channels  # one output, not two

    proj = _train(_opts(tmp_path / "p", steps=1, projection=True))
    assert "consistency_loss" not in proj["loss_parts"]
    m = SoundFilter.from_pretrained(tmp_path / "p" / "model")
    assert m.config.consistency == "projection"
    x = torch.randn(2, 1, 2000) * 0.1
    t, r = m(x, torch.randn(2, 64))
    torch.testing.assert_close(t + r, x, atol=1e-5, rtol=0)


def test_postfilter_training_scores_what_inference_outputs(tmp_path: Path) -> None:
    from sfcli.losses import si_sdr
    from sfcli.postfilter import spectral_postfilter
    from sfcli.train.filter_validation import ValidationSet, validate

    plain = _train(_opts(tmp_path / "a", steps=1, projection=True))
    post = _train(_opts(tmp_path / "b", steps=1, projection=True, postfilter=True))
    wa = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)["model"]
    wb = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["model"]
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)  # the loss saw other outputs
    assert plain["loss"] != post["loss"]

    # Validation scores the post-filtered target, with the residual as its complement.
    model = SoundFilter.from_pretrained(tmp_path / "b" / "model")
    g = torch.Generator().manual_seed(0)
    tgt, bg = torch.randn(3, 1, 4000, generator=g), torch.randn(3, 1, 4000, generator=g)
    mix = tgt + bg
    words = SoundWords.tiny(seed=0)
    emb = np.asarray(words.embed_audio([t.numpy() for t in tgt[:, 0]], 16000), np.float32)
    val = ValidationSet(mix, tgt, bg, torch.randn(3, 64, generator=g), emb, si_sdr(mix, tgt))
    with torch.no_grad():
        want = spectral_postfilter(mix, model(mix, val.cond, project=True)[0])
    got = validate(model, val, words, 16000, torch.device("cpu"), postfilter=True)
    assert got["si_sdri"] == pytest.approx(float((si_sdr(want, tgt) - si_sdr(mix, tgt)).mean()), abs=1e-4)
    want_res = float((si_sdr(mix - want, bg) - si_sdr(mix, bg)).mean())
    assert got["residual_si_sdri"] == pytest.approx(want_res, abs=1e-4)
    assert validate(model, val, words, 16000, torch.device("cpu"))["si_sdri"] != pytest.approx(got["si_sdri"])


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    whole = _train(_opts(tmp_path / "whole", steps=5))
    part = _train(_opts(tmp_path / "part", steps=5), stop_after=3)
    assert not part["finished"] and part["step"] == 3
    rest = _train(_opts(tmp_path / "part", steps=5))
    assert rest["finished"] and rest["step"] == whole["step"] == 5
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=False)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["best"]["step"] == b["best"]["step"]
    assert (tmp_path / "whole" / "model" / "model.safetensors").read_bytes() == (
        tmp_path / "part" / "model" / "model.safetensors"
    ).read_bytes()


def test_worker_processes_give_the_same_run(tmp_path: Path) -> None:
    # --workers moves example drawing and the audio tower's resampling/windowing into DataLoader
    # processes; the batches, and so the weights, must not change (an interrupted run resumes too).
    thread = _train(_opts(tmp_path / "thread", steps=5, text_rate=0.5))
    assert thread["audio_embeddings_computed"] > 0
    part = _train(_opts(tmp_path / "workers", steps=5, text_rate=0.5, workers=2), stop_after=2)
    assert part["step"] == 2
    procs = _train(_opts(tmp_path / "workers", steps=5, text_rate=0.5, workers=2))
    assert procs["finished"] and procs["audio_embeddings_computed"] > 0
    a = torch.load(tmp_path / "thread" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "workers" / "checkpoint.pt", weights_only=False)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_load_batch_windows_embed_like_the_audio(tmp_path: Path) -> None:
    words = SoundWords.tiny(seed=0)
    tr, _ = _data()
    loaded = load_batch(tr, list(range(6)), seed=0, text_rate=0.0, words=words, sample_rate=16000)
    wins = loaded.windows
    assert all(w is not None for w in wins) and all(it.cond_audio is None for it in loaded.items)
    clips = [draw_example(tr, i).cond_audio for i in range(6)]
    np.testing.assert_array_equal(words.embed_windows(wins), words.embed_audio(clips, 16000))
    texts = load_batch(tr, list(range(6)), seed=0, text_rate=1.0, words=words)
    assert texts.window_data is None and texts.windows == [None] * 6


def test_resume_with_other_ablation_settings_is_refused(tmp_path: Path) -> None:
    from sfcli.errors import SfcliError

    _train(_opts(tmp_path / "r", steps=2), stop_after=1)
    with pytest.raises(SfcliError, match="different model"):
        _train(_opts(tmp_path / "r", steps=2, residual_output=False))
    with pytest.raises(SfcliError, match="different model"):
        _train(_opts(tmp_path / "r", steps=2, model_config=SoundFilterConfig.tiny(postfilter_power=2.0)))


def test_a_checkpoint_from_before_the_postfilter_fields_resumes(tmp_path: Path) -> None:
    from sfcli.train.common import load_checkpoint, save_checkpoint

    _train(_opts(tmp_path / "r", steps=3), stop_after=1)
    ck = load_checkpoint(tmp_path / "r" / "checkpoint.pt")
    for key in ("postfilter_fft", "postfilter_power", "refiner_channels"):
        del ck["model_config"][key]
    for group in ck["optimizer"]["param_groups"]:
        del group["lr_scale"]
    save_checkpoint(tmp_path / "r" / "checkpoint.pt", ck)
    assert _train(_opts(tmp_path / "r", steps=3))["step"] == 3


class _CountingWords:
    def __init__(self) -> None:
        self.inner = SoundWords.tiny(seed=0)
        self.texts: list[str] = []
        self.clips = 0

    def embed_text(self, texts):
        self.texts.extend(texts)
        return self.inner.embed_text(texts)

    def embed_audio(self, clips, sample_rate):
        self.clips += len(clips)
        return self.inner.embed_audio(clips, sample_rate)


def test_text_embeddings_are_cached_and_text_rate_is_respected(tmp_path: Path) -> None:
    words = _CountingWords()
    ds = ToneMixtures(seed=0, seconds=0.1)
    cache = ConditioningCache(words, 16000, path=tmp_path / "t.pt", fingerprint="x")
    cache.add_texts(ds.descriptions())
    n_first = len(words.texts)
    items = [draw_example(ds, i) for i in range(40)]
    choices = [example_choices(0, i, 0.3) for i in range(40)]
    cond = cache.conditioning(items, [c[0] for c in choices], [c[1] for c in choices])
    assert cond.shape == (40, 64)
    assert len(words.texts) == n_first  # every description was embedded up front
    n_text = sum(c[0] for c in choices)
    assert words.clips == 40 - n_text
    # The rate holds over many draws; text-conditioned rows equal the text embedding.
    rate = np.mean([example_choices(0, i, 0.3)[0] for i in range(4000)])
    assert 0.27 < rate < 0.33
    i = next(j for j, c in enumerate(choices) if c[0])
    assert any(np.allclose(cond[i], cache.text[d]) for d in items[i].descriptions)
    # A second cache on the same file reuses the stored embeddings.
    words2 = _CountingWords()
    ConditioningCache(words2, 16000, path=tmp_path / "t.pt", fingerprint="x").add_texts(ds.descriptions())
    assert words2.texts == []


class _Clips:
    """Just enough of a corpus for TextExpander.for_corpus: the train split's clip records."""

    def __init__(self, families: list[str], category: str = "hum") -> None:
        from sfcli.data.corpus import ClipRecord

        self.clips = [
            ClipRecord(f"c{i}", "test", f"{i}.wav", "CC0", category, ["a hum"], 1.0, "train", extra={"family": f})
            for i, f in enumerate(families)
        ]

    def split(self, name: str) -> list:
        return self.clips if name == "train" else []


def test_text_expansion_leaves_out_the_targets_own_family() -> None:
    from sfcli.words import AudioBank

    rng = np.random.default_rng(0)
    rows = rng.standard_normal((6, 64)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    bank = AudioBank(torch.from_numpy(rows), k=2, info={"categories": ["hum"]})
    exp = TextExpander.for_corpus(bank, _Clips(["a", "a", "b", "c", "c", "c"]))
    text = rows[[0, 0]] + 0.01  # a description whose nearest bank rows are clip 0's family
    assert set(bank.neighbours(text[:1])[0]) & {0, 1}
    got = exp(text, ["c0", "elsewhere"])
    near = bank.neighbours(text[:1], exclude=[[0, 1]])[0]
    assert not set(near) & {0, 1}
    mean = rows[near].mean(axis=0)
    np.testing.assert_allclose(got[0], mean / np.linalg.norm(mean), atol=1e-5)
    np.testing.assert_allclose(got[1], bank.expand(text[1:])[0], atol=1e-6)  # not a bank clip: plain expansion
    with pytest.raises(SfcliError, match="not built from this corpus"):
        TextExpander.for_corpus(bank, _Clips(["a", "b"]))
    with pytest.raises(SfcliError, match="not built from this corpus"):
        TextExpander.for_corpus(bank, _Clips(["a"] * 6, category="rain"))


def test_conditioning_cache_expands_only_text_rows() -> None:
    seen: list[list[str]] = []

    def expander(emb: np.ndarray, clip_ids) -> np.ndarray:
        seen.append(list(clip_ids))
        return np.full_like(emb, 0.125)

    words = SoundWords.tiny(seed=0)
    ds = ToneMixtures(seed=0, seconds=0.1)
    items = [draw_example(ds, i) for i in range(6)]
    use_text = [True, False, True, False, False, True]
    cond = ConditioningCache(words, 16000, expander=expander).conditioning(items, use_text, [0.0] * 6)
    assert seen == [[items[i].clip_id for i in (0, 2, 5)]]
    assert np.allclose(cond[[0, 2, 5]], 0.125)
    np.testing.assert_allclose(
        cond[[1, 3, 4]], words.embed_audio([items[i].cond_audio for i in (1, 3, 4)], 16000), atol=1e-6
    )


def test_text_expansion_needs_an_audio_bank(tmp_path: Path) -> None:
    with pytest.raises(SfcliError, match="audio bank"):
        _train(_opts(tmp_path / "run", text_expansion=True))


def test_near_silent_targets_are_redrawn() -> None:
    class Quiet(ToneMixtures):
        def __getitem__(self, index):
            item = super().__getitem__(index)
            if index % 2 == 0:
                item["target"] = np.zeros_like(item["target"])
                item["mixture"] = item["background"].copy()
            return item

    ex = draw_example(Quiet(seconds=0.1), 0)
    assert np.sqrt(np.mean(ex.target**2)) > 1e-3
    assert np.sqrt(np.mean(ex.mixture**2)) == pytest.approx(0.1, rel=1e-3)


def test_always_silent_data_is_an_error_not_silent_examples() -> None:
    class Silent(ToneMixtures):
        def __getitem__(self, index):
            item = super().__getitem__(index)
            item["target"] = np.zeros_like(item["target"])
            item["mixture"] = item["background"].copy()
            return item

    with pytest.raises(SfcliError, match="silent or non-finite"):
        draw_example(Silent(seconds=0.1), 3)


def test_chosen_description_picks_text_only_when_chosen_and_available() -> None:
    item = Example.from_item({"descriptions": ["a dog barking", "dog bark", "barking"]})
    assert chosen_description(item, True, 0.0) == "a dog barking"
    assert chosen_description(item, True, 0.5) == "dog bark"
    assert chosen_description(item, True, 0.9999) == "barking"
    assert chosen_description(item, False, 0.5) is None
    assert chosen_description(Example.from_item({"text": " owl hooting "}), True, 0.7) == "owl hooting"
    assert chosen_description(Example.from_item({"category": "door_slam"}), True, 0.2) == "door slam"
    assert chosen_description(Example.from_item({}), True, 0.2) is None


def test_sigkill_then_rerun_resumes(tmp_path: Path, kill_after_checkpoint) -> None:
    run = tmp_path / "run"
    cmd = [sys.executable, "-c", "from sfcli.cli import main; main()", "train-filter", "--tiny", "--quiet"]
    cmd += ["--run-dir", str(run), "--steps", "100000", "--batch-size", "4", "--crop-seconds", "0.4"]
    cmd += ["--checkpoint-every", "3", "--eval-every", "1000000", "--valid-size", "4"]
    cmd += ["--channels", "4", "--max-channels", "8", "--workers", "1"]  # CLI overrides + a loader process
    step = kill_after_checkpoint(cmd, run / "checkpoint.pt", 0.5)
    assert 0 < step < 100000
    cmd[cmd.index("100000")] = str(step + 3)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["finished"] and summary["step"] == step + 3
    assert (run / "model" / "model.safetensors").is_file()
    cfg = json.loads((run / "model" / "config.json").read_text())
    assert (cfg["channels"], cfg["max_channels"]) == (4, 8)


def _ddp_worker(rank: int, world: int, port: int, run: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    _train(_opts(Path(run), steps=3, eval_every=100, checkpoint_every=100))


def test_two_process_ddp_matches_one_process(tmp_path: Path) -> None:
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path / "ddp")), nprocs=2, join=True)
    one = _train(_opts(tmp_path / "one", steps=3, eval_every=100, checkpoint_every=100))
    assert one["global_batch"] == 8
    a = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=False)
    assert a["step"] == b["step"] == 3 and a["examples"] == b["examples"] == 24
    # Conv biases right before a one-channel-per-group GroupNorm get a zero gradient up to rounding,
    # which Adam blows up to ±lr steps; they carry no signal, so compare the parameters that learn.
    probe = SoundFilter(SoundFilterConfig.tiny())
    t, r = probe(torch.randn(2, 1, 4000), torch.randn(2, 64))
    (t.pow(2).sum() + r.abs().sum()).backward()
    live = [k for k, p in probe.named_parameters() if p.grad is not None and p.grad.abs().max() > 1e-3]
    assert len(live) > 20
    for k in live:
        torch.testing.assert_close(a["model"][k], b["model"][k], atol=1e-5, rtol=1e-4)
    fresh = SoundFilter(SoundFilterConfig.tiny()).state_dict()
    assert any(not torch.allclose(b["model"][k], fresh[k]) for k in fresh if "film" not in k)


def test_training_on_manifest_mixtures(tmp_path: Path) -> None:
    import soundfile as sf

    from sfcli.train.datasets import manifest_datasets

    rows = []
    for lab, f in (("dog", 300.0), ("rain", 2000.0)):
        for k, split in enumerate(("train", "train", "valid", "valid")):
            rng = np.random.default_rng(len(rows))
            t = np.arange(16000 * 2) / 16000
            x = 0.3 * np.sin(2 * np.pi * f * (1 + 0.01 * k) * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(tmp_path / f"{lab}{k}.wav", x.astype(np.float32), 16000, subtype="FLOAT")
            rows.append({"audio": f"{lab}{k}.wav", "text": f"a {lab}", "category": lab, "split": split})
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    train, valid, descs = manifest_datasets([tmp_path / "m.jsonl"], seed=0, crop_seconds=0.5)
    assert descs == ["a dog", "a rain"] and valid is not None
    assert len(train) > 10**9  # indices never wrap around
    it = train[12345]
    assert it["cond_audio"].shape == it["mixture"].shape == (8000,)
    opts = _opts(tmp_path / "run", steps=2, batch_size=4, valid_size=4)
    s = train_filter(opts, train, valid, SoundWords.tiny(seed=0), descriptions=descs, progress=False)
    assert s["finished"] and np.isfinite(s["loss"]) and "si_sdri" in s["best_valid"]
    with pytest.raises(SfcliError):
        manifest_datasets([tmp_path / "missing.jsonl"], seed=0)


def test_time_budget_stops_with_a_checkpoint(tmp_path: Path) -> None:
    s = _train(_opts(tmp_path / "t", steps=50, checkpoint_every=1000, max_seconds=0.0))
    assert s["step"] == 0 and not s["finished"]
    s = _train(_opts(tmp_path / "t", steps=50, checkpoint_every=1000), stop_after=2)
    assert torch.load(tmp_path / "t" / "checkpoint.pt", weights_only=False)["step"] == 2


def test_init_warm_starts_from_a_checkpoint_or_model_folder(tmp_path: Path) -> None:
    _train(_opts(tmp_path / "a", steps=4))
    ck = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    # lr 0: the warm-started weights come through one step unchanged.
    _train(_opts(tmp_path / "b", steps=1, lr=0.0, init=tmp_path / "a" / "checkpoint.pt", eval_every=1))
    got = SoundFilter.from_pretrained(tmp_path / "b" / "model").state_dict()
    for k, v in ck["model"].items():
        assert torch.allclose(got[k].float(), v.float(), atol=1e-6), k
    _train(_opts(tmp_path / "c", steps=1, lr=0.0, init=tmp_path / "b" / "model", eval_every=1))
    got_c = SoundFilter.from_pretrained(tmp_path / "c" / "model").state_dict()
    assert all(torch.allclose(got_c[k].float(), got[k].float(), atol=1e-6) for k in got)
    wide = SoundFilterConfig.tiny()
    wide.channels *= 2
    with pytest.raises(SfcliError, match="do not fit"):
        _train(_opts(tmp_path / "d", steps=1, model_config=wide, init=tmp_path / "a" / "checkpoint.pt"))


def test_a_mask_refiner_trains_through_the_postfilter_from_a_model_without_one(tmp_path: Path) -> None:
    _train(_opts(tmp_path / "a", steps=2, projection=True))
    refined = SoundFilterConfig.tiny(refiner_channels=4)
    with pytest.raises(SfcliError, match="--postfilter"):
        _train(_opts(tmp_path / "x", steps=1, model_config=refined, projection=True))
    start = SoundFilter.from_pretrained(tmp_path / "a" / "model").state_dict()
    kw = dict(steps=2, model_config=refined, projection=True, postfilter=True, init=tmp_path / "a" / "model")
    _train(_opts(tmp_path / "b", eval_every=100, **kw))
    got = SoundFilter.from_pretrained(tmp_path / "b" / "model")
    assert got.config.refiner_channels == 4 and got.refiner is not None
    assert got.refiner.out.weight.abs().sum() > 0  # the zero-initialised last layer has learned
    assert any(not torch.equal(got.state_dict()[k].float(), v.float()) for k, v in start.items())
    # refiner_lr_scale scales only the refiner's learning rate: at 0 it stays at its start.
    _train(_opts(tmp_path / "c", eval_every=100, refiner_lr_scale=0.0, **kw))
    frozen = SoundFilter.from_pretrained(tmp_path / "c" / "model")
    assert frozen.refiner.out.weight.abs().sum() == 0
    assert any(not torch.equal(frozen.state_dict()[k].float(), v.float()) for k, v in start.items())


@pytest.mark.parametrize("option, value", [("residual_queries", 0.5), ("query_noise", 0.2)])
def test_query_options_change_training_and_resume_identically(tmp_path: Path, option: str, value: float) -> None:
    kw = dict(steps=4, text_rate=0.0, projection=True, **{option: value})
    whole = _train(_opts(tmp_path / "whole", **kw))
    assert whole["finished"]
    assert _train(_opts(tmp_path / "part", **kw), stop_after=2)["step"] == 2
    _train(_opts(tmp_path / "part", **kw))
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    _train(_opts(tmp_path / "plain", **{**kw, option: 0.0}))
    plain = torch.load(tmp_path / "plain" / "checkpoint.pt", weights_only=False)["model"]
    assert any(not torch.equal(a[k], plain[k]) for k in a)  # the option changed the training


def test_context_units_train_from_a_model_without_them_at_their_own_learning_rate(tmp_path: Path) -> None:
    _train(_opts(tmp_path / "a", steps=2, projection=True))
    start = SoundFilter.from_pretrained(tmp_path / "a" / "model").state_dict()
    kw = dict(steps=2, model_config=SoundFilterConfig.tiny(context_units=2), projection=True, eval_every=100)
    _train(_opts(tmp_path / "b", init=tmp_path / "a" / "model", **kw))
    got = SoundFilter.from_pretrained(tmp_path / "b" / "model")
    assert got.config.context_units == 2
    assert all(u.out.weight.abs().sum() > 0 for u in got.context)  # the zero-initialised outputs learned
    # context_lr_scale 0 freezes the units (the rest still trains).
    _train(_opts(tmp_path / "c", init=tmp_path / "a" / "model", context_lr_scale=0.0, **kw))
    frozen = SoundFilter.from_pretrained(tmp_path / "c" / "model")
    assert all(u.out.weight.abs().sum() == 0 for u in frozen.context)
    assert any(not torch.equal(frozen.state_dict()[k].float(), v.float()) for k, v in start.items())
