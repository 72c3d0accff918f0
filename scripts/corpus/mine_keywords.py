#!/usr/bin/env python
"""Label pool clips from the words of their file names (issue 18 point 2): a corpus folder of mined labels.

    nice -n 10 python scripts/corpus/mine_keywords.py [--pool DIR] [--corpus DIR] [--out DIR] [--force]

The generic rule table ``keywords.tsv`` (its header documents the columns) maps words of a clip's path
(file name and the two folders above it) to a category and 1-3 descriptions, with an optional context
regex that splits near-words ("cry" with "baby" vs. with "eagle") and a ``-`` category that drops a clip.
Rows of scope ``fx`` label sfx and ambience clips only; rows of scope ``all`` also speech and music clips
(an instrument and its note, a baby's cry). Files that the corpus's hand-written ``descriptions.tsv``
drops on purpose (UI sounds, voice lines, fictional creatures) stay unlabelled whatever the keywords say.

Writes OUT (default ``$SFCLI_CACHE/mined``) in the corpus format: ``clips.jsonl`` (the pool's records with
``category``, ``descriptions``, ``group``, ``split`` and ``rule`` filled; only labelled clips),
``audio.int16`` (a hard link to the pool's file, a symbolic link where that fails; never a copy) and
``meta.json``. Splits are drawn per recording family from a hash of it (10 % test, 10 % valid), so a
family never spans splits; a family that the corpus also holds always goes to train, so the mined valid
and test splits share no recording with the corpus's training clips.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import table  # noqa: E402  (the corpus's own description table: its "-" rows veto)

KEYWORDS_PATH = HERE / "keywords.tsv"
SCOPES = {"fx": ("sfx", "ambience"), "all": ("sfx", "ambience", "speech", "music")}
_NOTE = re.compile(r"^([a-g])(sharp|s|#|flat|b)?$")


@dataclass
class KeywordRule:
    """One row of ``keywords.tsv``: the kinds it applies to, token pattern, optional context, labels."""

    kinds: tuple[str, ...]
    pattern: re.Pattern[str]
    context: re.Pattern[str] | None
    negate: bool
    category: str
    descriptions: list[str]
    group: str | None
    line: int


def _compile(rx: str, path: Path, n: int) -> re.Pattern[str]:
    try:
        return re.compile(rf"\b(?:{rx})\b", re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{path}:{n}: bad regex {rx!r} ({exc})") from exc


def load_rules(path: Path = KEYWORDS_PATH) -> list[KeywordRule]:
    """Parse ``keywords.tsv`` (comments ``#``, header row ``scope``); raises ValueError on a bad row."""
    rules: list[KeywordRule] = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.startswith("#") or raw.startswith("scope\t"):
            continue
        cols = [c.strip() for c in raw.split("\t")]
        if len(cols) not in (5, 6):
            raise ValueError(f"{path}:{n}: expected 5 or 6 TAB-separated columns, got {len(cols)}")
        scope, pat, ctx, cat, descs = cols[:5]
        if scope not in SCOPES:
            raise ValueError(f"{path}:{n}: scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        d = [x.strip() for x in descs.split("|") if x.strip() and x.strip() != "-"]
        if cat != "-" and not 1 <= len(d) <= 3:
            raise ValueError(f"{path}:{n}: need 1-3 descriptions for category {cat!r}")
        negate = ctx.startswith("!")
        ctx = ctx[1:] if negate else ctx
        context = None if ctx in ("", "-") else _compile(ctx, path, n)
        group = cols[5] if len(cols) == 6 and cols[5] else None
        rules.append(KeywordRule(SCOPES[scope], _compile(pat, path, n), context, negate, cat, d, group, n))
    return rules


def normalise(parts: list[str]) -> str:
    """Path parts -> lower-case words: extensions dropped, camelCase and letter/digit runs split."""
    words = []
    for part in parts:
        part = re.sub(r"\.[A-Za-z0-9]{1,4}$", "", part)
        part = re.sub(r"([a-z])([A-Z])", r"\1 \2", part)
        part = re.sub(r"([A-Za-z])(?=\d)|(\d)(?=[A-Za-z])", r"\1\2 ", part)
        words.append(re.sub(r"[^a-z0-9]+", " ", part.lower()))
    return " ".join(" ".join(words).split())


def path_parts(path: str) -> list[str]:
    """Folders and file name of a path (``A::B`` member paths included); an OpenTTD-style member named
    ``NNN "Title". Credits...`` is replaced by its title."""
    parts = [p for p in path.replace("::", "/").split("/") if p]
    if parts:
        title = re.findall(r'"([^"]+)"', parts[-1])
        if title:
            parts[-1] = title[0]
    return parts


def tokens(path: str) -> str:
    """The words the patterns are searched in: the last three path parts, normalised."""
    return normalise(path_parts(path)[-3:])


def context_text(source: str, path: str) -> str:
    """The words the contexts are searched in: the source and every part of the path, normalised."""
    return normalise([source, *path_parts(path)])


def _pretty(name: str, value: str) -> str:
    """A named group's text as it reads in a description (note names, chord qualities)."""
    value = value.strip().lower()
    if name in ("note", "root"):
        m = _NOTE.match(value.replace(" ", ""))
        if m:
            acc = {"sharp": " sharp", "s": " sharp", "#": " sharp", "flat": " flat", "b": " flat"}
            return m.group(1).upper() + acc.get(m.group(2) or "", "")
    if name == "quality":
        return "minor" if value.startswith("min") else "major" if value.startswith("maj") else value
    return value


def describe(rule: KeywordRule, m: re.Match[str]) -> list[str]:
    """The rule's descriptions with ``{group}`` placeholders filled from the match."""
    groups = {k: _pretty(k, v) for k, v in m.groupdict().items() if v is not None}
    try:
        return [d.format(**groups) for d in rule.descriptions]
    except (KeyError, IndexError, ValueError):
        return [d for d in rule.descriptions if "{" not in d] or [rule.category]


def match_rule(rules: list[KeywordRule], kind: str, source: str, path: str) -> tuple[KeywordRule, list[str]] | None:
    """First rule for ``kind`` whose pattern is in the path's tokens and whose context agrees, with the
    filled descriptions; None when no rule matches (a category ``-`` means "drop")."""
    toks, ctx = tokens(path), None
    for r in rules:
        if kind not in r.kinds:
            continue
        m = r.pattern.search(toks)
        if not m:
            continue
        if r.context is not None:
            ctx = ctx if ctx is not None else context_text(source, path)
            if bool(r.context.search(ctx)) == r.negate:
                continue
        return r, describe(r, m)
    return None


def _hash01(s: str) -> float:
    return int(hashlib.sha1(s.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_of_family(family: str, seed: int = 0, valid: float = 0.1, test: float = 0.1) -> str:
    """A family's split from a stable hash: ``test`` below ``test``, ``valid`` below ``test + valid``."""
    h = _hash01(f"mined:{seed}:{family}")
    return "test" if h < test else "valid" if h < test + valid else "train"


def assign_splits(records: list[dict], corpus_families: set[str], seed: int = 0) -> None:
    """Set every record's split by its family (all clips of a family share it); families the corpus
    holds go to train."""
    for r in records:
        fam = r.get("family") or f"{r['source']}:{r['path']}"
        r["split"] = "train" if fam in corpus_families else split_of_family(fam, seed)


def read_jsonl(path: Path) -> list[dict]:
    """Records of a ``clips.jsonl``; raises SystemExit with one line when it is missing or broken."""
    if not path.is_file():
        raise SystemExit(f"error: {path} not found")
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"error: {path}:{n}: not JSON ({exc.msg})") from None
    return out


def label(pool: list[dict], rules: list[KeywordRule], veto: list[table.Rule], counts: Counter) -> list[dict]:
    """Labelled copies of the pool records that a keyword rule describes (``counts`` gets the reasons)."""
    out = []
    for r in pool:
        hand = table.match(veto, r.get("source", ""), r.get("path", ""))
        if hand is not None and hand.category == "-":
            counts["dropped by descriptions.tsv"] += 1
            continue
        hit = match_rule(rules, r.get("kind", "sfx"), r.get("source", ""), r.get("path", ""))
        if hit is None:
            counts["no rule"] += 1
            continue
        rule, descs = hit
        if rule.category == "-":
            counts["dropped by keywords.tsv"] += 1
            continue
        out.append({**r, "category": rule.category, "descriptions": descs, "rule": f"keywords.tsv:{rule.line}"})
        out[-1]["_group"] = rule.group
    return out


def corpus_info(corpus: Path | None) -> tuple[dict[str, str], set[str]]:
    """(category -> group, families) of the corpus at ``corpus``; empty when there is none."""
    if corpus is None or not (corpus / "clips.jsonl").is_file():
        return {}, set()
    groups: dict[str, str] = {}
    fams: set[str] = set()
    for r in read_jsonl(corpus / "clips.jsonl"):
        groups.setdefault(r["category"], r.get("group", ""))
        if r.get("family"):
            fams.add(r["family"])
    return groups, fams


def mined_meta(records: list[dict], known: dict[str, str], counts: Counter, extra: dict) -> dict:
    """meta.json: clips, hours, categories (existing / new), per source / kind / split / category."""
    cats = Counter(r["category"] for r in records)
    hours: dict[str, float] = defaultdict(float)
    for r in records:
        hours[r["source"]] += r["duration"] / 3600
    return {
        "sample_rate": 16000,
        "kind": "mined keyword labels",
        "clips": len(records),
        "hours": round(sum(r["duration"] for r in records) / 3600, 3),
        "categories": len(cats),
        "existing_categories": sorted(c for c in cats if c in known),
        "new_categories": sorted(c for c in cats if c not in known),
        "clips_by_source": dict(sorted(Counter(r["source"] for r in records).items())),
        "hours_by_source": {k: round(v, 3) for k, v in sorted(hours.items())},
        "clips_by_kind": dict(sorted(Counter(r.get("kind", "") for r in records).items())),
        "clips_by_split": dict(sorted(Counter(r["split"] for r in records).items())),
        "clips_by_category": dict(cats.most_common()),
        "pool_clips_not_labelled": dict(sorted(counts.items())),
        "built": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def link_audio(src: Path, dst: Path) -> str:
    """Hard-link ``src`` to ``dst`` (a symbolic link across file systems); returns which."""
    try:
        os.link(src, dst)
        return "hard link"
    except OSError:
        dst.symlink_to(src.resolve())
        return "symbolic link"


def write_mined(out: Path, pool: Path, records: list[dict], meta: dict) -> None:
    """Write OUT through ``OUT.tmp`` and a rename: clips.jsonl, meta.json and the linked audio."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        meta["audio"] = f"{link_audio(pool / 'audio.int16', tmp / 'audio.int16')} to {pool / 'audio.int16'}"
        with open(tmp / "clips.jsonl", "w") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def mine(pool: Path, corpus: Path | None, rules: list[KeywordRule], seed: int = 0) -> tuple[list[dict], dict]:
    """Label the pool at ``pool``: (records, meta) of the labelled clips, splits assigned."""
    counts: Counter = Counter()
    records = label(read_jsonl(pool / "clips.jsonl"), rules, table.load_table(), counts)
    known, fams = corpus_info(corpus)
    for r in records:
        given = r.pop("_group")
        r["group"] = given if given is not None else known.get(r["category"], "")
    assign_splits(records, fams, seed)
    meta = mined_meta(records, known, counts, {"pool": str(pool), "corpus": str(corpus) if corpus else None})
    return records, meta


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cache = Path(os.environ.get("SFCLI_CACHE") or Path.home() / ".cache" / "sfcli").expanduser()
    ap.add_argument("--pool", type=Path, default=cache / "pool", help="the label-free pool (default CACHE/pool)")
    ap.add_argument("--corpus", type=Path, default=cache / "corpus", help="the corpus (category names, families)")
    ap.add_argument("--out", type=Path, default=cache / "mined", help="output folder (default CACHE/mined)")
    ap.add_argument("--table", type=Path, default=KEYWORDS_PATH, help="keyword table (default keywords.tsv)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the family hash that draws the splits")
    ap.add_argument("--force", action="store_true", help="replace an existing output folder")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    a = parse_args(argv)
    pool, out = a.pool.expanduser(), a.out.expanduser()
    if out.exists() and not a.force:
        print(f"error: {out} exists (use --force to replace it)", file=sys.stderr)
        return 2
    try:
        if not (pool / "audio.int16").is_file():
            raise SystemExit(f"error: no pool at {pool} (build it: python scripts/corpus/unlabelled.py)")
        rules = load_rules(a.table)
        records, meta = mine(pool, a.corpus.expanduser(), rules, a.seed)
    except (SystemExit, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if not records:
        print("error: no pool clip matched a rule; nothing written", file=sys.stderr)
        return 2
    meta["command"] = " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])])
    write_mined(out, pool, records, meta)
    print(
        f"wrote {out}: {meta['clips']} clips, {meta['hours']} h, {meta['categories']} categories "
        f"({len(meta['new_categories'])} new); splits {meta['clips_by_split']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
