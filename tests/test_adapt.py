"""sfcli.adapt: reference-clip adaptation builds exact mixtures, learns, is deterministic and leaves the
original filter untouched; Separator.adapted / adapt= use it for reference queries only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sfcli.adapt import AdaptOptions, adapt_filter, reference_batch, train_steps
from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.losses import separation_loss


def _tone(seconds: float = 1.3, sr: int = 16000, f: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def _model() -> SoundFilter:
    torch.manual_seed(0)
    return SoundFilter(SoundFilterConfig.tiny()).eval()


def _params(model: SoundFilter) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_reference_batch_is_exact_and_reproducible() -> None:
    opts = AdaptOptions(batch=6, crop_seconds=0.5, snr_db=5.0)
    ref = _tone()
    mix, target, background = reference_batch([ref], np.random.default_rng(3), opts, 16000)
    assert mix.shape == target.shape == background.shape == (6, 1, 8000)
    torch.testing.assert_close(mix, target + background, rtol=0, atol=0)
    assert float(mix.abs().max()) <= 1.0 + 1e-6
    snr = 10 * torch.log10(target.pow(2).sum(-1) / background.pow(2).sum(-1))
    assert float(snr.min()) >= -5.01 and float(snr.max()) <= 5.01
    again = reference_batch([ref], np.random.default_rng(3), opts, 16000)
    torch.testing.assert_close(again[0], mix, rtol=0, atol=0)
    # a target is a stretch of the (looped) reference, up to its gain: find it in a noise reference
    noise = np.random.default_rng(1).standard_normal(12000).astype(np.float32)
    t0 = reference_batch([noise], np.random.default_rng(4), opts, 16000)[1][0, 0].numpy().astype(np.float64)
    looped = np.resize(noise, noise.size + 8000).astype(np.float64)
    k = int(np.argmax(np.correlate(looped, t0, "valid")))
    np.testing.assert_allclose(t0 / t0.std(), looped[k : k + 8000] / looped[k : k + 8000].std(), atol=1e-4)


def test_adaptation_lowers_the_loss_on_the_reference_and_leaves_the_original() -> None:
    model, ref, emb = _model(), _tone(), np.ones(64, np.float32)
    before = _params(model)
    opts = AdaptOptions(steps=15, lr=1e-3, batch=4, crop_seconds=0.5)
    held = reference_batch([ref], np.random.default_rng(99), opts, 16000)
    cond = torch.ones(4, 64)

    def loss(m: SoundFilter) -> float:
        with torch.no_grad():
            t, r = m(held[0], cond, postfilter=True)
            return float(separation_loss(t, r, held[1], held[2], held[0], consistency_loss=False).total)

    adapted = adapt_filter(model, [(ref, 16000)], emb, opts)
    assert loss(adapted) < loss(model) - 0.5
    assert not adapted.training
    for p, q in zip(before, model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_adaptation_is_deterministic_and_zero_steps_is_the_model() -> None:
    model, emb = _model(), np.ones(64, np.float32)
    refs = [(_tone(f=300.0), 16000), (_tone(0.8, 22050, 900.0), 22050)]
    opts = AdaptOptions(steps=2, batch=2, crop_seconds=0.25)
    a, b = adapt_filter(model, refs, emb, opts), adapt_filter(model, refs, emb, opts)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    c = adapt_filter(model, refs, emb, AdaptOptions(steps=2, batch=2, crop_seconds=0.25, seed=1))
    assert any(not torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))
    zero = adapt_filter(model, refs, emb, AdaptOptions(steps=0))
    for p, q in zip(model.parameters(), zero.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_train_steps_can_train_the_query_vector_alone() -> None:
    model = _model()
    with torch.no_grad():  # FiLM starts as the identity: make the query count
        for name, p in model.named_parameters():
            if "film" in name:
                p.normal_(0, 0.1)
    model.requires_grad_(False)
    before, emb = _params(model), np.ones(64, np.float32)
    vec = torch.nn.Parameter(torch.tensor(emb))
    opts = AdaptOptions(batch=2, crop_seconds=0.25)
    train_steps(model, torch.optim.Adam([vec], lr=1e-2), [_tone()], vec, np.random.default_rng(0), opts, 3)
    assert float((vec.detach() - torch.tensor(emb)).abs().max()) > 1e-3
    for p, q in zip(before, model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [{"steps": -1}, {"batch": 0}, {"lr": 0.0}, {"crop_seconds": 0.0}])
def test_bad_options_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        AdaptOptions(**bad)


def test_no_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one reference"):
        adapt_filter(_model(), [], np.ones(64, np.float32))


def test_separator_adapts_reference_queries_only(tiny_models: Path) -> None:
    from sfcli import Separator

    rng = np.random.default_rng(0)
    mix = (0.1 * rng.standard_normal(16000)).astype(np.float32) + _tone(1.0)
    ref = _tone(1.2)
    plain = Separator.from_pretrained(tiny_models)
    sep = Separator.from_pretrained(tiny_models, adapt=AdaptOptions(steps=3, batch=2, crop_seconds=0.5))
    got = sep.separate(mix, 16000, reference=ref, reference_sample_rate=16000)
    emb = plain.embed_query(reference=ref, reference_sample_rate=16000)
    want = plain.adapted([(ref, 16000)], emb, sep.adapt).separate(mix, 16000, embedding=emb)
    np.testing.assert_allclose(got.target, want.target, atol=1e-6)
    np.testing.assert_allclose(got.target + got.residual, mix, atol=1e-5)
    assert not np.allclose(got.target, plain.separate(mix, 16000, embedding=emb).target, atol=1e-4)
    # text queries are separated as without adaptation, and the separator's own filter is unchanged
    text = sep.separate(mix, 16000, text="owl hooting").target
    np.testing.assert_allclose(text, plain.separate(mix, 16000, text="owl hooting").target, atol=1e-6)
