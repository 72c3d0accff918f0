"""Output sample formats: keep the input's where it can hold the result, quantise without surprises.

A separation's outputs are float32. Written as 32-bit float WAV they double a 16-bit input's size per
output, so by default each output keeps the input's sample format (16- or 24-bit PCM, float) and
``bits`` chooses one explicitly. Integer outputs are rounded here, not by libsndfile, so that the two
outputs still add up to the input exactly: the target is rounded onto the PCM grid and the residual
is the input minus that rounded target, which lies on the same grid when the input does. A sample
outside the format's range is clipped and counted, so that the caller can say so.
"""

from __future__ import annotations

import numpy as np

from sfcli.errors import OutputError

# Bits -> libsndfile subtype per container. 32 bits in WAV is IEEE float (the exact float32 result);
# libsndfile's FLAC encoder holds at most 24-bit integers.
SUBTYPES = {
    "wav": {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"},
    "flac": {16: "PCM_16", 24: "PCM_24"},
}
PCM_BITS = {"PCM_16": 16, "PCM_24": 24}

# Input sample formats and the output bits that hold them without loss. 8-bit, A-law and mu-law
# inputs get 16 bits (a separated output is not on their coarse grid); lossy codecs (MP3, Vorbis,
# Opus, anything ffmpeg decodes) have no bit depth and keep the previous default, float WAV /
# 24-bit FLAC.
_INPUT_BITS = {
    "PCM_S8": 16,
    "PCM_U8": 16,
    "ULAW": 16,
    "ALAW": 16,
    "PCM_16": 16,
    "DPCM_16": 16,
    "DWVW_16": 16,
    "ALAC_16": 16,
    "PCM_24": 24,
    "DWVW_24": 24,
    "ALAC_24": 24,
    "PCM_32": 32,
    "ALAC_32": 32,
    "FLOAT": 32,
    "DOUBLE": 32,
}


def default_bits(fmt: str, input_subtype: str | None) -> int:
    """Output bits that keep an input's sample format (``input_subtype`` as libsndfile names it)."""
    bits = _INPUT_BITS.get(input_subtype or "", 32)
    return min(bits, max(SUBTYPES[fmt]))


def output_subtype(fmt: str, bits: int | None, input_subtype: str | None) -> str:
    """The libsndfile subtype for an output of container ``fmt`` ("wav" or "flac").

    ``bits`` (16, 24 or 32) chooses; ``None`` keeps the input's format (:func:`default_bits`).
    Raises :class:`OutputError` for a combination the container cannot hold (32-bit FLAC).
    """
    if fmt not in SUBTYPES:
        raise OutputError(f"unknown output format {fmt!r} (choose from {', '.join(SUBTYPES)})")
    if bits is None:
        bits = default_bits(fmt, input_subtype)
    table = SUBTYPES[fmt]
    if bits not in table:
        allowed = ", ".join(str(b) for b in table)
        raise OutputError(f"{fmt.upper()} output holds {allowed} bits, not {bits}")
    return table[bits]


def to_pcm(block: np.ndarray, subtype: str) -> np.ndarray:
    """Float samples as the integers libsndfile stores for ``subtype`` (rounded and clipped).

    PCM_16 becomes int16; PCM_24 becomes int32 with the 24 bits in the top bytes, as libsndfile's
    integer interface expects. Reading the file back as float gives ``integer / 2**(bits-1)``.
    """
    bits = PCM_BITS[subtype]
    scale = float(1 << (bits - 1))
    ints = np.clip(np.rint(np.asarray(block, dtype=np.float64) * scale), -scale, scale - 1)
    if bits == 16:
        return ints.astype(np.int16)
    return ints.astype(np.int32) << 8


class PairQuantizer:
    """Round ``(target, residual)`` blocks onto an integer PCM grid so that they still sum to the input.

    For float subtypes the blocks pass through unchanged. ``clipped_target`` / ``clipped_residual``
    count the samples that fell outside the format's range and were clipped; when both are zero, the
    written outputs add up to an input on the same grid exactly.
    """

    def __init__(self, subtype: str) -> None:
        self.subtype = subtype
        self.bits = PCM_BITS.get(subtype)
        self.clipped_target = 0
        self.clipped_residual = 0

    def __call__(self, target: np.ndarray, residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quantised ``(target, residual)`` float32 blocks."""
        if self.bits is None:
            return target, residual
        scale = float(1 << (self.bits - 1))
        lo, hi = -scale, scale - 1
        mix = target.astype(np.float64) + residual  # the input, to within float32 rounding
        t = np.rint(target.astype(np.float64) * scale)
        self.clipped_target += int(np.count_nonzero((t < lo) | (t > hi)))
        t = np.clip(t, lo, hi)
        r = np.rint(mix * scale - t)
        self.clipped_residual += int(np.count_nonzero((r < lo) | (r > hi)))
        r = np.clip(r, lo, hi)
        return (t / scale).astype(np.float32), (r / scale).astype(np.float32)

    @property
    def clipped(self) -> int:
        """Samples clipped in either output."""
        return self.clipped_target + self.clipped_residual
