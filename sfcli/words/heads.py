"""The trainable projection heads of SoundWords' two towers into the shared space."""

from __future__ import annotations

from torch import nn


def projection_head(d_in: int, d_out: int, hidden: int, dropout: float, norm: bool) -> nn.Module:
    """Projection head: optional LayerNorm of the backbone features, then linear or 2-layer MLP."""
    layers: list[nn.Module] = [nn.LayerNorm(d_in)] if norm else []
    if hidden <= 0:
        layers.append(nn.Linear(d_in, d_out))
    else:
        layers += [nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, d_out)]
    return nn.Sequential(*layers)
