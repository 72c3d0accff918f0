"""``sfcli embed``: SoundWords embeddings of descriptions and audio files, as JSON lines or .npy."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sfcli.errors import OutputError, QueryError, SfcliError

EPILOG = """\
**Examples**

```
sfcli embed --text "owl hooting" --text "a dog barking"    # one JSON line per text
sfcli embed clip1.wav recordings/                           # one JSON line per file
sfcli embed -t "rain on a roof" rain.flac --npy emb.npy     # also save an (n, 64) array
```
"""


def embed(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(metavar="[FILE...]", help="Audio files, folders (searched recursively) or glob patterns."),
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option("--text", "-t", help="A description to embed; repeat for several."),
    ] = None,
    npy: Annotated[
        Path | None,
        typer.Option("--npy", help="Also save all embeddings (texts first, then files) as an (n, 64) .npy array."),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Folder with soundwords/ (or the soundwords folder itself)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing --npy file.")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "cpu",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on stdout (needs --npy).")] = False,
) -> None:
    """Print the 64-d SoundWords embedding of each --text and each FILE as one JSON line.

    Lines look like {"text": "...", "embedding": [...]} or {"file": "...", "embedding": [...]}; rows
    are unit vectors, so a dot product is a cosine similarity. Audio longer than the model's window
    (about 2.3 s) is embedded window by window and averaged.
    """
    from sfcli.cli.common import expand_inputs

    texts = list(text or [])
    for t in texts:
        if not t.strip():
            raise QueryError("--text is empty; describe the sound, e.g. --text 'owl hooting'")
    if quiet and npy is None:
        raise SfcliError("--quiet prints nothing, so it needs --npy FILE to write the embeddings to")
    npy = _npy_path(npy, force) if npy is not None else None
    files = expand_inputs(list(inputs or [])) if inputs else []
    if not texts and not files:
        raise SfcliError("nothing to embed: give --text DESCRIPTION and/or audio FILEs")

    from sfcli.audio import load_audio
    from sfcli.words import SoundWords

    # Read every file first, so that a bad input fails before any model is loaded.
    clips = []
    for f in files:
        data, sr = load_audio(f)
        clips.append((data.mean(axis=0), sr))

    sw = SoundWords.from_pretrained(models, device=device)
    rows = []
    if texts:
        emb = sw.embed_text(texts)
        for t, e in zip(texts, emb, strict=True):
            rows.append(e)
            if not quiet:
                _print({"text": t, "embedding": _round(e)})
    for f, (clip, sr) in zip(files, clips, strict=True):
        e = sw.embed_audio([clip], sr)[0]
        rows.append(e)
        if not quiet:
            _print({"file": str(f), "embedding": _round(e)})
    if npy is not None:
        _save_npy(npy, rows)


def _npy_path(npy: Path, force: bool) -> Path:
    """The ``--npy`` file (``.npy`` added to a name without it, as ``numpy.save`` does), checked before any
    work: not ``-``, not a folder, not an existing file without ``--force``, in a writable folder."""
    from sfcli.cli.common import check_output_file

    if str(npy) == "-":
        raise OutputError("--npy needs a file name; the array cannot go to stdout (-), which has the JSON lines")
    if npy.is_dir():
        raise OutputError(f"--npy {npy} is a folder; give a file name, e.g. {npy / 'embeddings.npy'}")
    if npy.suffix != ".npy":
        npy = npy.with_name(npy.name + ".npy")
    check_output_file(npy, force, "--npy")
    return npy


def _save_npy(npy: Path, rows: list[object]) -> None:
    """Save the ``(n, 64)`` float32 array atomically (no half-written file is ever left)."""
    import io

    import numpy as np

    from sfcli.cli.common import write_output_file

    buf = io.BytesIO()
    np.save(buf, np.stack(rows).astype(np.float32))  # type: ignore[arg-type]
    write_output_file(npy, buf.getvalue())


def _round(e: object) -> list[float]:
    return [round(float(v), 6) for v in e]  # type: ignore[attr-defined]


def _print(obj: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
