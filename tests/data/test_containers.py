"""Container readers of the corpus recipe (zip, Qt rcc, OpenTTD cat, OpenClonk ocg) on tiny fixtures."""

from __future__ import annotations

import gzip
import importlib.util
import io
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "corpus" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


containers = _load("containers")


def _wav(n: int = 800, sr: int = 8000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(np.arange(n) / 5)).astype(np.float32), sr, format="WAV")
    return buf.getvalue()


def test_zip_members(tmp_path: Path) -> None:
    p = tmp_path / "x.pk3"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("sound/a.wav", _wav())
        z.writestr("sound/readme.txt", "hi")
        z.writestr("music/b.OGG", b"OggS....")
    names = [n for n, _ in containers.iter_container(p)]
    assert names == ["sound/a.wav", "music/b.OGG"]


def test_zip_bad(tmp_path: Path) -> None:
    p = tmp_path / "bad.zip"
    p.write_bytes(b"not a zip")
    with pytest.raises(containers.ContainerError):
        list(containers.iter_container(p))


def _rcc(files: dict[str, bytes], compress: set[str] = frozenset()) -> bytes:
    """A version-2 Qt resource with one folder 'snd' holding ``files``."""
    import zlib

    names = b""
    name_off = {}
    for n in ["snd", *files]:
        name_off[n] = len(names)
        enc = n.encode("utf-16-be")
        names += struct.pack(">HI", len(n), 0) + enc
    data = b""
    data_off = {}
    for n, b in files.items():
        data_off[n] = len(data)
        if n in compress:
            b = struct.pack(">I", len(b)) + zlib.compress(b)
        data += struct.pack(">I", len(b)) + b
    tree = struct.pack(">IHII", 0, 2, 1, 1) + b"\0" * 8  # root: 1 child at node 1
    tree += struct.pack(">IHII", name_off["snd"], 2, len(files), 2) + b"\0" * 8
    for n in files:
        flags = 1 if n in compress else 0
        tree += struct.pack(">IHHHI", name_off[n], flags, 0, 0, data_off[n]) + b"\0" * 8
    header_len = 20
    tree_off = header_len
    data_start = tree_off + len(tree)
    names_start = data_start + len(data)
    return b"qres" + struct.pack(">IIII", 2, tree_off, data_start, names_start) + tree + data + names


def test_rcc_members(tmp_path: Path) -> None:
    w = _wav()
    p = tmp_path / "a.rcc"
    p.write_bytes(_rcc({"dog.ogg": b"OggSdata", "cat.wav": w, "notes.qml": b"x"}, compress={"cat.wav"}))
    got = dict(containers.iter_container(p))
    assert set(got) == {"/snd/dog.ogg", "/snd/cat.wav"}
    assert got["/snd/cat.wav"] == w
    assert got["/snd/dog.ogg"] == b"OggSdata"


def test_rcc_bad_magic() -> None:
    with pytest.raises(containers.ContainerError):
        list(containers.iter_rcc(b"nope" + b"\0" * 40))


def _cat(entries: list[tuple[str, bytes]]) -> bytes:
    n = len(entries)
    body = b""
    table = b""
    off = n * 8
    for title, wav in entries:
        t = title.encode("latin-1") + b"\0"
        blob = bytes([len(t)]) + t + wav
        table += struct.pack("<II", off + len(body), len(blob))
        body += blob
    return table + body


def test_cat_titles(tmp_path: Path) -> None:
    w = _wav()
    p = tmp_path / "opensfx.cat"
    p.write_bytes(_cat([('"Cow". By X.', w), ('"Applause". By Y.', _wav(400))]))
    got = list(containers.iter_container(p))
    assert [t for t, _ in got] == ['000 "Cow". By X.', '001 "Applause". By Y.']
    x, sr = sf.read(io.BytesIO(got[0][1]))
    assert sr == 8000 and x.size == 800


def _scramble(b: bytes) -> bytes:
    buf = bytearray(b)
    for i in range(len(buf)):
        buf[i] ^= 237
    for i in range(0, len(buf) - 2, 3):
        buf[i], buf[i + 2] = buf[i + 2], buf[i]
    return bytes(buf)


def _ocg_raw(entries: list[tuple[str, bytes, bool]]) -> bytes:
    head = b"RedWolf Design GrpFolder".ljust(28, b"\0") + struct.pack("<iii", 1, 2, len(entries))
    head = _scramble(head.ljust(204, b"\0"))
    table = b""
    data = b""
    for name, blob, child in entries:
        e = name.encode().ljust(260, b"\0") + struct.pack("<iiiii", 0, int(child), len(blob), 0, len(data))
        table += e.ljust(316, b"\0")
        data += blob
    return head + table + data


def test_ocg_nested(tmp_path: Path) -> None:
    w = _wav()
    inner = _ocg_raw([("Chirp.wav", w, False), ("Info.txt", b"x", False)])
    raw = _ocg_raw([("Bat.ocg", inner, True), ("Thunder1.ogg", b"OggS", False)])
    packed = bytearray(gzip.compress(raw))
    packed[0:2] = b"\x1e\x8c"
    p = tmp_path / "Sound.ocg"
    p.write_bytes(bytes(packed))
    got = dict(containers.iter_container(p))
    assert set(got) == {"Bat.ocg/Chirp.wav", "Thunder1.ogg"}
    assert got["Bat.ocg/Chirp.wav"] == w


def test_ocg_bad(tmp_path: Path) -> None:
    p = tmp_path / "x.ocg"
    p.write_bytes(b"\0" * 300)
    with pytest.raises(containers.ContainerError):
        list(containers.iter_container(p))


def test_table_parses_and_matches() -> None:
    table = _load("table")
    rules = table.load_table()
    cats = {r.category for r in rules if r.category != "-"}
    assert len(cats) > 100
    r = table.match(
        rules, "0ad-data", "usr/share/games/0ad/mods/public/public.zip::audio/actor/fauna/animal/cattle_01.ogg"
    )
    assert r is not None and r.category == "cow mooing"
    r = table.match(rules, "0ad-data", "x/public.zip::audio/interface/ui/ui_button_click.ogg")
    assert r is not None and r.category == "-"
    assert table.match(rules, "no-such-package", "foo/bar.wav") is None
    r = table.match(rules, "hydrogen-drumkits", "usr/share/hydrogen/data/drumkits/BJA_Pacific/SN_03.flac")
    assert r is not None and r.category == "snare drum"
