#!/usr/bin/env python
"""Build the sfcli training corpus with one command.

    python scripts/corpus/build.py [--packages a,b] [--max-hours 14] [--no-synth] [--shared ../shared/data]

Steps: download Debian packages (``apt-get download``, cached in ``$SFCLI_CACHE/debs``), unpack their audio
and containers, keep the files that the hand-written table ``descriptions.tsv`` describes, render
General-MIDI instruments and synthetic speech, add the small real sets from ``--shared`` when present,
resample everything to 16 kHz mono int16 and write ``$SFCLI_CACHE/corpus`` (``audio.int16``,
``clips.jsonl``, ``meta.json``) plus the default test evaluation mixtures ``eval/test.jsonl``.
Splits are by recording family (file name without take numbers; a synthetic piece or sentence),
balanced per category, so no recording is in two splits.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import io
import json
import os
import re
import shutil
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import containers  # noqa: E402
import debian  # noqa: E402
import synth  # noqa: E402
import table  # noqa: E402

SR = 16000
MAX_CLIP_S = 20.0
MIN_CLIP_S = 0.25
DEFAULT_PACKAGES = [
    "openttd-opensfx",
    "0ad-data",
    "ufoai-sound",
    "minetest-data",
    "flightgear-data-base",
    "hydrogen-drumkits",
    "sonic-pi-samples",
    "tuxpaint-stamps-default",
    "widelands-data",
    "wesnoth-1.16-data",
    "lincity-ng-data",
    "megaglest-data",
    "supertux-data",
    "redeclipse-data",
    "freedroidrpg-data",
    "gcompris-qt-data",
    "openclonk-data",
    "hedgewars-data",
    "extremetuxracer-data",
    "trigger-rally-data",
    "torcs-data",
    "neverball-common",
    "lugaru-data",
    "bucklespring-data",
    "scorched3d-data",
    "enigma-data",
    "ktuberling-data",
    "klettres-data",
    "supertuxkart-data",
    "flare-game",
    "openarena-data",
    "btanks-data",
    "simutrans-pak64",
    "heroes-sound-effects",
    "freedink-data",
    "wordwarvi-sound",
    "hydrogen-drumkits-effects",
]
# caps (seconds) per category by kind, so that music and speech do not drown the effects
CAP_S = {"effect": 1800.0, "music": 900.0, "speech": 1800.0}
CAP_CLIPS = {"effect": 500, "music": 250, "speech": 2500}
# per-category overrides (seconds)
CAP_CATEGORY = {
    "instrumental music": 4200.0,
    "spoken letters": 2400.0,
    "spoken digits": 1200.0,
    "baby crying": 1500.0,
    "spoken words": 2700.0,
}
SEGMENTS = {"effect": 6, "music": 3, "speech": 1}
# rough bytes per second of audio by extension, to estimate durations before decoding
_BYTES_PER_S = {".wav": 60000, ".flac": 50000, ".ogg": 14000, ".oga": 14000, ".mp3": 16000}
SPEECH_CATS = {
    "spoken words",
    "spoken letters",
    "spoken digits",
    "synthetic male speech",
    "synthetic female speech",
    "baby crying",
}
TUX_LANGS = {
    "": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "ru": "Russian",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "ja": "Japanese",
    "el": "Greek",
}


@dataclass
class Candidate:
    """A file that the table describes, before decoding."""

    source: str
    path: str
    licence: str
    category: str
    descriptions: list[str]
    family: str
    kind: str
    fetch: object = None  # callable returning bytes, or a float32 array for synthetic clips
    extra: dict = field(default_factory=dict)
    size: int = 0  # bytes of the encoded file, for duration estimates


# Coarse groups of categories that overlap in sound (a background is never drawn from the target's group
# or from an enclosing group: "music" encloses "music/piano"). First matching pattern wins.
GROUPS: list[tuple[str, str]] = [
    ("voice", r"speech|spoken|scream|baby crying|laugh|cough|breathing|kiss|burp|chewing|whistling"),
    ("footsteps", r"footsteps|wading"),
    ("weather", r"^(rain|thunder|wind|snowstorm|earthquake rumble|rumble)$"),
    ("water", r"river|waterfall|water|ocean|splash|underwater|bubbling|harbour|ship at sea|fountain"),
    ("fire", r"fire crackling|furnace|flamethrower|fuse|sizzle|lava|blowtorch|steam hiss"),
    ("gunfire", r"gun|pistol|rifle|shotgun|explosion|firecracker|fireworks|ricochet|shell"),
    ("crowd", r"crowd|applause|market"),
    ("animal/bird", r"bird|\bowl\b|\bcrow\b|seagull|cuckoo|peacock|forest ambience|jungle ambience"),
    ("animal/farm", r"\bcow\b|pig|sheep|chicken|horse|donkey|duck|turkey|farmyard|camel"),
    ("animal/insect", r"cricket|cicada|insect"),
    ("animal/canine", r"dog|wolf|fox"),
    (
        "vehicle",
        r"engine|helicopter|train|tyre|traffic|city street|car horn|bus|turbo|gear change|backfire|tank tracks"
        r"|rocket launch|level crossing",
    ),
    ("crash", r"crash$|metal crash|building collapse|rockfall|tree falling|wood breaking"),
    ("door", r"door|gate|wooden chest"),
    ("swing", r"swoosh|swing|bow and arrow|whip"),
    (
        "music/drums",
        r"drum|hi-hat|cymbal|cowbell|conga|djembe|tabla|bongo|shaker|tambourine|castanets|triangle"
        r"|hand clap|timpani|woodblock|agogo|finger snap",
    ),
    ("music/keys", r"piano|harpsichord|clavinet|celesta|organ|accordion"),
    ("music/guitar", r"guitar|strumming|banjo|sitar|shamisen|koto|harp$|dulcimer"),
    ("music/strings", r"violin|viola|cello|fiddle|string|double bass"),
    ("music/bass", r" bass$"),
    ("music/brass", r"^trumpet$|trombone|tuba|french horn|brass|horn call"),
    ("music/reeds", r"saxophone|oboe|english horn|bassoon|clarinet|shanai|bagpipes|harmonica"),
    ("music/flutes", r"flute|piccolo|recorder|ocarina|shakuhachi|blown bottle|calliope"),
    (
        "music/mallets",
        r"glockenspiel|music box|vibraphone|marimba|xylophone|tubular bells|kalimba|steel drums"
        r"|bell ringing",
    ),
    ("music/synth", r"synth"),
    ("music/voice", r"choir"),
    ("music", r"instrumental music|orchestra hit"),
]


def group_of(category: str) -> str:
    """The coarse group of a category ("" when none)."""
    for g, pat in GROUPS:
        if re.search(pat, category):
            return g
    return ""


def kind_of(category: str) -> str:
    """``speech``, ``music`` or ``effect`` for the caps."""
    if category in SPEECH_CATS or category.startswith("speech"):
        return "speech"
    music = {c for c, _ in synth.GM.values()} | {
        "drum kit beat",
        "drum machine beat",
        "drum loop",
        "instrumental music",
        "guitar strumming",
    }
    if category in music:
        return "music"
    return "effect"


def family_of(source: str, path: str) -> str:
    """Recording family: the file name without take numbers / variant letters, in its folder."""
    p = path.lower().replace("::", "/")
    stem = re.sub(r"\.[a-z0-9]+$", "", p)
    stem = re.sub(r"([_\- ]?\d+[a-z]?|[_\-][a-z])$", "", stem)
    stem = re.sub(r"([_\- ]?\d+)$", "", stem)
    return f"{source}:{stem}"


def _hash01(s: str) -> float:
    return int(hashlib.sha1(s.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


# ------------------------------------------------------------------------------------------------ decoding
def decode(blob: bytes | np.ndarray, sr_in: int | None = None, segments: int = 1) -> list[np.ndarray]:
    """Bytes of any soundfile-readable audio (or a float array at ``sr_in``) -> 16 kHz mono float32,
    trimmed of leading/trailing near-silence, cut into at most ``segments`` pieces of ``MAX_CLIP_S``
    (a remainder shorter than 4 s is dropped); [] when unusable."""
    try:
        if isinstance(blob, np.ndarray):
            x, sr = blob.astype(np.float32), sr_in or SR
        else:
            with sf.SoundFile(io.BytesIO(blob)) as f:  # read only what the segments need
                sr = f.samplerate
                x = f.read(int((MAX_CLIP_S * segments + 1) * sr), dtype="float32", always_2d=True)
            x = x.mean(axis=1)
    except Exception:
        return []
    if x.size == 0 or not np.all(np.isfinite(x)):
        return []
    x = x[: int((MAX_CLIP_S * segments + 1) * sr)]
    if sr != SR:
        x = soxr.resample(x, sr, SR)
    x = x - float(np.mean(x))
    env = np.abs(x)
    peak = float(env.max()) if env.size else 0.0
    if peak < 1e-3:
        return []
    above = np.flatnonzero(env > max(peak * 10 ** (-50 / 20), 2e-4))
    x = x[max(0, above[0] - 160) : above[-1] + 800]
    if x.size < MIN_CLIP_S * SR:
        return []
    if peak > 0.999:
        x = x * (0.999 / peak)
    seg = int(MAX_CLIP_S * SR)
    out = [x[k * seg : (k + 1) * seg] for k in range(segments)]
    out = [o for i, o in enumerate(out) if o.size >= (MIN_CLIP_S if i == 0 else 4.0) * SR]
    return [o.astype(np.float32) for o in out]


def _decode_job(args: tuple[int, bytes | np.ndarray, int | None, int]) -> tuple[int, list[np.ndarray]]:
    i, blob, sr, segments = args
    return i, decode(blob, sr, segments)


# ------------------------------------------------------------------------------------------------ Debian
def _tux_caption(root: Path, rel: str) -> str | None:
    txt = root / re.sub(r"(_desc(_[a-z]{2,3}(_[a-z]{2,4})?)?)?\.ogg$", ".txt", rel, flags=re.IGNORECASE)
    if txt.is_file():
        lines = [ln.strip() for ln in txt.read_text(errors="replace").splitlines() if ln.strip()]
        if lines:
            return lines[0]
    return None


def debian_candidates(
    pkg: str, root: Path, licence: Callable[[str], str], rules: list[table.Rule], log: list[str]
) -> Iterator[Candidate]:
    """Described files of one unpacked package (plain files and container members)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for f in files:
        rel = str(f.relative_to(root))
        ext = f.suffix.lower()
        if ext in containers.AUDIO_EXT:
            if pkg == "tuxpaint-stamps-default":
                m = re.search(r"/([^/]+)_desc(?:_([a-z]{2,3}(?:_[a-z]{2,4})?))?\.ogg$", rel, re.IGNORECASE)
                if m:
                    lang = (m.group(2) or "").lower()
                    if lang not in TUX_LANGS:
                        continue
                    name = TUX_LANGS[lang]
                    cap = _tux_caption(root, rel)
                    descs = [f"a person speaking {name}", f"a short spoken description in {name}"]
                    if lang == "" and cap:
                        said = cap.strip().rstrip(".")
                        descs = ["a person speaking English"]
                        descs.append(
                            f'someone saying "{said}"' if len(said.split()) <= 6 else "someone reading a caption aloud"
                        )
                    yield Candidate(
                        pkg,
                        rel,
                        licence(rel),
                        "spoken words",
                        descs,
                        f"{pkg}:desc:{m.group(1)}",
                        "speech",
                        fetch=f.read_bytes,
                        extra={"language": name},
                        size=f.stat().st_size,
                    )
                    continue
            r = table.match(rules, pkg, rel)
            if r is None or r.category == "-":
                continue
            yield Candidate(
                pkg,
                rel,
                licence(rel),
                r.category,
                r.descriptions,
                family_of(pkg, rel),
                kind_of(r.category),
                fetch=f.read_bytes,
                size=f.stat().st_size,
            )
        elif ext in containers.READERS:
            # decide per member; members are read now (containers are opened once)
            try:
                members = list(containers.iter_container(f))
            except (containers.ContainerError, OSError, ValueError, KeyError, IndexError, zlib.error) as exc:
                log.append(f"{pkg}: {rel}: {exc}")
                continue
            for name, blob in members:
                path = f"{rel}::{name.lstrip('/')}"
                r = table.match(rules, pkg, path)
                if r is None or r.category == "-":
                    continue
                fam = family_of(pkg, path)
                lic = licence(path)
                if ext == ".cat":  # opensfx: one title per recording, which also names the sample's licence
                    fam = f"{pkg}:{re.sub(r'[^a-z]+', ' ', name.lower().split('.')[0]).strip()}"
                    m = re.search(r"License:\s*([^.]+(?:\.\d+)*[^.]*)", name)
                    if m:
                        lic = m.group(1).strip()
                yield Candidate(
                    pkg,
                    path,
                    lic,
                    r.category,
                    r.descriptions,
                    fam,
                    kind_of(r.category),
                    fetch=(lambda b=blob: b),
                    size=len(blob),
                )


# ------------------------------------------------------------------------------------------------ shared sets
def shared_candidates(shared: Path, log: list[str]) -> Iterator[Candidate]:
    """FSDD and Donate-a-Cry from ``shared`` (skipped with a note when absent)."""
    sets = {
        "fsdd": ("Free Spoken Digit Dataset (Z. Jackson et al.)", "CC-BY-SA-4.0", "spoken digits"),
        "donateacry": ("Donate-a-Cry corpus", "ODbL-1.0 / DbCL-1.0", "baby crying"),
    }
    for name, (title, lic, cat) in sets.items():
        man = shared / name / "manifest.jsonl"
        if not man.is_file():
            log.append(f"{name}: {man} not found, skipped")
            continue
        for line in man.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            audio = man.parent / row["audio"]
            if name == "fsdd":
                descs = [row.get("text") or "a person saying a number", "a spoken number", "someone saying a digit"]
                fam = f"fsdd:{row.get('speaker', '')}"
            else:
                descs = ["a baby crying", "an infant crying", "a crying baby"]
                fam = f"donateacry:{Path(str(row['audio'])).name[:12]}"
            yield Candidate(
                name,
                str(row["audio"]),
                lic,
                cat,
                descs,
                fam,
                "speech",
                fetch=(lambda p=audio: p.read_bytes()),
                size=audio.stat().st_size if audio.is_file() else 0,
                extra={"dataset": title},
            )


# ------------------------------------------------------------------------------------------------ selection
def select(cands: list[Candidate], max_seconds: float, est: dict[int, float]) -> list[Candidate]:
    """Per-category caps; families are taken round-robin over sources so no package dominates."""
    by_cat: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_cat[c.category].append(c)
    out: list[Candidate] = []
    for cat, lst in sorted(by_cat.items()):
        kind = lst[0].kind
        lst.sort(key=lambda c: _hash01(c.path))
        by_src: dict[str, list[Candidate]] = defaultdict(list)
        for c in lst:
            by_src[c.source].append(c)
        queues = [by_src[s] for s in sorted(by_src)]
        total, n = 0.0, 0
        cap = 2.0 * CAP_CATEGORY.get(cat, CAP_S[kind])  # estimates are rough: the exact cap is applied on decoding
        while any(queues) and total < cap and n < CAP_CLIPS[kind]:
            for q in queues:
                if q and total < cap and n < CAP_CLIPS[kind]:
                    c = q.pop(0)
                    out.append(c)
                    total += est.get(id(c), 3.0)
                    n += 1
    tot = sum(est.get(id(c), 3.0) for c in out)
    if tot > max_seconds:  # over budget: keep every effect, thin music and speech evenly (by a hash)
        eff = sum(est.get(id(c), 3.0) for c in out if c.kind == "effect")
        keep = max(0.0, max_seconds - eff) / max(tot - eff, 1e-9)
        out = [c for c in out if c.kind == "effect" or _hash01("keep" + c.path) < keep]
        print(f"estimated {tot / 3600:.1f} h > --max-hours: keeping {keep:.0%} of music and speech", flush=True)
    return out


def assign_splits(clips: list[dict], seed: int = 0) -> None:
    """Per category, put ~10 % of families in test and ~10 % in valid (at least one each when the category
    has >= 4 families); a family keeps the split of the category where it was first placed."""
    fam_split: dict[str, str] = {}
    by_cat: dict[str, list[str]] = defaultdict(list)
    for c in clips:
        if c["_family"] not in by_cat[c["category"]]:
            by_cat[c["category"]].append(c["_family"])
    for cat in sorted(by_cat, key=lambda k: len(by_cat[k])):
        fams = sorted(by_cat[cat], key=lambda f: _hash01(f"{seed}:{f}"))
        free = [f for f in fams if f not in fam_split]
        n = len(fams)
        n_test = max(1, round(0.1 * n)) if n >= 4 else 0
        n_valid = max(1, round(0.1 * n)) if n >= 4 else 0
        have_test = sum(1 for f in fams if fam_split.get(f) == "test")
        have_valid = sum(1 for f in fams if fam_split.get(f) == "valid")
        for f in free:
            if have_test < n_test:
                fam_split[f] = "test"
                have_test += 1
            elif have_valid < n_valid:
                fam_split[f] = "valid"
                have_valid += 1
            else:
                fam_split[f] = "train"
    for c in clips:
        c["split"] = fam_split[c["_family"]]


# ------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cache = Path(os.environ.get("SFCLI_CACHE") or Path.home() / ".cache" / "sfcli").expanduser()
    ap.add_argument("--cache", type=Path, default=cache, help="cache folder (default $SFCLI_CACHE or ~/.cache/sfcli)")
    ap.add_argument("--out", type=Path, default=None, help="corpus folder (default CACHE/corpus)")
    ap.add_argument("--packages", default=",".join(DEFAULT_PACKAGES), help="comma-separated Debian packages")
    ap.add_argument(
        "--max-hours",
        type=float,
        default=16.0,
        help="approximate upper bound on corpus hours (effects are kept; music and speech thinned)",
    )
    ap.add_argument("--no-synth", action="store_true", help="skip fluidsynth / espeak-ng / flite")
    ap.add_argument("--no-debian", action="store_true", help="skip Debian packages")
    ap.add_argument(
        "--shared",
        type=Path,
        default=HERE.parent.parent.parent / "shared" / "data",
        help="folder with fsdd/ and donateacry/ (used when present)",
    )
    ap.add_argument("--gm-pieces", type=int, default=3, help="pieces per GM program and style")
    ap.add_argument("--eval-n", type=int, default=300, help="mixtures in eval/test.jsonl (0: none)")
    ap.add_argument("--jobs", type=int, default=2, help="decoding processes")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    t0 = time.time()
    out = (a.out or a.cache / "corpus").expanduser()
    debs = a.cache / "debs"
    log: list[str] = []
    rules = table.load_table()
    cands: list[Candidate] = []
    licences: dict[str, str] = {}

    def say(msg: str) -> None:
        print(f"[{time.time() - t0:6.0f}s] {msg}", flush=True)

    if not a.no_debian:
        for pkg in [p.strip() for p in a.packages.split(",") if p.strip()]:
            deb = debian.download(pkg, debs, log)
            if deb is None:
                say(f"{pkg}: not available, skipped")
                continue
            root = debian.unpack(deb, debs / "x" / pkg)
            lic = debian.licence_summary(root, pkg)
            licences[pkg] = lic
            n0 = len(cands)
            cands.extend(debian_candidates(pkg, root, debian.licence_lookup(root, pkg), rules, log))
            say(f"{pkg}: {len(cands) - n0} described files ({lic[:60]})")

    if a.shared and a.shared.is_dir():
        n0 = len(cands)
        cands.extend(shared_candidates(a.shared, log))
        say(f"shared sets: {len(cands) - n0} clips")
    else:
        say(f"no shared data at {a.shared}; building without FSDD / Donate-a-Cry")

    synth_cands: list[Candidate] = []
    if not a.no_synth:
        tools = synth.check_tools(log=log)
        if tools["fluidsynth"]:
            for c in synth.gm_clips(a.seed, a.gm_pieces, log=log):
                synth_cands.append(
                    Candidate(
                        c.source,
                        c.path,
                        c.licence,
                        c.category,
                        c.descriptions,
                        c.family,
                        kind_of(c.category),
                        fetch=c.audio,
                    )
                )
            say(f"fluidsynth: {len(synth_cands)} clips")
        n0 = len(synth_cands)
        for c in synth.speech_clips(tools, a.seed, per_voice=40):
            synth_cands.append(
                Candidate(c.source, c.path, c.licence, c.category, c.descriptions, c.family, "speech", fetch=c.audio)
            )
        say(f"speech synthesis: {len(synth_cands) - n0} clips")
        for m in log:
            if m.startswith("synthesis"):
                say(m)
    cands.extend(synth_cands)

    def estimate(c: Candidate) -> float:
        if isinstance(c.fetch, np.ndarray):
            return c.fetch.size / synth.SR
        if c.size:
            ext = "." + c.path.rsplit(".", 1)[-1].lower()
            return max(0.2, min(MAX_CLIP_S * SEGMENTS[c.kind], c.size / _BYTES_PER_S.get(ext, 30000)))
        return 3.0

    est = {id(c): estimate(c) for c in cands}
    chosen = select(cands, a.max_hours * 3600, est)
    say(f"selected {len(chosen)} of {len(cands)} candidates; decoding")

    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    records: list[dict] = []
    seen: set[bytes] = set()
    cat_seconds: dict[str, float] = defaultdict(float)
    state = {"offset": 0}

    def cap_of(c: Candidate) -> float:
        return CAP_CATEGORY.get(c.category, CAP_S[c.kind])

    with open(tmp / "audio.int16", "wb") as fa, ProcessPoolExecutor(max(1, a.jobs)) as ex:

        def store(c: Candidate, x: np.ndarray, j: int, nseg: int) -> None:
            q = np.round(x * 32767).astype(np.int16)
            h = hashlib.sha1(q.tobytes()).digest()
            if h in seen:  # exact duplicates (same file in two places)
                return
            seen.add(h)
            fa.write(q.tobytes())
            cat_seconds[c.category] += q.size / SR
            rec = {
                "id": f"c{len(records):06d}",
                "source": c.source,
                "path": c.path,
                "licence": c.licence,
                "category": c.category,
                "descriptions": list(c.descriptions)[:3],
                "duration": round(q.size / SR, 3),
                "split": "",
                "offset": state["offset"],
                "length": int(q.size),
                "_family": c.family,
            }
            if nseg > 1:
                rec["segment"] = j
            rec["group"] = group_of(c.category)
            rec.update(c.extra)
            records.append(rec)
            state["offset"] += int(q.size)

        def jobs() -> Iterator[tuple[int, bytes | np.ndarray, int | None, int]]:
            for i, c in enumerate(chosen):
                if isinstance(c.fetch, np.ndarray):
                    yield i, c.fetch, synth.SR, 1
                else:
                    try:
                        yield i, c.fetch(), None, SEGMENTS[c.kind]
                    except OSError as exc:
                        log.append(f"{c.source}: {c.path}: {exc}")

        for k, (i, segs) in enumerate(ex.map(_decode_job, jobs(), chunksize=8)):
            if k % 1000 == 0:
                say(f"decoded {k}/{len(chosen)}")
            c = chosen[i]
            for j, x in enumerate(segs):
                if cat_seconds[c.category] >= cap_of(c):
                    break
                store(c, x, j, len(segs))

    assign_splits(records, a.seed)
    with open(tmp / "clips.jsonl", "w") as f:
        for r in records:
            r = dict(r)
            r["family"] = r.pop("_family")
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    cats: dict[str, int] = defaultdict(int)
    for r in records:
        cats[r["category"]] += 1
    by_source: dict[str, float] = defaultdict(float)
    for r in records:
        by_source[r["source"].split(":")[0]] += r["duration"]
    splits = {s: sum(1 for r in records if r["split"] == s) for s in ("train", "valid", "test")}
    meta = {
        "sample_rate": SR,
        "clips": len(records),
        "hours": round(sum(r["duration"] for r in records) / 3600, 3),
        "categories": len(cats),
        "categories_ge5": sum(1 for v in cats.values() if v >= 5),
        "splits": splits,
        "test_categories": len({r["category"] for r in records if r["split"] == "test"}),
        "hours_by_source": {k: round(v / 3600, 3) for k, v in sorted(by_source.items())},
        "clips_by_category": dict(sorted(cats.items())),
        "licences": licences,
        "built": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "build_seconds": round(time.time() - t0),
        "notes": log[-200:],
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    if out.exists():
        old = out.with_name(out.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
        out_old = old
    else:
        out_old = None
    tmp.rename(out)
    if out_old is not None:
        shutil.rmtree(out_old, ignore_errors=True)
    say(
        f"wrote {out}: {meta['clips']} clips, {meta['hours']} h, {meta['categories_ge5']} categories with >=5 clips, "
        f"splits {splits}, {meta['test_categories']} test categories"
    )

    if a.eval_n > 0:
        from sfcli.data.corpus import Corpus
        from sfcli.data.mixing import write_eval_set

        path = write_eval_set(Corpus.open(out), "test", a.eval_n, a.seed, out / "eval")
        say(f"evaluation set: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
