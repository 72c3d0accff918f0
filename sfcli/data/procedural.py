"""Procedural everyday sounds for query-by-example training (issue 20: sounds in general, not one corpus).

The corpus and the label-free pool are mostly game sound design, speech and music; the recordings users
have are full of impacts (cutlery, plates, drawers, chopping), stationary machines (fans, fridges,
dishwashers, blenders), water (bubbling, pouring), frying, scraping and beeps. This module draws such
sounds from simple physical models, with every parameter random, so that a separator trained on them
learns what makes one sound one source — shared resonances, a common rhythm, a steady spectral
envelope, one pitch — rather than the identities of the corpus's recordings. No description is
needed: the query is another stretch of the same realisation or a new realisation with the same
parameters ("another take").

Families (:data:`FAMILIES`):

* ``impacts``: modal synthesis, a bank of exponentially damped partials excited by short noise bursts,
  struck in a regular, random or clustered rhythm;
* ``texture``: noise with a random smooth spectral envelope and optional slow amplitude modulation;
* ``motor``: a harmonic tone with a random spectral envelope, drift and wobble, plus a little noise;
* ``bubbles``: Minnaert bubbles (damped, slightly rising sinusoids) at a random rate and size range;
* ``crackle``: sparse heavy-tailed clicks, band-passed (frying, sizzling, fire);
* ``scrape``: noise through a few resonances, shaped into strokes (sweeping, scrubbing, peeling);
* ``tones``: beeps and whistles in patterns (appliance signals, kettles, alarms).

Everything is numpy (FFT convolution and zero-phase FFT band-passes, so that separation's
``--adapt``, which draws its backgrounds here, needs no training extras): there is no maintained PyPI
library for procedural everyday-sound synthesis that fits a training data loader (``pyo`` is a
real-time audio server), and each model here is a few lines. Deterministic for the
generator ``rng``; outputs are float32 at a peak of at most 0.99 before the loader's RMS normalisation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

FAMILIES = ("impacts", "texture", "motor", "bubbles", "crackle", "scrape", "tones")

Params = dict[str, Any]


def _loguniform(rng: np.random.Generator, lo: float, hi: float, size: Any = None) -> Any:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def _envelope_gains(rng: np.random.Generator, n_bands: int = 24, spread_db: float = 12.0) -> np.ndarray:
    """A smooth random spectral envelope (dB per log-spaced band): a random walk plus a tilt."""
    walk = np.cumsum(rng.normal(0.0, spread_db / 4, n_bands))
    tilt = rng.uniform(-1.0, 0.5) * np.linspace(0, spread_db * 1.5, n_bands)
    return walk - walk.mean() + tilt


def _convolve(x: np.ndarray, h: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` samples of the linear convolution of ``x`` and ``h`` (by FFT)."""
    size = 1 << int(x.size + h.size - 2).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:n]


def _bandpass(x: np.ndarray, lo: float, hi: float, sr: int, order: int = 2) -> np.ndarray:
    """``x`` through a zero-phase band-pass with a Butterworth magnitude response of ``order``."""
    f = np.fft.rfftfreq(x.size, 1 / sr)
    centre, width = np.sqrt(lo * hi), hi - lo
    with np.errstate(divide="ignore"):
        q = (f**2 - centre**2) / (np.maximum(f, 1e-9) * width)
    return np.fft.irfft(np.fft.rfft(x) / np.sqrt(1 + q ** (2 * order)), x.size)


def _shape_noise(noise: np.ndarray, gains_db: np.ndarray, sr: int, lo: float = 40.0) -> np.ndarray:
    """``noise`` filtered in the frequency domain by the envelope ``gains_db`` over log-spaced bands."""
    spec = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(noise.size, 1 / sr)
    centres = np.geomspace(lo, sr / 2, gains_db.size)
    g = np.interp(np.log(np.maximum(freqs, lo)), np.log(centres), gains_db)
    return np.fft.irfft(spec * 10 ** (g / 20), noise.size)


def _hit_times(rng: np.random.Generator, p: Params, seconds: float) -> np.ndarray:
    """Onset times (s) in a regular, random (Poisson) or clustered rhythm."""
    rate, kind = p["rate"], p["rhythm"]
    if kind == "regular":
        period = 1.0 / rate
        t = np.arange(rng.uniform(0, period), seconds, period)
        return np.clip(t + rng.normal(0, p["jitter"] * period, t.size), 0, seconds)
    n = rng.poisson(rate * seconds) + 1
    t = np.sort(rng.uniform(0, seconds, n))
    if kind == "clusters":  # each onset starts a quick cluster of 1-4 hits
        extra = [s + np.cumsum(rng.exponential(0.04, rng.integers(0, 4))) for s in t]
        t = np.sort(np.concatenate([t, *extra]))
    return t[t < seconds]


def _impacts_params(rng: np.random.Generator) -> Params:
    n_modes = int(rng.integers(3, 24))
    f0 = float(_loguniform(rng, 120, 5000))
    ratios = np.sort(rng.uniform(1.0, 1.0 + _loguniform(rng, 0.5, 12), n_modes))
    if rng.random() < 0.3:  # near-harmonic (bars, bells, glasses)
        ratios = np.arange(1, n_modes + 1) * (1 + rng.normal(0, 0.01, n_modes))
    freqs = np.clip(f0 * ratios, 60, 7600)
    return {
        "freqs": freqs,
        "decays": _loguniform(rng, 0.005, 0.6, n_modes) * (freqs[0] / freqs) ** rng.uniform(0, 0.7),
        "amps": _loguniform(rng, 0.05, 1.0, n_modes),
        "burst": float(_loguniform(rng, 0.0003, 0.006)),
        "noise_mix": float(rng.uniform(0, 0.6)),
        "rhythm": str(rng.choice(["regular", "poisson", "clusters"])),
        "rate": float(_loguniform(rng, 0.7, 12)),
        "jitter": float(rng.uniform(0, 0.15)),
        "spread": float(rng.uniform(0.0, 0.05)),  # per-hit detuning
    }


def _impacts(rng: np.random.Generator, p: Params, n: int, sr: int) -> np.ndarray:
    ir_len = min(n, int(sr * min(1.5, 5 * float(p["decays"].max())) + 1))
    t = np.arange(ir_len) / sr
    variants = []  # a few detuned versions of the resonator, each hit uses one
    for _ in range(3):
        f = p["freqs"] * (1 + rng.normal(0, p["spread"], p["freqs"].size))
        phase = rng.uniform(0, 2 * np.pi, f.size)
        modes = (
            p["amps"][:, None]
            * np.exp(-t[None] / p["decays"][:, None])
            * np.sin(2 * np.pi * f[:, None] * t + phase[:, None])
        )
        variants.append(modes.sum(0))
    burst_n = max(2, int(p["burst"] * sr))
    excite = np.zeros((len(variants), n), np.float64)  # one rhythm, each hit exciting one variant
    for s in _hit_times(rng, p, n / sr):
        i = int(s * sr)
        m = min(burst_n, n - i)
        b = rng.normal(0, 1, m) * np.hanning(burst_n + 2)[1 : 1 + m]
        excite[rng.integers(len(variants)), i : i + m] += b * _loguniform(rng, 0.3, 1.0)
    out = sum(_convolve(e, v, n) for e, v in zip(excite, variants, strict=True)) * (1 - p["noise_mix"])
    return out + excite.sum(0) * p["noise_mix"] * 3


def _texture_params(rng: np.random.Generator) -> Params:
    return {
        "gains": _envelope_gains(rng, spread_db=float(rng.uniform(6, 20))),
        "am_rate": float(_loguniform(rng, 0.1, 12)),
        "am_depth": float(rng.uniform(0, 0.9) if rng.random() < 0.6 else 0.0),
    }


def _am(rng: np.random.Generator, p: Params, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    wobble = 1 + 0.2 * np.sin(2 * np.pi * p["am_rate"] * 0.13 * t + rng.uniform(0, 2 * np.pi))
    return 1 - p["am_depth"] * 0.5 * (1 + np.sin(2 * np.pi * p["am_rate"] * t * wobble + rng.uniform(0, 2 * np.pi)))


def _texture(rng: np.random.Generator, p: Params, n: int, sr: int) -> np.ndarray:
    return _shape_noise(rng.normal(0, 1, n), p["gains"], sr) * _am(rng, p, n, sr)


def _motor_params(rng: np.random.Generator) -> Params:
    return {
        "f0": float(_loguniform(rng, 30, 450)),
        "gains": _envelope_gains(rng, spread_db=float(rng.uniform(6, 18))),
        "drift": float(_loguniform(rng, 0.001, 0.05)),
        "noise": float(_loguniform(rng, 0.02, 1.0)),
        "am_rate": float(_loguniform(rng, 0.5, 20)),
        "am_depth": float(rng.uniform(0, 0.5)),
    }


def _motor(rng: np.random.Generator, p: Params, n: int, sr: int) -> np.ndarray:
    slow = np.cumsum(rng.normal(0, 1, n // 400 + 2))
    slow = np.interp(np.arange(n), np.arange(slow.size) * 400, (slow - slow.mean()) / (np.abs(slow).max() + 1e-9))
    f0 = p["f0"] * (1 + p["drift"] * slow)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    k = np.arange(1, max(2, int(7600 / p["f0"])) + 1)
    centres = np.geomspace(40.0, sr / 2, p["gains"].size)
    amps = 10 ** (np.interp(np.log(k * p["f0"]), np.log(centres), p["gains"]) / 20) / k**0.5
    tone = np.zeros(n)
    for j, a in zip(k[:60], amps[:60], strict=False):
        tone += a * np.sin(j * phase + rng.uniform(0, 2 * np.pi))
    tone /= np.abs(tone).max() + 1e-9
    noise = _shape_noise(rng.normal(0, 1, n), p["gains"], sr)
    noise /= np.abs(noise).max() + 1e-9
    return (tone + p["noise"] * noise) * _am(rng, p, n, sr)


def _bubbles_params(rng: np.random.Generator) -> Params:
    r_lo = float(_loguniform(rng, 0.4, 3.0))  # bubble radius, mm
    return {"rate": float(_loguniform(rng, 4, 400)), "r_lo": r_lo, "r_hi": r_lo * float(_loguniform(rng, 1.2, 6))}


def _bubbles(rng: np.random.Generator, p: Params, n: int, sr: int) -> np.ndarray:
    out = np.zeros(n + sr // 5)
    count = rng.poisson(p["rate"] * n / sr) + 1
    for s, r in zip(rng.uniform(0, n, count).astype(int), _loguniform(rng, p["r_lo"], p["r_hi"], count), strict=True):
        f = min(3260.0 / r, 7600.0)  # Minnaert resonance of an air bubble in water
        tau = 0.0025 * r**1.2 + 0.002  # larger bubbles ring longer
        m = int(min(sr // 5, 5 * tau * sr))
        t = np.arange(m) / sr
        rise = 1 + rng.uniform(0, 0.3) * t / (5 * tau)  # pitch rises as the bubble nears the surface
        out[s : s + m] += _loguniform(rng, 0.2, 1.0) * np.exp(-t / tau) * np.sin(2 * np.pi * f * np.cumsum(rise) / sr)
    return out[:n]


def _crackle_params(rng: np.random.Generator) -> Params:
    lo = float(_loguniform(rng, 200, 3000))
    return {
        "rate": float(_loguniform(rng, 20, 3000)),
        "band": (lo, min(7800.0, lo * float(_loguniform(rng, 2, 20)))),
        "alpha": float(rng.uniform(2.0, 4.0)),
    }


def _crackle(rng: np.random.Generator, p: Params, n: int, sr: int) -> np.ndarray:
    x = np.zeros(n)
    count = rng.poisson(p["rate"] * n / sr) + 1
    x[rng.integers(0, n, count)] += rng.choice([-1, 1], count) * np.minimum(rng.pareto(p["alpha"], count), 20.0)
    return _bandpass(x + 0.02 * rng.normal(0, 1, n) * rng.random(), p["band"][0], min(p["band"][1], sr / 2 * 0.95), sr)


def _scrape_params(rng: np.random.Generator) -> Params:
    p = _impacts_params(rng)
    p.update(
        rate=float(_loguniform(rng, 0.4, 5)),
        stroke=float(rng.uniform(0.2, 0.9)),
        gains=_envelope_gains(rng, spread_db=float(rng.uniform(6, 16))),
        rough=float(_loguniform(rng, 5, 80)),
    )
    return p


def _scrape(rng: np.random.Generator, p: Params, n: int, sr: int) -> np.ndarray:
    env = np.zeros(n)
    period = int(sr / p["rate"])
    for s in range(int(rng.uniform(0, period)) - period, n, period):
        m = int(p["stroke"] * period * rng.uniform(0.7, 1.0))
        a, b = max(0, s), min(n, s + m)
        if b > a:
            env[a:b] = np.maximum(env[a:b], np.sin(np.pi * (np.arange(a, b) - s) / m) * rng.uniform(0.5, 1.0))
    knots = np.arange(0, n + sr, max(1, int(sr / p["rough"])))  # a random roughness at `rough` Hz
    grain = np.interp(np.arange(n), knots, rng.random(knots.size))
    noise = _shape_noise(rng.normal(0, 1, n), p["gains"], sr) * env * (0.5 + grain)
    t = np.arange(min(n, sr // 4)) / sr
    ir = (
        p["amps"][:, None]
        * np.exp(-t[None] / np.minimum(p["decays"][:, None], 0.05))
        * np.sin(2 * np.pi * p["freqs"][:, None] * t)
    ).sum(0)
    res = _convolve(noise, ir, n)
    return res / (np.abs(res).max() + 1e-9) + 0.5 * noise / (np.abs(noise).max() + 1e-9)


def _tones_params(rng: np.random.Generator) -> Params:
    return {
        "f": float(_loguniform(rng, 300, 4500)),
        "harmonics": int(rng.integers(1, 6)),
        "on": float(_loguniform(rng, 0.04, 0.8)),
        "off": float(_loguniform(rng, 0.03, 1.2)),
        "glide": float(rng.uniform(-0.3, 0.3) if rng.random() < 0.3 else 0.0),
        "steps": _loguniform(rng, 0.7, 1.5, int(rng.integers(1, 4))),
    }


def _tones(rng: np.random.Generator, p: Params, n: int, sr: int) -> np.ndarray:
    out = np.zeros(n)
    on, period = int(p["on"] * sr), int((p["on"] + p["off"]) * sr)
    fade = max(1, min(on // 4, int(0.005 * sr)))
    k = 0
    for s in range(int(rng.uniform(0, period)) - period, n, period):
        t = np.arange(on) / sr
        f = p["f"] * p["steps"][k % p["steps"].size] * (1 + p["glide"] * t / max(p["on"], 1e-3))
        ph = 2 * np.pi * np.cumsum(f) / sr
        tone = sum(np.sin(h * ph) / h for h in range(1, p["harmonics"] + 1) if h * f.max() < sr / 2 * 0.95)
        ramp = np.minimum(1, np.minimum(np.arange(on), np.arange(on)[::-1]) / fade)
        a, b = max(0, s), min(n, s + on)
        if b > a:
            out[a:b] += (tone * ramp)[a - s : b - s]
        k += 1
    return out


_MODELS: dict[str, tuple[Callable[[np.random.Generator], Params], Callable[..., np.ndarray]]] = {
    "impacts": (_impacts_params, _impacts),
    "texture": (_texture_params, _texture),
    "motor": (_motor_params, _motor),
    "bubbles": (_bubbles_params, _bubbles),
    "crackle": (_crackle_params, _crackle),
    "scrape": (_scrape_params, _scrape),
    "tones": (_tones_params, _tones),
}


def _finish(x: np.ndarray) -> np.ndarray:
    x = np.nan_to_num(np.asarray(x, np.float64))
    x = x - x.mean()
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (0.99 / peak) if peak > 0 else x).astype(np.float32)


def procedural_sound(
    rng: np.random.Generator, n: int, sr: int = 16000, family: str | None = None, params: Params | None = None
) -> tuple[np.ndarray, str, Params]:
    """``n`` samples of one procedural sound: ``(audio, family, params)``.

    ``family`` (one of :data:`FAMILIES`) is drawn uniformly when None; ``params`` (as returned) renders
    another realisation of the same sound — a new "take" — when passed back with the same family.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    family = family or str(rng.choice(FAMILIES))
    if family not in _MODELS:
        raise ValueError(f"unknown procedural family {family!r}; one of {', '.join(FAMILIES)}")
    make_params, render = _MODELS[family]
    params = params if params is not None else make_params(rng)
    return _finish(render(rng, params, n, sr)), family, params


def procedural_pair(
    rng: np.random.Generator, n: int, sr: int = 16000, other_take: float = 0.0
) -> tuple[np.ndarray, np.ndarray, str]:
    """A target and a query of ``n`` samples each of one procedural sound, and its family.

    The query is a disjoint stretch of the same realisation, or, with probability ``other_take``, a new
    realisation with the same parameters (another recording of the same sound). Both are peak-normalised.
    """
    x, family, params = procedural_sound(rng, 2 * n, sr)
    target, query = x[:n], x[n:]
    if other_take > 0 and rng.random() < other_take:
        query, _, _ = procedural_sound(rng, n, sr, family, params)
    return _finish(target), _finish(query), family


__all__ = ["FAMILIES", "procedural_pair", "procedural_sound"]
