#!/usr/bin/env python
"""Build the label-free training pool (issue 20): every usable recording that the corpus does not use.

    nice -n 10 python scripts/corpus/unlabelled.py [--extra-packages a,b | --no-extra] [--force]

Query-by-example training needs no description: the conditioning crop comes from the target's own clip and
any other clip can be a background. The pool takes every audio file (and container member) of the
corpus's Debian packages, of more Debian packages that ship recorded sounds, and of the shared sets that
allow training (speech-commands, real-misc, fsdd, donateacry; never kitchen20, which is evaluation only),
**except** every file the corpus uses (any split), every file whose recording family (``build.family_of``)
or, within a package, whose file-name family is in the corpus's valid or test split, and every clip whose
decoded audio equals a corpus clip. Long files are cut into <= 20 s segments (3 per music file, 6 else);
music is capped at ``--music-share`` of the pool hours; near-silent clips and clips < 0.5 s are dropped.

Writes ``$SFCLI_CACHE/pool`` in the corpus format (``audio.int16``, ``clips.jsonl``, ``meta.json``) with
``category`` "" , no descriptions, split "train", and ``kind`` (sfx / music / speech / ambience, a guess
from the path) and ``origin`` (recorded / designed) per clip, through ``pool.tmp`` and a rename.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import shutil
import sys
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import build  # noqa: E402  (reuses the corpus's decoder and package list)
import containers  # noqa: E402
import debian  # noqa: E402
from pool_sources import (  # noqa: E402
    EXTRA_PACKAGES,
    FORBIDDEN_SETS,
    NON_FREE,
    SHARED_SETS,
    Item,
    Members,
    family_name,
    package_items,
    shared_items,
)

SR = build.SR
MIN_S = 0.5
SEGMENTS = {"music": 3, "sfx": 6, "speech": 6, "ambience": 6}


# ------------------------------------------------------------------------------------------------ exclusion
@dataclass
class Exclusions:
    """What the corpus holds: used files, held-out (valid/test) families and the hashes of its clips."""

    used: set[tuple[str, str]] = field(default_factory=set)
    held_families: set[str] = field(default_factory=set)
    held_names: set[tuple[str, str]] = field(default_factory=set)
    hashes: set[bytes] = field(default_factory=set)

    def reason(self, it: Item) -> str | None:
        """Why ``it`` must stay out of the pool (None when it may go in)."""
        if (it.source, it.path) in self.used:
            return "used by the corpus"
        if it.family in self.held_families:
            return "family in corpus valid/test"
        if (it.source, family_name(it.family)) in self.held_names:
            return "file name of a corpus valid/test family"
        return None


def clip_hash(q: np.ndarray) -> bytes:
    """SHA-1 of a clip's int16 samples (the same decoding gives the same hash)."""
    return hashlib.sha1(np.ascontiguousarray(q, dtype=np.int16).tobytes()).digest()


def corpus_exclusions(corpus: Path) -> Exclusions:
    """Read a built corpus folder; raises SystemExit with one line when it is missing or unreadable."""
    index, data = corpus / "clips.jsonl", corpus / "audio.int16"
    if not index.is_file() or not data.is_file():
        raise SystemExit(f"error: no corpus at {corpus} (build it first: python scripts/corpus/build.py)")
    audio = np.memmap(data, dtype=np.int16, mode="r")
    ex = Exclusions()
    for n, line in enumerate(index.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            source, path, split, fam = r["source"], r["path"], r["split"], r.get("family", "")
            off, length = int(r["offset"]), int(r["length"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SystemExit(f"error: {index}:{n}: not a corpus record ({exc})") from None
        ex.used.add((source, path))
        if split in ("valid", "test") and fam:
            ex.held_families.add(fam)
            ex.held_names.add((source, family_name(fam)))
        ex.hashes.add(clip_hash(audio[off : off + length]))
    return ex


# ------------------------------------------------------------------------------------------------ planning
def plan(items: list[Item], ex: Exclusions, counts: dict[str, int]) -> list[Item]:
    """Drop excluded and non-free items; non-music first, then music taken round-robin over sources."""
    keep: list[Item] = []
    for it in items:
        why = ex.reason(it) or ("non-free licence" if NON_FREE.search(it.licence) else None)
        if why:
            counts[why] += 1
        else:
            keep.append(it)
    music: dict[str, list[Item]] = defaultdict(list)
    for it in keep:
        if it.kind == "music":
            music[it.source].append(it)
    queues = [sorted(music[s], key=lambda i: build._hash01(i.path)) for s in sorted(music)]
    interleaved = [q[k] for k in range(max((len(q) for q in queues), default=0)) for q in queues if k < len(q)]
    return [it for it in keep if it.kind != "music"] + interleaved


def usable(x: np.ndarray) -> bool:
    """At least ``MIN_S`` long with at least 0.25 s of 20 ms frames above -60 dBFS RMS."""
    if x.size < MIN_S * SR:
        return False
    frames = x[: x.size // 320 * 320].reshape(-1, 320)
    active = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1)) > 1e-3
    return int(active.sum()) * 320 >= 0.25 * SR


def _decode_job(args: tuple[int, bytes, int]) -> tuple[int, list[np.ndarray]]:
    i, blob, segments = args
    return i, build.decode(blob, None, segments)


def decoded(items: list[Item], jobs: int, log: list[str]) -> Iterator[tuple[Item, list[np.ndarray]]]:
    """(item, 16 kHz segments) in order; ``jobs`` > 1 decodes in processes with a bounded window."""

    def blobs() -> Iterator[tuple[int, bytes, int]]:
        for i, it in enumerate(items):
            try:
                yield i, it.fetch(), SEGMENTS[it.kind]
            except (OSError, KeyError, zipfile.BadZipFile, containers.ContainerError) as exc:
                log.append(f"{it.source}: {it.path}: {exc}")

    if jobs <= 1:
        for job in blobs():
            yield items[job[0]], _decode_job(job)[1]
        return
    with ProcessPoolExecutor(jobs) as ex:
        pending: list = []
        for job in blobs():
            pending.append(ex.submit(_decode_job, job))
            if len(pending) >= 8 * jobs:
                i, segs = pending.pop(0).result()
                yield items[i], segs
        for fut in pending:
            i, segs = fut.result()
            yield items[i], segs


# ------------------------------------------------------------------------------------------------ writing
def write_clips(
    items: list[Item], ex: Exclusions, fa, music_share: float, jobs: int, log: list[str], counts: dict[str, int]
) -> list[dict]:
    """Decode ``items`` into the open ``audio.int16`` file ``fa``; returns the clip records."""
    records: list[dict] = []
    seen: set[bytes] = set()
    secs: dict[str, float] = defaultdict(float)
    offset = 0
    t0 = time.time()
    for k, (it, segs) in enumerate(decoded(items, jobs, log)):
        if k % 2000 == 0:
            print(f"[{time.time() - t0:6.0f}s] decoded {k}/{len(items)}, {sum(secs.values()) / 3600:.2f} h", flush=True)
        budget = float("inf")
        if it.kind == "music":  # music <= share of the pool: music <= share / (1 - share) * the rest
            other = sum(v for kd, v in secs.items() if kd != "music")
            budget = music_share / (1.0 - music_share) * other - secs["music"]
            if budget < MIN_S:
                counts["music over the cap"] += len(items) - k
                break
        qs = [np.round(x * 32767).astype(np.int16) for x in segs if usable(x)]
        hashes = [clip_hash(q) for q in qs]
        if any(h in ex.hashes for h in hashes):
            counts["same audio as a corpus clip"] += 1
            continue
        if not qs:
            counts["silent, short or undecodable"] += 1
            continue
        nseg = len(qs)
        while qs and sum(q.size for q in qs) / SR > budget:
            qs.pop()
            hashes.pop()
        if not qs:
            counts["music over the cap"] += 1
            continue
        for j, (q, h) in enumerate(zip(qs, hashes, strict=True)):
            if h in seen:
                counts["duplicate segment"] += 1
                continue
            seen.add(h)
            fa.write(q.tobytes())
            rec = {
                "id": f"p{len(records):07d}",
                "source": it.source,
                "path": it.path,
                "licence": it.licence,
                "category": "",
                "descriptions": [],
                "duration": round(q.size / SR, 3),
                "split": "train",
                "offset": offset,
                "length": int(q.size),
                "family": it.family,
                "group": "",
                "kind": it.kind,
                "origin": it.origin,
            }
            if nseg > 1:
                rec["segment"] = j
            records.append(rec)
            offset += int(q.size)
            secs[it.kind] += q.size / SR
    return records


def _hours(records: list[dict], key: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for r in records:
        out[r[key]] += r["duration"] / 3600
    return {k: round(v, 3) for k, v in sorted(out.items())}


def pool_meta(records: list[dict], counts: dict[str, int], log: list[str], extra: dict) -> dict:
    """meta.json of the pool: hours per source / kind / origin, licences per source, exclusions."""
    lic: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in records:
        lic[r["source"]][r["licence"]] += r["duration"] / 3600
    licences = {s: [k for k, _ in sorted(v.items(), key=lambda kv: -kv[1])][:4] for s, v in sorted(lic.items())}
    return {
        "sample_rate": SR,
        "kind": "label-free pool",
        "clips": len(records),
        "hours": round(sum(r["duration"] for r in records) / 3600, 3),
        "hours_by_source": _hours(records, "source"),
        "hours_by_kind": _hours(records, "kind"),
        "hours_by_origin": _hours(records, "origin"),
        "licences": licences,
        "excluded": dict(sorted(counts.items())),
        "built": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
        "notes": log[-200:],
    }


def write_pool(out: Path, items: list[Item], ex: Exclusions, args: argparse.Namespace, extra: dict) -> dict:
    """Write the pool atomically (``OUT.tmp`` then a rename); returns its meta."""
    counts: dict[str, int] = defaultdict(int)
    log: list[str] = list(extra.pop("log", []))
    ordered = plan(items, ex, counts)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        with open(tmp / "audio.int16", "wb") as fa:
            records = write_clips(ordered, ex, fa, args.music_share, args.jobs, log, counts)
        if not records:
            raise SystemExit("error: no usable audio found; nothing written")
        with open(tmp / "clips.jsonl", "w") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        meta = pool_meta(records, counts, log, extra)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out.with_name(out.name + ".old")
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return meta


# ------------------------------------------------------------------------------------------------ main
def collect(args: argparse.Namespace, corpus_meta: dict, log: list[str]) -> tuple[list[Item], dict[str, str]]:
    """Every candidate item of the chosen packages and shared sets, plus each package's licence summary."""
    items: list[Item] = []
    licences: dict[str, str] = {}
    pkgs: list[str] = []
    if not args.no_debian:
        base = (
            args.packages.split(",") if args.packages else list(corpus_meta.get("licences") or build.DEFAULT_PACKAGES)
        )
        pkgs = [p.strip() for p in base if p.strip()]
        if not args.no_extra:
            pkgs += [p.strip() for p in args.extra_packages.split(",") if p.strip() and p.strip() not in pkgs]
    members = Members()
    debs = args.cache / "debs"
    for pkg in pkgs:
        deb = debian.find_deb(pkg, debs) or (debian.download(pkg, debs, log) if args.download else None)
        if deb is None:
            log.append(f"{pkg}: no .deb (not cached{'' if args.download else ', --no-download'}), skipped")
            continue
        root = debian.unpack(deb, debs / "x" / pkg)
        licences[pkg] = debian.licence_summary(root, pkg)
        if NON_FREE.search(licences[pkg]):
            log.append(f"{pkg}: non-free licence ({licences[pkg]}), skipped")
            continue
        n0 = len(items)
        items.extend(package_items(pkg, root, debian.licence_lookup(root, pkg), members, log))
        print(f"{pkg}: {len(items) - n0} audio files ({licences[pkg][:50]})", flush=True)
    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
    if args.shared is not None and args.shared.is_dir():
        n0 = len(items)
        items.extend(shared_items(args.shared, sets, log))
        print(f"shared sets {','.join(sets)}: {len(items) - n0} clips", flush=True)
    else:
        log.append(f"no shared data at {args.shared}")
    return items, licences


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cache = Path(os.environ.get("SFCLI_CACHE") or Path.home() / ".cache" / "sfcli").expanduser()
    ap.add_argument("--cache", type=Path, default=cache, help="cache folder (default $SFCLI_CACHE or ~/.cache/sfcli)")
    ap.add_argument("--corpus", type=Path, default=None, help="the built corpus to exclude (default CACHE/corpus)")
    ap.add_argument("--out", type=Path, default=None, help="pool folder (default CACHE/pool)")
    ap.add_argument("--packages", default="", help="Debian packages (default: the corpus's own, from its meta.json)")
    ap.add_argument("--extra-packages", default=",".join(EXTRA_PACKAGES), help="more Debian packages to add")
    ap.add_argument("--no-extra", action="store_true", help="only the corpus's packages")
    ap.add_argument("--no-debian", action="store_true", help="no Debian packages at all")
    ap.add_argument("--no-download", dest="download", action="store_false", help="use cached .debs only")
    ap.add_argument("--shared", type=Path, default=HERE.parent.parent.parent / "shared" / "data")
    ap.add_argument("--sets", default=",".join(SHARED_SETS), help="shared sets to use (kitchen20 is refused)")
    ap.add_argument("--music-share", type=float, default=0.4, help="music at most this share of the pool hours")
    ap.add_argument("--jobs", type=int, default=1, help="decoding processes (the machine is shared: keep 1)")
    ap.add_argument("--force", action="store_true", help="replace an existing pool")
    a = ap.parse_args(argv)
    if not 0.0 <= a.music_share < 1.0:
        ap.error("--music-share must be in [0, 1)")
    if any(s.strip() in FORBIDDEN_SETS for s in a.sets.split(",")):
        ap.error("kitchen20 is evaluation-only and never goes into a training pool")
    return a


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    a = parse_args(argv)
    t0 = time.time()
    out = (a.out or a.cache / "pool").expanduser()
    corpus = (a.corpus or a.cache / "corpus").expanduser()
    if out.exists() and not a.force:
        print(f"error: {out} exists (use --force to replace it)", file=sys.stderr)
        return 2
    try:
        ex = corpus_exclusions(corpus)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    corpus_meta = json.loads((corpus / "meta.json").read_text()) if (corpus / "meta.json").is_file() else {}
    log: list[str] = []
    items, licences = collect(a, corpus_meta, log)
    print(f"{len(items)} candidate files; corpus: {len(ex.used)} files, {len(ex.held_families)} held-out families")
    extra = {
        "licences_by_package": licences,
        "corpus": {"path": str(corpus), "built": corpus_meta.get("built"), "clips": corpus_meta.get("clips")},
        "music_share_cap": a.music_share,
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "log": log,
    }
    try:
        meta = write_pool(out, items, ex, a, extra)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    meta["build_seconds"] = round(time.time() - t0)
    (out / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print(
        f"wrote {out}: {meta['clips']} clips, {meta['hours']} h; by kind {meta['hours_by_kind']}; "
        f"in {meta['build_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
