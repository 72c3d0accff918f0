"""Fit a SoundFilter to a new SoundWords model without training: fold an affine map into its FiLM inputs.

    .venv/bin/python scripts/refit_filter_conditioning.py OLD_WORDS NEW_WORDS FILTER OUT \
        --features /tmp/wx/runs/features/features.pt

SoundFilter sees its conditioning vector only through linear layers (every FiLM projection and the mask
refiner's). So a least-squares affine map ``old ≈ A·new + b`` from NEW_WORDS' clip embeddings to
OLD_WORDS' (the corpus's train clips, from a ``train-words`` feature cache) can be folded into those
layers exactly: ``W' = W·A``, ``b' = W·b + bias``. OUT receives the refitted filter (``OUT/soundfilter``,
fp16 unless ``--fp32``) and a copy of NEW_WORDS (``OUT/soundwords``), i.e. a models folder for ``sfcli
eval --models OUT``. Prints how close the mapped embeddings come to the old ones on train and valid clips.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sfcli.filter_model import SoundFilter
from sfcli.train import words as T
from sfcli.words import SoundWords


def clip_embeddings(model: SoundWords, sources: list[T.PairSource], feats: dict[str, torch.Tensor]) -> torch.Tensor:
    """Unit clip embeddings (windows averaged) from cached backbone features, float64."""
    with torch.no_grad():
        return model.embed_window_features([feats[s.key].float() for s in sources]).double()


def fit_affine(new: torch.Tensor, old: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares ``A`` (D_old, D_new), ``b`` (D_old,) with ``old ≈ new @ A.T + b``."""
    design = torch.cat([new, torch.ones(len(new), 1, dtype=new.dtype)], 1)
    sol = torch.linalg.lstsq(design, old).solution
    return sol[:-1].T.contiguous(), sol[-1]


def fold_into_filter(model: SoundFilter, a: torch.Tensor, b: torch.Tensor) -> int:
    """Replace every linear layer reading the conditioning vector by its composition with ``x ↦ A·x + b``."""
    n = 0
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.Linear) and mod.in_features == model.config.cond_dim:
                w, c = mod.weight.double(), mod.bias.double()
                mod.weight.copy_((w @ a).to(mod.weight.dtype))
                mod.bias.copy_((w @ b + c).to(mod.bias.dtype))
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old_words", type=Path, help="SoundWords folder the filter was trained with")
    ap.add_argument("new_words", type=Path, help="SoundWords folder to fit the filter to")
    ap.add_argument("filter", type=Path, help="SoundFilter folder (fp32 preferred)")
    ap.add_argument("out", type=Path, help="models folder to write (soundfilter/ and soundwords/)")
    ap.add_argument("--features", type=Path, required=True, help="train-words features.pt of the corpus")
    ap.add_argument("--fp32", action="store_true", help="keep float32 filter weights")
    args = ap.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; choose a new folder")
    feats = torch.load(args.features, map_location="cpu", weights_only=False)["features"]
    old, new = SoundWords.from_pretrained(args.old_words), SoundWords.from_pretrained(args.new_words)
    splits = T.split_sources(T.corpus_sources())
    emb = {name: [clip_embeddings(m, splits[name], feats) for m in (old, new)] for name in ("train", "valid")}
    a, b = fit_affine(emb["train"][1], emb["train"][0])
    for name, (o, n) in emb.items():
        mapped = n @ a.T + b
        r2 = 1 - (mapped - o).pow(2).sum() / (o - o.mean(0)).pow(2).sum()
        cos_id = torch.nn.functional.cosine_similarity(n, o).mean()
        cos_map = torch.nn.functional.cosine_similarity(mapped, o).mean()
        print(f"{name}: cosine new-old {cos_id:.4f}, mapped-old {cos_map:.4f}, R² {r2:.4f} ({len(o)} clips)")
    model = SoundFilter.from_pretrained(args.filter)
    print(f"folded into {fold_into_filter(model, a, b)} linear layers")
    model.save_pretrained(args.out / "soundfilter", half=not args.fp32)
    shutil.copytree(args.new_words, args.out / "soundwords")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
