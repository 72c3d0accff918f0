"""The model-independent training-loop parts: LR schedule, batch slices, time budget, throughput."""

from __future__ import annotations

import itertools

import pytest
import torch

from sfcli.errors import SfcliError
from sfcli.train.common import DistInfo
from sfcli.train.loop import Throughput, TimeBudget, due, local_batch_size, lr_at, set_lr, step_indices


def test_cosine_schedule_warms_up_then_decays() -> None:
    lrs = [lr_at(s, lr=1.0, warmup=10, steps=100, schedule="cosine") for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:])) and lrs[-1] < 0.06
    flat = [lr_at(s, lr=1.0, warmup=10, steps=100, schedule="constant") for s in range(10, 100)]
    assert flat == [1.0] * 90
    assert lr_at(0, lr=0.5, warmup=0, steps=10, schedule="constant") == 0.5


def test_set_lr_honours_each_groups_scale() -> None:
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optim = torch.optim.Adam([{"params": [a]}, {"params": [b], "lr_scale": 10.0}], lr=1.0)
    set_lr(optim, 0.01)
    assert [g["lr"] for g in optim.param_groups] == pytest.approx([0.01, 0.1])


def test_processes_take_disjoint_slices_of_each_global_batch() -> None:
    two = [DistInfo(rank=r, world_size=2) for r in (0, 1)]
    assert step_indices(3, 8, two[0]) + step_indices(3, 8, two[1]) == step_indices(3, 8, DistInfo())
    assert step_indices(3, 8, DistInfo()) == list(range(24, 32))
    assert local_batch_size(8, two[1]) == 4
    with pytest.raises(SfcliError, match="multiple of the 2 processes"):
        local_batch_size(7, two[0])


def test_time_budget_and_due_steps() -> None:
    assert TimeBudget(0.0, torch.device("cpu"), DistInfo()).spent()
    assert not TimeBudget(None, torch.device("cpu"), DistInfo()).spent()
    assert not TimeBudget(3600.0, torch.device("cpu"), DistInfo()).spent()
    assert [s for s in range(1, 12) if due(s, 5, 11)] == [5, 10, 11]
    meter = Throughput()
    assert meter.add(8) > 0
