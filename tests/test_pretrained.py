"""Regression test on the shipped weights (``models/``): separation quality must not move.

Scores the shipped SoundWords + SoundFilter pair on the demo (``demo/demo-mix.wav``, whose true
sources ``demo-horse.wav`` / ``demo-rain.wav`` are in the repository) and on a handful of fixed,
corpus-free mixtures synthesised here from a seed, queried by a reference crop of the target taken
outside the mixed excerpt. Each case's target SI-SDRi must stay within ``TOLERANCE_DB`` of the
value recorded in ``tests/pretrained_expected.json``. A refactor that is meant to leave outputs
unchanged must pass it as is.

Re-record (only when a change of outputs is intended, and say so in the commit):

    OMP_NUM_THREADS=1 .venv/bin/python tests/test_pretrained.py --record
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfcli.api import Separator
from sfcli.metrics import si_sdr_np
from sfcli.pretrained import default_models_dir

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
EXPECTED = Path(__file__).with_name("pretrained_expected.json")
TOLERANCE_DB = 0.5
SR = 16000
MIX_SECONDS = 4.0
REF_SECONDS = 2.0


# ---- corpus-free sources (deterministic) -------------------------------------------------------


def _rms_to(x: np.ndarray, rms: float) -> np.ndarray:
    return (x * (rms / (float(np.sqrt(np.mean(x**2))) + 1e-12))).astype(np.float32)


def _harmonic_pulses(n: int, rng: np.random.Generator) -> np.ndarray:
    """A 330 Hz tone with five harmonics, switched on 0.25 s out of every 0.5 s."""
    t = np.arange(n) / SR
    tone = sum(np.sin(2 * np.pi * 330 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 6))
    gate = (np.mod(t, 0.5) < 0.25).astype(np.float64)
    return tone * np.convolve(gate, np.hanning(160) / 80, mode="same")


def _chirps(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rising 0.4 s sweeps from 500 Hz to 4 kHz, one every 0.6 s."""
    t = np.mod(np.arange(n) / SR, 0.6)
    phase = 2 * np.pi * (500 * t + 0.5 * (3500 / 0.4) * t**2)
    return np.where(t < 0.4, np.sin(phase) * np.sin(np.pi * t / 0.4), 0.0)


def _noise_bursts(n: int, rng: np.random.Generator) -> np.ndarray:
    """50 ms bursts of high-passed noise at random times, about four a second."""
    x = np.zeros(n)
    burst = np.diff(rng.standard_normal(801)) * np.hanning(800)
    for start in rng.integers(0, n - 800, size=int(4 * n / SR)):
        x[start : start + 800] += burst * rng.uniform(0.5, 1.0)
    return x


def _brown_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    x = np.cumsum(rng.standard_normal(n))
    return x - np.convolve(x, np.ones(801) / 801, mode="same")  # no drift


def _hum(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SR
    return sum(np.sin(2 * np.pi * 100 * k * t) * 0.7**k for k in range(1, 8)) + 0.05 * rng.standard_normal(n)


def _demo_rain(n: int, rng: np.random.Generator) -> np.ndarray:
    rain, _ = sf.read(DEMO / "demo-rain.wav", dtype="float32")
    return np.resize(rain, n)


# name -> (target source, background source); the target's first REF_SECONDS are the query.
SYNTHETIC: dict[str, tuple[Callable, Callable]] = {
    "pulses_over_white_noise": (_harmonic_pulses, lambda n, rng: rng.standard_normal(n)),
    "chirps_over_brown_noise": (_chirps, _brown_noise),
    "bursts_over_hum": (_noise_bursts, _hum),
    "chirps_over_demo_rain": (_chirps, _demo_rain),
}


def synthetic_case(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mixture, target, reference)`` of one synthetic case at 0 dB SNR, 16 kHz."""
    make_target, make_background = SYNTHETIC[name]
    rng = np.random.default_rng(seed)
    n_ref, n_mix = round(REF_SECONDS * SR), round(MIX_SECONDS * SR)
    source = _rms_to(make_target(n_ref + n_mix, rng), 0.05)
    reference, target = source[:n_ref], source[n_ref:]
    background = _rms_to(make_background(n_mix, rng), 0.05)
    return (target + background).astype(np.float32), target, reference


# ---- measurement ---------------------------------------------------------------------------------


def _si_sdri(sep: Separator, mix: np.ndarray, truth: np.ndarray, **query: object) -> float:
    est = sep.separate(mix, SR, **query).target
    return round(si_sdr_np(est, truth) - si_sdr_np(mix, truth), 2)


def measure(sep: Separator) -> dict[str, float]:
    """Target SI-SDRi (dB) of every regression case with the given separator."""
    mix, _ = sf.read(DEMO / "demo-mix.wav", dtype="float32")
    horse, _ = sf.read(DEMO / "demo-horse.wav", dtype="float32")
    rain, _ = sf.read(DEMO / "demo-rain.wav", dtype="float32")
    out = {
        "demo_text_horse": _si_sdri(sep, mix, horse, text="a horse neighing"),
        "demo_text_rain": _si_sdri(sep, mix, rain, text="rain falling"),
        # Reference crops of the true sources (the first horse call; the first 2 s of rain).
        "demo_reference_horse": _si_sdri(sep, mix, horse, reference=horse[SR : 3 * SR], reference_sample_rate=SR),
        "demo_reference_rain": _si_sdri(sep, mix, rain, reference=rain[: 2 * SR], reference_sample_rate=SR),
    }
    for name in SYNTHETIC:
        smix, target, ref = synthetic_case(name)
        out[f"synthetic_{name}"] = _si_sdri(sep, smix, target, reference=ref, reference_sample_rate=SR)
    return out


# ---- the test ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measured() -> dict[str, float]:
    models = default_models_dir()
    for part in ("soundfilter", "soundwords"):
        assert (models / part / "model.safetensors").is_file(), f"shipped weights missing: {models / part}"
    return measure(Separator.from_pretrained(models, device="cpu"))


def _expected() -> dict[str, float]:
    return json.loads(EXPECTED.read_text())["target_si_sdri_db"]


def test_every_case_is_recorded_and_measured(measured: dict[str, float]) -> None:
    assert set(measured) == set(_expected()) == set(CASES)


DEMO_CASES = ("demo_text_horse", "demo_text_rain", "demo_reference_horse", "demo_reference_rain")
CASES = DEMO_CASES + tuple(f"synthetic_{name}" for name in SYNTHETIC)


@pytest.mark.parametrize("case", CASES)
def test_shipped_weights_score_as_recorded(measured: dict[str, float], case: str) -> None:
    want = _expected()[case]
    got = measured[case]
    assert abs(got - want) <= TOLERANCE_DB, f"{case}: {got:.2f} dB, recorded {want:.2f} dB (±{TOLERANCE_DB})"


def test_synthetic_cases_are_deterministic() -> None:
    for name in SYNTHETIC:
        a, b = synthetic_case(name), synthetic_case(name)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
        assert np.isfinite(a[0]).all() and float(np.abs(a[0]).max()) < 1.0


def _record() -> None:
    import torch

    torch.set_num_threads(1)
    values = measure(Separator.from_pretrained(default_models_dir(), device="cpu"))
    EXPECTED.write_text(
        json.dumps(
            {
                "about": "target SI-SDRi (dB) of the shipped models/ on tests/test_pretrained.py's cases",
                "record_command": "OMP_NUM_THREADS=1 .venv/bin/python tests/test_pretrained.py --record",
                "target_si_sdri_db": values,
            },
            indent=2,
        )
        + "\n"
    )
    print(json.dumps(values, indent=2))


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        raise SystemExit("usage: python tests/test_pretrained.py --record")
    _record()


@pytest.mark.parametrize("name", ["gpu", "foo", "mps", "meta", ""])
def test_an_unknown_device_is_a_one_line_error(name: str) -> None:
    from sfcli.errors import SfcliError
    from sfcli.pretrained import resolve_device

    with pytest.raises(SfcliError, match="unknown --device"):
        resolve_device(name)
    assert resolve_device("cpu").type == "cpu" and resolve_device("auto").type in ("cpu", "cuda")
