"""The Python API: :class:`Separator` turns a mixture and a query into target + residual.

Example::

    from sfcli import Separator
    sep = Separator.from_pretrained()                    # models/ by default, offline
    res = sep.separate(mixture, 44100, text="owl hooting")
    res = sep.separate(mixture, 44100, reference=clip, reference_sample_rate=16000)
    res.target, res.residual                             # same shape, dtype float32, same rate

``mixture`` is ``(n,)`` or ``(channels, n)``; every channel is separated with the same query, whose
embedding is computed once.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sfcli import two_pass
from sfcli.adapt import AdaptOptions, adapt_filter
from sfcli.audio import (
    MIN_REFERENCE_SECONDS,
    MODEL_SAMPLE_RATE,
    AtomicAudioWriter,
    AudioReader,
    check_reference,
    validate_array,
)
from sfcli.embedder import Embedder
from sfcli.errors import OutputError, QueryError
from sfcli.filter_model import SoundFilter
from sfcli.outputs import commit_pair, write_pairs
from sfcli.pretrained import default_models_dir, resolve_device
from sfcli.query_check import QueryChecker, QueryReport
from sfcli.result import SeparationResult, describe_query, mean_embedding
from sfcli.sample_format import PairQuantizer, output_subtype
from sfcli.streaming import DEFAULT_OVERLAP_SECONDS, WindowFn, separate_array, separate_blocks

ProgressFn = Callable[[int, int], None]


class Separator:
    """SoundWords + SoundFilter, run window by window with overlap-add.

    Args:
        filter_model: the separation network.
        words: the SoundWords embedder (text and audio towers; :class:`sfcli.embedder.Embedder`).
        device: "cpu", "cuda" or "auto".
        window_seconds: window length at the model rate (:attr:`model_rate`; the model was trained on 2 s crops).
        overlap_seconds: cross-faded overlap between consecutive windows.
        text_expansion: answer text queries through the SoundWords audio bank when the model has one
            (:meth:`sfcli.words.SoundWords.text_query`); ``False`` conditions on the plain text embedding.
        project: apply the exact mixture-consistency projection to each window's target (always, in
            use). ``False`` keeps the network's raw target output, for scoring models trained without
            it (``experiments/ablation_unprojected.py``); the residual is ``mixture - target`` either way.
        loop_reference_seconds: a reference clip shorter than this is looped to this length before it
            is embedded, like the 2 s conditioning crops SoundFilter was trained on (0 turns it off).
            With 0.5 s / 1 s references this raised validation SI-SDRi by 0.75 / 0.39 dB
            (``benchmarks/short_reference.py``, docs/results.md).
        postfilter: refine each window's target with the model's spectral post-filter
            (:meth:`sfcli.filter_model.SoundFilter.postfilter`: a soft STFT mask built from the
            network's own target and residual; +0.43 dB test SI-SDRi with the seventh SoundFilter).
            ``False`` returns the network's target as it is.
        postfilter_fft: STFT size of the post-filter (samples at the model rate); ``None`` takes the
            value the model was trained with (its config's ``postfilter_fft``).
        postfilter_power: magnitude exponent of the post-filter's mask; ``None``: the model's.
        query_check: the match report / presence estimate (:class:`sfcli.query_check.QueryChecker`);
            :meth:`from_pretrained` loads the model folder's. ``None``: no checks.
        two_pass: separate twice: with the query, then with the SoundWords embedding of the first
            pass's residual (a query for "everything else"); the target is a weighted mean of the
            first target and the second residual (:mod:`sfcli.two_pass`). Two to three times the time.
        batch_rows: consecutive 2 s windows go through the network together, as up to this many rows
            (one per channel and window; at least one window) per forward call
            (:class:`sfcli.streaming.OverlapAdd`): the same outputs up to float rounding, that many rows'
            activations in memory. Measured (docs/notebook/speed-and-memory.md, "Batched windows"): 2
            takes about 20 % less time than 1 on mono at the same peak memory as stereo already had; 4
            saves 5 % more on mono but adds 50 MiB on stereo for no gain there.
        adapt: with a reference query, fine-tune a copy of the filter on the reference clip first
            (:mod:`sfcli.adapt`; ``AdaptOptions(steps=10)`` is the CLI's ``--adapt 10``); ``None`` or
            0 steps: off. :meth:`adapted` does it once for many recordings.
    """

    def __init__(
        self,
        filter_model: SoundFilter,
        words: Embedder,
        *,
        device: str | torch.device | None = "cpu",
        window_seconds: float = 2.0,
        overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
        text_expansion: bool = True,
        project: bool = True,
        loop_reference_seconds: float = 2.0,
        postfilter: bool = True,
        postfilter_fft: int | None = None,
        postfilter_power: float | None = None,
        query_check: QueryChecker | None = None,
        two_pass: bool = False,
        batch_rows: int = 2,
        adapt: AdaptOptions | None = None,
    ) -> None:
        if not 0 <= overlap_seconds < window_seconds:
            raise ValueError("overlap_seconds must be in [0, window_seconds)")
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self.device = resolve_device(device)
        self.filter = filter_model.to(self.device).eval()
        self.words = words
        self.window_seconds = window_seconds
        self.overlap_seconds = overlap_seconds
        self.text_expansion = text_expansion
        self.project = project
        self.loop_reference_seconds = loop_reference_seconds
        self.postfilter = postfilter
        self.postfilter_fft = postfilter_fft
        self.postfilter_power = postfilter_power
        self.query_check = query_check
        self.two_pass = two_pass
        self.batch_rows = batch_rows
        self.adapt = adapt

    def windows_per_call(self, channels: int) -> int:
        """How many consecutive windows of ``channels`` channels go through the network per call."""
        return max(1, self.batch_rows // max(1, channels))

    @property
    def model_rate(self) -> int:
        """The rate windows are separated at: the filter model's config ``sample_rate`` (configs without
        one get :data:`sfcli.audio.MODEL_SAMPLE_RATE`)."""
        return int(self.filter.config.sample_rate)

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        device: str | torch.device | None = "cpu",
        **kwargs: Any,
    ) -> Separator:
        """Load ``soundfilter/`` and ``soundwords/`` from ``path`` (default: the shipped ``models/``),
        with the query check stored beside SoundWords (``check_queries=False`` leaves it off)."""
        from sfcli.pretrained import resolve_model_dir
        from sfcli.words import SoundWords

        base = default_models_dir() if path is None else Path(path)
        words = SoundWords.from_pretrained(base, device=device)
        filt = SoundFilter.from_pretrained(base)
        if kwargs.pop("check_queries", True) and "query_check" not in kwargs:
            kwargs["query_check"] = QueryChecker.load(resolve_model_dir(base, "soundwords"), words)
        return cls(filt, words, device=device, **kwargs)

    # ------------------------------------------------------------------ queries
    def embed_query(
        self,
        text: str | None = None,
        reference: np.ndarray | None = None,
        reference_sample_rate: int | None = None,
        *,
        raw_text: bool | None = None,
    ) -> np.ndarray:
        """Return the 64-d SoundWords vector for a text or a reference clip (exactly one of them).

        ``raw_text=True`` conditions on the plain text embedding (no audio-bank expansion), ``False``
        expands; ``None`` follows the separator's ``text_expansion``."""
        if (text is None) == (reference is None):
            raise QueryError("give exactly one query: a text description or a reference clip")
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise QueryError("the text query is empty")
            expand = self.text_expansion if raw_text is None else not raw_text
            return np.asarray(self.words.text_query([text.strip()], expand=expand)[0], dtype=np.float32)
        clip = check_reference(reference, reference_sample_rate)  # type: ignore[arg-type]
        loop_to = round(self.loop_reference_seconds * reference_sample_rate)
        if clip.shape[0] < loop_to:
            clip = np.resize(clip, loop_to)
        return np.asarray(self.words.embed_audio([clip], reference_sample_rate)[0], dtype=np.float32)

    def _window_targets(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The filter's target for each channel of a model-rate window ``x`` ``(channels, n)``."""
        with torch.inference_mode():
            target, _ = self.filter.separate(
                x.unsqueeze(1),
                cond,
                postfilter=self.postfilter,
                fft=self.postfilter_fft,
                power=self.postfilter_power,
                project=self.project,
            )
        return target.squeeze(1)

    def window_fn(
        self, embedding: np.ndarray, other: np.ndarray | None = None, cache: dict[bytes, np.ndarray] | None = None
    ) -> WindowFn:
        """A function mapping a model-rate window ``(channels, n)`` to its target ``(channels, n)``: each
        channel through :meth:`sfcli.filter_model.SoundFilter.separate` with this separator's settings.

        ``other`` and ``cache``: the two passes of ``two_pass`` (:func:`sfcli.two_pass.window_fn`)."""
        return two_pass.window_fn(self._window_targets, embedding, other, cache, self.device)

    # ------------------------------------------------------------------ arrays
    def separate(
        self,
        mixture: np.ndarray,
        sample_rate: int,
        *,
        text: str | None = None,
        reference: np.ndarray | None = None,
        reference_sample_rate: int | None = None,
        embedding: np.ndarray | None = None,
        raw_text: bool | None = None,
        check: bool = True,
    ) -> SeparationResult:
        """Separate an in-memory mixture ``(n,)`` or ``(channels, n)`` at ``sample_rate``.

        Give ``text=``, ``reference=`` (+ ``reference_sample_rate=``) or a precomputed
        ``embedding=``. Returns float32 arrays of the mixture's shape at its sample rate, with the
        query check's matches, presence and warnings (``check=False`` skips the check; ``raw_text``
        as in :meth:`embed_query`).
        """
        x = validate_array(mixture, "mixture")
        if sample_rate is None or int(sample_rate) <= 0:
            raise QueryError("sample_rate must be a positive integer")
        if embedding is None:
            embedding = self.embed_query(text, reference, reference_sample_rate, raw_text=raw_text)
        if reference is not None and self.adapt is not None and self.adapt.steps > 0:
            sep = self.adapted([(reference, reference_sample_rate)], embedding)  # type: ignore[list-item]
            return sep.separate(x, sample_rate, embedding=embedding, check=check)
        x2 = x[None, :] if x.ndim == 1 else x
        other, cache = self._two_pass_query([x2], x2.shape[1], int(sample_rate), embedding)
        target, residual = self._separate_array(x2, int(sample_rate), embedding, other, cache)
        report = self.check_query(text) if check else QueryReport()
        if check and self.query_check is not None:
            sampler = self.query_check.sampler(int(sample_rate))
            sampler.add(target, x2)
            self._add_presence(report, sampler, embedding, int(sample_rate))
        if x.ndim == 1:
            target, residual = target[0], residual[0]
        label = describe_query(text, None)
        return SeparationResult(target, residual, int(sample_rate), label, **vars(report))

    def _separate_array(
        self,
        x: np.ndarray,
        sample_rate: int,
        embedding: np.ndarray,
        other: np.ndarray | None = None,
        cache: dict[bytes, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`sfcli.streaming.separate_array` over ``x`` ``(channels, n)`` with :meth:`window_fn`."""
        return separate_array(
            x,
            sample_rate,
            self.window_fn(embedding, other, cache),
            window_seconds=self.window_seconds,
            overlap_seconds=self.overlap_seconds,
            model_rate=self.model_rate,
            batch=self.windows_per_call(x.shape[0]),
        )

    def _blocks(self, blocks: Any, info: Any, fn: WindowFn) -> Any:
        """:func:`sfcli.streaming.separate_blocks` over a reader's blocks with this separator's windows."""
        return separate_blocks(
            blocks,
            info.sample_rate,
            info.channels,
            fn,
            window_seconds=self.window_seconds,
            overlap_seconds=self.overlap_seconds,
            model_rate=self.model_rate,
            batch=self.windows_per_call(info.channels),
        )

    def _two_pass_query(
        self, blocks: Iterable[np.ndarray], frames: int, sample_rate: int, embedding: np.ndarray
    ) -> tuple[np.ndarray | None, dict[bytes, np.ndarray] | None]:
        """``(other, cache)`` for :meth:`window_fn`: with ``two_pass``, the second query of an input of
        ``frames`` samples read as ``blocks`` (``(channels, n)`` arrays) and, when the whole input is one
        segment, the cache that reuses its first pass; ``(None, None)`` without ``two_pass``."""
        if not self.two_pass:
            return None, None
        segments = two_pass.segments(blocks, frames, sample_rate)
        cache = {} if len(segments) == 1 else None  # the whole input: its first pass is reused
        return self._other_query(segments, sample_rate, embedding, cache), cache

    def _other_query(
        self,
        segments: list[np.ndarray],
        sample_rate: int,
        embedding: np.ndarray,
        cache: dict[bytes, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Two-pass separation's second query: the embedding of the first pass's residual on ``segments``
        (:func:`sfcli.two_pass.segments`; the whole input when it is short); ``cache`` as in
        :meth:`window_fn`."""
        if len({seg.shape for seg in segments}) == 1:
            # equal segments (one window each, or the whole input): separated together, as the channels
            # of one array
            stacked = self._separate_array(np.concatenate(segments), sample_rate, embedding, None, cache)[1]
            residuals = np.split(stacked, len(segments))
        else:
            residuals = [self._separate_array(seg, sample_rate, embedding)[1] for seg in segments]
        return two_pass.other_query(self.words, residuals, sample_rate)

    def adapted(
        self, references: Sequence[tuple[np.ndarray, int]], embedding: np.ndarray, options: AdaptOptions | None = None
    ) -> Separator:
        """A copy of this separator whose filter is fine-tuned on ``references`` (``(clip, sample
        rate)`` pairs) for the query ``embedding`` (:func:`sfcli.adapt.adapt_filter`; ``options``
        default: this separator's ``adapt``, else :class:`sfcli.adapt.AdaptOptions`). This separator
        is unchanged; the copy does not adapt again."""
        clips = [(check_reference(c, sr), sr) for c, sr in references]
        other = copy.copy(self)
        other.filter = adapt_filter(self.filter, clips, embedding, options or self.adapt or AdaptOptions())
        other.adapt = None
        return other

    # ------------------------------------------------------------------ query check
    def check_query(self, text: str | None = None) -> QueryReport:
        """The match report of a text query (:mod:`sfcli.query_check`); empty without a text or a check."""
        if text is None or self.query_check is None:
            return QueryReport()
        return self.query_check.check_text(text)

    def _add_presence(self, report: QueryReport, sampler: Any, embedding: np.ndarray, sample_rate: int) -> None:
        """Fill ``report.presence`` (and its warning) from a filled :class:`sfcli.query_check.PresenceSampler`."""
        if self.query_check is None:
            return
        report.presence = self.query_check.presence_from(sampler, embedding, sample_rate)
        warning = self.query_check.presence_warning(report.presence)
        if warning:
            report.warnings.append(warning)

    # ------------------------------------------------------------------ files
    def separate_file(
        self,
        input_path: str | os.PathLike[str],
        target_path: str | os.PathLike[str],
        residual_path: str | os.PathLike[str],
        *,
        embedding: np.ndarray,
        fmt: str = "wav",
        force: bool = False,
        progress: ProgressFn | None = None,
        blocksize: int = 1 << 16,
        bits: int | None = None,
        check: bool = True,
    ) -> dict[str, Any]:
        """Stream ``input_path`` through the separator into two files, block by block.

        Both outputs are written to temporary files and renamed into place only when the whole
        input has been processed; on any error neither output exists afterwards. ``bits`` (16, 24,
        32) sets the outputs' sample format; ``None`` keeps the input's
        (:func:`sfcli.sample_format.output_subtype`). Returns a summary (paths, duration, seconds
        taken, subtype, samples clipped to fit an integer format) with, when the separator has a query
        check and ``check`` is true, ``presence`` and its ``warnings``
        (:meth:`sfcli.query_check.QueryChecker.presence`; at most 16 windows of the input are embedded).
        """
        started = time.perf_counter()
        target_path, residual_path = Path(target_path), Path(residual_path)
        if not force:
            for p in (target_path, residual_path):
                if p.exists():
                    raise OutputError(f"{p} exists; use --force to overwrite")
        with AudioReader(input_path) as reader:
            info = reader.info
            quantize = PairQuantizer(output_subtype(fmt, bits, info.subtype))
            writers: list[AtomicAudioWriter] = []
            sampler = self.query_check.sampler(info.sample_rate) if check and self.query_check else None
            try:
                for p in (target_path, residual_path):
                    writers.append(
                        AtomicAudioWriter(
                            p, info.sample_rate, info.channels, fmt=fmt, force=force, subtype=quantize.subtype
                        )
                    )
                other, cache = None, None
                if self.two_pass:  # the first pass only picks the second query (sfcli.two_pass)
                    with AudioReader(input_path) as first:
                        other, cache = self._two_pass_query(
                            first.blocks(blocksize), info.frames, info.sample_rate, embedding
                        )
                pairs = self._blocks(reader.blocks(blocksize), info, self.window_fn(embedding, other, cache))
                write_pairs(pairs, writers, quantize, sampler, progress, info.frames)
            except BaseException:
                for w in writers:
                    w.abort()
                raise
            commit_pair(writers, target_path)
        checks: dict[str, Any] = {}
        if sampler is not None:
            report = QueryReport()
            self._add_presence(report, sampler, embedding, info.sample_rate)
            checks = {"presence": report.presence, "warnings": report.warnings}
        return {
            "input": str(input_path),
            "target": str(target_path),
            "residual": str(residual_path),
            "duration": info.duration,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "subtype": quantize.subtype,
            "clipped_target": quantize.clipped_target,
            "clipped_residual": quantize.clipped_residual,
            **checks,
            "seconds": round(time.perf_counter() - started, 3),
        }


__all__ = ["MIN_REFERENCE_SECONDS", "MODEL_SAMPLE_RATE", "SeparationResult", "Separator", "mean_embedding"]
