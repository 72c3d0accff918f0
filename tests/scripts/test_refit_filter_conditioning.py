"""scripts/refit_filter_conditioning.py: an affine map of the query vector folded into SoundFilter."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from sfcli.filter_model import SoundFilter, SoundFilterConfig

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("refit", ROOT / "scripts" / "refit_filter_conditioning.py")
assert _spec is not None and _spec.loader is not None
refit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refit)


def test_fit_affine_recovers_a_known_map() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 6, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)
    new = torch.randn(200, 6, generator=g, dtype=torch.float64)
    fa, fb = refit.fit_affine(new, new @ a.T + b)
    torch.testing.assert_close(fa, a)
    torch.testing.assert_close(fb, b)


def test_folded_filter_on_new_vectors_equals_old_filter_on_mapped_vectors() -> None:
    torch.manual_seed(0)
    cfg = SoundFilterConfig.tiny(refiner_channels=4)
    model = SoundFilter(cfg).eval()
    with torch.no_grad():  # FiLM layers start at identity (zero weights): give them something to fold
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    d = cfg.cond_dim
    a = torch.eye(d, dtype=torch.float64) + 0.3 * torch.randn(d, d, dtype=torch.float64)
    b = 0.1 * torch.randn(d, dtype=torch.float64)
    new = torch.nn.functional.normalize(torch.randn(2, d), dim=1)
    x = torch.randn(2, 1, 4000)
    with torch.no_grad():
        want, _ = model(x, (new.double() @ a.T + b).float(), postfilter=True)
    folded = SoundFilter(cfg).eval()
    folded.load_state_dict(model.state_dict())
    n = refit.fold_into_filter(folded, a, b)
    assert n == sum(isinstance(m, torch.nn.Linear) for m in model.modules()) and n >= 3
    with torch.no_grad():
        got, _ = folded(x, new, postfilter=True)
        unfolded, _ = model(x, new, postfilter=True)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(unfolded, want, atol=1e-3)  # the map matters
