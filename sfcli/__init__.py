"""sfcli: pull one sound out of a recording from a text description or an example clip.

The public Python API::

    from sfcli import Separator, SoundWords
    sep = Separator.from_pretrained()
    res = sep.separate(mixture, sample_rate, text="owl hooting")
    res.target, res.residual

Heavy modules (torch, transformers) are imported lazily so that ``import sfcli`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["SeparationResult", "Separator", "SoundWords", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from sfcli.api import SeparationResult, Separator
    from sfcli.words import SoundWords


def __getattr__(name: str) -> Any:
    if name in ("Separator", "SeparationResult"):
        from sfcli import api

        return getattr(api, name)
    if name == "SoundWords":
        from sfcli.words import SoundWords

        return SoundWords
    raise AttributeError(f"module 'sfcli' has no attribute {name!r}")
