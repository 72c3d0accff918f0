"""Audio input/output: any file in, float32 ``(channels, samples)`` inside, atomic writes out.

libsndfile (through soundfile) reads WAV, FLAC, OGG/Vorbis, Opus and MP3. Other containers (m4a,
aac, mp4, webm, ...) are decoded with pydub + ffmpeg when ffmpeg is installed. Every problem with an
input file surfaces as :class:`sfcli.errors.AudioError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from sfcli.errors import AudioError, OutputError, QueryError
from sfcli.sample_format import PCM_BITS, to_pcm

# The default model rate, for SoundFilter configs without ``sample_rate``: the separator runs at its model's
# config rate (sfcli.api.Separator.model_rate).
MODEL_SAMPLE_RATE = 16000
MIN_REFERENCE_SECONDS = 0.1
SNDFILE_EXTENSIONS = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au"}
FFMPEG_EXTENSIONS = {".m4a", ".aac", ".mp4", ".webm", ".mkv", ".wma", ".mov", ".3gp", ".amr"}
AUDIO_EXTENSIONS = SNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS
OUTPUT_FORMATS = {"wav": ("WAV", "FLOAT"), "flac": ("FLAC", "PCM_24")}


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    subtype: str | None = None
    """libsndfile's sample format of the file ("PCM_16", "FLOAT", "MPEG_LAYER_III", ...); ``None``
    when ffmpeg decoded it."""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")


def _wav_truncated(path: Path) -> bool:
    """True when a RIFF/WAVE file's data chunk claims more bytes than the file holds."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return False
            size = path.stat().st_size
            pos = 12
            while pos + 8 <= size:
                fh.seek(pos)
                chunk_id, chunk_len = struct.unpack("<4sI", fh.read(8))
                if chunk_id == b"data":
                    if chunk_len in (0, 0xFFFFFFFF):  # streamed WAV with unknown size
                        return False
                    return pos + 8 + chunk_len > size
                pos += 8 + chunk_len + (chunk_len & 1)
    except OSError:
        return False
    return False


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence what C libraries print straight to file descriptor 2 (libmpg123's "Cannot read next
    header" and the like) while a file is opened; our own one-line error says what went wrong."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor 2 (embedded interpreters)
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def ffmpeg_problem() -> str | None:
    """Why ffmpeg decoding is unavailable ("ffmpeg is not installed", "ffprobe is missing"), or ``None``.

    pydub runs ``ffprobe`` to read a file's streams before ``ffmpeg`` decodes it, so both are needed.
    """
    if shutil.which("ffmpeg") is None:
        return "ffmpeg is not installed"
    if shutil.which("ffprobe") is None:
        return "ffprobe is missing (pydub needs it next to ffmpeg; it ships in the ffmpeg package)"
    return None


def _require_ffmpeg(path: Path) -> None:
    problem = ffmpeg_problem()
    if problem is not None:
        raise AudioError(
            f"{path}: {path.suffix or 'this'} files need ffmpeg, but {problem} "
            "(install it, e.g. `apt-get install ffmpeg`, or convert the file to WAV/FLAC)"
        )


def _decode_with_ffmpeg(path: Path) -> Path:
    """Decode ``path`` to a temporary float WAV with pydub + ffmpeg; the caller deletes it."""
    _require_ffmpeg(path)
    try:
        from pydub import AudioSegment
    except ImportError as exc:  # pragma: no cover - pydub is a dependency
        raise AudioError(f"{path}: decoding this format needs pydub") from exc
    try:
        with _quiet_stderr():
            seg = AudioSegment.from_file(str(path))
    except Exception as exc:
        raise AudioError(f"{path}: not an audio file libsndfile or ffmpeg can decode") from exc
    fd, tmp = tempfile.mkstemp(suffix=".wav", prefix="sfcli-decode-")
    os.close(fd)
    samples = np.array(seg.get_array_of_samples(), dtype=np.float32).reshape(-1, seg.channels)
    samples /= float(1 << (8 * seg.sample_width - 1))
    sf.write(tmp, samples, seg.frame_rate, subtype="FLOAT")
    return Path(tmp)


class AudioReader:
    """Open an audio file for block-wise reading (a context manager).

    ``reader.info`` describes it; ``reader.blocks(n)`` yields float32 ``(channels, <=n)`` arrays and
    raises :class:`AudioError` for NaN/Inf samples, decoding errors and truncated files.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        _check_exists(self.path)
        self._tmp: Path | None = None
        source = self.path
        if self.path.suffix.lower() in FFMPEG_EXTENSIONS:
            self._tmp = source = _decode_with_ffmpeg(self.path)
        try:
            with _quiet_stderr():
                self._sf = sf.SoundFile(str(source))
        except (sf.LibsndfileError, RuntimeError) as exc:
            if self._tmp is None and ffmpeg_problem() is None:
                self._tmp = _decode_with_ffmpeg(self.path)
                self._sf = sf.SoundFile(str(self._tmp))
            else:
                self.close()
                raise AudioError(_undecodable(self.path, exc)) from exc
        if self._tmp is None and _wav_truncated(self.path):
            self.close()
            raise AudioError(f"{self.path}: file is truncated (its header promises more audio than it holds)")
        self.info = AudioInfo(
            self.path,
            int(self._sf.samplerate),
            int(self._sf.channels),
            int(self._sf.frames),
            None if self._tmp is not None else str(self._sf.subtype),
        )
        if self.info.frames <= 0:
            self.close()
            raise AudioError(f"{self.path}: holds no audio samples")

    def blocks(self, blocksize: int = 1 << 16) -> Iterator[np.ndarray]:
        """Yield float32 ``(channels, frames)`` blocks until the end of the file."""
        read = 0
        while True:
            try:
                block = self._sf.read(blocksize, dtype="float32", always_2d=True)
            except sf.LibsndfileError as exc:
                raise AudioError(f"{self.path}: cannot decode ({_sf_reason(exc)}); is it truncated?") from exc
            if block.shape[0] == 0:
                break
            if not np.isfinite(block).all():
                raise AudioError(f"{self.path}: contains NaN or infinite samples")
            read += block.shape[0]
            yield np.ascontiguousarray(block.T)
        if read == 0:
            raise AudioError(f"{self.path}: holds no audio samples")
        if read < self.info.frames * 0.99 - 1:
            raise AudioError(f"{self.path}: file is truncated (read {read} of {self.info.frames} frames)")

    def close(self) -> None:
        """Close the file and delete any temporary decode."""
        sfh = getattr(self, "_sf", None)
        if sfh is not None:
            sfh.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _undecodable(path: Path, exc: Exception) -> str:
    """The one-line message for a file that libsndfile cannot open (and ffmpeg could not try)."""
    reason = _sf_reason(exc)
    # libsndfile reports "File does not exist or is not a regular file" for an existing file whose
    # MP3 decoder rejected it; the file exists (checked before), so that reason only misleads.
    detail = "" if "does not exist" in reason else f"libsndfile: {reason}"
    problem = ffmpeg_problem()
    if problem is not None:
        detail = f"{detail}; " if detail else ""
        detail += f"ffmpeg was not tried: {problem}"
    return f"{path}: not an audio file libsndfile or ffmpeg can decode" + (f" ({detail})" if detail else "")


def _sf_reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.split(": ", 1)[-1] if text.startswith("Error opening") else text


FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")  # the only sample formats that can hold NaN or infinity


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo | None:
    """Check an input before any model loads: it exists and its header reads (or, for formats that
    only ffmpeg decodes, ffmpeg and ffprobe are there); a file of float samples is also read through
    once, block by block, so that NaN / infinite samples or a truncated body are refused up front
    (integer formats cannot hold them). Raises :class:`AudioError`; returns the header's
    information, or ``None`` where only a full ffmpeg decode would tell."""
    path = Path(path)
    _check_exists(path)
    if path.suffix.lower() in FFMPEG_EXTENSIONS:
        _require_ffmpeg(path)
        return None
    with AudioReader(path) as reader:
        if reader.info.subtype in FLOAT_SUBTYPES:
            for _ in reader.blocks():
                pass
        return reader.info


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Header information of an audio file (raises :class:`AudioError` if unreadable)."""
    with AudioReader(path) as reader:
        return reader.info


def load_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a whole file as float32 ``(channels, samples)`` and its sample rate."""
    with AudioReader(path) as reader:
        data = np.concatenate(list(reader.blocks()), axis=1)
        return data, reader.info.sample_rate


def to_mono(x: np.ndarray) -> np.ndarray:
    """Average channels: ``(channels, n)`` or ``(n,)`` → ``(n,)`` float32."""
    x = np.asarray(x, dtype=np.float32)
    return x if x.ndim == 1 else x.mean(axis=0)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample ``(n,)`` or ``(channels, n)`` float audio with soxr (high quality)."""
    x = np.asarray(x, dtype=np.float32)
    if sr_in == sr_out:
        return x
    if x.ndim == 1:
        return soxr.resample(x, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)
    return np.ascontiguousarray(soxr.resample(x.T, sr_in, sr_out, quality="HQ").T, dtype=np.float32)


def load_audio_mono(path: str | os.PathLike[str], sample_rate: int = MODEL_SAMPLE_RATE) -> np.ndarray:
    """Read a file, mix it to mono and resample it to ``sample_rate``."""
    data, sr = load_audio(path)
    return resample(to_mono(data), sr, sample_rate)


def validate_array(x: np.ndarray, name: str = "audio") -> np.ndarray:
    """Check an in-memory signal: 1-D or 2-D, non-empty, finite. Returns it as float32."""
    x = np.asarray(x)
    if x.ndim not in (1, 2):
        raise AudioError(f"{name} must have shape (samples,) or (channels, samples), not {x.shape}")
    if x.shape[-1] == 0 or x.size == 0:
        raise AudioError(f"{name} holds no samples")
    if not np.issubdtype(x.dtype, np.number):
        raise AudioError(f"{name} must be numeric, not {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise AudioError(f"{name} contains NaN or infinite samples")
    return x


def check_reference(clip: np.ndarray, sample_rate: int) -> np.ndarray:
    """A reference clip as mono float32, or :class:`QueryError` when it cannot serve as a query
    (no sample rate, non-finite, shorter than ``MIN_REFERENCE_SECONDS``, silent)."""
    if sample_rate is None or sample_rate <= 0:
        raise QueryError("a reference clip needs its sample rate (reference_sample_rate=...)")
    mono = to_mono(validate_array(clip, "reference clip"))
    if mono.shape[0] < MIN_REFERENCE_SECONDS * sample_rate:
        raise QueryError(
            f"the reference clip is {mono.shape[0] / sample_rate:.3f} s long; "
            f"it must be at least {MIN_REFERENCE_SECONDS} s"
        )
    if float(np.abs(mono).max()) == 0.0:
        raise QueryError("the reference clip is silent")
    return mono


def default_file_mode() -> int:
    """Permission bits a plain ``open()`` would give a new file (0o666 minus the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class AtomicAudioWriter:
    """Write an audio file block by block to a temporary file; rename it into place on commit.

    Without ``force`` an existing target is an error. ``abort()`` (or leaving the ``with`` block by
    an exception) deletes the temporary file, so no half-written output is ever left.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        sample_rate: int,
        channels: int,
        *,
        fmt: str = "wav",
        force: bool = False,
        subtype: str | None = None,
    ) -> None:
        self.path = Path(path)
        if fmt not in OUTPUT_FORMATS:
            raise OutputError(f"unknown output format {fmt!r} (choose from {', '.join(OUTPUT_FORMATS)})")
        major, default_subtype = OUTPUT_FORMATS[fmt]
        subtype = subtype or default_subtype
        if not sf.check_format(major, subtype):
            raise OutputError(f"{fmt.upper()} files cannot hold {subtype} samples")
        if self.path.exists() and not force:
            raise OutputError(f"{self.path} exists; use --force to overwrite")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=".part")
            os.close(fd)
        except OSError as exc:
            raise OutputError(f"cannot write to {self.path.parent}: {exc.strerror or exc}") from exc
        self._tmp = Path(tmp)
        self.subtype = subtype
        self._sf = sf.SoundFile(str(self._tmp), "w", sample_rate, channels, subtype=subtype, format=major)
        self.force = force

    def write(self, block: np.ndarray) -> None:
        """Append a ``(channels, frames)`` float block (rounded and clipped for integer subtypes)."""
        data = np.asarray(block, dtype=np.float32)
        if self.subtype in PCM_BITS:  # round here, exactly, rather than by libsndfile's own scaling
            data = to_pcm(data, self.subtype)
        try:
            self._sf.write(np.ascontiguousarray(data.T))
        except (OSError, sf.LibsndfileError) as exc:
            self.abort()
            raise OutputError(f"cannot write {self.path}: {exc}") from exc

    def commit(self) -> Path:
        """Close the temporary file and move it to the final path."""
        self._sf.close()
        if self.path.exists() and not self.force:
            self.abort()
            raise OutputError(f"{self.path} appeared while writing; use --force to overwrite")
        os.chmod(self._tmp, default_file_mode())  # mkstemp creates 0600 files
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file."""
        with contextlib.suppress(Exception):
            self._sf.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicAudioWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_audio(
    path: str | os.PathLike[str],
    x: np.ndarray,
    sample_rate: int,
    *,
    force: bool = False,
    fmt: str | None = None,
) -> Path:
    """Write ``(n,)`` or ``(channels, n)`` audio atomically (``fmt`` from the suffix by default)."""
    path = Path(path)
    fmt = fmt or (path.suffix.lower().lstrip(".") or "wav")
    x = np.asarray(x, dtype=np.float32)
    x2 = x[None, :] if x.ndim == 1 else x
    with AtomicAudioWriter(path, sample_rate, x2.shape[0], fmt=fmt, force=force) as writer:
        writer.write(x2)
    return path
