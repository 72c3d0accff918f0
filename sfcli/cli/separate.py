"""``sfcli separate``: write the described sound and everything else for each input file."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from sfcli.cli.common import err_console, expand_inputs, fail, output_names, slugify
from sfcli.errors import QueryError, SfcliError

EPILOG = """\
**Examples**

```
sfcli separate mix.wav --text "owl hooting"        # separated/mix/target.wav + residual.wav
sfcli separate mix.wav --ref sample.wav            # query by an example clip
sfcli separate street.flac -t "car horn" -t "dog barking"   # one subfolder per query
sfcli separate recordings/ -o out --json           # a whole folder, JSON lines for scripts
sfcli separate talk.wav -t "a dog barking" --plot  # remove a sound: keep residual.wav
```
"""


class Device(str, Enum):
    """Where the networks run."""

    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class Format(str, Enum):
    """Output container (WAV is 32-bit float; FLAC is 24-bit)."""

    wav = "wav"
    flac = "flac"


def separate(
    inputs: Annotated[
        list[str],
        typer.Argument(metavar="INPUT...", help="Audio files, folders (searched recursively) or glob patterns."),
    ],
    text: Annotated[
        list[str] | None,
        typer.Option("--text", "-t", help="Describe the sound to extract; repeat for several queries."),
    ] = None,
    ref: Annotated[
        Path | None,
        typer.Option("--ref", "-r", help="An example clip of the sound to extract (instead of --text)."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("separated"),
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing outputs.")] = False,
    plot: Annotated[bool, typer.Option("--plot", help="Also write spectrogram.png per output folder.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per written output on stdout.")
    ] = False,
    device: Annotated[Device, typer.Option("--device", help="cpu, cuda or auto.")] = Device.cpu,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.wav,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Folder with soundwords/ and soundfilter/ (default: shipped models/)."),
    ] = None,
    overlap: Annotated[
        float | None,
        typer.Option("--overlap", min=0.0, help="Cross-faded overlap between 2 s windows, in seconds [default: 0.25]."),
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
) -> None:
    """Extract the sound described by --text (or like the --ref clip) from each INPUT.

    Writes OUT/<input name>/target.wav (the sound) and OUT/<input name>/residual.wav (everything
    else); they add up to the input exactly. A file that fails is reported in one line and skipped;
    the exit code is 1 if any failed.
    """
    from sfcli.api import Separator, describe_query
    from sfcli.audio import load_audio

    texts = list(text or [])
    if texts and ref is not None:
        raise QueryError("give either --text or --ref, not both")
    if not texts and ref is None:
        raise QueryError("say what to extract: --text 'owl hooting' or --ref example.wav")
    for t in texts:
        if not t.strip():
            raise QueryError("a --text query is empty")
    if overlap is not None and overlap >= 2.0:
        raise SfcliError("--overlap must be shorter than the 2 s window")

    files = expand_inputs(inputs)
    names = output_names(files)
    options = {} if overlap is None else {"overlap_seconds": overlap}
    sep = Separator.from_pretrained(
        models, device=device.value, text_expansion=not raw_text, postfilter=postfilter, **options
    )

    # Every query is embedded once, up front; a bad query stops before any file is touched.
    queries: list[tuple[str, str | None, object]] = []
    if ref is not None:
        clip, sr = load_audio(ref)
        emb = sep.embed_query(reference=clip, reference_sample_rate=sr)
        queries.append((describe_query(None, str(ref)), None, emb))
    else:
        slugs: list[str] = []
        for t in texts:
            slug = slugify(t)
            while slug in slugs:
                slug = slugify(f"{t} {len(slugs)}")
            slugs.append(slug)
            queries.append((describe_query(t, None), slug if len(texts) > 1 else None, sep.embed_query(text=t)))

    show_progress = err_console.is_terminal and not as_json
    failures = 0
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not show_progress,
        transient=True,
    )
    with progress:
        for path, name in zip(files, names, strict=True):
            for label, sub, emb in queries:
                folder = out_dir / name / sub if sub else out_dir / name
                suffix = fmt.value
                task = progress.add_task(f"{path.name} [{label}]", total=None)

                def report(done: int, total: int, task: int = task) -> None:
                    progress.update(task, completed=done, total=total)

                try:
                    summary = sep.separate_file(
                        path,
                        folder / f"target.{suffix}",
                        folder / f"residual.{suffix}",
                        embedding=emb,  # type: ignore[arg-type]
                        fmt=fmt.value,
                        force=force,
                        progress=report,
                    )
                    if plot:
                        from sfcli.plot import plot_separation

                        png = folder / "spectrogram.png"
                        if png.exists() and not force:
                            raise SfcliError(f"{png} exists; use --force to overwrite")
                        plot_separation(path, summary["target"], summary["residual"], png, title=label)
                        summary["plot"] = str(png)
                except SfcliError as exc:
                    failures += 1
                    fail(str(exc))
                    continue
                finally:
                    progress.remove_task(task)
                summary["query"] = label
                if as_json:
                    sys.stdout.write(json.dumps(summary) + "\n")
                    sys.stdout.flush()
                else:
                    err_console.print(
                        f"{path} [{label}] -> {folder}/ ({summary['duration']:.1f} s audio in "
                        f"{summary['seconds']:.1f} s)",
                        markup=False,
                    )
    if failures:
        total = len(files) * len(queries)
        if failures < total:
            fail(f"{failures} of {total} items failed")
        raise typer.Exit(code=1)
