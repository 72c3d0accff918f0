"""scripts/words_feature_cache.py: multi-process feature caches equal what train-words would cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sfcli.train.common import load_checkpoint
from sfcli.train.words import TrainWordsOptions, backbone_fingerprint, build_model, corpus_sources, spread
from sfcli.words import SoundWordsConfig
from tests.data.test_corpus import write_corpus

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "words_feature_cache.py"


def test_two_processes_two_poolings_match_the_training_features(tmp_path: Path) -> None:
    pytest.importorskip("aisfx")
    corpus = write_corpus(tmp_path / "corpus", [("dog", "train", 1.0), ("cat", "train", 4.0), ("dog", "test", 2.5)])
    out = tmp_path / "feats"
    cmd = [sys.executable, str(SCRIPT), str(out), "--pools", "max", "meanmax", "--procs", "2", "--corpus", str(corpus)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    assert not list(out.glob(".maps-*"))  # the per-process parts are merged and removed
    for pool, folder, exact in (("max", "features", True), ("meanmax", "features-meanmax", False)):
        blob = load_checkpoint(out / folder / "features.pt")
        assert blob is not None
        model = build_model(
            TrainWordsOptions(run_dir=tmp_path, model_config=SoundWordsConfig(audio_pool=pool)), torch.device("cpu")
        ).eval()
        assert blob["fingerprint"] == backbone_fingerprint(model, "aisfx")
        sources = corpus_sources(corpus)
        assert sorted(blob["features"]) == sorted(s.key for s in sources)
        for s in sources:
            wins = model.windows(model.prepare_audio(*s.load()))
            wins = wins[spread(wins.shape[0], 4)]
            with torch.no_grad():
                ref = model.audio_features(torch.from_numpy(wins)).half()
            got = blob["features"][s.key]
            assert got.shape == ref.shape
            if exact:
                assert torch.equal(got, ref)
            else:  # the time mean of float16 maps: float16 rounding only
                torch.testing.assert_close(got.float(), ref.float(), atol=4e-3, rtol=2e-3)
