"""The training and evaluation commands find their default corpus under ``$SFCLI_CACHE``
(``sfcli.data.corpus.default_corpus_dir``, the one definition the CLI modules share)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "args",
    [("train-words", "--tiny", "-q"), ("train-filter", "-q"), ("eval", "words", "--split", "test")],
    ids=["train-words", "train-filter", "eval-words"],
)
def test_the_default_corpus_is_under_sfcli_cache(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.setenv("SFCLI_CACHE", str(tmp_path / "cache"))
    res = cli(*args, "--run-dir", tmp_path / "run") if args[0].startswith("train") else cli(*args)
    assert res.code != 0 and "Traceback" not in res.err
    assert len(res.err.strip().splitlines()) == 1
    assert f"no corpus at {tmp_path / 'cache' / 'corpus'}" in res.err
    assert not (tmp_path / "run").exists()
