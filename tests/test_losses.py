"""losses: SI-SDR / SNR against a plain numpy reference, the soft dB loss, the ablation switches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfcli.losses import contrastive_loss, separation_loss, si_sdr, snr, soft_db_loss


def _np_si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    est = est - est.mean()
    ref = ref - ref.mean()
    proj = (est @ ref) / (ref @ ref) * ref
    return 10 * np.log10((proj @ proj) / ((est - proj) @ (est - proj)))


def test_si_sdr_matches_numpy_reference_and_is_scale_invariant() -> None:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((4, 2000))
    est = ref + rng.uniform(0.1, 2.0, (4, 1)) * rng.standard_normal((4, 2000))
    got = si_sdr(torch.from_numpy(est), torch.from_numpy(ref)).numpy()
    want = np.array([_np_si_sdr(e, r) for e, r in zip(est, ref, strict=True)])
    np.testing.assert_allclose(got, want, atol=1e-6)
    scaled = si_sdr(torch.from_numpy(3.7 * est), torch.from_numpy(ref)).numpy()
    np.testing.assert_allclose(scaled, got, atol=1e-6)
    # (B, 1, T) works the same.
    got3 = si_sdr(torch.from_numpy(est)[:, None], torch.from_numpy(ref)[:, None]).numpy()
    np.testing.assert_allclose(got3, got, atol=1e-9)


def test_snr_matches_numpy_and_is_not_scale_invariant() -> None:
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((2, 500))
    est = ref + 0.3 * rng.standard_normal((2, 500))
    want = 10 * np.log10((ref**2).sum(1) / ((ref - est) ** 2).sum(1))
    got = snr(torch.from_numpy(est), torch.from_numpy(ref)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert (snr(torch.from_numpy(2 * est), torch.from_numpy(ref)).numpy() < got).all()


def test_silence_gives_finite_values_and_gradients() -> None:
    est = torch.zeros(2, 100, requires_grad=True)
    ref = torch.zeros(2, 100)
    val = si_sdr(est, ref)
    assert torch.isfinite(val).all()
    val.sum().backward()
    assert torch.isfinite(est.grad).all()


def test_soft_db_loss_falls_as_the_ratio_rises_and_saturates() -> None:
    x = torch.linspace(-20, 60, 81)
    loss = soft_db_loss(x)
    assert (loss[1:] < loss[:-1]).all()
    assert abs(float(soft_db_loss(torch.tensor(0.0))) - 30.0) < 1e-6
    assert float(soft_db_loss(torch.tensor(60.0))) < 1e-10
    assert float(soft_db_loss(torch.tensor(30.0))) == pytest.approx(np.log(2), abs=1e-6)


def _sources(seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(3, 1, 400, generator=g)
    b = torch.randn(3, 1, 400, generator=g)
    return t, b, t + b


def test_separation_loss_terms_and_switches() -> None:
    t, b, m = _sources()
    te = (0.8 * t + 0.1 * b).requires_grad_(True)
    re = 0.7 * b + 0.3 * t
    full = separation_loss(te, re, t, b, m)
    expected = (
        soft_db_loss(si_sdr(te, t)).mean() + soft_db_loss(si_sdr(re, b)).mean() + soft_db_loss(snr(te + re, m)).mean()
    )
    assert float(full.total.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    assert full.consistency_loss is not None and full.residual_loss is not None
    full.total.backward()
    assert te.grad is not None and torch.isfinite(te.grad).all()

    no_cons = separation_loss(te, re, t, b, m, consistency_loss=False)
    assert no_cons.consistency_loss is None and no_cons.consistency_snr is None
    assert float(no_cons.total.detach()) == pytest.approx(float(no_cons.target_loss + no_cons.residual_loss), rel=1e-6)

    no_res = separation_loss(te, None, t, b, m, residual_output=False)
    assert no_res.residual_loss is None and no_res.consistency_loss is None
    assert float(no_res.total.detach()) == pytest.approx(float(no_res.target_loss), rel=1e-6)
    assert set(no_res.as_dict()) == {"total", "target_loss", "target_si_sdr"}
    with pytest.raises(ValueError):
        separation_loss(te, None, t, b, m)


def test_better_estimates_have_lower_loss() -> None:
    t, b, m = _sources(2)
    good = separation_loss(t + 0.01 * b, b + 0.01 * t, t, b, m).total
    half = separation_loss(m / 2, m / 2, t, b, m).total
    assert float(good) < float(half)


def test_absent_examples_are_scored_by_the_energy_the_target_keeps() -> None:
    torch.manual_seed(0)
    mix = torch.randn(2, 1, 4000)
    silent = torch.zeros(2, 1, 4000)
    absent = torch.tensor([True, True])
    quiet = separation_loss(0.01 * mix, 0.99 * mix, silent, mix, mix, absent=absent)
    loud = separation_loss(0.5 * mix, 0.5 * mix, silent, mix, mix, absent=absent)
    assert torch.isfinite(quiet.total) and torch.isfinite(loud.total)
    assert float(quiet.target_loss) < float(loud.target_loss)
    assert torch.isnan(quiet.target_si_sdr).all()
    # mixed batch: present rows keep the SI-SDR term, absent rows get the energy term
    tgt = torch.randn(2, 1, 4000)
    parts = separation_loss(tgt, mix - tgt, tgt, mix - tgt, mix, absent=torch.tensor([False, True]))
    assert torch.isfinite(parts.target_si_sdr[0]) and torch.isnan(parts.target_si_sdr[1])
    assert np.isfinite(parts.as_dict()["target_si_sdr"])


# ---- SoundWords' contrastive loss (moved from sfcli.words) -------------------------------------


def test_contrastive_loss_matches_cross_entropy_and_groups() -> None:
    torch.manual_seed(0)
    t = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    a = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    scale = torch.tensor(np.log(10.0), dtype=torch.float32)
    logits = 10.0 * t @ a.T
    ref = 0.5 * (
        torch.nn.functional.cross_entropy(logits, torch.arange(6))
        + torch.nn.functional.cross_entropy(logits.T, torch.arange(6))
    )
    torch.testing.assert_close(contrastive_loss(t, a, scale), ref)
    torch.testing.assert_close(contrastive_loss(t, a, scale, torch.arange(6)), ref)
    # Two items of one group: pairing text 0 with audio 1 is no longer penalised as a negative.
    g = torch.tensor([0, 0, 1, 2, 3, 4])
    assert contrastive_loss(t, a, scale, g) != contrastive_loss(t, a, scale)


def test_soft_targets_mix_into_the_contrastive_target() -> None:
    torch.manual_seed(1)
    t = torch.nn.functional.normalize(torch.randn(5, 8), dim=1)
    a = torch.nn.functional.normalize(torch.randn(5, 8), dim=1)
    scale = torch.tensor(np.log(10.0), dtype=torch.float32)
    hard = contrastive_loss(t, a, scale)
    # An identity soft target is the hard target, whatever its weight.
    torch.testing.assert_close(contrastive_loss(t, a, scale, None, torch.eye(5), 0.7), hard)
    uniform = torch.full((5, 5), 0.2)
    torch.testing.assert_close(contrastive_loss(t, a, scale, None, uniform, 0.0), hard)
    # Weight 1 with a uniform target: the loss is the mean negative log-softmax over all pairs.
    logits = 10.0 * t @ a.T
    ref = -0.5 * (torch.log_softmax(logits, dim=1).mean(1).mean() + torch.log_softmax(logits.T, dim=1).mean(1).mean())
    torch.testing.assert_close(contrastive_loss(t, a, scale, None, uniform, 1.0), ref)
