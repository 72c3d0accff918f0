"""Fetch Debian packages with ``apt-get download`` and unpack only the files the corpus needs.

Downloads are cached in ``$SFCLI_CACHE/debs``; unpacked trees in ``$SFCLI_CACHE/debs/x/PKG``. Both are
reused by later runs. Nothing is installed.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

AUDIO_EXT = (".wav", ".ogg", ".oga", ".flac", ".mp3")
CONTAINER_EXT = (".zip", ".pk3", ".wz", ".rcc", ".cat", ".ocg")
# tar wildcards of what we unpack (audio, containers, tuxpaint captions, licences)
_WANTED = (
    [f"*{e}" for e in AUDIO_EXT + CONTAINER_EXT]
    + [f"*{e.upper()}" for e in AUDIO_EXT]
    + ["*/usr/share/doc/*/copyright", "*/tuxpaint/stamps/*.txt"]
)


def find_deb(pkg: str, debs: Path) -> Path | None:
    """The cached ``.deb`` of ``pkg`` in ``debs``, if any."""
    hits = sorted(debs.glob(f"{pkg}_*.deb"))
    return hits[-1] if hits else None


def download(pkg: str, debs: Path, log: list[str] | None = None) -> Path | None:
    """``apt-get download pkg`` into ``debs`` unless cached; returns the ``.deb`` or None on failure."""
    debs.mkdir(parents=True, exist_ok=True)
    hit = find_deb(pkg, debs)
    if hit:
        return hit
    if shutil.which("apt-get") is None:
        (log or []).append(f"{pkg}: apt-get not available")
        return None
    r = subprocess.run(["apt-get", "download", "-q", pkg], cwd=debs, capture_output=True, text=True)
    if r.returncode != 0:
        (log if log is not None else []).append(f"{pkg}: apt-get download failed: {r.stderr.strip()[-300:]}")
        return None
    return find_deb(pkg, debs)


def unpack(deb: Path, dest: Path) -> Path:
    """Unpack the audio, container, caption and copyright files of ``deb`` into ``dest`` (cached)."""
    done = dest / ".unpacked"
    if done.is_file():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    r = subprocess.run(
        ["tar", "-x", "-C", str(dest), "--wildcards", "--no-anchored", *_WANTED],
        stdin=tar.stdout,
        capture_output=True,
        text=True,
    )
    tar.wait()
    if tar.returncode != 0:
        raise RuntimeError(f"dpkg-deb failed on {deb}")
    # tar exits 2 when some wildcard matched nothing: that is fine
    if r.returncode not in (0, 2):
        raise RuntimeError(f"tar failed on {deb}: {r.stderr[-300:]}")
    done.write_text(deb.name + "\n")
    return dest


_LICENSE_RE = re.compile(r"^License:\s*(.+)$", re.MULTILINE)


def licence_summary(root: Path, pkg: str) -> str:
    """A short licence string for ``pkg`` from its ``usr/share/doc/PKG/copyright`` (DEP-5 aware)."""
    cands = [root / "usr/share/doc" / pkg / "copyright", *sorted(root.glob("usr/share/doc/*/copyright"))]
    for c in cands:
        if c.is_file():
            text = c.read_text(errors="replace")
            found = [m.strip() for m in _LICENSE_RE.findall(text)]
            found = [f for f in found if len(f) <= 40 and not f.lower().startswith(("copyright", "the ", "this "))]
            if found:
                counts = Counter(found)
                return " / ".join(k for k, _ in counts.most_common(4))
            low = " ".join(text.lower().split())
            names = [
                name
                for key, name in (
                    ("creative commons attribution-sharealike", "CC-BY-SA"),
                    ("creative commons attribution", "CC-BY"),
                    ("cc-by", "CC-BY"),
                    ("isc license", "ISC"),
                    ("gnu general public license", "GPL"),
                    ("gnu library general public license", "LGPL"),
                    ("public domain", "public-domain"),
                    ("cc0", "CC0"),
                )
                if key in low
            ]
            if names:
                return " / ".join(dict.fromkeys(names))
            return "see /usr/share/doc/" + pkg + "/copyright"
    return "unknown"


def copyright_text(root: Path, pkg: str) -> str:
    """Full copyright file text of ``pkg`` ('' when absent)."""
    p = root / "usr/share/doc" / pkg / "copyright"
    return p.read_text(errors="replace") if p.is_file() else ""


def licence_lookup(root: Path, pkg: str) -> Callable[[str], str]:
    """Per-file licence from a machine-readable (DEP-5) copyright file: the last ``Files:`` stanza whose glob
    matches the path wins (as in DEP-5). Falls back to :func:`licence_summary` for other formats."""
    summary = licence_summary(root, pkg)
    text = copyright_text(root, pkg)
    stanzas: list[tuple[list[str], str]] = []
    if "Format:" in text.split("\n", 3)[0] + text[:300]:
        for para in re.split(r"\n\s*\n", text):
            fm = re.search(r"^Files:\s*(.+(?:\n[ \t]+.+)*)", para, re.MULTILINE)
            lm = re.search(r"^License:\s*(\S.*)$", para, re.MULTILINE)
            if fm and lm:
                stanzas.append((fm.group(1).split(), lm.group(1).strip()))
    if not stanzas:
        return lambda path: summary

    def variants(g: str) -> list[str]:
        # source-tree globs vs installed paths: also try the glob without its leading folders, and an
        # archive name (``kit.h2drumkit``) as the folder it unpacks to
        g = g.strip("/")
        parts = g.split("/")
        out = ["/".join(parts[k:]) for k in range(len(parts)) if "/".join(parts[k:]) not in ("*", "")]
        if re.search(r"\.(h2drumkit|zip|tar\.gz|tgz)$", g):
            out.append(re.sub(r"\.(h2drumkit|zip|tar\.gz|tgz)$", "/*", g.split("/")[-1]))
        return out

    def lookup(path: str) -> str:
        outer = path.split("::", 1)[0]
        found = summary
        for globs, lic in stanzas:
            for g in globs:
                if g == "*" or any(fnmatch.fnmatch(outer, "*/" + v) or fnmatch.fnmatch(outer, v) for v in variants(g)):
                    found = lic
                    break
        return found

    return lookup
