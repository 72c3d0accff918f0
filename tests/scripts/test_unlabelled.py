"""scripts/corpus/unlabelled.py: a tiny fake package folder, fake shared sets and a fake corpus -> a pool."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfcli.data.corpus import Corpus

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "corpus"))
_spec = importlib.util.spec_from_file_location("unlabelled", ROOT / "scripts" / "corpus" / "unlabelled.py")
assert _spec is not None and _spec.loader is not None
unlabelled = importlib.util.module_from_spec(_spec)
sys.modules["unlabelled"] = unlabelled
_spec.loader.exec_module(unlabelled)
import build  # noqa: E402
import pool_sources  # noqa: E402

SR = 16000
PKG = "fakepkg"
BASE = "usr/share/fakepkg"


def _wav(seconds: float, seed: int, amp: float = 0.3, sr: int = 22050) -> bytes:
    x = amp * np.random.default_rng(seed).uniform(-1, 1, int(seconds * sr))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


FILES = {
    f"{BASE}/sounds/door_01.wav": _wav(1.0, 1),  # used by the corpus (train)
    f"{BASE}/sounds/door_02.wav": _wav(1.0, 2),  # another take of a train family: allowed
    f"{BASE}/sounds/bird_1.wav": _wav(1.0, 3),  # family "bird" is in the corpus test split: excluded
    f"{BASE}/other/bird.wav": _wav(1.0, 4),  # same file name family in the package: excluded
    f"{BASE}/sounds/copy_of_door.wav": _wav(1.0, 1),  # same audio as a corpus clip: excluded
    f"{BASE}/sounds/engine.wav": _wav(1.5, 5),
    f"{BASE}/sounds/quiet.wav": _wav(1.0, 6, amp=1e-4),  # near-silent: dropped
    f"{BASE}/sounds/blip.wav": _wav(0.3, 7),  # < 0.5 s: dropped
    f"{BASE}/music/theme.wav": _wav(45.0, 8, sr=16000),  # music: 3 segments of <= 20 s
}
ZIP_MEMBERS = {"snd/cow_1.wav": _wav(1.2, 9), "snd/readme.txt": b"not audio"}
COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
License: GPL-2+

Files: data/sounds/*
License: CC-BY-3.0
"""


def make_package(cache: Path) -> None:
    """A cached, already-unpacked fake Debian package (as debian.py leaves it)."""
    root = cache / "debs" / "x" / PKG
    for rel, blob in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)
    with zipfile.ZipFile(root / BASE / "data.zip", "w") as z:
        for name, blob in ZIP_MEMBERS.items():
            z.writestr(name, blob)
    (root / "usr/share/doc" / PKG).mkdir(parents=True)
    (root / "usr/share/doc" / PKG / "copyright").write_text(COPYRIGHT)
    (root / ".unpacked").write_text("fake\n")
    (cache / "debs" / f"{PKG}_1.0_all.deb").write_bytes(b"")


def make_shared(shared: Path) -> None:
    """fsdd-, real-misc- and kitchen20-style manifests with FLAC clips."""
    for name, rows in {
        "fsdd": [("0_alice_0", "alice"), ("1_alice_1", "alice"), ("0_bob_0", "bob"), ("2_carol_0", "carol")],
        "real-misc": [("rain", "rain"), ("sax_1", "alto_saxophone")],
        "kitchen20": [("blender_1", "blender")],
    }.items():
        (shared / name / "audio").mkdir(parents=True)
        lines = []
        for k, (stem, extra) in enumerate(rows):
            x = 0.2 * np.random.default_rng(100 + k + 10 * len(name)).uniform(-1, 1, SR)
            sf.write(shared / name / "audio" / f"{stem}.flac", x.astype(np.float32), SR)
            row = {"audio": f"audio/{stem}.flac", "text": "x", "seconds": 1.0}
            row.update({"speaker": extra} if name == "fsdd" else {"label": extra, "licence": "CC0 1.0"})
            lines.append(json.dumps(row) + "\n")
        (shared / name / "manifest.jsonl").write_text("".join(lines))


def make_corpus(cache: Path) -> None:
    """A corpus that uses door_01 (train), bird_2 (test: its family 'bird' is held out), fsdd alice_0
    (train) and fsdd speaker bob (valid); its audio for door_01 is what build.decode gives for that file."""
    root = cache / "corpus"
    root.mkdir(parents=True)
    door = build.decode(FILES[f"{BASE}/sounds/door_01.wav"])[0]
    clips = [
        (PKG, f"{BASE}/sounds/door_01.wav", "train", build.family_of(PKG, f"{BASE}/sounds/door_01.wav"), door),
        (PKG, f"{BASE}/sounds/bird_2.wav", "test", build.family_of(PKG, f"{BASE}/sounds/bird_2.wav"), None),
        ("fsdd", "audio/0_alice_0.flac", "train", "fsdd:alice", None),
        ("fsdd", "audio/9_bob_9.flac", "valid", "fsdd:bob", None),
    ]
    off, lines = 0, []
    with open(root / "audio.int16", "wb") as f:
        for i, (src, path, split, fam, x) in enumerate(clips):
            x = 0.1 * np.sin(np.arange(SR) * (0.05 + 0.01 * i)) if x is None else x
            q = np.round(x * 32767).astype(np.int16)
            f.write(q.tobytes())
            rec = {"id": f"c{i}", "source": src, "path": path, "licence": "x", "category": f"cat{i}",
                   "descriptions": ["d"], "duration": q.size / SR, "split": split, "offset": off,
                   "length": int(q.size), "family": fam}  # fmt: skip
            lines.append(json.dumps(rec) + "\n")
            off += q.size
    (root / "clips.jsonl").write_text("".join(lines))
    (root / "meta.json").write_text(json.dumps({"sample_rate": SR, "licences": {PKG: "GPL-2+"}, "built": "t"}))


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, Path]:
    cache, shared = tmp_path / "cache", tmp_path / "shared"
    make_package(cache)
    make_shared(shared)
    make_corpus(cache)
    return {"cache": cache, "shared": shared, "pool": cache / "pool"}


def run(env: dict[str, Path], *extra: str) -> int:
    args = ["--cache", str(env["cache"]), "--shared", str(env["shared"]), "--no-extra", "--no-download"]
    return unlabelled.main([*args, *extra])


def test_pool_holds_every_unused_file_and_nothing_held_out(env: dict[str, Path]) -> None:
    assert run(env, "--music-share", "0.95") == 0
    pool = Corpus.open(env["pool"])
    paths = {(c.source, c.path) for c in pool.clips}
    assert paths == {
        (PKG, f"{BASE}/sounds/door_02.wav"),
        (PKG, f"{BASE}/sounds/engine.wav"),
        (PKG, f"{BASE}/music/theme.wav"),
        (PKG, f"{BASE}/data.zip::snd/cow_1.wav"),
        ("fsdd", "audio/1_alice_1.flac"),
        ("fsdd", "audio/2_carol_0.flac"),
        ("real-misc", "audio/rain.flac"),
        ("real-misc", "audio/sax_1.flac"),
    }
    assert all(c.split == "train" and c.category == "" and c.descriptions == [] for c in pool.clips)
    assert all(c.source != "kitchen20" for c in pool.clips)
    theme = [c for c in pool.clips if c.path.endswith("theme.wav")]
    assert [c.extra["segment"] for c in theme] == [0, 1, 2] and max(c.duration for c in theme) <= 20.0
    kinds = {c.path.rsplit("/", 1)[-1]: c.extra["kind"] for c in pool.clips}
    assert kinds["theme.wav"] == "music" and kinds["rain.flac"] == "ambience" and kinds["2_carol_0.flac"] == "speech"
    lic = {c.path.rsplit("/", 1)[-1]: c.licence for c in pool.clips}
    # DEP-5 stanzas: data/sounds/* (matched by its trailing folder) is CC-BY-3.0, the rest GPL-2+
    assert lic["door_02.wav"] == "CC-BY-3.0" and lic["theme.wav"] == "GPL-2+" and lic["rain.flac"] == "CC0 1.0"
    meta = json.loads((env["pool"] / "meta.json").read_text())
    assert meta["excluded"]["used by the corpus"] == 2  # door_01 and fsdd alice_0
    assert meta["excluded"]["family in corpus valid/test"] == 2  # bird_1 and fsdd bob
    assert meta["excluded"]["file name of a corpus valid/test family"] == 1  # other/bird.wav
    assert meta["excluded"]["same audio as a corpus clip"] == 1  # copy_of_door.wav
    assert meta["excluded"]["silent, short or undecodable"] == 2  # quiet.wav, blip.wav
    assert abs(meta["hours"] * 3600 - sum(c.duration for c in pool.clips)) <= 2.0  # hours rounded to 3 decimals


def test_music_share_caps_music(env: dict[str, Path]) -> None:
    assert run(env, "--music-share", "0") == 0
    pool = Corpus.open(env["pool"])
    assert not [c for c in pool.clips if c.extra["kind"] == "music"]
    meta = json.loads((env["pool"] / "meta.json").read_text())
    assert meta["excluded"]["music over the cap"] == 2  # theme.wav and the saxophone
    assert run(env, "--force") == 0  # default 40 %: the 45 s theme is cut to the share
    clips = Corpus.open(env["pool"]).clips
    music = sum(c.duration for c in clips if c.extra["kind"] == "music")
    assert 0 < music <= 0.4 * sum(c.duration for c in clips) + 1e-3
    assert run(env, "--force", "--music-share", "0.8") == 0  # room for one 20 s segment of the theme
    clips = Corpus.open(env["pool"]).clips
    assert [c.extra["segment"] for c in clips if c.path.endswith("theme.wav")] == [0]
    music = sum(c.duration for c in clips if c.extra["kind"] == "music")
    assert 20 < music <= 0.8 * sum(c.duration for c in clips) + 1e-3


def test_build_is_deterministic(env: dict[str, Path], tmp_path: Path) -> None:
    assert run(env) == 0
    assert run(env, "--out", str(tmp_path / "pool2")) == 0
    for name in ("audio.int16", "clips.jsonl"):
        assert (env["pool"] / name).read_bytes() == (tmp_path / "pool2" / name).read_bytes()


def test_existing_pool_needs_force_and_is_swapped_whole(env: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    assert run(env) == 0
    before = (env["pool"] / "clips.jsonl").read_bytes()
    assert run(env, "--music-share", "0") == 2
    assert "--force" in capsys.readouterr().err
    assert (env["pool"] / "clips.jsonl").read_bytes() == before
    assert run(env, "--music-share", "0", "--force") == 0
    assert (env["pool"] / "clips.jsonl").read_bytes() != before
    assert sorted(p.name for p in env["cache"].iterdir()) == ["corpus", "debs", "pool"]


def test_failure_leaves_no_half_written_pool(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: object, **k: object) -> list:
        raise RuntimeError("disk full")

    monkeypatch.setattr(unlabelled, "write_clips", boom)
    with pytest.raises(RuntimeError):
        run(env)
    assert not env["pool"].exists() and not (env["cache"] / "pool.tmp").exists()


def test_bad_inputs_exit_cleanly(env: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run(env, "--corpus", str(tmp_path / "none")) == 2
    assert "no corpus" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run(env, "--sets", "fsdd,kitchen20")
    assert exc.value.code == 2
    assert "kitchen20" in capsys.readouterr().err
    assert not env["pool"].exists()


def test_family_rule_matches_the_corpus() -> None:
    tux = "tuxpaint-stamps-default"
    assert pool_sources.debian_family(PKG, "a/sword_hit_03b.ogg") == build.family_of(PKG, "a/sword_hit_03b.ogg")
    assert pool_sources.debian_family(tux, "s/animals/cow_desc_fr.ogg") == f"{tux}:desc:cow"
    assert pool_sources.debian_family(tux, "s/animals/cow_desc.ogg") == f"{tux}:desc:cow"
    assert pool_sources.debian_family("openttd-opensfx", "x.cat", "012 Cow moo 2.wav") == "openttd-opensfx:cow moo"
    assert pool_sources.kind_of(tux, "s/animals/cow_desc_fr.ogg", 1.0) == "speech"
    assert pool_sources.kind_of(tux, "s/animals/cow.ogg", 1.0) == "sfx"
    assert pool_sources.kind_of("x", "a/ambience/river.ogg", 120.0) == "ambience"
    assert pool_sources.kind_of("x", "a/sounds/loop.ogg", 120.0) == "music"
    assert pool_sources.kind_of("x", "a/voices/hello.ogg", 1.0) == "speech"
    assert pool_sources.kind_of("x", "a/sounds/codriver/ab/tarmac.wav", 1.0) == "speech"  # not "river"
    assert pool_sources.kind_of("x", "a/sounds/window_open.wav", 1.0) == "sfx"  # not "wind"
