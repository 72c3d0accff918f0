"""What ``sfcli separate`` will do, worked out and checked before torch and the models load.

The queries (reference clips read), the ``--overlap`` bound, and one :class:`Job` per input and query
whose input reads and whose outputs may be written; every other one is reported in one line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sfcli.audio import AUDIO_EXTENSIONS, MODEL_SAMPLE_RATE, check_reference, load_audio, probe_audio
from sfcli.cli.common import expand_inputs, fail, output_names, slugify, unwritable
from sfcli.errors import AudioError, QueryError, SfcliError

WINDOW_SECONDS = 2.0
"""The window the networks see (seconds at the model rate): :class:`sfcli.api.Separator`'s default."""
MAX_OVERLAP_SECONDS = 1.5
"""The longest ``--overlap``: consecutive windows start at least 0.5 s apart (a shorter hop multiplies
the work: 2 s windows 2 samples apart would take 16,000 network calls per second of audio)."""


@dataclass
class Query:
    """One query: a text, or one or more reference clips (read before the models load)."""

    label: str
    sub: str | None = None
    text: str | None = None
    clips: list[tuple[np.ndarray, int]] = field(default_factory=list)
    embedding: np.ndarray | None = None
    matches: list[tuple[str, float]] = field(default_factory=list)  # sfcli.query_check's match report
    warnings: list[str] = field(default_factory=list)
    separator: Any = None  # with --adapt: this query's adapted sfcli.api.Separator


@dataclass
class Job:
    """One input separated with one query into one folder."""

    path: Path
    query: Query
    folder: Path
    target: Path
    residual: Path
    plot: Path | None


def parse_queries(texts: list[str], refs: list[Path]) -> list[Query]:
    """Check the queries and read the reference clips; raises a user error for a bad one."""
    if texts and refs:
        raise QueryError("give either --text or --ref, not both")
    if not texts and not refs:
        raise QueryError("say what to extract: --text 'owl hooting' or --ref example.wav")
    if refs:
        clips = []
        for ref in refs:
            clip, sr = load_audio(ref)
            try:
                clips.append((check_reference(clip, sr), sr))
            except QueryError as exc:
                raise QueryError(f"{ref}: {exc}" if len(refs) > 1 else str(exc)) from exc
        return [Query("ref:" + "+".join(str(r) for r in refs), clips=clips)]
    queries: list[Query] = []
    slugs: list[str] = []
    for t in texts:
        if not t.strip():
            raise QueryError("a --text query is empty")
        slug = slugify(t)
        while slug in slugs:
            slug = slugify(f"{t} {len(slugs)}")
        slugs.append(slug)
        queries.append(Query(f"text:{t}", slug if len(texts) > 1 else None, text=t))
    return queries


def plan_jobs(
    inputs: list[str], queries: list[Query], out_dir: Path, suffix: str, plot: bool, force: bool
) -> tuple[list[Job], int, int]:
    """The jobs whose input reads and whose outputs may be written; each other one is reported here.

    Returns ``(jobs, failures, total)``.
    """
    files = expand_inputs(inputs, outputs=lambda p: is_output(p, out_dir))
    jobs: list[Job] = []
    failures = 0
    for path, name in zip(files, output_names(files), strict=True):
        try:
            probe_audio(path)
        except AudioError as exc:
            fail(str(exc))
            failures += len(queries)
            continue
        for q in queries:
            folder = out_dir / name / q.sub if q.sub else out_dir / name
            job = Job(path, q, folder, folder / f"target.{suffix}", folder / f"residual.{suffix}", None)
            job.plot = folder / "spectrogram.png" if plot else None
            problem = unwritable(folder)
            if problem is None and not force:
                existing = [p for p in (job.target, job.residual, job.plot) if p is not None and p.exists()]
                if existing:
                    problem = f"{existing[0]} exists; use --force to overwrite"
            if problem is not None:
                fail(problem)
                failures += 1
                continue
            jobs.append(job)
    return jobs, failures, len(files) * len(queries)


def is_output(path: Path, out_dir: Path) -> bool:
    """Whether ``path`` is an output this command writes into ``out_dir``: OUT/NAME[/QUERY]/target.EXT or
    residual.EXT. Such files are skipped when a folder or pattern is expanded, so that a second run
    with the output folder inside the input folder does not take its own earlier outputs as inputs."""
    try:
        rel = path.resolve().relative_to(out_dir.resolve())
    except (OSError, ValueError):
        return False
    return len(rel.parts) in (2, 3) and path.stem in ("target", "residual") and path.suffix.lower() in AUDIO_EXTENSIONS


def check_overlap(overlap: float | None) -> None:
    """Refuse an ``--overlap`` that leaves consecutive windows less than 0.5 s apart (counted in samples
    at the model rate, as the stream rounds it), before anything loads."""
    if overlap is None:
        return
    window = round(WINDOW_SECONDS * MODEL_SAMPLE_RATE)
    hop = window - round(overlap * MODEL_SAMPLE_RATE)
    if hop < round((WINDOW_SECONDS - MAX_OVERLAP_SECONDS) * MODEL_SAMPLE_RATE):
        raise SfcliError(
            f"--overlap {overlap:g} is too long: at most {MAX_OVERLAP_SECONDS:g} s, so that the "
            f"{WINDOW_SECONDS:g} s windows start at least {WINDOW_SECONDS - MAX_OVERLAP_SECONDS:g} s apart"
        )


def missing_dirs(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def remove_empty(dirs: list[Path]) -> None:
    """Remove the folders a failed job created, deepest first, as long as they are empty."""
    for d in dirs:
        try:
            d.rmdir()
        except OSError:
            return
