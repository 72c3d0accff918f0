"""Readers for the archive formats that hold game sounds in Debian packages.

Each reader yields ``(member_name, bytes)`` for the audio members of one container file:

* ``.zip`` / ``.pk3`` / ``.wz`` — plain zip archives (:func:`iter_zip`);
* Qt resource files ``.rcc`` (gcompris) — :func:`iter_rcc`;
* OpenTTD sound catalogues ``.cat`` (opensfx), where each sample carries a title — :func:`iter_cat`;
* OpenClonk group files ``.ocg`` (nested, gzip with a changed magic, scrambled header) — :func:`iter_ocg`.

All readers raise :class:`ContainerError` on malformed input.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

AUDIO_EXT = (".wav", ".ogg", ".oga", ".flac", ".mp3")


class ContainerError(Exception):
    """A container file is malformed or of an unsupported variant."""


def _is_audio(name: str) -> bool:
    return name.lower().endswith(AUDIO_EXT)


# ------------------------------------------------------------------------------------------------ zip
def iter_zip(path: Path | str | bytes) -> Iterator[tuple[str, bytes]]:
    """Audio members of a zip archive (``.zip``, ``.pk3``, ``.wz``)."""
    src = io.BytesIO(path) if isinstance(path, bytes) else path
    try:
        with zipfile.ZipFile(src) as z:
            for info in z.infolist():
                if not info.is_dir() and _is_audio(info.filename):
                    yield info.filename, z.read(info)
    except zipfile.BadZipFile as exc:
        raise ContainerError(
            f"{path if not isinstance(path, bytes) else '<bytes>'}: not a zip archive ({exc})"
        ) from exc


# ------------------------------------------------------------------------------------------------ rcc
def _rcc_name(data: bytes, names_off: int, off: int) -> str:
    p = names_off + off
    (n,) = struct.unpack_from(">H", data, p)
    return data[p + 6 : p + 6 + 2 * n].decode("utf-16-be", errors="replace")


def iter_rcc(path: Path | str | bytes, audio_only: bool = True) -> Iterator[tuple[str, bytes]]:
    """Files of a Qt binary resource (``.rcc``): header ``qres``, a tree of nodes, names and data blobs.

    Supports format versions 1-3; zlib-compressed entries are inflated, zstd ones are skipped.
    """
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    if data[:4] != b"qres":
        raise ContainerError("not a Qt resource file (no 'qres' magic)")
    version, tree_off, data_off, names_off = struct.unpack_from(">IIII", data, 4)
    if version not in (1, 2, 3):
        raise ContainerError(f"unsupported rcc version {version}")
    node_size = 14 if version == 1 else 22

    def node(i: int) -> tuple[int, int, int, int]:
        p = tree_off + i * node_size
        name_off, flags = struct.unpack_from(">IH", data, p)
        a, b = struct.unpack_from(">II", data, p + 6)
        return name_off, flags, a, b

    out: list[tuple[str, bytes]] = []

    def walk(i: int, prefix: str, depth: int) -> None:
        if depth > 64:
            raise ContainerError("rcc tree too deep")
        name_off, flags, a, b = node(i)
        name = _rcc_name(data, names_off, name_off) if i else ""
        full = f"{prefix}/{name}" if i else ""
        if flags & 0x02:  # directory: a = child count, b = first child
            for k in range(a):
                walk(b + k, full, depth + 1)
            return
        # file: 6 bytes (country, language) precede data offset
        p = tree_off + i * node_size
        (doff,) = struct.unpack_from(">I", data, p + 10)
        if audio_only and not _is_audio(name):
            return
        (size,) = struct.unpack_from(">I", data, data_off + doff)
        blob = data[data_off + doff + 4 : data_off + doff + 4 + size]
        if flags & 0x01:  # zlib, with a 4-byte big-endian uncompressed length
            try:
                blob = zlib.decompress(blob[4:])
            except zlib.error as exc:
                raise ContainerError(f"{full}: bad zlib data ({exc})") from exc
        elif flags & 0x04:  # zstd: not supported here
            return
        out.append((full, blob))

    walk(0, "", 0)
    yield from out


# ------------------------------------------------------------------------------------------------ OpenTTD .cat
def iter_cat(path: Path | str | bytes) -> Iterator[tuple[str, bytes]]:
    """Samples of an OpenTTD sound catalogue (``opensfx.cat``) as ``(title, wav bytes)``.

    Layout: a table of ``(offset, size)`` little-endian uint32 pairs (the first offset / 8 gives the
    count, its top bit flags the new format); at each offset a length-prefixed title, then a RIFF file.
    """
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    if len(data) < 8:
        raise ContainerError("catalogue too short")
    (first,) = struct.unpack_from("<I", data, 0)
    count = (first & 0x7FFFFFFF) // 8
    if count <= 0 or count * 8 > len(data):
        raise ContainerError("bad catalogue header")
    for i in range(count):
        off, size = struct.unpack_from("<II", data, i * 8)
        off &= 0x7FFFFFFF
        if off + size > len(data) or size == 0:
            continue
        n = data[off]
        title = data[off + 1 : off + 1 + n].rstrip(b"\0").decode("latin-1", errors="replace")
        body = data[off + 1 + n : off + size]
        k = body.find(b"RIFF")
        if k < 0 or len(body) - k < 44:
            continue
        yield f"{i:03d} {title}", body[k:]


# ------------------------------------------------------------------------------------------------ OpenClonk .ocg
_OCG_MAGIC = b"RedWolf Design"
_OCG_HEADER = 204
_OCG_ENTRY = 316


def _unscramble(buf: bytearray) -> bytearray:
    """Undo C4Group's header scrambling (swap bytes 0/2 of every 3-byte triple, then XOR 237)."""
    for i in range(0, len(buf) - 2, 3):
        buf[i], buf[i + 2] = buf[i + 2], buf[i]
    for i in range(len(buf)):
        buf[i] ^= 237
    return buf


def _ocg_raw(data: bytes) -> bytes:
    if data[:2] in (b"\x1e\x8c", b"\x1f\x8b"):
        fixed = b"\x1f\x8b" + data[2:]
        try:
            return zlib.decompress(fixed, 16 + zlib.MAX_WBITS)
        except zlib.error as exc:
            raise ContainerError(f"bad compressed group ({exc})") from exc
    return data


def _iter_ocg_raw(raw: bytes, prefix: str, depth: int) -> Iterator[tuple[str, bytes]]:
    if depth > 16:
        raise ContainerError("group nesting too deep")
    if len(raw) < _OCG_HEADER:
        raise ContainerError("group too short")
    head = _unscramble(bytearray(raw[:_OCG_HEADER]))
    if not bytes(head).startswith(_OCG_MAGIC):
        raise ContainerError("not an OpenClonk group (bad magic)")
    (entries,) = struct.unpack_from("<i", head, 36)
    if entries < 0 or _OCG_HEADER + entries * _OCG_ENTRY > len(raw):
        raise ContainerError("bad group entry count")
    base = _OCG_HEADER + entries * _OCG_ENTRY
    for k in range(entries):
        p = _OCG_HEADER + k * _OCG_ENTRY
        name = raw[p : p + 257].split(b"\0", 1)[0].decode("latin-1", errors="replace")
        _packed, child, size, _unused, offset = struct.unpack_from("<iiiii", raw, p + 260)
        blob = raw[base + offset : base + offset + size]
        full = f"{prefix}{name}"
        if child:
            yield from _iter_ocg_raw(_ocg_raw(blob), full + "/", depth + 1)
        elif _is_audio(name):
            yield full, blob


def iter_ocg(path: Path | str | bytes) -> Iterator[tuple[str, bytes]]:
    """Audio members of an OpenClonk group file (``.ocg``), nested groups included (``A.ocg/B.wav``)."""
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    yield from _iter_ocg_raw(_ocg_raw(data), "", 0)


READERS = {".zip": iter_zip, ".pk3": iter_zip, ".wz": iter_zip, ".rcc": iter_rcc, ".cat": iter_cat, ".ocg": iter_ocg}


def iter_container(path: Path) -> Iterator[tuple[str, bytes]]:
    """Dispatch on the file extension; raises :class:`ContainerError` for unknown types."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ContainerError(f"{path}: unknown container type")
    yield from reader(path)
