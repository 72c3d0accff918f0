"""Candidate files of the label-free pool (scripts/corpus/unlabelled.py): Debian package files and container
members, shared-set clips, their recording family (the corpus's rule), kind guess and origin."""

from __future__ import annotations

import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import build  # noqa: E402  (the corpus's family rule and size-based duration estimate)
import containers  # noqa: E402

SHARED_SETS = ("speech-commands", "real-misc", "fsdd", "donateacry")
FORBIDDEN_SETS = ("kitchen20",)  # evaluation only (issue 20): never in a training pool
# Debian packages beyond the corpus's that ship audio (../shared/data/debian-inventory/files.tsv)
EXTRA_PACKAGES = [
    "naev-data", "colobot-common-sounds", "asterisk-moh-opsound-wav", "warzone2100-data",
    "frozen-bubble-data", "freeorion-data", "xmoto-data", "powermanga-data", "lomiri-sounds",
    "lmms-common", "tuxmath-data", "endless-sky-data", "tuxtype-data", "glob2-data", "freeciv-data",
    "hydrogen-data", "oxygen-sounds", "teeworlds-data", "foobillardplus-data", "sound-theme-freedesktop",
    "minetest-mod-homedecor", "deepin-sound-theme", "chromium-bsu-data", "sound-icons", "yaru-theme-sound",
    "stormbaancoureur-data", "pokerth-data", "alsa-utils", "tuxpaint-data", "ri-li-data", "tecnoballz-data",
    "lbreakout2-data", "pidgin-data", "pingus-data", "minetest-mod-mobs-redo", "blinken",
    # recorded speech found with apt-cache search (not in the inventory): telephone prompts read by one
    # speaker per language (CC-BY-SA-3.0), Mandarin syllables by two speakers (CC-BY-3 / GPL-3)
    "asterisk-core-sounds-en-wav", "asterisk-core-sounds-es-wav", "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-it-wav", "asterisk-core-sounds-ru-wav", "gcin-voice", "psi-plus-sounds",
]  # fmt: skip
SPEECH_SOURCES = {
    "speech-commands", "fsdd", "donateacry", "klettres-data", "ktuberling-data", "sound-icons", "gcin-voice",
    "asterisk-core-sounds-en-wav", "asterisk-core-sounds-es-wav", "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-it-wav", "asterisk-core-sounds-ru-wav",
}  # fmt: skip
# sources whose audio is mostly recorded (microphone) rather than designed for a game or synthesised
RECORDED = {
    "speech-commands", "real-misc", "fsdd", "donateacry", "tuxpaint-stamps-default", "ktuberling-data",
    "klettres-data", "gcompris-qt-data", "hydrogen-drumkits", "hydrogen-drumkits-effects",
    "sonic-pi-samples", "asterisk-moh-opsound-wav", "lmms-common", "hydrogen-data", "gcin-voice",
    "asterisk-core-sounds-en-wav", "asterisk-core-sounds-es-wav", "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-it-wav", "asterisk-core-sounds-ru-wav",
}  # fmt: skip
NON_FREE = re.compile(r"non-?commercial|\bNC\b|non-?free|noncommercial", re.IGNORECASE)
_SPEECH = re.compile(
    r"_desc(_[a-z]{2,3}(_[a-z]{2,4})?)?\.ogg$|/voices?/|/speech/|spoken|/alpha/|/syllab"
    r"|/stamps/symbols/(math|alphabets)/|/cmndrvoc/|/memressp/|vtoltalk|/codriver/",
    re.IGNORECASE,
)
_AMBIENCE = re.compile(
    r"ambien|atmos|dayscape|nightscape|environment|weather|\bwind(?!ow)|\brain\b|forest|birds|ocean|waves?\b"
    r"|\briver|crickets|jungle|\bnight|waterfall|fireplace|\bstorm\b",
    re.IGNORECASE,
)
_MUSIC = re.compile(r"music|/mus/|song|soundtrack|/themes?/|theme_|bgm|/moh/", re.IGNORECASE)
# real-misc labels (its manifest) -> kind
REAL_MISC_KIND = {
    "speech": "speech", "music": "music", "orchestra": "music", "trumpet": "music", "alto_saxophone": "music",
    "body_percussion": "sfx", "bird": "sfx", "whale": "sfx",
}  # fmt: skip


@dataclass
class Item:
    """One file (or container member) that may go into the pool."""

    source: str
    path: str
    licence: str
    family: str
    kind: str
    fetch: Callable[[], bytes]
    size: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """``recorded`` or ``designed`` (game sound design / synthesis), by source."""
        return "recorded" if self.source in RECORDED else "designed"


def kind_of(source: str, path: str, est_s: float) -> str:
    """A guess of ``speech`` / ``music`` / ``ambience`` / ``sfx`` from the path and the estimated length."""
    p = path.lower()
    if source in SPEECH_SOURCES:
        return "speech"
    if source == "real-misc":
        return REAL_MISC_KIND.get(p.split("/", 1)[0], "ambience")
    if _SPEECH.search(p):
        return "speech"
    if source == "tuxpaint-stamps-default":
        return "sfx"
    if "/music/" in p or "/mus/" in p:
        return "music"
    if _AMBIENCE.search(p):
        return "ambience"
    if _MUSIC.search(p) or est_s > 60:
        return "music"
    return "sfx"


def estimate_seconds(path: str, size: int) -> float:
    """Rough duration from the encoded size (as build.py does)."""
    ext = "." + path.rsplit(".", 1)[-1].lower()
    return max(0.1, size / build._BYTES_PER_S.get(ext, 30000))


def family_name(family: str) -> str:
    """The file-name part of a family (``pkg:a/b/cattle`` -> ``cattle``)."""
    return family.split(":", 1)[-1].rsplit("/", 1)[-1]


# ------------------------------------------------------------------------------------------------ sources
_TUX_DESC = re.compile(r"/([^/]+)_desc(?:_([a-z]{2,3}(?:_[a-z]{2,4})?))?\.ogg$", re.IGNORECASE)


def debian_family(pkg: str, rel: str, member: str | None = None) -> str:
    """The corpus's family rule (build.py) for a package file or a container member."""
    path = rel if member is None else f"{rel}::{member}"
    if member is not None and rel.lower().endswith(".cat"):
        return f"{pkg}:{re.sub(r'[^a-z]+', ' ', member.lower().split('.')[0]).strip()}"
    m = _TUX_DESC.search(rel) if pkg == "tuxpaint-stamps-default" and member is None else None
    if m:
        return f"{pkg}:desc:{m.group(1)}"
    return build.family_of(pkg, path)


class Members:
    """Lazy access to container members: zip members are read on demand, other containers once (LRU)."""

    def __init__(self) -> None:
        self._zips: dict[Path, zipfile.ZipFile] = {}
        self._other: dict[Path, dict[str, bytes]] = {}

    def listing(self, f: Path) -> list[tuple[str, int]]:
        """(member, size) of the audio members of container ``f``."""
        if f.suffix.lower() in (".zip", ".pk3", ".wz"):
            with zipfile.ZipFile(f) as z:
                return [
                    (i.filename, i.file_size)
                    for i in z.infolist()
                    if i.filename.lower().endswith(containers.AUDIO_EXT) and not i.is_dir()
                ]
        return [(n, len(b)) for n, b in self._load(f).items()]

    def _load(self, f: Path) -> dict[str, bytes]:
        if f not in self._other:
            if len(self._other) >= 4:
                self._other.pop(next(iter(self._other)))
            self._other[f] = dict(containers.iter_container(f))
        return self._other[f]

    def read(self, f: Path, name: str) -> bytes:
        """The bytes of member ``name`` of ``f``."""
        if f.suffix.lower() in (".zip", ".pk3", ".wz"):
            if f not in self._zips:
                self._zips[f] = zipfile.ZipFile(f)
            return self._zips[f].read(name)
        return self._load(f)[name]


def package_items(
    pkg: str, root: Path, licence: Callable[[str], str], members: Members, log: list[str]
) -> Iterator[Item]:
    """Every audio file and audio container member of one unpacked package."""
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = str(f.relative_to(root))
        ext = f.suffix.lower()
        if ext in containers.AUDIO_EXT:
            size = f.stat().st_size
            kind = kind_of(pkg, rel, estimate_seconds(rel, size))
            yield Item(pkg, rel, licence(rel), debian_family(pkg, rel), kind, f.read_bytes, size)
        elif ext in containers.READERS:
            try:
                listing = members.listing(f)
            except Exception as exc:
                log.append(f"{pkg}: {rel}: {exc}")
                continue
            for name, size in listing:
                path = f"{rel}::{name.lstrip('/')}"
                lic = licence(path)
                m = re.search(r"License:\s*([^.]+(?:\.\d+)*[^.]*)", name) if ext == ".cat" else None
                kind = kind_of(pkg, path, estimate_seconds(name, size))
                fetch = lambda f=f, n=name: members.read(f, n)  # noqa: E731
                yield Item(
                    pkg, path, m.group(1).strip() if m else lic, debian_family(pkg, rel, name), kind, fetch, size
                )


def _shared_family(name: str, row: dict) -> str:
    audio = str(row["audio"])
    if name == "fsdd":
        return f"fsdd:{row.get('speaker', '')}"
    if name == "donateacry":
        return f"donateacry:{Path(audio).name[:12]}"
    if name == "speech-commands":
        m = re.search(r"_([0-9a-f]{8})_nohash", audio)
        return f"speech-commands:{m.group(1) if m else Path(audio).stem}"
    return build.family_of(name, audio)


SHARED_LICENCE = {"fsdd": "CC-BY-SA-4.0", "donateacry": "ODbL-1.0 / DbCL-1.0", "speech-commands": "CC-BY-4.0"}


def shared_items(shared: Path, sets: tuple[str, ...], log: list[str]) -> Iterator[Item]:
    """The clips of the shared sets (each ``NAME/manifest.jsonl``); kitchen20 is refused."""
    for name in sets:
        if name in FORBIDDEN_SETS:
            raise SystemExit(f"error: {name} is evaluation-only and never goes into a training pool")
        man = shared / name / "manifest.jsonl"
        if not man.is_file():
            log.append(f"{name}: {man} not found, skipped")
            continue
        for line in man.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            audio = man.parent / str(row["audio"])
            lic = str(row.get("licence") or SHARED_LICENCE.get(name, "see ATTRIBUTION.md"))
            size = audio.stat().st_size if audio.is_file() else 0
            kind = kind_of(name, f"{row.get('label', '')}/{row['audio']}", float(row.get("seconds") or 0))
            fetch = lambda p=audio: p.read_bytes()  # noqa: E731
            yield Item(name, str(row["audio"]), lic, _shared_family(name, row), kind, fetch, size)
