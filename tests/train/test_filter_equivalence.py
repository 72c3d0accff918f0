"""The trainer split (issue 19) changed no draw: figures recorded from the pre-split code stay the same.

The reference numbers were measured on the code at commit ed93af9 (before ``sfcli/train/filter.py`` was
split into examples / conditioning / loop / feed / filter_state / filter_validation) with
``torch.set_num_threads(1)``. A changed RNG draw, example, query choice or batch order moves them by whole
units; the tolerances only absorb float rounding of a different thread count (measured: losses equal,
validation SI-SDRi within 1e-6 dB, the weight sum within 3e-5 relative at two threads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sfcli.filter_model import SoundFilterConfig
from sfcli.train.conditioning import ConditioningCache
from sfcli.train.datasets import ToneMixtures
from sfcli.train.examples import draw_example, make_batch
from sfcli.train.filter import TrainFilterOptions, train_filter
from sfcli.words import SoundWords

LOSSES = [120.76776123046875, 131.5746307373047, 122.48497772216797, 120.08009338378906, 111.45450592041016]
VALID_SI_SDRI = [-1.0124995708465576, -0.9481337666511536, -0.8911451101303101, -0.82773756980896, -0.8107103109359741]
WEIGHT_ABS_SUM = 1576.699557238629
BATCH_SUMS = [-0.8046952620352386, 1219.7014080137074, 1507.064678496361, 37.93195371236652, 0.5]


def test_a_tiny_run_matches_the_pre_split_trainer(tmp_path: Path) -> None:
    tr, va = ToneMixtures(seed=0, seconds=0.25), ToneMixtures(seed=1, seconds=0.25)
    opts = TrainFilterOptions(
        run_dir=tmp_path / "r",
        out=tmp_path / "r" / "model",
        steps=5,
        batch_size=4,
        lr=3e-3,
        warmup=2,
        lr_schedule="cosine",
        eval_every=1,
        checkpoint_every=2,
        valid_size=4,
        text_rate=0.5,
        model_config=SoundFilterConfig.tiny(),
    )
    train_filter(opts, tr, va, SoundWords.tiny(seed=0), descriptions=tr.descriptions(), progress=False)
    ck = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=False)
    np.testing.assert_allclose([h["loss"] for h in ck["history"]], LOSSES, rtol=1e-5)
    np.testing.assert_allclose([h["si_sdri"] for h in ck["history"]], VALID_SI_SDRI, atol=1e-4)
    weight_sum = float(sum(v.double().abs().sum() for v in ck["model"].values()))
    assert weight_sum == pytest.approx(WEIGHT_ABS_SUM, rel=1e-4)


def test_batches_and_examples_match_the_pre_split_pipeline() -> None:
    tr = ToneMixtures(seed=0, seconds=0.25)
    b = make_batch(tr, ConditioningCache(SoundWords.tiny(seed=0), 16000), list(range(6)), 0, 0.5)
    sums = [float(b.mixture.double().sum())]
    sums += [float(t.double().abs().sum()) for t in (b.target, b.background, b.cond)]
    np.testing.assert_allclose([*sums, b.text_fraction], BATCH_SUMS, rtol=1e-6)
    ex = draw_example(tr, 3)
    assert float(np.abs(ex.mixture).sum()) == pytest.approx(316.56268310546875, rel=1e-6)
    assert (ex.text, ex.clip_id) == ("a humming sound 3", "tone3")
