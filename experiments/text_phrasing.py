"""How should a text query be worded? Bare class names, templates around them, or a phrase for the sound.

    OMP_NUM_THREADS=2 python experiments/text_phrasing.py --kitchen20 ../shared/data/kitchen20/manifest.jsonl \
        --protocol esc50 --out /tmp/pf/templ.jsonl
    python experiments/text_phrasing.py --summary /tmp/pf/templ.jsonl

AudioSep's ESC-50 protocol queries each mixture with its label ("fridge", "dishwasher"). For every
mixture this separates with the bare label (``bare``), with templates around it (``sound_of``: "the sound
of fridge", ``a_x_sound``: "a fridge sound") and with the manifest's own phrase for the label
(``phrase``: "a fridge door and its hum"), one pass, the shipped pair, and records SI-SDRi / SDRi.
"""

from __future__ import annotations

import argparse

from mixture_sets import add_arguments, scores, variant_summary, write_rows

TEMPLATES = {"bare": "{}", "sound_of": "the sound of {}", "a_x_sound": "a {} sound"}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(ap, queries=("text",))
    args = ap.parse_args(argv)
    if args.summary:
        variant_summary(args.summary)
        return 0
    from sfcli.api import Separator
    from sfcli.data.labelled import read_labelled

    sep = Separator.from_pretrained(args.models, check_queries=False)
    phrases = {c.label: c.text for c in reversed(read_labelled(args.kitchen20))}

    def record(it, query: str, name: str) -> dict:
        texts = {k: t.format(it.text) for k, t in TEMPLATES.items()} | {"phrase": phrases[it.category]}
        row = {"set": name, "name": it.name, "category": it.category, "query": query}
        for k, text in texts.items():
            row[k] = scores(sep.separate(it.mixture, it.sample_rate, text=text, check=False).target, it, False)
        return row

    write_rows(args, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
