"""``sfcli separate``: write the described sound and everything else for each input file.

Everything that can be wrong with the arguments, the inputs and the outputs is checked before torch
and the models load (that takes seconds), so a mistake is answered at once.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.spinner import Spinner

from sfcli.cli.common import adapt_option, err_console, fail
from sfcli.cli.separate_plan import Job, Query, check_overlap, missing_dirs, parse_queries, plan_jobs, remove_empty
from sfcli.errors import SfcliError
from sfcli.sample_format import output_subtype
from sfcli.threads import choose_openmp_wait_policy, set_torch_threads

EPILOG = """\
**Examples**

```
sfcli separate mix.wav --text "owl hooting"        # separated/mix/target.wav + residual.wav
sfcli separate mix.wav --ref sample.wav            # query by an example clip
sfcli separate mix.wav -r a.wav -r b.wav           # several clips: one query, their mean
sfcli separate takes/ --ref sample.wav --adapt 10  # first adapt to the example (~7 s, once)
sfcli separate street.flac -t "car horn" -t "dog barking"   # one subfolder per query
sfcli separate recordings/ -o out --json           # a whole folder, JSON lines for scripts
sfcli separate recordings/ -t "a dog" -q           # quiet: only warnings and errors
sfcli separate talk.wav -t "a dog barking" --plot  # remove a sound: keep residual.wav
sfcli separate take.wav -t "a dog" --bits 16       # 16-bit output whatever the input
```
"""


class Device(str, Enum):
    """Where the networks run."""

    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class Format(str, Enum):
    """Output container."""

    wav = "wav"
    flac = "flac"


class Bits(str, Enum):
    """Output sample format: 16- or 24-bit PCM, 32-bit float (WAV only)."""

    b16 = "16"
    b24 = "24"
    b32 = "32"


def _load(
    models: Path | None,
    threads: int | None,
    quiet: bool,
    options: dict[str, Any],
    queries: list[Query],
    adapt: int = 0,
) -> tuple[Any, int]:
    """Load torch and the models (with "loading models…" on a terminal) and embed every query; with
    ``adapt`` steps, give each reference query its own adapted separator (:mod:`sfcli.adapt`).

    Returns the separator and torch's thread count before it was set, to restore afterwards.
    """
    choose_openmp_wait_policy(threads)
    status: Any = nullcontext()
    if err_console.is_terminal and not quiet:  # a spinner, drawn at once and gone when the models are in
        status = Live(Spinner("dots", "loading models…"), console=err_console, transient=True)
        status.start(refresh=True)
    with status:
        import torch

        from sfcli.api import Separator, mean_embedding

        previous = torch.get_num_threads()
        set_torch_threads(threads)
        sep = Separator.from_pretrained(models, **options)
        for q in queries:
            if q.text is not None:
                q.embedding = sep.embed_query(text=q.text)
                check = sep.check_query(q.text)
                q.matches, q.warnings = check.matches, check.warnings
            else:
                embs = [sep.embed_query(reference=c, reference_sample_rate=sr) for c, sr in q.clips]
                q.embedding = embs[0] if len(embs) == 1 else mean_embedding(embs)
                if adapt:
                    from sfcli.adapt import AdaptOptions

                    if isinstance(status, Live):
                        status.update(Spinner("dots", f"adapting to {q.label} ({adapt} steps)…"), refresh=True)
                    q.separator = sep.adapted(q.clips, q.embedding, AdaptOptions(steps=adapt))
    return sep, previous


def _run(sep: Any, job: Job, progress: Progress, fmt: str, bits: int | None, force: bool) -> dict[str, Any]:
    """Separate one job; on failure or interrupt remove the folders it created."""
    created = missing_dirs(job.folder)
    task = progress.add_task(f"{job.path.name} [{job.query.label}]", total=None)

    def report(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    try:
        summary = (job.query.separator or sep).separate_file(
            job.path,
            job.target,
            job.residual,
            embedding=job.query.embedding,
            fmt=fmt,
            force=force,
            progress=report,
            bits=bits,
        )
        if job.plot is not None:
            from sfcli.plot import plot_separation

            plot_separation(job.path, summary["target"], summary["residual"], job.plot, title=job.query.label)
            summary["plot"] = str(job.plot)
    except BaseException:
        for p in (job.target, job.residual) if created else ():
            p.unlink(missing_ok=True)
        remove_empty(created)
        raise
    finally:
        progress.remove_task(task)
    summary["query"] = job.query.label
    summary["matches"] = job.query.matches
    summary["presence"] = summary.get("presence")
    summary["warnings"] = [*job.query.warnings, *summary.get("warnings", [])]
    return summary


def _report(job: Job, summary: dict[str, Any], as_json: bool, quiet: bool = False) -> None:
    """The result line (or JSON object) of a job, and a warning when samples had to be clipped.

    ``quiet`` drops the result line (warnings and the JSON object stay)."""
    clipped_t, clipped_r = summary.get("clipped_target", 0), summary.get("clipped_residual", 0)
    if clipped_t or clipped_r:
        err_console.print(
            f"sfcli: warning: {job.path} [{job.query.label}]: {clipped_t} target and {clipped_r} residual "
            f"samples clipped to fit {summary['subtype']}; {_keep_advice(job.target)} keeps them",
            markup=False,
        )
    for warning in summary.get("warnings", []):
        err_console.print(f"sfcli: warning: {job.path} [{job.query.label}]: {warning}", markup=False)
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()
    elif not quiet:
        err_console.print(
            f"{job.path} [{job.query.label}] -> {job.folder}/ ({summary['duration']:.1f} s audio in "
            f"{summary['seconds']:.1f} s{_check_text(summary)})",
            markup=False,
        )


def _keep_advice(target: Path) -> str:
    """The options that keep out-of-range samples: 32-bit float, which only WAV holds."""
    return "--bits 32" if target.suffix.lower() == ".wav" else "--format wav --bits 32"


def _check_text(summary: dict[str, Any]) -> str:
    """The query check on a result line: "; matched dog barking 0.91, ...; presence 0.42" (or nothing)."""
    out = ""
    if summary.get("matches"):
        out += "; matched " + ", ".join(f"{c} {s:.2f}" for c, s in summary["matches"])
    if summary.get("presence") is not None:
        out += f"; presence {summary['presence']:.2f}"
    return out


def _run_all(
    sep: Any, jobs: list[Job], fmt: str, bits: int | None, force: bool, as_json: bool, quiet: bool = False
) -> int:
    """Run every job, reporting each; returns the number that failed. Ctrl-C ends with exit code 130."""
    failures = 0
    with _progress(err_console.is_terminal and not (as_json or quiet)) as progress:
        for job in jobs:
            try:
                summary = _run(sep, job, progress, fmt, bits, force)
            except SfcliError as exc:
                failures += 1
                fail(str(exc))
                continue
            except KeyboardInterrupt:
                progress.stop()
                fail(f"interrupted; nothing written for {job.path}")
                raise typer.Exit(code=130) from None
            _report(job, summary, as_json, quiet)
    return failures


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not show,
        transient=True,
    )


def separate(
    inputs: Annotated[
        list[str],
        typer.Argument(metavar="INPUT", help="Audio files, folders (searched recursively) or glob patterns."),
    ],
    text: Annotated[
        list[str] | None,
        typer.Option("--text", "-t", metavar="TEXT", help="Describe the sound to extract; repeat for several queries."),
    ] = None,
    ref: Annotated[
        list[Path] | None,
        typer.Option(
            "--ref",
            "-r",
            metavar="CLIP",
            help="An example clip of the sound to extract (instead of --text); repeat to query by the mean "
            "of several clips.",
        ),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Output folder.")] = Path("separated"),
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing outputs.")] = False,
    plot: Annotated[bool, typer.Option("--plot", help="Also write spectrogram.png per output folder.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per written output on stdout.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress and no result lines; warnings and errors still go to stderr."),
    ] = False,
    device: Annotated[Device, typer.Option("--device", help="cpu, cuda or auto.")] = Device.cpu,
    fmt: Annotated[Format, typer.Option("--format", help="Output container.")] = Format.wav,
    bits: Annotated[
        Bits | None,
        typer.Option(
            "--bits",
            help="Output samples: 16 or 24-bit PCM, or 32-bit float (WAV). Default: the input's "
            "(16/24-bit PCM or float; float WAV / 24-bit FLAC for MP3, Ogg and other lossy inputs).",
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            metavar="N",
            help="CPU threads for the networks. Default: the cores now idle (cores minus load).",
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option(
            "--models", metavar="DIR", help="Folder with soundwords/ and soundfilter/ (default: shipped models/)."
        ),
    ] = None,
    overlap: Annotated[
        float | None,
        typer.Option(
            "--overlap",
            min=0.0,
            metavar="SECONDS",
            help="Cross-faded overlap between 2 s windows, in seconds, at most 1.5 [default: 0.25].",
        ),
    ] = None,
    raw_text: Annotated[
        bool,
        typer.Option(
            "--raw-text",
            help="Condition on the plain text embedding instead of the sound of the recordings it retrieves.",
        ),
    ] = False,
    postfilter: Annotated[
        bool,
        typer.Option(
            "--postfilter/--no-postfilter",
            help="Refine the target with a fine STFT mask built from the network's own estimates.",
        ),
    ] = True,
    two_pass: Annotated[
        bool,
        typer.Option(
            "--two-pass",
            help="Separate twice (the second time for everything the first pass left) and average: "
            "steadier on recordings unlike the training data, two to three times the time.",
        ),
    ] = False,
    adapt: Annotated[
        int,
        adapt_option(
            "With --ref: first fine-tune a copy of SoundFilter on the example clip(s) for STEPS steps "
            "(10 take about 7 s on 2 cores, once per query, not per file); helps most on sounds unlike the "
            "training data, though --two-pass helped more there (docs/results.md). 0: off."
        ),
    ] = 0,
) -> None:
    """Extract the sound described by --text (or like the --ref clips) from each INPUT.

    Writes OUT/NAME/target.wav (the sound) and OUT/NAME/residual.wav (everything else); they add up
    to the input exactly unless a warning says samples were clipped. NAME is the input's file name
    without its extension; inputs that share it are told apart by their extension (clip.mp3 and
    clip.ogg give clip-mp3 and clip-ogg) or, for the same file name in different folders, by their
    two parent folders (a/x/take.wav gives a_x_take). A folder or pattern INPUT skips the
    target/residual files of an earlier run into OUT. Arguments, inputs and existing outputs are
    checked before the models load. A file that fails is reported in one line and skipped; the exit
    code is 1 if any failed, 130 if interrupted (the interrupted file's outputs are not written).
    """
    check_overlap(overlap)
    queries = parse_queries(list(text or []), list(ref or []))
    if adapt and not ref:
        raise SfcliError("--adapt needs --ref: a text query has no example clip to adapt to")
    nbits = None if bits is None else int(bits.value)
    if nbits is not None:
        output_subtype(fmt.value, nbits, None)  # refuses a combination the container cannot hold
    jobs, failures, total = plan_jobs(inputs, queries, out_dir, fmt.value, plot, force)
    if jobs:
        options: dict[str, Any] = {"device": device.value, "text_expansion": not raw_text, "postfilter": postfilter}
        options["two_pass"] = two_pass
        if overlap is not None:
            options["overlap_seconds"] = overlap
        sep, previous_threads = _load(models, threads, as_json or quiet, options, queries, adapt)
        try:
            failures += _run_all(sep, jobs, fmt.value, nbits, force, as_json, quiet)
        finally:
            import torch

            torch.set_num_threads(previous_threads)  # for in-process callers; a CLI process exits anyway
    if failures:
        if total > 1:
            fail(f"{failures} of {total} failed")
        raise typer.Exit(code=1)
