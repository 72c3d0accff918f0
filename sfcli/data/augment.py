"""On-the-fly augmentation of training examples: rooms, microphones, channels, speed and codecs.

SoundFilter trained only on the dry, studio-made corpus falls apart on real recordings (issue 20). This
module makes each training source sound as if it had been recorded somewhere else:

* **room reverberation** from a bank of impulse responses simulated with pyroomacoustics' image-source
  model (shoebox rooms of random size and RT60 0.15-0.9 s, random source and microphone positions).
  pyroomacoustics is the maintained library made for this (issue 20 asks for one); the bank is
  computed once per seed and cached, so a training step only pays for one FFT convolution;
* **microphone / EQ colouring**: a random spectral tilt plus one random peaking band (scipy biquads);
* **band-limiting**: a random low-pass (2.5-7.5 kHz) or high-pass (60-300 Hz), as from phones and
  cheap microphones or resampled material;
* **speed perturbation**: resampling by 0.9-1.1 with soxr (pitch and tempo change together);
* **gain** is left to the mixer (it sets the SNR);
* **low-bitrate codec**: Opus at 12-32 kbit/s through libsndfile (soundfile), applied to the *mixture*.

Exactness: every effect but the codec is applied to each source separately (linear effects, so the
mixture stays their sum). The codec is not linear; its artefacts are assigned to the background
(``background = codec(mixture) - target``), so ``mixture == target + background`` still holds exactly
and the model learns to leave codec noise in the residual. The conditioning crop gets its own,
independent chain: the query was recorded elsewhere, as a user's reference clip usually is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

RIR_BANK_SIZE = 96
RIR_MAX_SECONDS = 1.0


@dataclass
class AugmentConfig:
    """Probabilities (per source, or per mixture for the codec) and ranges of each augmentation."""

    reverb: float = 0.5
    eq: float = 0.5
    bandlimit: float = 0.25
    speed: float = 0.25
    codec: float = 0.15
    rt60: tuple[float, float] = (0.15, 0.9)
    speed_range: tuple[float, float] = (0.9, 1.1)
    tilt_db: float = 6.0
    peak_db: float = 9.0

    @classmethod
    def off(cls) -> AugmentConfig:
        """A configuration that changes nothing."""
        return cls(reverb=0.0, eq=0.0, bandlimit=0.0, speed=0.0, codec=0.0)

    @classmethod
    def scaled(cls, strength: float) -> AugmentConfig:
        """The default probabilities times ``strength`` (0 = off, 1 = default, at most 1 per effect)."""
        base = cls()
        for f in ("reverb", "eq", "bandlimit", "speed", "codec"):
            setattr(base, f, min(1.0, getattr(base, f) * strength))
        return base

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form (for checkpoints and configs)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _simulate_rir(rng: np.random.Generator, rt60_range: tuple[float, float], sample_rate: int) -> np.ndarray:
    import pyroomacoustics as pra

    dims = rng.uniform([3.0, 3.0, 2.4], [12.0, 9.0, 4.0])
    rt60 = float(rng.uniform(*rt60_range))
    try:
        absorption, max_order = pra.inverse_sabine(rt60, dims)
    except ValueError:  # the room is too small for that RT60: use the most reverberant valid one
        absorption, max_order = 0.05, 30
    room = pra.ShoeBox(
        dims.tolist(), fs=sample_rate, materials=pra.Material(absorption), max_order=int(min(max_order, 24))
    )
    margin = 0.5
    room.add_source(rng.uniform(margin, dims - margin).tolist())
    room.add_microphone(rng.uniform(margin, dims - margin).tolist())
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)[: int(RIR_MAX_SECONDS * sample_rate)]
    rir = rir[int(np.argmax(np.abs(rir))) :]  # direct path first: no delay between dry and wet
    return (rir / (np.sqrt(np.sum(rir**2)) + 1e-12)).astype(np.float32)


def rir_bank(
    seed: int = 0, n: int = RIR_BANK_SIZE, sample_rate: int = 16000, cache_dir: str | Path | None = None
) -> list[np.ndarray]:
    """``n`` simulated room impulse responses (unit energy, direct path at sample 0), deterministic by seed.

    With ``cache_dir`` the bank is stored as ``rirs-<seed>-<n>-<rate>.npz`` and read back next time.
    """
    path = Path(cache_dir) / f"rirs-{seed}-{n}-{sample_rate}.npz" if cache_dir is not None else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            return [z[f"r{i}"] for i in range(n)]
    rng = np.random.default_rng([seed, 7919])
    bank = [_simulate_rir(rng, AugmentConfig().rt60, sample_rate) for _ in range(n)]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **{f"r{i}": r for i, r in enumerate(bank)})
        tmp.replace(path)
    return bank


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``x`` convolved with ``rir``, cut to ``x``'s length and rescaled to ``x``'s energy."""
    from scipy.signal import fftconvolve

    y = fftconvolve(x, rir)[: x.size]
    e_in, e_out = float(np.sum(x.astype(np.float64) ** 2)), float(np.sum(y.astype(np.float64) ** 2))
    return (y * np.sqrt(e_in / e_out) if e_out > 1e-12 else y).astype(np.float32)


def colour(x: np.ndarray, rng: np.random.Generator, sample_rate: int, tilt_db: float, peak_db: float) -> np.ndarray:
    """A random spectral tilt (first-order shelf) and one random peaking band, as from a microphone."""
    from scipy.signal import sosfilt

    f0 = float(np.exp(rng.uniform(np.log(150.0), np.log(0.4 * sample_rate))))
    gain = float(rng.uniform(-peak_db, peak_db))
    sos = [_peaking(f0, gain, float(rng.uniform(0.5, 2.5)), sample_rate)]
    tilt = float(rng.uniform(-tilt_db, tilt_db))
    sos.append(_shelf(1000.0, tilt, sample_rate))
    return sosfilt(np.array(sos), x).astype(np.float32)


def _peaking(f0: float, gain_db: float, q: float, sr: int) -> list[float]:
    """RBJ audio-EQ-cookbook peaking biquad as one SOS row."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f0 / sr
    alpha = np.sin(w) / (2 * q)
    b0, b1, b2 = 1 + alpha * a, -2 * np.cos(w), 1 - alpha * a
    a0, a1, a2 = 1 + alpha / a, -2 * np.cos(w), 1 - alpha / a
    return [b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0]


def _shelf(f0: float, gain_db: float, sr: int) -> list[float]:
    """RBJ high-shelf biquad (slope 1): a tilt of ``gain_db`` above ``f0``."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f0 / sr
    alpha = np.sin(w) / 2 * np.sqrt(2)
    c, s2 = np.cos(w), 2 * np.sqrt(a) * alpha
    b0, b1, b2 = a * ((a + 1) + (a - 1) * c + s2), -2 * a * ((a - 1) + (a + 1) * c), a * ((a + 1) + (a - 1) * c - s2)
    a0, a1, a2 = (a + 1) - (a - 1) * c + s2, 2 * ((a - 1) - (a + 1) * c), (a + 1) - (a - 1) * c - s2
    return [b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0]


def bandlimit(x: np.ndarray, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A random 4th-order low-pass (2.5-7.5 kHz) or, one time in three, high-pass (60-300 Hz)."""
    from scipy.signal import butter, sosfilt

    if rng.random() < 1 / 3:
        sos = butter(4, float(rng.uniform(60, 300)), "highpass", fs=sample_rate, output="sos")
    else:
        sos = butter(
            4, min(float(rng.uniform(2500, 7500)), 0.45 * sample_rate), "lowpass", fs=sample_rate, output="sos"
        )
    return sosfilt(sos, x).astype(np.float32)


def change_speed(x: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """``x`` played ``factor`` times faster (soxr resampling), cut or looped back to its length."""
    import soxr

    y = soxr.resample(x.astype(np.float32), sample_rate, round(sample_rate / factor), quality="HQ")
    return np.resize(y, x.size).astype(np.float32) if y.size < x.size else y[: x.size].astype(np.float32)


def opus_roundtrip(x: np.ndarray, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """``x`` encoded to Opus at a random low bitrate and decoded again (same length)."""
    import soundfile as sf

    buf = io.BytesIO()
    level = float(rng.uniform(0.9, 0.98))  # libsndfile's compression level: about 32 -> 13 kbit/s at 16 kHz
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    scale = 0.95 / peak if peak > 0.95 else 1.0
    sf.write(buf, x * scale, sample_rate, format="OGG", subtype="OPUS", compression_level=level)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float32")
    y = y[: x.size] if y.size >= x.size else np.pad(y, (0, x.size - y.size))
    return (y / scale).astype(np.float32)


def _require_training_extra() -> None:
    """A one-line error instead of an ImportError when scipy / pyroomacoustics are missing."""
    import importlib.util

    from sfcli.errors import SfcliError

    missing = [m for m in ("scipy", "pyroomacoustics") if importlib.util.find_spec(m) is None]
    if missing:
        raise SfcliError(f"augmentation needs {' and '.join(missing)}: pip install -e '.[train]'")


class Augmenter:
    """Applies :class:`AugmentConfig` to sources and mixtures; deterministic for a given ``rng``."""

    def __init__(self, config: AugmentConfig, sample_rate: int = 16000, rirs: list[np.ndarray] | None = None) -> None:
        self.config = config
        self.sample_rate = sample_rate
        if self.enabled:
            _require_training_extra()
        self.rirs = rirs if rirs is not None else ([] if config.reverb <= 0 else rir_bank(sample_rate=sample_rate))

    @property
    def enabled(self) -> bool:
        """Whether any effect has a non-zero probability."""
        c = self.config
        return max(c.reverb, c.eq, c.bandlimit, c.speed, c.codec) > 0

    def source(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One source through its own random chain (speed, room, EQ, band-limit); length unchanged."""
        c, sr = self.config, self.sample_rate
        draws = rng.random(4)
        y = np.asarray(x, dtype=np.float32)
        if draws[0] < c.speed:
            y = change_speed(y, float(rng.uniform(*c.speed_range)), sr)
        if draws[1] < c.reverb and self.rirs:
            y = reverberate(y, self.rirs[int(rng.integers(len(self.rirs)))])
        if draws[2] < c.eq:
            y = colour(y, rng, sr, c.tilt_db, c.peak_db)
        if draws[3] < c.bandlimit:
            y = bandlimit(y, rng, sr)
        return y if np.isfinite(y).all() else np.asarray(x, dtype=np.float32)

    def mixture(
        self, target: np.ndarray, background: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mixture, target, background)`` after the mixture-level codec; ``mixture == target + background``."""
        mix = (target + background).astype(np.float32)
        if rng.random() < self.config.codec:
            coded = opus_roundtrip(mix, rng, self.sample_rate)
            if np.isfinite(coded).all():
                background = (coded - target).astype(np.float32)
                mix = (target + background).astype(np.float32)
        return mix, target.astype(np.float32), background.astype(np.float32)


__all__ = [
    "AugmentConfig",
    "Augmenter",
    "bandlimit",
    "change_speed",
    "colour",
    "opus_roundtrip",
    "reverberate",
    "rir_bank",
]
