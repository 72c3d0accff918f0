"""Noisy and leaning training queries (``train-filter --query-noise``, ``--query-lean``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sfcli.train.query_noise import leaning_queries, noisy_queries


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


def _pairs(n_pairs: int = 4, unpaired: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Queries and mixtures of ``n_pairs`` swapped pairs followed by ``unpaired`` lone examples."""
    g = torch.Generator().manual_seed(1)
    mix = torch.randn(n_pairs, 1, 32, generator=g).repeat_interleave(2, dim=0)
    lone = torch.randn(unpaired, 1, 32, generator=g)
    return _queries(2 * n_pairs + unpaired), torch.cat([mix, lone])


def test_lean_moves_each_paired_query_towards_its_partner_only() -> None:
    q, mix = _pairs()
    mix[2:4] += torch.randn(2, 1, 32)  # the second pair's mixtures now differ: not a swapped pair
    out = leaning_queries(q, mix, 0.6, 0, 3)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(q.shape[0]))
    for i in (0, 1, 4, 5, 6, 7):
        j = i ^ 1
        assert float(out[i] @ q[j]) > float(q[i] @ q[j])  # nearer the partner's query
        assert float(out[i] @ q[i]) > float(out[i] @ q[j])  # but still nearest its own
    assert torch.equal(out[2:4], q[2:4]) and torch.equal(out[8], q[8])


def test_lean_off_or_without_pairs_returns_the_queries() -> None:
    q, mix = _pairs()
    assert leaning_queries(q, mix, 0.0, 0, 3) is q
    lone = torch.randn(q.shape[0], 1, 32)
    assert leaning_queries(q, lone, 0.6, 0, 3) is q


def test_lean_is_a_function_of_seed_step_and_rank() -> None:
    q, mix = _pairs()
    a = leaning_queries(q, mix, 0.6, 0, 3)
    torch.testing.assert_close(a, leaning_queries(q, mix, 0.6, 0, 3))
    assert not torch.allclose(a, leaning_queries(q, mix, 0.6, 0, 4))
    assert not torch.allclose(a, leaning_queries(q, mix, 0.6, 0, 3, rank=1))
