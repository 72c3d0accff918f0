"""Noisy training queries (``train-filter --query-noise``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sfcli.train.query_noise import noisy_queries


def _queries(n: int = 512, dim: int = 64) -> torch.Tensor:
    return F.normalize(torch.randn(n, dim, generator=torch.Generator().manual_seed(0)), dim=-1)


def test_zero_scale_returns_the_queries_unchanged() -> None:
    q = _queries()
    assert noisy_queries(q, 0.0, 0, 3) is q


def test_rows_stay_unit_and_move_more_with_a_larger_scale() -> None:
    q = _queries()
    cos = [float((noisy_queries(q, s, 0, 3) * q).sum(-1).mean()) for s in (0.05, 0.1, 0.2)]
    out = noisy_queries(q, 0.1, 0, 3)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(q.shape[0]))
    assert 0.99 > cos[0] > cos[1] > cos[2] > 0.6
    # sigma is drawn per example: some rows hardly move, others far
    per_row = (out * q).sum(-1)
    assert per_row.max() > 0.99 and per_row.min() < 0.85


def test_noise_is_a_function_of_seed_step_and_rank() -> None:
    q = _queries(8)
    a = noisy_queries(q, 0.1, 0, 3, rank=0)
    torch.testing.assert_close(a, noisy_queries(q, 0.1, 0, 3, rank=0))
    for other in (noisy_queries(q, 0.1, 1, 3), noisy_queries(q, 0.1, 0, 4), noisy_queries(q, 0.1, 0, 3, rank=1)):
        assert not torch.allclose(a, other)
