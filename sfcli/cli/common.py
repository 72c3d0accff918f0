"""Shared CLI plumbing: error reporting, consoles, input expansion, output naming."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click
import typer
from rich.console import Console

from sfcli.audio import AUDIO_EXTENSIONS
from sfcli.errors import OutputError, SfcliError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def adapt_option(help_text: str) -> typer.models.OptionInfo:
    """The ``--adapt STEPS`` option (0-1000 fine-tuning steps on the reference) that ``separate`` and
    ``eval`` share, with each command's own help."""
    return typer.Option("--adapt", min=0, max=1000, metavar="STEPS", help=help_text)


def one_line(message: str) -> str:
    """A user error message as one line.

    An error raised in a DataLoader worker process arrives re-raised with the worker's traceback in
    its message ("Caught SfcliError in DataLoader worker process 0. Original Traceback ..."); its last
    line holds the original message. Any other line breaks become "; ".
    """
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if len(lines) > 1 and "Original Traceback" in message:
        return lines[-1].split(": ", 1)[-1]
    return "; ".join(lines)


def fail(message: str) -> None:
    """Print ``sfcli: error: message`` on one line of stderr."""
    err_console.print(f"sfcli: error: {one_line(message)}", markup=False)


def run_app(app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run the Typer app; user errors become one line on stderr and exit code 1, never a traceback.

    ``argv`` defaults to ``sys.argv[1:]``. Returns the exit code.
    """
    try:
        code = app(args=argv, prog_name="sfcli", standalone_mode=False)
    except SfcliError as exc:
        fail(str(exc))
        return 1
    except (typer.Exit, click.exceptions.Exit) as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except (typer.Abort, click.exceptions.Abort):
        fail("aborted")
        return 130
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except MemoryError:
        fail("out of memory")
        return 1
    except Exception as exc:
        # Usage errors from Typer's bundled click ("Missing parameter", "No such option", ...).
        if callable(getattr(exc, "format_message", None)) and isinstance(getattr(exc, "exit_code", None), int):
            if type(exc).__name__ == "NoArgsIsHelpError" and callable(getattr(exc, "show", None)):
                exc.show()  # a bare group ("sfcli", "sfcli eval"): its help, on stderr
            else:
                fail(usage_error_line(exc, app, sys.argv[1:] if argv is None else argv))
            return exc.exit_code
        raise
    return code if isinstance(code, int) else 0


def usage_error_line(exc: Exception, app: typer.Typer, argv: list[str]) -> str:
    """Click's usage error as one line: ``No such option: --x (see sfcli separate --help)``.

    Click would print three lines (usage, "Try ... for help", the error); the message and where to
    look for help are what matter. The command comes from the error's context, or from ``argv``
    when the parser raised it without one.
    """
    message = one_line(exc.format_message()).rstrip(".")  # type: ignore[attr-defined]
    command = getattr(getattr(exc, "ctx", None), "command_path", None) or _command_path(app, argv)
    return f"{message} (see {command} --help)"


def _command_path(app: typer.Typer, argv: list[str]) -> str:
    """``sfcli`` and the sub-command names that ``argv`` starts with (``sfcli eval words``)."""
    command: object = typer.main.get_command(app)
    path = ["sfcli"]
    for token in argv:
        sub = getattr(command, "commands", {}).get(token)
        if sub is None:
            break
        path.append(token)
        command = sub
    return " ".join(path)


def expand_inputs(items: list[str], outputs: Callable[[Path], bool] | None = None) -> list[Path]:
    """Turn files, folders (searched recursively for audio) and glob patterns into a file list.

    Order is kept, duplicates dropped. A missing path is kept so that it is reported as an error
    for that item; a folder or glob that matches no audio file is an error at once. Files that a
    folder or glob finds and for which ``outputs(path)`` is true (the command's own earlier
    outputs) are skipped; files named one by one are always kept.
    """
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            out.extend(_not_outputs(found, outputs, f"{path}: folder holds no audio files"))
        elif not path.exists() and glob.has_magic(item):
            found = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            out.extend(_not_outputs(found, outputs, f"{item}: pattern matches no files"))
        else:
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _not_outputs(found: list[Path], outputs: Callable[[Path], bool] | None, none_found: str) -> list[Path]:
    """``found`` less the earlier outputs; raises ``none_found`` (saying what was skipped) when nothing is left."""
    kept = [p for p in found if outputs is None or not outputs(p)]
    if not kept:
        skipped = len(found) - len(kept)
        raise SfcliError(none_found + (f" besides {skipped} earlier output file(s)" if skipped else ""))
    return kept


def unwritable(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written to, or ``None``."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot write to {folder}: {existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write to {folder}: permission denied"
    return None


def check_output_file(path: Path, force: bool, option: str) -> None:
    """Refuse an output file before any work is done, with a one-line :class:`OutputError`.

    ``path`` must not be a folder or ``-``, must not exist unless ``force``, and its folder must exist
    and be writable. ``option`` names the option in the messages (``--markdown``).
    """
    if str(path) == "-":
        raise OutputError(f"{option} needs a file name; it cannot write to stdout (-)")
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give a file name")
    if os.path.lexists(path) and not force:
        raise OutputError(f"{path} exists; use --force to overwrite")
    parent = path.parent
    if not parent.is_dir():
        why = "is not a folder" if parent.exists() else "does not exist"
        raise OutputError(f"cannot write {path}: {parent} {why}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: permission denied")


def write_output_file(path: Path, data: bytes) -> None:
    """Write an output file atomically (a temporary file in the same folder, then a rename).

    An OS error becomes a one-line :class:`OutputError`; no partial file is left behind.
    """
    from sfcli.pretrained import atomic_write_bytes

    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def output_names(paths: list[Path]) -> list[str]:
    """A distinct, predictable output folder name per input.

    The file stem (``clip.wav`` → ``clip``); inputs that share a stem get their extension appended
    (``clip.mp3`` and ``clip.ogg`` → ``clip-mp3`` and ``clip-ogg``); the same file name in different
    folders gets its two parent folders' names in front (``a/x/take.wav`` → ``a_x_take``). A clash
    that survives all that gets a short hash of the full path.
    """

    def clashing(names: list[str]) -> set[str]:
        seen: dict[str, int] = {}
        for n in names:
            seen[n] = seen.get(n, 0) + 1
        return {n for n, c in seen.items() if c > 1}

    names = [p.stem for p in paths]
    stem_clash = clashing(names)
    name_clash = clashing([p.name for p in paths])
    for i, p in enumerate(paths):
        if p.stem not in stem_clash:
            continue
        if p.name in name_clash:
            parts = [*p.resolve().parent.parts[-2:], p.stem]
            names[i] = "_".join(x for x in parts if x not in ("/", ""))
        else:
            names[i] = f"{p.stem}-{p.suffix.lstrip('.').lower()}"
    clash = clashing(names)
    return [
        f"{n}-{hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:6]}" if n in clash else n
        for p, n in zip(paths, names, strict=True)
    ]


def slugify(text: str, max_len: int = 48) -> str:
    """A file-system-safe folder name for a text query ("owl hooting" → "owl-hooting")."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not slug or len(slug) > max_len:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        slug = f"{slug[: max_len - 9].rstrip('-')}-{digest}" if slug else f"query-{digest}"
    return slug
