"""sfcli train-words --add-corpus: the clips of another corpus folder (e.g. mined labels) join each split."""

from __future__ import annotations

import json
from pathlib import Path

from sfcli.train.words import corpus_sources, holdout_split
from tests.data.test_corpus import write_corpus

MAIN = [("dog", "train", 0.6), ("dog", "train", 0.7), ("cat", "train", 0.6), ("cat", "valid", 0.6)]
MINED = [("bird", "train", 0.6), ("bird", "train", 0.8), ("horn", "train", 0.6), ("bird", "valid", 0.6)]


def _run(cli, tmp_path: Path, name: str, *extra: str) -> dict:
    args = ["train-words", "--tiny", "-q", "--run-dir", tmp_path / name, "--steps", "2", "--batch-size", "4"]
    res = cli(*args, "--eval-every", "1", "--checkpoint-every", "2", *extra)
    assert res.code == 0, res.err
    return json.loads(res.out.strip().splitlines()[-1])


def test_add_corpus_clips_join_the_splits(cli, tmp_path: Path) -> None:
    main = write_corpus(tmp_path / "corpus", MAIN)
    mined = write_corpus(tmp_path / "mined", MINED, seed=1)  # same clip ids as the main corpus
    alone = _run(cli, tmp_path, "alone", "--corpus", main)
    both = _run(cli, tmp_path, "both", "--corpus", main, "--add-corpus", mined)
    assert (alone["train_clips"], alone["valid_clips"]) == (3, 1)
    assert (both["train_clips"], both["valid_clips"]) == (6, 2)


def test_add_corpus_keys_stay_apart_and_join_the_holdout_folds(tmp_path: Path) -> None:
    main = write_corpus(tmp_path / "corpus", MAIN)
    mined = write_corpus(tmp_path / "mined", MINED)
    src = corpus_sources(main) + corpus_sources(mined, key_prefix="mined:")
    assert len({s.key for s in src}) == len(src) == 8
    assert {s.category for s in src} == {"dog", "cat", "bird", "horn"}
    kept, uv, ut = holdout_split(src, 1.0)  # every category held out: the added ones too
    assert not kept and {s.category for s in uv + ut} == {"dog", "cat", "bird", "horn"}


def test_missing_added_corpus_is_one_line(cli, tmp_path: Path) -> None:
    main = write_corpus(tmp_path / "corpus", MAIN)
    args = ["--corpus", main, "--add-corpus", tmp_path / "nope", "--run-dir", tmp_path / "r"]
    res = cli("train-words", "--tiny", "-q", *args)
    assert res.code != 0 and "Traceback" not in res.err
    assert f"no corpus at {tmp_path / 'nope'}" in res.err
