"""scripts/corpus/mine_keywords.py: keyword rules label tiny fake pools; splits follow recording families."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

from sfcli.data.corpus import Corpus
from tests.data.test_corpus import write_corpus

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))
_spec = importlib.util.spec_from_file_location("mine_keywords", ROOT / "scripts" / "corpus" / "mine_keywords.py")
assert _spec is not None and _spec.loader is not None
mk = importlib.util.module_from_spec(_spec)
sys.modules["mine_keywords"] = mk
_spec.loader.exec_module(mk)

SR = 16000
TABLE = """# a tiny keyword table
scope\tpattern\tcontext\tcategory\tdescriptions
fx\tmenu|click\t-\t-\t-
fx\tcry\tbaby\tbaby crying\ta baby crying
fx\tcry\teagle|hawk\tbird of prey\tan eagle's cry | a hawk screeching
fx\tcry\t-\t-\t-
fx\thorn\tcar|truck\tcar horn\ta car horn honking
fx\thorn\thunting\thorn call\ta hunting horn
all\tsax (?P<note>[a-g]b?) (?P<octave>\\d)\t-\tsaxophone\ta saxophone playing a single {note}
fx\tdog\t!toy\tdog barking\ta dog barking\tanimal/canine
"""


def _rules(tmp_path: Path) -> list:
    path = tmp_path / "keywords.tsv"
    path.write_text(TABLE)
    return mk.load_rules(path)


def _label(rules: list, path: str, kind: str = "sfx", source: str = "pkg") -> tuple[str, list[str]] | None:
    hit = mk.match_rule(rules, kind, source, path)
    return None if hit is None else (hit[0].category, hit[1])


def test_tokens_split_names_and_drop_extensions() -> None:
    assert mk.tokens("usr/share/games/x/sounds/exploBig2.wav") == "x sounds explo big 2"
    assert mk.tokens("a/data.zip::snd/Car_Horn-01.ogg") == "data snd car horn 01"
    assert mk.tokens('g/opensfx.cat::022 "Morse". By someone.') == "g opensfx morse"
    assert mk.context_text("pkg-data", "a/b/c.wav") == "pkg data a b c"


def test_rules_label_paths_split_near_words_and_drop(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    assert _label(rules, "sounds/baby/cry_01.wav") == ("baby crying", ["a baby crying"])
    assert _label(rules, "birds/eagle/cry.ogg") == ("bird of prey", ["an eagle's cry", "a hawk screeching"])
    assert _label(rules, "sounds/cry.ogg")[0] == "-"  # a bare near-word is dropped, not guessed
    assert _label(rules, "sfx/car_horn.wav")[0] == "car horn"
    assert _label(rules, "sfx/hunting_horn.wav")[0] == "horn call"
    assert _label(rules, "ui/menu_click.wav")[0] == "-"
    assert _label(rules, "sfx/dog.wav")[0] == "dog barking"
    assert _label(rules, "toy/dog.wav") is None  # negated context
    assert _label(rules, "sfx/hotdog.wav") is None  # whole words only
    # fx rows never label speech or music; "all" rows do, with their named groups filled
    assert _label(rules, "speech/car_horn.wav", kind="speech") is None
    assert _label(rules, "x/sax__ab3_f.flac", kind="music") == ("saxophone", ["a saxophone playing a single A flat"])


def test_the_shipped_table_parses_and_splits_its_near_words() -> None:
    rules = mk.load_rules()
    assert len(rules) > 50
    cases = {
        "sounds/baby_cry.wav": "baby crying",
        "birds/eagle_cry.wav": "bird of prey",
        "sounds/cry.wav": "-",
        "traffic/car_horn.wav": "car horn",
        "forest/hunting_horn.wav": "horn call",
        "sounds/horn.wav": "-",
        "sfx/jump.wav": "-",
        "sfx/powerup2.wav": "-",
        "sounds/exploBig.wav": "explosion",
    }
    for path, cat in cases.items():
        hit = mk.match_rule(rules, "sfx", "pkg", path)
        assert hit is not None and hit[0].category == cat, path


def _write_pool(root: Path, clips: list[tuple[str, str, str, str]]) -> Path:
    """A pool folder: (source, path, family, kind) per clip, 0.6 s of noise each."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    off, lines = 0, []
    with open(root / "audio.int16", "wb") as f:
        for i, (source, path, fam, kind) in enumerate(clips):
            q = np.round(0.1 * rng.standard_normal(int(0.6 * SR)) * 32767).astype(np.int16)
            f.write(q.tobytes())
            rec = {"id": f"p{i:07d}", "source": source, "path": path, "licence": "CC0", "category": "",
                   "descriptions": [], "duration": q.size / SR, "split": "train", "offset": off,
                   "length": int(q.size), "family": fam, "group": "", "kind": kind, "origin": "designed"}  # fmt: skip
            lines.append(json.dumps(rec) + "\n")
            off += q.size
    (root / "clips.jsonl").write_text("".join(lines))
    (root / "meta.json").write_text(json.dumps({"sample_rate": SR}))
    return root


def _pool_spec() -> list[tuple[str, str, str, str]]:
    clips = []
    for f in range(40):  # 40 families of two takes each
        for take in (1, 2):
            clips.append(("pkg", f"sounds/dog{f}_{take}.wav", f"pkg:sounds/dog{f}", "sfx"))
    clips.append(("pkg", "sounds/baby_cry.wav", "fam-in-corpus", "sfx"))
    clips.append(("pkg", "ui/menu_click.wav", "pkg:ui/menu_click", "sfx"))
    clips.append(("pkg", "speech/dog.wav", "pkg:speech/dog", "speech"))
    clips.append(("0ad-data", "public.zip::audio/interface/alarm/dog.ogg", "0ad:alarm", "sfx"))  # hand-table drop
    clips.append(("pkg", "sounds/engine.wav", "pkg:sounds/engine", "sfx"))
    return clips


def test_mined_folder_has_labels_family_splits_and_linked_audio(tmp_path: Path) -> None:
    _rules(tmp_path)
    pool = _write_pool(tmp_path / "pool", _pool_spec())
    corpus = write_corpus(tmp_path / "corpus", [("baby crying", "train", 1.0)])
    recs = [json.loads(x) for x in (corpus / "clips.jsonl").read_text().splitlines()]
    recs[0]["family"], recs[0]["group"] = "fam-in-corpus", "voice"
    (corpus / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    args = ["--pool", str(pool), "--corpus", str(corpus), "--table", str(tmp_path / "keywords.tsv")]
    assert mk.main([*args, "--out", str(tmp_path / "a")]) == 0
    assert mk.main([*args, "--out", str(tmp_path / "b")]) == 0
    assert mk.main([*args, "--out", str(tmp_path / "b")]) == 2  # exists: --force needed

    mined = Corpus.open(tmp_path / "a")
    assert (
        os.path.samefile(tmp_path / "a" / "audio.int16", pool / "audio.int16")
        or (tmp_path / "a" / "audio.int16").is_symlink()
    )
    by_path = {c.path: c for c in mined.clips}
    assert len(mined) == 81 and "ui/menu_click.wav" not in by_path and "speech/dog.wav" not in by_path
    assert "public.zip::audio/interface/alarm/dog.ogg" not in by_path  # descriptions.tsv drops it
    assert by_path["sounds/dog3_1.wav"].category == "dog barking"
    assert by_path["sounds/dog3_1.wav"].extra["group"] == "animal/canine"
    assert by_path["sounds/baby_cry.wav"].extra["group"] == "voice"  # the corpus's group of its category
    assert by_path["sounds/baby_cry.wav"].split == "train"  # its family is in the corpus
    pooled = Corpus.open(pool)
    assert np.array_equal(mined.audio(by_path["sounds/dog3_1.wav"]), pooled.audio(pooled.clips[6]))

    fam_splits: dict[str, set[str]] = {}
    for c in mined.clips:
        fam_splits.setdefault(c.extra["family"], set()).add(c.split)
    assert all(len(s) == 1 for s in fam_splits.values())
    assert {c.split for c in mined.clips} == {"train", "valid", "test"}
    again = {c.id: c.split for c in Corpus.open(tmp_path / "b").clips}
    assert again == {c.id: c.split for c in mined.clips}  # deterministic

    meta = json.loads((tmp_path / "a" / "meta.json").read_text())
    assert meta["clips"] == 81 and meta["new_categories"] == ["dog barking"]
    assert meta["existing_categories"] == ["baby crying"] and meta["clips_by_source"] == {"pkg": 81}
    assert meta["pool_clips_not_labelled"]["dropped by keywords.tsv"] == 1
