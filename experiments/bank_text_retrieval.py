"""Should a text query pick its audio-bank clips by their descriptions rather than by their sound?

    python experiments/bank_text_retrieval.py [--split valid] [--n 300] [--k 10 30]

The shipped SoundWords answers a text query with the mean audio embedding of the ``k`` bank clips whose
*audio* embeddings are nearest to the text embedding (cross-modal; ``AudioBank.expand``). The
alternative here ranks the bank's train clips by the similarity of the query to their *descriptions*
(text to text in the SoundWords text space, a clip scoring its best description; ties broken by the
cross-modal similarity) and averages the audio embeddings of the top ``k``. Each is scored as the
conditioning of the shipped SoundFilter on ``--n`` mixtures of ``--split`` (as ``sfcli eval --split``
generates them, seed 0): mean target SI-SDRi with text queries.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="valid")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--k", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from sfcli.api import Separator
    from sfcli.data.corpus import Corpus
    from sfcli.evaluation import generated_mixtures
    from sfcli.metrics import si_sdr_np

    sep = Separator.from_pretrained(None)
    bank = sep.words.audio_bank
    clips = Corpus.open().split("train")
    if bank is None or len(clips) != len(bank):
        raise SystemExit("the shipped SoundWords has no audio bank of this corpus' train split")
    descs = sorted({d for c in clips for d in c.descriptions})
    where = {d: i for i, d in enumerate(descs)}
    desc_emb = torch.as_tensor(sep.words.embed_text(descs))
    width = max(len(c.descriptions) for c in clips)
    table = torch.full((len(clips), width), -1, dtype=torch.long)
    for i, c in enumerate(clips):
        table[i, : len(c.descriptions)] = torch.tensor([where[d] for d in c.descriptions])
    items = generated_mixtures(None, a.split, a.n, 0)
    texts = [it.text or "" for it in items]
    query = torch.as_tensor(sep.words.embed_text(texts))
    per_desc = (query @ desc_emb.T)[:, table.clamp(min=0)]
    per_desc[:, table < 0] = -2.0
    clip_sim = per_desc.max(dim=2).values
    cross = query @ bank.embeddings.T
    conds = {"cross-modal (shipped)": bank.expand(query.numpy())}
    for k in a.k:
        top = torch.topk(clip_sim + 0.01 * cross, k, dim=1).indices
        conds[f"by description, k={k}"] = torch.nn.functional.normalize(bank.embeddings[top].mean(1), dim=-1).numpy()
    print(f"{sum(t in where for t in texts)} of {len(texts)} query texts are verbatim train descriptions")
    for name, rows in conds.items():
        t0, scores = time.time(), []
        for it, q in zip(items, rows, strict=True):
            res = sep.separate(it.mixture, it.sample_rate, embedding=q)
            scores.append(si_sdr_np(res.target, it.target) - si_sdr_np(it.mixture, it.target))
        print(f"| {name} | {np.mean(scores):.2f} dB | {time.time() - t0:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
