"""The hand-written description table (``descriptions.tsv``): path pattern -> category + descriptions."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

TABLE_PATH = Path(__file__).with_name("descriptions.tsv")


@dataclass
class Rule:
    """One row: package glob, compiled pattern, category ("-" drops), descriptions."""

    package: str
    pattern: re.Pattern[str]
    basename_only: bool
    category: str
    descriptions: list[str]
    line: int


def load_table(path: Path = TABLE_PATH) -> list[Rule]:
    """Parse the TSV table (comments ``#``, header row ``package``); raises ValueError on bad rows."""
    rules: list[Rule] = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.startswith("#") or raw.startswith("package\t"):
            continue
        cols = raw.split("\t")
        if len(cols) != 4:
            raise ValueError(f"{path}:{n}: expected 4 TAB-separated columns, got {len(cols)}")
        pkg, pat, cat, descs = (c.strip() for c in cols)
        basename_only = pat.startswith("@")
        if basename_only:
            pat = pat[1:]
        try:
            rx = re.compile(pat, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{path}:{n}: bad regex {pat!r} ({exc})") from exc
        d = [x.strip() for x in descs.split("|") if x.strip() and x.strip() != "-"]
        if cat != "-" and not 1 <= len(d) <= 3:
            raise ValueError(f"{path}:{n}: need 1-3 descriptions for category {cat!r}")
        rules.append(Rule(pkg, rx, basename_only, cat, d, n))
    return rules


def match(rules: list[Rule], package: str, path: str) -> Rule | None:
    """First rule whose package glob matches ``package`` and whose pattern is found in ``path``.

    Returns None when nothing matches; a returned rule with category ``-`` means "leave out".
    """
    base = "/" + path.replace("::", "/").rsplit("/", 1)[-1]
    for r in rules:
        if not fnmatch.fnmatchcase(package, r.package):
            continue
        if r.pattern.search(base if r.basename_only else path):
            return r
    return None
