"""The train-words split (issue 19) changed no draw: figures recorded from the pre-split trainer stay the same.

The reference numbers were measured on ``sfcli/train/words.py`` as of commit 2a45828 (one 789-line module,
before it was split into words_data / words_features / words_batches / words_heads / words_run on the shared
:mod:`sfcli.train.loop`), with ``torch.set_num_threads(1)``; the split code gives them bit for bit at one and
at two threads. A changed batch draw, window or description choice, LR step or loss term moves the losses in
the first or second decimal; the tolerances only absorb float rounding of another thread count (measured at
two threads: losses within 1e-7 relative, the weight sum within 4e-9).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_train_words import _sources  # pytest (prepend import mode) puts tests/train on sys.path

from sfcli.train.words import TrainWordsOptions, train_words
from sfcli.words import SoundWordsConfig

RECORDED = {
    "plain": {
        "options": {},
        "loss": [
            3.179018259048462,
            4.072805881500244,
            3.3357291221618652,
            2.7545766830444336,
            2.751838207244873,
            2.8244881629943848,
        ],
        "zeroshot_top1": [1 / 6, 1 / 6, 2 / 6, 1 / 6, 1 / 6, 1 / 6],
        "a2t_R@1": [3 / 6, 1 / 6, 1 / 6, 1 / 6, 2 / 6, 2 / 6],
        "weight_abs_sum": 1160.5733370124362,
        "temperature": 0.10368958115577698,
        "best_step": 3,
        "train_clips": 42,
    },
    "every_option": {
        "options": {
            "text_struct": 0.1,
            "text_soft": 0.5,
            "balance_categories": 0.5,
            "category_text": True,
            "holdout_categories": 0.3,
            "max_per_category": 6,
        },
        "loss": [
            2.8680403232574463,
            3.472048044204712,
            4.117978096008301,
            2.9799137115478516,
            2.772315502166748,
            2.7543673515319824,
        ],
        "zeroshot_top1": [0.25, 0.5, 0.5, 0.5, 0.5, 0.5],
        "a2t_R@1": [0.25, 0.25, 0.25, 0.25, 0.5, 0.5],
        "weight_abs_sum": 1102.000294603371,
        "temperature": 0.10361762344837189,
        "best_step": 2,
        "train_clips": 24,
    },
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_a_tiny_run_matches_the_pre_split_trainer(tmp_path: Path, name: str) -> None:
    rec = RECORDED[name]
    run = tmp_path / name
    opts = TrainWordsOptions(
        run_dir=run,
        out=run / "model",
        steps=6,
        batch_size=16,
        lr=1e-2,
        warmup=1,
        eval_every=1,
        checkpoint_every=2,
        init_audio="none",
        model_config=SoundWordsConfig.tiny(),
        **rec["options"],
    )
    summary = train_words(opts, _sources(), progress=False)
    history = torch.load(run / "checkpoint.pt", weights_only=False)["history"]
    np.testing.assert_allclose([h["loss"] for h in history], rec["loss"], rtol=1e-5)
    np.testing.assert_allclose([h["zeroshot_top1"] for h in history], rec["zeroshot_top1"], atol=1e-9)
    np.testing.assert_allclose([h["a2t_R@1"] for h in history], rec["a2t_R@1"], atol=1e-9)
    trainable = torch.load(run / "checkpoint.pt", weights_only=False)["trainable"]
    assert float(sum(v.double().abs().sum() for v in trainable.values())) == pytest.approx(
        rec["weight_abs_sum"], rel=1e-5
    )
    assert summary["temperature"] == pytest.approx(rec["temperature"], rel=1e-5)
    assert (summary["best_step"], summary["train_clips"]) == (rec["best_step"], rec["train_clips"])


def test_plain_progress_lines_are_the_pre_split_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a terminal, train-words prints the same lines as before the split (scripts read them)."""
    run = tmp_path / "p"
    kw = dict(run_dir=run, steps=4, batch_size=16, lr=1e-2, warmup=1, eval_every=2, checkpoint_every=1)
    opts = TrainWordsOptions(**kw, init_audio="none", model_config=SoundWordsConfig.tiny())
    train_words(opts, _sources(), progress=True, stop_after=2)
    train_words(opts, _sources(), progress=True)
    lines = capsys.readouterr().err.replace(str(run), "RUN").splitlines()
    assert lines == [
        "caching audio features of 48 clips in RUN/features.pt",
        "step 2 loss 4.0728  val t2a R@10 1.000 zs@1 0.167",
        "caching audio features of 48 clips in RUN/features.pt",
        "resuming RUN at step 2",
        "step 4 loss 2.7592  val t2a R@10 1.000 zs@1 0.167",
    ]
