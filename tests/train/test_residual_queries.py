"""Second-pass training examples: the model's own residual as the query, the background as the target."""

from __future__ import annotations

import numpy as np
import torch

from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.train.examples import Batch
from sfcli.train.residual_queries import residual_queries, residual_rows
from sfcli.words import SoundWords


def _batch(n: int = 6, dim: int = 64, absent: torch.Tensor | None = None) -> Batch:
    g = torch.Generator().manual_seed(0)
    target, background = 0.1 * torch.randn(n, 1, 4000, generator=g), 0.1 * torch.randn(n, 1, 4000, generator=g)
    return Batch(target + background, target, background, torch.randn(n, dim, generator=g), 0.5, absent)


def test_rows_are_a_function_of_the_step_and_skip_absent_targets() -> None:
    b = _batch(64)
    rows = residual_rows(0, 5, b, 0.5)
    np.testing.assert_array_equal(rows, residual_rows(0, 5, b, 0.5))
    assert 10 < rows.size < 54 and not np.array_equal(rows, residual_rows(0, 6, b, 0.5))
    absent = torch.zeros(64, dtype=torch.bool)
    absent[rows[:3]] = True
    assert not set(rows[:3]) & set(residual_rows(0, 5, _batch(64, absent=absent), 0.5))
    assert residual_rows(0, 5, b, 0.0).size == 0


def test_chosen_rows_take_the_residual_query_and_swap_their_sources() -> None:
    torch.manual_seed(0)
    model = SoundFilter(SoundFilterConfig.tiny()).eval()
    words = SoundWords.tiny(seed=0)
    b = _batch()
    rows = np.array([1, 4])
    got = residual_queries(model, words, b, rows, 16000, postfilter=False)
    keep = [0, 2, 3, 5]
    torch.testing.assert_close(got.cond[keep], b.cond[keep])
    torch.testing.assert_close(got.target[rows], b.background[rows])
    torch.testing.assert_close(got.background[rows], b.target[rows])
    torch.testing.assert_close(got.mixture, b.mixture)
    with torch.no_grad():
        t, _ = model.separate(b.mixture[rows], b.cond[rows], postfilter=False, project=True)
    residual = (b.mixture[rows] - t)[:, 0].numpy()
    emb = np.asarray(words.embed_audio(list(residual), 16000), np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    np.testing.assert_allclose(got.cond[rows].numpy(), emb, atol=1e-5)
    assert residual_queries(model, words, b, np.array([], dtype=int), 16000, postfilter=False) is b
