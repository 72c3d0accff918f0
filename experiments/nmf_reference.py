"""Reference-informed NMF next to SoundFilter for audio queries on out-of-domain mixtures.

    OMP_NUM_THREADS=2 python experiments/nmf_reference.py ../shared/data/kitchen20/manifest.jsonl \
        --seeds 0 --n 100 --cache /tmp/nmf/net.npz

SoundFilter hardly separates recordings from outside its corpus even when the reference is the exact
target clip (issue 20), so the question is whether a non-learned model of the reference's spectra adds
anything. Semi-supervised KL-NMF: ``k_target`` spectral bases are learnt from the reference's STFT
magnitude, then the mixture is explained by those (fixed) plus ``k_background`` free bases; the
target is the Wiener mask of the target part. Variants (prints one JSON line each; SI-SDRi / SDRi of
the target, means over the mixtures, audio queries only):

* ``net``: the shipped SoundFilter (cached in ``--cache``);
* ``nmf``: NMF alone;
* ``avg``: the mean of the two target waveforms;
* ``nmf-netbg``: background bases learnt from the network's residual instead of left free;
* ``nmf-net``: both dictionaries from the network's outputs *and* the reference (target bases from
  reference + network target), activations from the mixture.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

N_FFT, HOP = 1024, 256
EPS = 1e-10


def _stft(x: np.ndarray) -> torch.Tensor:
    w = torch.hann_window(N_FFT)
    return torch.stft(torch.from_numpy(x).double(), N_FFT, HOP, window=w.double(), return_complex=True)


def _istft(s: torch.Tensor, n: int) -> np.ndarray:
    w = torch.hann_window(N_FFT).double()
    return torch.istft(s, N_FFT, HOP, window=w, length=n).numpy().astype(np.float32)


def nmf(
    v: torch.Tensor, k: int, iters: int, gen: torch.Generator, w_fixed: torch.Tensor | None = None, learn_w: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """KL-NMF ``v ≈ [w_fixed, w] @ h`` by multiplicative updates; returns (all bases, activations)."""
    f, t = v.shape
    w = torch.rand(f, k, generator=gen, dtype=v.dtype) + 0.1
    kf = 0 if w_fixed is None else w_fixed.shape[1]
    h = torch.rand(kf + k, t, generator=gen, dtype=v.dtype) + 0.1
    ones = torch.ones_like(v)
    for _ in range(iters):
        W = w if w_fixed is None else torch.cat([w_fixed, w], 1)
        h *= (W.T @ (v / (W @ h + EPS))) / (W.T @ ones + EPS)
        if learn_w and k:
            hb = h[kf:]
            w *= ((v / (W @ h + EPS)) @ hb.T) / (ones @ hb.T + EPS)
            scale = w.sum(0, keepdim=True) + EPS
            w /= scale
            h[kf:] *= scale.T
    W = w if w_fixed is None else torch.cat([w_fixed, w], 1)
    return W, h


def bases(x: np.ndarray, k: int, iters: int, gen: torch.Generator) -> torch.Tensor:
    """``k`` normalised KL-NMF bases of ``x``'s STFT magnitude."""
    w, _ = nmf(_stft(x).abs(), k, iters, gen)
    return w / (w.sum(0, keepdim=True) + EPS)


def separate(
    mix: np.ndarray,
    wt: torch.Tensor,
    kb: int,
    iters: int,
    gen: torch.Generator,
    wb: torch.Tensor | None = None,
    power: float = 2.0,
) -> np.ndarray:
    """Target estimate: mixture explained by fixed target bases ``wt`` + (free or given) background bases."""
    s = _stft(mix)
    v = s.abs()
    if wb is None:
        W, h = nmf(v, kb, iters, gen, w_fixed=wt)
    else:
        W = torch.cat([wt, wb], 1)
        _, h = nmf(v, 0, iters, gen, w_fixed=W, learn_w=False)
    k = wt.shape[1]
    vt, vb = (W[:, :k] @ h[:k]) ** power, (W[:, k:] @ h[k:]) ** power
    return _istft(s * (vt / (vt + vb + EPS)), mix.shape[-1])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--cache", type=Path, required=True, help="network outputs (.npz), written if missing")
    ap.add_argument("--k-target", type=int, default=16)
    ap.add_argument("--k-background", type=int, default=16)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--power", type=float, default=2.0)
    ap.add_argument("--variants", nargs="+", default=["net", "nmf", "avg", "nmf-netbg", "nmf-net"])
    args = ap.parse_args(argv)
    from sfcli.data.labelled import labelled_mixtures, read_labelled
    from sfcli.evaluation import score_mixture

    clips = read_labelled(args.manifest)
    items = [it for s in args.seeds for it in labelled_mixtures(clips, "paper", s, args.n)]
    if args.cache.is_file():
        z = np.load(args.cache, allow_pickle=True)
        net_t = list(z["target"])
    else:
        from sfcli.api import Separator

        sep = Separator.from_pretrained(None)
        with torch.inference_mode():
            net_t = [
                sep.separate(
                    it.mixture, it.sample_rate, reference=it.ref, reference_sample_rate=it.ref_sample_rate
                ).target.reshape(-1)
                for it in items
            ]
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.cache, target=np.array(net_t, dtype=object))
    for variant in args.variants:
        rows = []
        gen = torch.Generator().manual_seed(0)
        for it, t_net in zip(items, net_t, strict=True):
            t_net = t_net.astype(np.float32)
            if variant == "net":
                est = t_net
            else:
                wt = bases(it.ref, args.k_target, args.iters, gen)
                if variant == "nmf":
                    est = separate(it.mixture, wt, args.k_background, args.iters, gen, power=args.power)
                elif variant == "avg":
                    est = 0.5 * (t_net + separate(it.mixture, wt, args.k_background, args.iters, gen, power=args.power))
                elif variant == "nmf-netbg":
                    wb = bases(it.mixture - t_net, args.k_background, args.iters, gen)
                    est = separate(it.mixture, wt, 0, args.iters, gen, wb=wb, power=args.power)
                else:  # nmf-net
                    wt2 = torch.cat([wt, bases(t_net, args.k_target, args.iters, gen)], 1)
                    wb = bases(it.mixture - t_net, args.k_background, args.iters, gen)
                    est = separate(it.mixture, wt2, 0, args.iters, gen, wb=wb, power=args.power)
            rows.append(score_mixture(est, it.mixture - est, it))
        out = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in ("target_si_sdri", "target_sdri")}
        print(
            json.dumps(
                {
                    "variant": variant,
                    "n": len(rows),
                    **out,
                    "k_target": args.k_target,
                    "k_background": args.k_background,
                    "power": args.power,
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
