"""CPU thread settings for inference that degrade gracefully on a busy machine.

torch starts one intra-op thread per core it can see. On a machine whose cores are already busy
(other jobs, a training run), those threads compete with the other processes for the same cores,
and OpenMP's default of spinning while it waits at each barrier burns the time slices the other
threads need: a separation then slows down far more than the load alone explains. So the default
thread count is the number of cores that are actually idle (cores this process may run on, minus the
1-minute load average, at least 1), and ``OMP_WAIT_POLICY=PASSIVE`` makes waiting OpenMP threads
sleep instead of spinning, except when every core is idle and used (:func:`openmp_wait_policy`).
Results do not depend on the thread count beyond float rounding; pass an explicit count
(``sfcli separate --threads N``) for bit-identical reruns across machines and loads.

Nothing here imports torch at module level, so the CLI can check its arguments without loading it.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2 CPU quota: "<quota> <period>" or "max <period>"


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota if one is set."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def load_average() -> float | None:
    """The 1-minute load average, or ``None`` where the system has none."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def idle_cores() -> int:
    """Usable cores minus the 1-minute load average, rounded, at least 1."""
    cores = usable_cores()
    load = load_average()
    if load is None:
        return cores
    return max(1, min(cores, round(cores - load)))


def openmp_wait_policy(threads: int | None) -> str:
    """The OpenMP wait policy for a run with ``threads`` intra-op threads (``None``: :func:`idle_cores`).

    ``ACTIVE`` (threads spin at each barrier) only when the run uses every usable core, more than one,
    and all of them are idle: SoundFilter's small convolutions meet a barrier every few microseconds,
    and waking sleeping threads there costs more than the second core gains (idle 2-core machine,
    16 kHz mono, ``benchmarks/bench_separate.py --quick``: RTF 0.014 spinning, 0.030 sleeping, 0.018
    with one thread). ``PASSIVE`` otherwise: where cores are busy, spinning threads take the time
    slices the others need (one core busy, 2 threads: RTF 0.035 spinning, 0.026 sleeping).
    """
    idle = idle_cores()
    n = idle if threads is None else max(1, int(threads))
    return "ACTIVE" if n > 1 and n == usable_cores() == idle else "PASSIVE"


def choose_openmp_wait_policy(threads: int | None) -> bool:
    """Set ``OMP_WAIT_POLICY`` by :func:`openmp_wait_policy` for a run with ``threads`` threads.

    OpenMP reads the variable once, when torch loads it, so this only has an effect before torch is
    imported, and never overrides a value the user set. Returns whether it can still take effect.
    """
    if "torch" in sys.modules:
        return False
    os.environ.setdefault("OMP_WAIT_POLICY", openmp_wait_policy(threads))
    return True


def set_torch_threads(threads: int | None) -> int:
    """Set torch's intra-op threads to ``threads`` (``None``: :func:`idle_cores`); return the count."""
    import torch

    n = idle_cores() if threads is None else max(1, int(threads))
    torch.set_num_threads(n)
    return torch.get_num_threads()
