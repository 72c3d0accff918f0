"""Streaming separation: fixed windows at the model rate, overlap-add, bounded memory.

The mixture arrives as blocks at its own sample rate. Each block is resampled to the model rate with
soxr's streaming resampler, cut into windows of ``window`` samples that start every
``window - overlap`` samples, passed through the model, cross-faded with linear ramps over the
overlaps (normalised by the summed weights, so a pass-through model reproduces its input exactly),
resampled back and paired with the original input block. The last window of an input longer than
one window is aligned to end with the input (it overlaps its predecessor by more) rather than padded
with zeros: a half-silent window skews the network's whole-window normalisation statistics, and
that cost up to 1 dB SI-SDRi on 4 s mixtures. For the same reason an input shorter than one window is
looped to fill it (its outputs beyond the input are dropped); zero padding cost 1.6 dB at 1 s and
2.5 dB at 0.75 s (``benchmarks/streaming_quality.py``, docs/results.md). The residual is computed at the input's
own rate as ``input − target``: the two outputs always sum to the input exactly, including any
content above the model's Nyquist frequency, which goes to the residual.

Only a window's worth of model-rate audio and the resampler's small delay line are held at once, so
memory does not grow with the length of the file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import soxr

from sfcli.audio import MODEL_SAMPLE_RATE, validate_array
from sfcli.errors import AudioError

# Cross-faded overlap between 2 s windows. 0.25 s rather than 0.5 s: 12.5 % fewer windows on long inputs
# for 0.01-0.05 dB less SI-SDRi on streamed validation mixtures (docs/results.md).
DEFAULT_OVERLAP_SECONDS = 0.25

WindowFn = Callable[[np.ndarray], np.ndarray]
"""Maps a model-rate window ``(channels, window)`` to the target ``(channels, window)``."""


def crossfade_window(window: int, overlap: int) -> np.ndarray:
    """Weights for one window: linear ramps over ``overlap`` samples at both ends, 1 between.

    Every weight is strictly positive, so normalising by the summed weights is always defined.
    """
    w = np.ones(window, dtype=np.float32)
    if overlap > 0:
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        w[:overlap] = ramp
        w[window - overlap :] = ramp[::-1]
    return w


class _Fifo:
    """A queue of ``(channels, n)`` arrays that can hand out exactly ``n`` samples."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._parts: deque[np.ndarray] = deque()
        self.size = 0

    def push(self, x: np.ndarray) -> None:
        if x.shape[1]:
            self._parts.append(x)
            self.size += x.shape[1]

    def pop(self, n: int) -> np.ndarray:
        n = min(n, self.size)
        out = []
        need = n
        while need:
            head = self._parts[0]
            if head.shape[1] <= need:
                out.append(self._parts.popleft())
                need -= head.shape[1]
            else:
                out.append(head[:, :need])
                self._parts[0] = head[:, need:]
                need = 0
        self.size -= n
        if not out:
            return np.zeros((self.channels, 0), dtype=np.float32)
        return out[0] if len(out) == 1 else np.concatenate(out, axis=1)


class _Resampler:
    """soxr's streaming resampler on ``(channels, n)`` blocks; identity when the rates match."""

    def __init__(self, sr_in: int, sr_out: int, channels: int) -> None:
        self._rs = (
            None if sr_in == sr_out else soxr.ResampleStream(sr_in, sr_out, channels, dtype="float32", quality="HQ")
        )
        self.channels = channels

    def __call__(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        if self._rs is None:
            return x
        y = self._rs.resample_chunk(np.ascontiguousarray(x.T), last=last)
        return np.ascontiguousarray(y.T, dtype=np.float32).reshape(self.channels, -1)


class OverlapAdd:
    """Incremental overlap-add of a window function over a stream of model-rate samples.

    With ``batch`` > 1, up to ``batch`` consecutive full windows go through ``fn`` in one call, stacked
    along the channel axis (``(batch * channels, window)``), once enough input has arrived; ``fn`` must
    then treat rows independently. The windows computed, and so the outputs, are the same as with
    ``batch=1`` (up to the floating-point differences a batched network call may make).
    """

    def __init__(self, fn: WindowFn, channels: int, window: int, overlap: int, batch: int = 1) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        if not 0 <= overlap < window:
            raise ValueError("overlap must be in [0, window)")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.fn = fn
        self.channels = channels
        self.window = window
        self.hop = window - overlap
        self.batch = batch
        self.weights = crossfade_window(window, overlap)
        self._pending = _Fifo(channels)  # model-rate input not yet in _look
        self._look = np.zeros((channels, 0), dtype=np.float32)  # input from the current window start on
        self._acc = np.zeros((channels, window), dtype=np.float32)
        self._wsum = np.zeros(window, dtype=np.float32)
        self._hist = np.zeros((channels, 0), dtype=np.float32)  # input just before the current window

    def _available(self) -> int:
        """Input samples from the current window start on."""
        return self._look.shape[1] + self._pending.size

    def _pull(self, n: int) -> np.ndarray:
        """The next ``n`` samples from the current window start on (fewer at the end), kept in ``_look``."""
        need = n - self._look.shape[1]
        if need > 0 and self._pending.size:
            self._look = np.concatenate([self._look, self._pending.pop(need)], axis=1)
        return self._look[:, :n]

    def _window_input(self) -> np.ndarray:
        """The next window of input (may be shorter than ``window`` at the end)."""
        return self._pull(self.window)

    def _call(self, x: np.ndarray) -> np.ndarray:
        y = np.asarray(self.fn(x), dtype=np.float32)
        if y.shape != x.shape:
            raise ValueError(f"window function returned shape {y.shape}, expected {x.shape}")
        return y

    def _add(self, y: np.ndarray) -> None:
        self._acc += y * self.weights
        self._wsum += self.weights

    def _process(self, x: np.ndarray) -> None:
        n = x.shape[1]
        if n < self.window:  # only an input shorter than one window: loop it to fill the window
            x = np.pad(x, ((0, 0), (0, self.window - n)), mode="wrap")
        self._add(self._call(x))

    def _full_windows(self, k: int) -> Iterator[np.ndarray]:
        """Process the next ``k`` full windows (in calls of up to ``batch``); yield ``hop`` samples after each."""
        while k > 0:
            m = min(k, self.batch)
            x = self._pull(self.window + (m - 1) * self.hop)
            y = self._call(np.concatenate([x[:, j * self.hop : j * self.hop + self.window] for j in range(m)]))
            for j in range(m):
                self._add(y[j * self.channels : (j + 1) * self.channels])
                yield self._emit(self.hop)
            k -= m

    def _process_last(self, x: np.ndarray) -> None:
        """The final ``n < window`` samples: run a full window that ends with them, keep their part.

        The window reaches back into input already emitted (kept in ``_hist``); only its last ``n``
        outputs are added, weighted as a window starting here, so they fade in over the overlap with
        the previous window (where they are the only contribution, the weight cancels out).
        """
        n = x.shape[1]
        full = np.concatenate([self._hist[:, self._hist.shape[1] - (self.window - n) :], x], axis=1)
        y = self._call(full)
        self._acc[:, :n] += y[:, self.window - n :] * self.weights[:n]
        self._wsum[:n] += self.weights[:n]

    def _emit(self, n: int) -> np.ndarray:
        out = self._acc[:, :n] / self._wsum[:n]
        self._acc = np.concatenate([self._acc[:, n:], np.zeros((self.channels, n), np.float32)], axis=1)
        self._wsum = np.concatenate([self._wsum[n:], np.zeros(n, np.float32)])
        self._hist = np.concatenate([self._hist, self._look[:, :n]], axis=1)[:, -self.window :]
        self._look = self._look[:, n:]
        return out

    def push(self, x: np.ndarray) -> Iterator[np.ndarray]:
        """Feed model-rate samples; yield every output sample that is final."""
        self._pending.push(x)
        span = self.window + (self.batch - 1) * self.hop  # the input a full batch of windows covers
        while self._available() >= span:
            yield from self._full_windows(self.batch)

    def finish(self) -> Iterator[np.ndarray]:
        """Process what is left and yield the rest of the output.

        Every window with input beyond it is a full window; the last one ends with the input.
        """
        more = self._available() - self.window
        yield from self._full_windows(max(0, -(-more // self.hop)))
        x = self._window_input()
        n = x.shape[1]
        if n == 0:
            return
        # Samples already covered by the previous window's overlap need no extra model call.
        covered = n <= self.window - self.hop and self._wsum[0] > 0
        if not covered:
            if n < self.window and self._hist.shape[1] >= self.window - n:
                self._process_last(x)
            else:
                self._process(x)
        yield self._emit(n)


def _checked_blocks(blocks: Iterable[np.ndarray], channels: int) -> Iterator[np.ndarray]:
    """The blocks as float32, each checked: ``(channels, n)`` and finite."""
    for block in blocks:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != channels:
            raise AudioError(f"an input block has shape {x.shape}, expected ({channels}, samples)")
        if not np.isfinite(x).all():
            raise AudioError("the input contains NaN or infinite samples")
        yield x


def separate_blocks(
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    channels: int,
    fn: WindowFn,
    *,
    window_seconds: float = 2.0,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    model_rate: int = MODEL_SAMPLE_RATE,
    batch: int = 1,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream ``(channels, n)`` input blocks at ``sample_rate`` through ``fn``.

    Yields aligned ``(target, residual)`` blocks at ``sample_rate`` whose lengths add up to the
    input's length exactly, with ``target + residual == input``. A block of the wrong shape or with
    NaN/infinite samples raises :class:`AudioError` (no output for it is yielded). ``batch`` windows
    at most go through ``fn`` in one call (:class:`OverlapAdd`; ``fn`` must treat rows independently).
    """
    if int(sample_rate) <= 0 or int(model_rate) <= 0:
        raise AudioError(f"sample rates must be positive (got {sample_rate} and {model_rate})")
    if channels < 1:
        raise AudioError(f"audio needs at least one channel (got {channels})")
    blocks = _checked_blocks(blocks, channels)
    window = round(window_seconds * model_rate)
    overlap = round(overlap_seconds * model_rate)
    down = _Resampler(sample_rate, model_rate, channels)
    up = _Resampler(model_rate, sample_rate, channels)
    ola = OverlapAdd(fn, channels, window, overlap, batch)
    inputs = _Fifo(channels)
    targets = _Fifo(channels)

    def drain(final: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = inputs.size if final else min(inputs.size, targets.size)
        if n == 0:
            return
        x = inputs.pop(n)
        t = targets.pop(n)
        if t.shape[1] < n:  # resampler produced a few samples fewer than the input holds
            t = np.pad(t, ((0, 0), (0, n - t.shape[1])))
        yield t, x - t

    for block in blocks:
        inputs.push(block)
        for out in ola.push(down(block)):
            targets.push(up(out))
        yield from drain(False)
    for out in ola.push(down(np.zeros((channels, 0), np.float32), last=True)):
        targets.push(up(out))
    for out in ola.finish():
        targets.push(up(out))
    tail = up(np.zeros((channels, 0), np.float32), last=True)
    targets.push(tail)
    yield from drain(True)


def separate_array(
    x: np.ndarray,
    sample_rate: int,
    fn: WindowFn,
    *,
    window_seconds: float = 2.0,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    model_rate: int = MODEL_SAMPLE_RATE,
    block: int = 1 << 16,
    batch: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """In-memory version of :func:`separate_blocks` for a ``(channels, n)`` array.

    An empty, non-2-D or non-finite ``x`` raises :class:`AudioError`.
    """
    x = validate_array(x, "mixture")
    if x.ndim != 2:
        raise AudioError(f"mixture must have shape (channels, samples), not {x.shape}")
    blocks = (x[:, i : i + block] for i in range(0, x.shape[1], block))
    parts = list(
        separate_blocks(
            blocks,
            sample_rate,
            x.shape[0],
            fn,
            window_seconds=window_seconds,
            overlap_seconds=overlap_seconds,
            model_rate=model_rate,
            batch=batch,
        )
    )
    target = np.concatenate([p[0] for p in parts], axis=1)
    residual = np.concatenate([p[1] for p in parts], axis=1)
    return target, residual
