"""SoundFilter: a FiLM-conditioned 1-D U-Net that splits a mixture into target and residual.

Paper 3.1 / Fig. 2 (after Gfeller et al., "One-shot conditional audio filtering of arbitrary sounds"):
a symmetric encoder/decoder on the waveform with skip connections between mirrored blocks, FiLM
conditioning in encoder, bottleneck and decoder blocks, GroupNorm after every Conv1D and ELU for every
non-linearity. It returns two waveforms: the *target* (what the conditioning vector describes) and
the *residual* (everything else).

Two front ends share that U-Net:

* ``frontend="waveform"`` – the paper's design: the first convolution runs at the full sample rate
  and the decoder writes both waveforms directly (``SoundFilterConfig.paper()``).
* ``frontend="filterbank"`` – a strided learned filterbank (Conv-TasNet style analysis/synthesis
  pair, still waveform in / waveform out); the U-Net runs on the filterbank frames and predicts two
  masks over them. It is several times cheaper on a CPU and learns much faster; see
  ``docs/results.md`` for the comparison that made it the shipped default.

An exact mixture-consistency projection (Wisdom et al.) adds half of ``mixture − target − residual``
to each output, so that ``target + residual == mixture`` to float precision. It is on by default and
always applied by :class:`sfcli.api.Separator`; training may switch it off to use the paper's soft
consistency loss instead.

The config also names the spectral post-filter the model is used with (:meth:`SoundFilter.postfilter`,
``postfilter_fft`` / ``postfilter_power``; :mod:`sfcli.postfilter`) and, with ``refiner_channels > 0``,
holds a learned mask refiner for it, so a model trained through the post-filter carries its settings.

:meth:`SoundFilter.separate` is the one place that composes network → projection → post-filter: the
API (:meth:`sfcli.api.Separator.window_fn`), training (``forward``, which DDP calls) and validation
all run it.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sfcli.audio import MODEL_SAMPLE_RATE
from sfcli.errors import ModelNotFoundError
from sfcli.postfilter import DEFAULT_FFT, DEFAULT_POWER, MaskRefiner, spectral_postfilter
from sfcli.pretrained import load_model_folder, resolve_model_dir, save_model_folder

MODEL_NAME = "soundfilter"


@dataclass
class SoundFilterConfig:
    """Hyper-parameters of :class:`SoundFilter` (saved as ``config.json`` beside the weights)."""

    sample_rate: int = MODEL_SAMPLE_RATE  # the rate the model runs at; Separator resamples to it
    cond_dim: int = 64
    frontend: str = "filterbank"  # "filterbank" (shipped) or "waveform" (paper)
    fb_channels: int = 128  # filterbank: number of learned analysis filters
    fb_kernel: int = 32  # filterbank: filter length in samples
    fb_stride: int = 16  # filterbank: hop in samples
    channels: int = 32  # width of the first U-Net level (doubles per level)
    max_channels: int = 256
    strides: list[int] = field(default_factory=lambda: [2, 2, 4])
    dilations: list[int] = field(default_factory=lambda: [1, 3, 9])
    groups: int = 8  # GroupNorm groups (capped by the channel count)
    residual_output: bool = True  # False: the net predicts the target only, residual = mixture − target
    consistency: str = "projection"  # "projection" (exact) or "none" (train with the soft loss)
    # The spectral post-filter this model is used with (sfcli.postfilter; 0 = none) and, when
    # refiner_channels > 0, the width of its learned mask refiner (weights saved with the model).
    postfilter_fft: int = DEFAULT_FFT
    postfilter_power: float = DEFAULT_POWER
    refiner_channels: int = 0
    # Extra FiLM-conditioned dilated residual units after the bottleneck (0 = none, the shipped
    # design). Each one's output layer starts at zero, so a model with them starts as the same
    # function as the one without (a warm start from weights without them keeps its outputs).
    context_units: int = 0

    def __post_init__(self) -> None:
        if self.frontend not in ("filterbank", "waveform"):
            raise ValueError(f"frontend must be 'filterbank' or 'waveform', not {self.frontend!r}")
        if self.consistency not in ("projection", "none"):
            raise ValueError(f"consistency must be 'projection' or 'none', not {self.consistency!r}")
        if not self.strides or any(s < 1 for s in self.strides):
            raise ValueError("strides must be a non-empty list of positive integers")
        if self.postfilter_fft < 0 or (self.postfilter_fft and (self.postfilter_fft < 4 or self.postfilter_power <= 0)):
            raise ValueError("postfilter_fft must be 0 (none) or >= 4, with postfilter_power > 0")
        if self.refiner_channels < 0 or (self.refiner_channels and not self.postfilter_fft):
            raise ValueError("refiner_channels must be >= 0, and a refiner needs the post-filter (postfilter_fft > 0)")
        if self.context_units < 0:
            raise ValueError("context_units must be >= 0")

    @classmethod
    def paper(cls, **overrides: Any) -> SoundFilterConfig:
        """The paper's design: full-rate waveform U-Net, strides 2-4-5-8, direct waveform outputs."""
        base = dict(frontend="waveform", channels=32, max_channels=512, strides=[2, 4, 5, 8])
        base.update(overrides)
        return cls(**base)

    @classmethod
    def tiny(cls, **overrides: Any) -> SoundFilterConfig:
        """A few-thousand-parameter configuration for tests."""
        base = dict(fb_channels=16, fb_kernel=16, fb_stride=8, channels=8, max_channels=16, strides=[2, 2])
        base.update(overrides)
        return cls(**base)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SoundFilterConfig:
        """Build from a ``config.json`` dict, ignoring keys that are not config fields."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, tagged with the model name."""
        return {"model": MODEL_NAME, **asdict(self)}

    @property
    def hop(self) -> int:
        """Input lengths are padded to a multiple of this many samples."""
        total = math.prod(self.strides)
        return total * (self.fb_stride if self.frontend == "filterbank" else 1)


def _norm(channels: int, groups: int) -> nn.GroupNorm:
    g = math.gcd(channels, groups) or 1
    return nn.GroupNorm(g, channels)


class FiLM(nn.Module):
    """Feature-wise linear modulation ``h * (1 + gamma(c)) + beta(c)``, initialised to identity."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Modulate ``h`` (B, C, T) with the conditioning vector ``cond`` (B, D)."""
        gamma, beta = self.proj(cond).unsqueeze(-1).chunk(2, dim=1)
        return h * (1.0 + gamma) + beta


class ConvNormAct(nn.Sequential):
    """Conv1D → GroupNorm → ELU."""

    def __init__(self, cin: int, cout: int, kernel: int, groups: int, dilation: int = 1) -> None:
        pad = dilation * (kernel - 1) // 2
        super().__init__(nn.Conv1d(cin, cout, kernel, padding=pad, dilation=dilation), _norm(cout, groups), nn.ELU())


class ResidualUnit(nn.Module):
    """Dilated conv (k=3) + 1x1 conv with a skip, GroupNorm after each Conv1D, ELU."""

    def __init__(self, channels: int, dilation: int, groups: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            ConvNormAct(channels, channels, 3, groups, dilation),
            nn.Conv1d(channels, channels, 1),
            _norm(channels, groups),
        )
        self.act = nn.ELU()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Apply the unit."""
        return self.act(h + self.block(h))


class ContextUnit(nn.Module):
    """``h + W(FiLM(ELU(GroupNorm(dilated conv(h)))))`` with the 1x1 output ``W`` zero-initialised.

    Added after the bottleneck (``SoundFilterConfig.context_units``) to give the network more
    capacity and temporal context where it is cheapest (the lowest frame rate); the zero output
    makes a new unit the identity, so it can be added to a trained model without changing it.
    """

    def __init__(self, channels: int, dilation: int, groups: int, cond: int) -> None:
        super().__init__()
        self.conv = ConvNormAct(channels, channels, 3, groups, dilation)
        self.film = FiLM(cond, channels)
        self.out = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Apply the unit to ``h`` (B, C, T) with the conditioning vector ``cond`` (B, D)."""
        return h + self.out(self.film(self.conv(h), cond))


class EncoderBlock(nn.Module):
    """Residual units at one resolution, FiLM, then a strided Conv1D that downsamples."""

    def __init__(self, cin: int, cout: int, stride: int, dilations: list[int], groups: int, cond: int) -> None:
        super().__init__()
        self.units = nn.Sequential(*(ResidualUnit(cin, d, groups) for d in dilations))
        self.film = FiLM(cond, cin)
        self.down = nn.Sequential(
            nn.ConstantPad1d((stride // 2, stride - stride // 2), 0.0),
            nn.Conv1d(cin, cout, 2 * stride, stride=stride),
            _norm(cout, groups),
            nn.ELU(),
        )
        self.stride = stride

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (downsampled features, skip features)."""
        skip = self.film(self.units(h), cond)
        out = self.down(skip)
        return out[..., : skip.shape[-1] // self.stride], skip


class DecoderBlock(nn.Module):
    """Transposed Conv1D that upsamples, add the mirrored skip, residual units, FiLM."""

    def __init__(self, cin: int, cout: int, stride: int, dilations: list[int], groups: int, cond: int) -> None:
        super().__init__()
        self.up = nn.Sequential(
            nn.ConvTranspose1d(cin, cout, 2 * stride, stride=stride, padding=stride // 2 if stride > 1 else 0),
            _norm(cout, groups),
            nn.ELU(),
        )
        self.units = nn.Sequential(*(ResidualUnit(cout, d, groups) for d in dilations))
        self.film = FiLM(cond, cout)

    def forward(self, h: torch.Tensor, skip: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Upsample ``h`` to ``skip``'s length, add it, refine and modulate."""
        up = self.up(h)
        n = skip.shape[-1]
        up = F.pad(up, (0, n - up.shape[-1])) if up.shape[-1] < n else up[..., :n]
        return self.film(self.units(up + skip), cond)


class SoundFilter(nn.Module):
    """Conditioned U-Net separator. ``separate(mixture (B,1,T), cond (B,D)) -> (target, residual)``."""

    def __init__(self, config: SoundFilterConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or SoundFilterConfig()
        g, d = cfg.groups, cfg.dilations
        n_src = 2 if cfg.residual_output else 1
        if cfg.frontend == "filterbank":
            self.analysis = nn.Conv1d(1, cfg.fb_channels, cfg.fb_kernel, stride=cfg.fb_stride, bias=False)
            self.synthesis = nn.ConvTranspose1d(cfg.fb_channels, 1, cfg.fb_kernel, stride=cfg.fb_stride, bias=False)
            self.inp = ConvNormAct(cfg.fb_channels, cfg.channels, 3, g)
        else:
            self.inp = ConvNormAct(1, cfg.channels, 7, g)
        widths = [min(cfg.channels * 2**i, cfg.max_channels) for i in range(len(cfg.strides) + 1)]
        self.encoder = nn.ModuleList(
            EncoderBlock(widths[i], widths[i + 1], s, d, g, cfg.cond_dim) for i, s in enumerate(cfg.strides)
        )
        self.bottleneck = ConvNormAct(widths[-1], widths[-1], 3, g)
        self.bottleneck_film = FiLM(cfg.cond_dim, widths[-1])
        # Dilations 1, 3, 9, 27, 1, 3, ...: four units see +-1.28 s at the bottleneck's frame rate.
        self.context = nn.ModuleList(
            ContextUnit(widths[-1], 3 ** (i % 4), g, cfg.cond_dim) for i in range(cfg.context_units)
        )
        self.decoder = nn.ModuleList(
            DecoderBlock(widths[i + 1], widths[i], s, d, g, cfg.cond_dim)
            for i, s in reversed(list(enumerate(cfg.strides)))
        )
        if cfg.frontend == "filterbank":
            self.head = nn.Conv1d(cfg.channels, n_src * cfg.fb_channels, 1)
        else:
            self.head = nn.Conv1d(cfg.channels, n_src, 7, padding=3)
        self.refiner = MaskRefiner(cfg.refiner_channels, cfg.cond_dim) if cfg.refiner_channels else None

    # ------------------------------------------------------------------ separation
    def separate(
        self,
        mixture: torch.Tensor,
        cond: torch.Tensor,
        postfilter: bool = True,
        fft: int | None = None,
        power: float | None = None,
        project: bool | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Separate ``mixture`` (B, 1, T) or (B, T) given ``cond`` (B, cond_dim): the one inference path.

        Runs the network, the mixture-consistency projection (``project`` overrides the config's
        ``consistency``; ``None``: use the config) and, with ``postfilter``, this model's spectral
        post-filter (:meth:`postfilter`, learned refiner included; ``fft`` / ``power`` override the
        config's ``postfilter_fft`` / ``postfilter_power``), after which residual = mixture − target.
        :class:`sfcli.api.Separator`, training (through :meth:`forward`) and validation all call it.
        Returns ``(target, residual)``, each (B, 1, T). The input is RMS-normalised inside, so the
        outputs scale with the input and silence maps to silence.
        """
        if mixture.dim() == 2:
            mixture = mixture.unsqueeze(1)
        length = mixture.shape[-1]
        x = F.pad(mixture, (0, (-length) % self.config.hop))
        scale = x.pow(2).mean(dim=(1, 2), keepdim=True).sqrt() + 1e-8
        x = x / scale
        target, residual = self._network(x, cond)
        if (self.config.consistency == "projection") if project is None else project:
            delta = (x - target - residual) / 2.0
            target, residual = target + delta, residual + delta
        target = (target * scale)[..., :length]
        residual = (residual * scale)[..., :length]
        if postfilter:
            target = self.postfilter(mixture, target, cond, fft, power)
            residual = mixture - target
        return target, residual

    def forward(
        self, mixture: torch.Tensor, cond: torch.Tensor, project: bool | None = None, postfilter: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`separate` with the post-filter off unless asked for: the ``nn.Module`` call that
        training makes (through DDP), ``model(mixture, cond, postfilter=...)``."""
        return self.separate(mixture, cond, postfilter=postfilter, project=project)

    def _network(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The U-Net on a normalised, hop-padded ``x`` (B, 1, T'): raw ``(target, residual)`` estimates."""
        cfg = self.config
        if cfg.frontend == "filterbank":
            # Extra frame of context on the right so synthesis covers every input sample.
            feats = self.analysis(F.pad(x, (0, cfg.fb_kernel - cfg.fb_stride)))
            h = self.inp(feats)
        else:
            h = self.inp(x)

        skips = []
        for block in self.encoder:
            h, skip = block(h, cond)
            skips.append(skip)
        h = self.bottleneck_film(self.bottleneck(h), cond)
        for unit in self.context:
            h = unit(h, cond)
        for block, skip in zip(self.decoder, reversed(skips), strict=True):
            h = block(h, skip, cond)
        out = self.head(h)

        if cfg.frontend == "filterbank":
            b, _, frames = feats.shape
            if cfg.residual_output:
                masks = out.view(b, 2, cfg.fb_channels, frames).softmax(dim=1)
                srcs = (masks * feats.unsqueeze(1)).reshape(b * 2, cfg.fb_channels, frames)
            else:
                srcs = torch.sigmoid(out) * feats
            wav = self.synthesis(srcs)[..., : x.shape[-1]]
            wav = wav.reshape(b, -1, x.shape[-1])
        else:
            wav = out
        target = wav[:, :1]
        residual = wav[:, 1:2] if cfg.residual_output else x - target
        return target, residual

    def postfilter(
        self,
        mixture: torch.Tensor,
        target: torch.Tensor,
        cond: torch.Tensor,
        n_fft: int | None = None,
        power: float | None = None,
    ) -> torch.Tensor:
        """This model's spectral post-filter (:func:`sfcli.postfilter.spectral_postfilter`) of ``target``.

        Uses the config's ``postfilter_fft`` / ``postfilter_power`` unless ``n_fft`` / ``power`` are
        given, and the learned mask refiner when the model has one. ``mixture`` and ``target`` are
        ``(B, n)`` or ``(B, 1, n)``; ``cond`` is ``(B, cond_dim)``. A model with ``postfilter_fft = 0``
        returns ``target`` unchanged.
        """
        n_fft = self.config.postfilter_fft if n_fft is None else n_fft
        if not n_fft:
            return target
        power = self.config.postfilter_power if power is None else power
        return spectral_postfilter(mixture, target, n_fft, power, refiner=self.refiner, cond=cond)

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, folder: str | os.PathLike[str], *, half: bool = True) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (fp16 by default) into ``folder``."""
        return save_model_folder(folder, self.config.to_dict(), self.state_dict(), half=half)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str] | None = None) -> SoundFilter:
        """Load from a model folder, or from ``models/soundfilter`` when ``path`` is None."""
        folder = resolve_model_dir(path, MODEL_NAME)
        raw, state = load_model_folder(folder)
        if raw.get("model", MODEL_NAME) != MODEL_NAME:
            raise ModelNotFoundError(f"{folder} holds a {raw.get('model')!r} model, not a SoundFilter")
        model = cls(SoundFilterConfig.from_dict(raw))
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelNotFoundError(f"weights in {folder} do not match its config.json: {exc}") from exc
        return model.eval()

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())
