"""Batches for the training loop, prepared ahead: a prefetch thread, or DataLoader worker processes.

Whichever way, the batch of step ``s`` is :meth:`BatchPlan.make` of ``s``, so the run does not depend on it.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import torch

from sfcli.train.conditioning import ConditioningCache
from sfcli.train.examples import Batch, BatchPlan, StepBatches, finish_batch


class BatchFeed:
    """The batches of steps ``start .. end - 1``, asked for in order with :meth:`get`.

    ``workers > 0``: that many DataLoader processes run :meth:`BatchPlan.load` (examples and SoundWords
    windows); this process adds the conditioning. Else, with ``prefetch``, one thread makes the next
    batch while the current one trains; else batches are made when asked for.
    """

    def __init__(
        self,
        plan: BatchPlan,
        cache: ConditioningCache,
        start: int,
        end: int,
        *,
        workers: int = 0,
        prefetch: bool = True,
    ) -> None:
        self.plan, self.cache, self.end = plan, cache, end
        self.loader_iter = None
        if workers > 0:
            loader = torch.utils.data.DataLoader(
                StepBatches(plan, cache.words, start, end),
                batch_size=None,
                shuffle=False,
                num_workers=workers,
                prefetch_factor=4,
                persistent_workers=False,
            )
            self.loader_iter = iter(loader)
        self.pool = ThreadPoolExecutor(max_workers=1) if prefetch and self.loader_iter is None else None
        self.pending: Future[Batch] | None = None

    def get(self, step: int) -> Batch:
        """The batch of ``step`` (steps are asked for one after the other)."""
        if self.loader_iter is not None:
            return finish_batch(next(self.loader_iter), self.cache)
        if self.pool is None:
            return self.plan.make(step, self.cache)
        if self.pending is None:
            self.pending = self.pool.submit(self.plan.make, step, self.cache)
        batch = self.pending.result()
        self.pending = self.pool.submit(self.plan.make, step + 1, self.cache) if step + 1 < self.end else None
        return batch

    def close(self) -> None:
        """Cancel a prefetched batch and stop the thread."""
        if self.pending is not None:
            self.pending.cancel()
        if self.pool is not None:
            self.pool.shutdown(wait=True)


__all__ = ["BatchFeed"]
