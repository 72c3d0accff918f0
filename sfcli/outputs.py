"""Writing a separation's two outputs: blocks of target and residual into their atomic writers, then both
renamed into place or neither (:meth:`sfcli.api.Separator.separate_file`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sfcli.audio import AtomicAudioWriter
from sfcli.sample_format import PairQuantizer


def write_pairs(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    writers: Sequence[AtomicAudioWriter],
    quantize: PairQuantizer,
    sampler: Any,
    progress: Callable[[int, int], None] | None,
    frames: int,
) -> None:
    """Write each ``(target, residual)`` block to ``writers`` (target first) through ``quantize``,
    feeding ``sampler`` (a :class:`sfcli.query_check.PresenceSampler` or None) the unquantised blocks
    and calling ``progress(done, frames)`` after each."""
    done = 0
    for t, r in pairs:
        if sampler is not None:
            sampler.add(t, t + r)
        t, r = quantize(t, r)
        writers[0].write(t)
        writers[1].write(r)
        done += t.shape[1]
        if progress is not None:
            progress(done, frames)


def commit_pair(writers: Sequence[AtomicAudioWriter], target_path: Path) -> None:
    """Move both finished outputs into place, target first; if the residual's rename fails, the target
    is removed again, so that neither output exists."""
    writers[0].commit()
    try:
        writers[1].commit()
    except BaseException:
        target_path.unlink(missing_ok=True)
        raise
