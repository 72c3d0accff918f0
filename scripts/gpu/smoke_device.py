"""A short check on a freshly prepared GPU machine before the long call: SoundWords embeds audio on the
GPU and three SoundFilter training steps (loss, backward, Adam) run there. Prints timings; exits non-zero
on any failure.

    PYTHONPATH=/tmp/site:/tmp/aisite:$PWD python3 scripts/gpu/smoke_device.py [--words FOLDER]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--words", type=Path, default=Path("models/soundwords"))
    ap.add_argument("--filter", type=Path, default=Path("models/soundfilter"))
    a = ap.parse_args()
    from sfcli.filter_model import SoundFilter
    from sfcli.losses import separation_loss
    from sfcli.words import SoundWords

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    t0 = time.time()
    words = SoundWords.from_pretrained(a.words).to(dev)
    rng = np.random.default_rng(0)
    emb = words.embed_audio([rng.standard_normal(88200).astype(np.float32) * 0.1 for _ in range(4)], 44100)
    print(f"SoundWords on {dev}: embeddings {emb.shape}, norms {np.linalg.norm(emb, axis=1).round(4)}")
    model = SoundFilter.from_pretrained(a.filter).float().to(dev).train()
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    tgt, bg = torch.randn(8, 1, 32000, device=dev), torch.randn(8, 1, 32000, device=dev)
    cond = torch.nn.functional.normalize(torch.as_tensor(emb, device=dev).repeat(2, 1), dim=1)
    for step in range(3):
        est_t, est_r = model(tgt + bg, cond)
        loss = separation_loss(est_t, est_r, tgt, bg, tgt + bg).total
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"step {step}: loss {float(loss.detach()):.3f}")
    print(f"smoke check passed in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
