"""Shared helpers for the training tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch


@pytest.fixture()
def kill_after_checkpoint():
    """Start ``cmd``, SIGKILL it once ``ckpt`` exists (after ``settle`` s); return the saved step."""

    def _run(cmd: list[str], ckpt: Path, settle: float) -> int:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(settle)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
        return int(torch.load(ckpt, weights_only=False)["step"])

    return _run
