"""sfcli.threads: thread defaults that follow the cores actually idle."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sfcli import threads


@pytest.fixture()
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """``machine(cores, load, quota=None)``: fake affinity, load average and cgroup quota."""

    def _set(cores: int, load: float | None, quota: str | None = None) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
        if load is None:

            def no_load() -> tuple[float, float, float]:
                raise OSError("no load average")

            monkeypatch.setattr(os, "getloadavg", no_load)
        else:
            monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
        cpu_max = tmp_path / "cpu.max"
        if quota is None:
            cpu_max.unlink(missing_ok=True)
        else:
            cpu_max.write_text(quota)
        monkeypatch.setattr(threads, "CGROUP_CPU_MAX", cpu_max)

    return _set


@pytest.mark.parametrize(
    ("cores", "load", "quota", "usable", "idle"),
    [
        (2, 0.0, None, 2, 2),
        (2, 0.7, None, 2, 1),  # 1.3 cores free: round to 1
        (2, 4.5, None, 2, 1),  # a loaded machine: never below 1
        (16, 3.2, None, 16, 13),
        (16, 0.0, "200000 100000", 2, 2),  # a container limited to 2 CPUs of 16
        (16, 0.0, "max 100000", 16, 16),
        (8, None, None, 8, 8),  # no load average: all cores
    ],
)
def test_idle_cores(machine, cores: int, load: float | None, quota: str | None, usable: int, idle: int) -> None:
    machine(cores, load, quota)
    assert threads.usable_cores() == usable
    assert threads.idle_cores() == idle


def test_set_torch_threads_defaults_to_idle_cores(machine) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        machine(4, 2.2)
        assert threads.set_torch_threads(None) == 2 == torch.get_num_threads()
        assert threads.set_torch_threads(3) == 3
    finally:
        torch.set_num_threads(before)


def _child(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**base, **env})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.parametrize(
    ("cores", "load", "n", "policy"),
    [
        (2, 0.0, None, "ACTIVE"),  # idle machine, every core used: spin
        (2, 0.0, 2, "ACTIVE"),
        (2, 0.0, 1, "PASSIVE"),  # one thread: nothing to wait for
        (2, 0.7, None, "PASSIVE"),  # a core busy: sleep (and 1 thread)
        (2, 0.7, 2, "PASSIVE"),  # 2 threads asked for on a busy machine: sleep
        (4, 0.0, 2, "PASSIVE"),  # not every core used: the others may get work
        (1, 0.0, None, "PASSIVE"),
    ],
)
def test_openmp_wait_policy(machine, cores: int, load: float, n: int | None, policy: str) -> None:
    machine(cores, load)
    assert threads.openmp_wait_policy(n) == policy


def test_wait_policy_is_set_before_torch_loads_and_respects_the_user() -> None:
    code = (
        "import os; from sfcli import threads; ok = threads.choose_openmp_wait_policy(1); import torch;"
        "print(ok, os.environ.get('OMP_WAIT_POLICY'), threads.choose_openmp_wait_policy(1))"
    )
    assert _child(code) == "True PASSIVE False"  # too late once torch is in
    assert _child(code, OMP_WAIT_POLICY="ACTIVE") == "True ACTIVE False"
