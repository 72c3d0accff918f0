"""Training losses of SoundFilter (paper §3.3.1), in torch.

* :func:`si_sdr` – scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019), per example.
* :func:`snr` – plain signal-to-noise ratio in dB, per example (used for the consistency loss).
* :func:`soft_db_loss` – ``softplus(30 − x)``: a loss that falls as the ratio ``x`` rises and saturates
  softly once ``x`` passes 30 dB. (The paper prints ``−softplus(30 − SI-SDR)``; with that sign the loss
  would *rise* with SI-SDR, so the minus is a typo.)
* :func:`separation_loss` – the three-term SoundFilter loss with the paper's ablation switches.
* :func:`contrastive_loss` – SoundWords' symmetric InfoNCE (paper §3.1), with grouped and soft targets.

All functions take waveforms shaped ``(B, T)`` or ``(B, 1, T)`` and reduce over time only; an ``eps``
of 1e-8 inside every ratio keeps silent references from producing NaN or infinite gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

EPS = 1e-8
SATURATION_DB = 30.0


def _flat(x: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` or ``(B, 1, T)`` → ``(B, T)``; a 1-D input becomes a batch of one."""
    if x.dim() == 1:
        return x.unsqueeze(0)
    if x.dim() == 3:
        if x.shape[1] != 1:
            raise ValueError(f"expected one channel, got shape {tuple(x.shape)}")
        return x[:, 0]
    if x.dim() != 2:
        raise ValueError(f"expected (B, T) or (B, 1, T), got shape {tuple(x.shape)}")
    return x


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Scale-invariant SDR in dB of ``estimate`` against ``reference``, one value per example ``(B,)``.

    Both signals are made zero-mean; the reference is scaled by the least-squares gain
    ``<est, ref> / ||ref||²`` and the ratio of its energy to the error's energy is taken.
    """
    est, ref = _flat(estimate), _flat(reference)
    if est.shape != ref.shape:
        raise ValueError(f"shape mismatch: estimate {tuple(est.shape)} vs reference {tuple(ref.shape)}")
    est = est - est.mean(dim=-1, keepdim=True)
    ref = ref - ref.mean(dim=-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + eps)
    target = alpha * ref
    noise = est - target
    return 10 * torch.log10((target.pow(2).sum(-1) + eps) / (noise.pow(2).sum(-1) + eps))


def snr(estimate: torch.Tensor, reference: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Signal-to-noise ratio in dB, ``10 log10(||ref||² / ||ref − est||²)``, per example ``(B,)``."""
    est, ref = _flat(estimate), _flat(reference)
    if est.shape != ref.shape:
        raise ValueError(f"shape mismatch: estimate {tuple(est.shape)} vs reference {tuple(ref.shape)}")
    return 10 * torch.log10((ref.pow(2).sum(-1) + eps) / ((ref - est).pow(2).sum(-1) + eps))


def soft_db_loss(ratio_db: torch.Tensor, saturation: float = SATURATION_DB) -> torch.Tensor:
    """``softplus(saturation − ratio_db)``: about ``30 − x`` for low ratios, → 0 above 30 dB."""
    return F.softplus(saturation - ratio_db)


@dataclass
class LossParts:
    """The total loss (a scalar to back-propagate) and its detached parts, batch means.

    ``target_si_sdr`` / ``residual_si_sdr`` / ``consistency_snr`` are in dB; parts that are switched
    off are ``None``.
    """

    total: torch.Tensor
    target_loss: torch.Tensor
    residual_loss: torch.Tensor | None
    consistency_loss: torch.Tensor | None
    target_si_sdr: torch.Tensor
    residual_si_sdr: torch.Tensor | None
    consistency_snr: torch.Tensor | None

    def as_dict(self) -> dict[str, float]:
        """Plain floats for logging (switched-off parts left out)."""
        out: dict[str, float] = {}
        for name in ("total", "target_loss", "residual_loss", "consistency_loss"):
            v = getattr(self, name)
            if v is not None:
                out[name] = float(v.detach())
        for name in ("target_si_sdr", "residual_si_sdr", "consistency_snr"):
            v = getattr(self, name)
            if v is not None:
                out[name] = float(v.detach().nanmean())
        return out


def separation_loss(
    target_est: torch.Tensor,
    residual_est: torch.Tensor | None,
    target: torch.Tensor,
    background: torch.Tensor,
    mixture: torch.Tensor,
    *,
    residual_output: bool = True,
    consistency_loss: bool = True,
    saturation: float = SATURATION_DB,
    absent: torch.Tensor | None = None,
) -> LossParts:
    """SoundFilter's loss: ``soft(SI-SDR(target)) + soft(SI-SDR(residual)) + soft(SNR(t̂ + r̂, mixture))``.

    Args:
        target_est, residual_est: the network's two outputs.
        target, background: the true sources (``mixture = target + background``).
        mixture: the network's input.
        residual_output: ``False`` is the paper's "− suppressed audio output" ablation: the network has
            no residual output, so only the target term is trained (the residual and the consistency
            terms are dropped; ``residual_est`` may be ``None``).
        consistency_loss: ``False`` drops the SNR consistency term (the paper's "− consistency loss"
            ablation; also the right setting when the model applies the exact mixture-consistency
            projection, which makes the term constant).

        absent: ``(B,)`` bool, examples whose queried sound is not in the mixture (their ``target`` is
            silence, on which SI-SDR is undefined). Their target term is ``soft(10 log10(|mixture|² /
            |t̂|²))``: the less of the mixture the target output keeps, the lower the loss, saturating
            30 dB down, the same form as the other terms. Their ``target_si_sdr`` is reported as NaN.

    ``target_si_sdr`` etc. in the result are per-example values ``(B,)``, detached.
    """
    t_sdr = si_sdr(target_est, target)
    t_terms = soft_db_loss(t_sdr, saturation)
    if absent is not None and bool(absent.any()):
        absent = absent.to(t_sdr.device).reshape(-1)
        mix, est = _flat(mixture), _flat(target_est)
        kept_down = 10 * torch.log10((mix.pow(2).sum(-1) + EPS) / (est.pow(2).sum(-1) + EPS))
        t_terms = torch.where(absent, soft_db_loss(kept_down, saturation), t_terms)
        t_sdr = torch.where(absent, torch.full_like(t_sdr, float("nan")), t_sdr)
    t_loss = t_terms.mean()
    total = t_loss
    r_sdr = r_loss = c_snr = c_loss = None
    if residual_output:
        if residual_est is None:
            raise ValueError("residual_output=True needs the residual estimate")
        r_sdr = si_sdr(residual_est, background)
        r_loss = soft_db_loss(r_sdr, saturation).mean()
        total = total + r_loss
        if consistency_loss:
            c_snr = snr(_flat(target_est) + _flat(residual_est), mixture)
            c_loss = soft_db_loss(c_snr, saturation).mean()
            total = total + c_loss
    return LossParts(
        total=total,
        target_loss=t_loss.detach(),
        residual_loss=None if r_loss is None else r_loss.detach(),
        consistency_loss=None if c_loss is None else c_loss.detach(),
        target_si_sdr=t_sdr.detach(),
        residual_si_sdr=None if r_sdr is None else r_sdr.detach(),
        consistency_snr=None if c_snr is None else c_snr.detach(),
    )


__all__ = ["EPS", "LossParts", "separation_loss", "si_sdr", "snr", "soft_db_loss"]


def contrastive_loss(
    text: torch.Tensor,
    audio: torch.Tensor,
    logit_scale: torch.Tensor,
    groups: torch.Tensor | None = None,
    soft_target: torch.Tensor | None = None,
    soft_weight: float = 0.0,
) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of paired unit vectors ``(N, D)``.

    Without ``groups`` row ``i`` of ``text`` matches row ``i`` of ``audio`` only. With ``groups``
    (``(N,)`` integer ids, e.g. categories) every pair sharing a group counts as a positive and the
    target distribution is uniform over them — so duplicates of one description in a batch are not
    pushed apart. ``soft_target`` (``(N, N)``, symmetric, rows summing to 1, e.g. a softmax of the
    text-backbone similarities of the batch's descriptions) is mixed into the target with weight
    ``soft_weight``: a clip then also owes some probability to descriptions *related* to its own.
    The scale is clamped to at most 100 (temperature ≥ 0.01).
    """
    scale = logit_scale.clamp(max=math.log(100.0)).exp()
    logits = scale * text @ audio.t()
    if groups is None and soft_target is None:
        target = torch.arange(text.shape[0], device=text.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
    if groups is None:
        same = torch.eye(text.shape[0], dtype=logits.dtype, device=logits.device)
    else:
        same = (groups[:, None] == groups[None, :]).to(logits.dtype)
    target = same / same.sum(dim=1, keepdim=True)
    if soft_target is not None and soft_weight > 0:
        target = (1.0 - soft_weight) * target + soft_weight * soft_target.to(logits.dtype)
    loss_t = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    loss_a = -(target * F.log_softmax(logits.t(), dim=1)).sum(1).mean()
    return 0.5 * (loss_t + loss_a)
