"""Prepare a bare GPU machine (no network) for ``sfcli train-filter`` with what ``.gpu/`` carried.

* installs the aiSFX backbone weights as an ``aisfx`` package under ``--site`` (they travel as fp16
  safetensors to fit the 64 MiB upload: the frozen backbone there is fp16-rounded, an approximation of
  the fp32 one used at inference, differing in the embeddings' fourth decimal);
* copies the projected text embeddings of every corpus description (the run folder cache of an earlier
  CPU run of the same SoundWords model) into each ``--run`` folder, re-keyed to the fingerprint of the
  model as loaded here, so the MiniLM text tower is not needed on the machine.

    python scripts/gpu/device_prep.py --carried .gpu/common --site /tmp/aisite --run /tmp/runs/A --run /tmp/runs/B
    python scripts/gpu/device_prep.py --carried .gpu/common --site /tmp/aisite --run /tmp/runs/B \
        --words .gpu/words3 --text-embeddings .gpu/words3/text_embeddings.pt   # run B with another SoundWords
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--carried", type=Path, required=True)
    ap.add_argument("--site", type=Path, required=True, help="where the aisfx package is made")
    ap.add_argument("--aisfx", type=Path, default=Path(".gpu/aisfx"), help="folder with aisfx.safetensors")
    ap.add_argument("--run", type=Path, action="append", default=[])
    ap.add_argument("--words", type=Path, default=Path("models/soundwords"))
    ap.add_argument(
        "--text-embeddings",
        type=Path,
        default=None,
        help="the text-embedding cache of a CPU run with --words (default: CARRIED/text_embeddings.pt)",
    )
    a = ap.parse_args()
    pkg = a.site / "aisfx"
    ckpt = pkg / "models" / "checkpoint.pth"
    if not ckpt.is_file():
        from safetensors.torch import load_file

        src = a.aisfx / "aisfx.safetensors"
        if not src.is_file():
            raise SystemExit(f"no aiSFX weights: neither {ckpt} (an earlier call) nor {src} (carried)")
        state = load_file(str(src))
        (pkg / "models").mkdir(parents=True, exist_ok=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "models" / "__init__.py").write_text("")
        torch.save({"embedding_net." + k: v.float() for k, v in state.items()}, ckpt)
    sys.path.insert(0, str(a.site))
    sys.path_importer_cache.pop(str(a.site), None)
    importlib.invalidate_caches()
    from sfcli.train.filter import words_fingerprint
    from sfcli.words import SoundWords

    words = SoundWords.from_pretrained(a.words)
    fp = words_fingerprint(words)
    blob = torch.load(a.text_embeddings or a.carried / "text_embeddings.pt", weights_only=False)
    blob["fingerprint"] = fp
    for run in a.run:
        run.mkdir(parents=True, exist_ok=True)
        torch.save(blob, run / "text_embeddings.pt")
    print(f"aisfx at {pkg}; {len(blob['text'])} text embeddings keyed {fp} in {len(a.run)} run folders", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
