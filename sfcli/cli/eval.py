"""``sfcli eval``: separation evaluation (default) and ``sfcli eval words`` (SoundWords retrieval).

``eval`` is a command group whose default command is ``separation``: when the first argument is not a
sub-command name (``separation``, ``words``) it is taken as the start of ``separation``'s arguments, so
``sfcli eval test.jsonl`` is ``sfcli eval separation test.jsonl``.

Exit codes: 0 success; 1 an error (one line on stderr); 2 a usage error; 3 ``--min-si-sdri`` not met.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from sfcli.cli.common import adapt_option

GATE_EXIT_CODE = 3

SEPARATION_EPILOG = """\
**Examples**

```
sfcli eval test.jsonl                                  # shipped models, text and audio queries
sfcli eval --split test --n 200 --seed 0               # generate the set from the corpus first
sfcli eval test.jsonl --filter runs/s0/model --filter runs/s1/model --filter runs/s2/model
sfcli eval test.jsonl --json > report.json --markdown report.md
sfcli eval test.jsonl --min-si-sdri 8 --query text     # CI gate: exit code 3 below 8 dB
sfcli eval ../shared/data/kitchen20/manifest.jsonl     # labelled real clips: 200 mixtures x seeds 0 1 2
sfcli eval clips/ --protocol esc50 --seed 0 --seed 1   # a folder of <label>/ sub-folders, AudioSep's protocol
```

A manifest whose records have `audio` and `label` (JSONL or CSV), or a folder of `<label>/`
sub-folders, is a set of **labelled clips**: mixtures are built from it (two clips of different
labels; `--protocol paper`: 2-4 s crops at +-4 dB, the clip's text as text query; `--protocol esc50`:
whole clips at 0 dB, the label as text query; the audio query is another recording of the label),
`--n` per seed, and each mixture is also asked for a third, absent label (energy kept, lower is better;
clips of only two labels need `--no-absent`).
"""

WORDS_EPILOG = """\
**Examples**

```
sfcli eval words clotho_eval.jsonl                     # records: audio, text/captions, category
sfcli eval words --split test --json                   # the corpus's test split
```
"""


class DefaultGroup(TyperGroup):
    """A group that runs ``separation`` when the first argument is not one of its sub-commands."""

    default_command = "separation"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert the default command name in front of arguments that do not start with a sub-command."""
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=DefaultGroup,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Evaluate separation (default: `sfcli eval MANIFEST...`) or SoundWords (`sfcli eval words`).",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _progress(quiet: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True)


def _mixture_sets(
    manifests: list[Path],
    split: str | None,
    corpus: Path | None,
    protocol: str,
    seeds: list[int],
    n: int,
    limit: int | None,
    absent: bool = True,
) -> list[tuple[str, list[Any]]]:
    """The evaluation mixtures as ``(set name, mixtures)`` pairs (one unnamed set when there is only one);
    ``absent``: a labelled set must give every mixture an absent-sound query (a third label)."""
    from sfcli.data.labelled import is_labelled_manifest, labelled_mixtures, read_labelled
    from sfcli.errors import SfcliError
    from sfcli.evaluation import generated_mixtures, read_manifest

    sets: list[tuple[str, list[Any]]] = []
    fixed: list[Any] = []
    for p in manifests:
        if is_labelled_manifest(p):
            clips = read_labelled(p)
            try:
                sets += [
                    (
                        f"{p.parent.name or p.name}:{protocol}:seed{s}",
                        labelled_mixtures(clips, protocol, s, n, absent=absent),
                    )
                    for s in seeds
                ]
            except SfcliError as exc:
                raise SfcliError(f"{p}: {exc}") from exc
        else:
            fixed += read_manifest(p, limit)
    if split is not None:
        named = len(seeds) > 1 or bool(sets)
        sets += [(f"{split}:seed{s}" if named else "", generated_mixtures(corpus, split, n, s, limit)) for s in seeds]
    if fixed:
        sets.insert(0, ("" if not sets else "manifests", fixed))
    return sets


def _default_manifest() -> Path:
    from sfcli.data.corpus import default_corpus_dir
    from sfcli.errors import SfcliError

    default = default_corpus_dir() / "eval" / "test.jsonl"
    if not default.is_file():
        raise SfcliError(
            f"give one or more manifests, or --split NAME to generate one from the corpus "
            f"(the default set {default} does not exist; build it with scripts/corpus/build.py)"
        )
    return default


def _separators(
    models: list[Path], filters: list[Path], words: Path | None, opts: dict[str, Any]
) -> list[tuple[str, Any]]:
    from sfcli.api import Separator
    from sfcli.filter_model import SoundFilter
    from sfcli.words import SoundWords

    # scores only: the query check (match report, presence estimate) would cost time and change nothing
    load = {**opts, "check_queries": False}
    separators: list[tuple[str, Any]] = [(str(f), Separator.from_pretrained(f, **load)) for f in models]
    if filters:
        sw = SoundWords.from_pretrained(words, device=opts["device"])
        separators += [(str(f), Separator(SoundFilter.from_pretrained(f), sw, **opts)) for f in filters]
    return separators or [("shipped", Separator.from_pretrained(None, **load))]


def _run_with_progress(quiet: bool, run: Any) -> Any:
    prog = _progress(quiet)
    if prog is None:
        return run(None)
    tasks: dict[str, Any] = {}

    def report(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = prog.add_task(Path(name).name or name, total=total)
        prog.update(tasks[name], completed=done)

    prog.start()
    try:
        return run(report)
    finally:
        prog.stop()


def _queries(query: str, wrong_query: bool, absent: bool) -> list[str]:
    from sfcli.errors import SfcliError

    queries = {"both": ["text", "audio"], "text": ["text"], "audio": ["audio"]}.get(query)
    if queries is None:
        raise SfcliError(f"--query must be text, audio or both, not {query!r}")
    extra = ["other-text"] if wrong_query else []
    if absent:
        extra += [f"absent-{q}" for q in queries]
    return queries + extra


def _check_gated_queries(sets: list[tuple[str, list[Any]]], queries: list[str]) -> None:
    """Refuse ``--min-si-sdri`` before any model loads when no mixture has a query kind it compares."""
    from sfcli.errors import SfcliError

    has = {"text": lambda it: bool(it.text), "audio": lambda it: it.ref is not None}
    gated = [q for q in queries if q in has]
    if not any(has[q](it) for q in gated for _, items in sets for it in items):
        raise SfcliError(
            f"--min-si-sdri has nothing to compare: no mixture has a {' or '.join(gated)} query, "
            f"so there are no {'/'.join(gated)}-query results"
        )


def _gate(result: dict[str, Any], min_si_sdri: float, queries: list[str]) -> None:
    """Exit 3 when the gated mean target SI-SDRi is below ``min_si_sdri`` (1 when nothing was measured)."""
    from sfcli.cli.common import fail
    from sfcli.evaluation import DIAGNOSTIC_QUERIES, gate_value

    value = gate_value(result)
    if math.isnan(value):
        gated = "/".join(q for q in queries if q not in DIAGNOSTIC_QUERIES)
        fail(f"--min-si-sdri has nothing to compare: there are no {gated}-query results")
        raise typer.Exit(1)
    if not value >= min_si_sdri:
        fail(f"mean target SI-SDRi {value:.2f} dB is below --min-si-sdri {min_si_sdri:g}")
        raise typer.Exit(GATE_EXIT_CODE)


def _emit(stdout_text: str, table: str, markdown: Path | None) -> None:
    """Print the report on stdout first (nothing is lost if the file cannot be written), then write the
    Markdown table atomically (its path was checked before the evaluation)."""
    sys.stdout.write(stdout_text)
    sys.stdout.flush()
    if markdown is not None:
        from sfcli.cli.common import write_output_file

        write_output_file(markdown, table.encode())


@eval_app.command("separation", epilog=SEPARATION_EPILOG)
def eval_separation(
    manifests: Annotated[
        list[Path] | None,
        typer.Argument(
            help="JSONL mixture manifests (mixture, target, background, text, ref), or labelled clips: "
            "a JSONL/CSV of audio + label (+ text), or a folder of <label>/ sub-folders."
        ),
    ] = None,
    models: Annotated[
        list[Path] | None,
        typer.Option("--models", help="A models folder (soundfilter/ + soundwords/); repeat for mean ± std."),
    ] = None,
    filters: Annotated[
        list[Path] | None,
        typer.Option("--filter", help="A SoundFilter model folder (checkpoint or seed); repeat for mean ± std."),
    ] = None,
    words: Annotated[
        Path | None, typer.Option("--words", help="SoundWords folder used with --filter (default: shipped).")
    ] = None,
    query: Annotated[str, typer.Option("--query", help="text, audio or both.")] = "both",
    wrong_query: Annotated[
        bool,
        typer.Option(
            "--wrong-query", help="Also ask each mixture for another category's text (target leakage; not gated)."
        ),
    ] = False,
    absent: Annotated[
        bool | None,
        typer.Option(
            "--absent/--no-absent",
            help="Also ask for a label in neither source and report the energy kept (default: on for labelled clips).",
        ),
    ] = None,
    protocol: Annotated[str, typer.Option("--protocol", help="Mixtures of labelled clips: paper or esc50.")] = "paper",
    split: Annotated[
        str | None, typer.Option("--split", help="Generate the mixtures from this corpus split instead.")
    ] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Mixtures per seed (labelled clips, --split).")] = 200,
    seeds: Annotated[
        list[int] | None,
        typer.Option("--seed", help="Mixture seed; repeat for mean ± std (default: 0 1 2 for labelled clips, 0 else)."),
    ] = None,
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Corpus folder for --split.")] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Use the first N mixtures of each mixture manifest.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")] = False,
    per_mixture: Annotated[bool, typer.Option("--per-mixture", help="Include per-mixture scores in JSON.")] = False,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Write the Markdown table to FILE.")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing --markdown file.")] = False,
    min_si_sdri: Annotated[
        float | None,
        typer.Option("--min-si-sdri", help="Exit 3 when the mean target SI-SDRi (worst query kind) is below X dB."),
    ] = None,
    irm: Annotated[bool, typer.Option("--irm/--no-irm", help="Compute the ideal-ratio-mask bound.")] = True,
    raw_text: Annotated[
        bool,
        typer.Option("--raw-text", help="Text queries use the plain text embedding (no audio-bank expansion)."),
    ] = False,
    postfilter: Annotated[
        bool,
        typer.Option("--postfilter/--no-postfilter", help="Apply the spectral post-filter (as sfcli separate does)."),
    ] = True,
    two_pass: Annotated[
        bool, typer.Option("--two-pass", help="Separate each window twice, as sfcli separate --two-pass does.")
    ] = False,
    adapt: Annotated[
        int, adapt_option("Audio queries: fine-tune on each mixture's reference first, as sfcli separate --adapt does.")
    ] = 0,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "cpu",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Score separation: SI-SDR / SI-SDRi / SDRi of target and residual, text and audio queries.

    Overall and per category, with the oracle ideal-ratio-mask bound; several --models / --filter or
    --seed give mean ± std across runs. Prints a Markdown table (or JSON with --json). With no manifest
    and no --split, scores the corpus's fixed test set ($SFCLI_CACHE/corpus/eval/test.jsonl).
    """
    from sfcli.cli.common import check_output_file
    from sfcli.data.labelled import PROTOCOLS, is_labelled_manifest
    from sfcli.errors import SfcliError
    from sfcli.eval_report import json_report, markdown_table
    from sfcli.evaluation import check_audible, evaluate

    if protocol not in PROTOCOLS:
        raise SfcliError(f"--protocol must be {' or '.join(PROTOCOLS)}, not {protocol!r}")
    if markdown is not None:
        check_output_file(markdown, force, "--markdown")
    paths = list(manifests or []) or ([] if split is not None else [_default_manifest()])
    has_labelled = any(is_labelled_manifest(p) for p in paths)
    seed_list = list(seeds or ([0, 1, 2] if has_labelled else [0]))
    queries = _queries(query, wrong_query, has_labelled if absent is None else absent)
    with_absent = any(q.startswith("absent-") for q in queries)
    sets = _mixture_sets(paths, split, corpus, protocol, seed_list, n, limit, with_absent)
    for _, items in sets:
        check_audible(items)
    if min_si_sdri is not None:
        _check_gated_queries(sets, queries)
    settings: dict[str, Any] = {"text_expansion": not raw_text, "postfilter": postfilter}
    if two_pass:
        settings["two_pass"] = True
    if has_labelled or len(seed_list) > 1:
        settings |= {"protocol": protocol, "seeds": seed_list} if has_labelled else {"seeds": seed_list}
    opts: dict[str, Any] = {"device": device, "text_expansion": not raw_text, "postfilter": postfilter}
    opts["two_pass"] = two_pass
    if adapt:
        from sfcli.adapt import AdaptOptions

        settings["adapt_steps"] = adapt
        opts["adapt"] = AdaptOptions(steps=adapt)
    separators = _separators(list(models or []), list(filters or []), words, opts)
    result = _run_with_progress(
        quiet,
        lambda cb: evaluate(
            separators, sets if len(sets) > 1 or sets[0][0] else sets[0][1], queries=queries, irm=irm, progress=cb
        ),
    )
    result["settings"] = settings
    table = markdown_table(result)
    _emit(json_report(result, per_mixture) + "\n" if as_json else table, table, markdown)
    if min_si_sdri is not None:
        _gate(result, min_si_sdri, queries)


@eval_app.command("words", epilog=WORDS_EPILOG)
def eval_words(
    manifests: Annotated[
        list[Path] | None, typer.Argument(help="JSONL manifests of clips (audio, text/captions, category).")
    ] = None,
    split: Annotated[str | None, typer.Option("--split", help="Evaluate a corpus split instead.")] = None,
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Corpus folder for --split.")] = None,
    words: Annotated[Path | None, typer.Option("--words", help="SoundWords folder (default: shipped).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Write a Markdown table to FILE.")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing --markdown file.")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "cpu",
) -> None:
    """Text↔audio retrieval recall and zero-shot accuracy of a SoundWords model (sfcli.words_eval)."""
    from sfcli.cli.common import check_output_file
    from sfcli.data.corpus import default_corpus_dir
    from sfcli.errors import SfcliError
    from sfcli.train.words import corpus_sources, manifest_sources
    from sfcli.words import SoundWords
    from sfcli.words_eval import evaluate_words

    if markdown is not None:
        check_output_file(markdown, force, "--markdown")
    for m in manifests or []:
        _check_audio_present(m)
    records = [r for m in manifests or [] for r in manifest_sources(m)]
    if split is not None:
        root = corpus or default_corpus_dir()
        if not Path(root).exists():
            raise SfcliError(f"no corpus at {root}")
        records += [r for r in corpus_sources(root) if r.split == split]
    if not records:
        raise SfcliError("give one or more manifests, or --split NAME")
    model = SoundWords.from_pretrained(words, device=device)
    metrics = evaluate_words(model, records, lambda r: r.load())
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()]
    table = "\n".join(lines) + "\n"
    _emit(json.dumps(metrics, indent=2) + "\n" if as_json else table, table, markdown)


def _check_audio_present(manifest: Path) -> None:
    """Refuse a manifest some of whose audio files are missing, as ``eval separation`` does: scoring the
    rest would silently change the evaluation set."""
    from sfcli.data.manifests import missing_audio
    from sfcli.errors import SfcliError

    missing = missing_audio(manifest)
    if missing:
        files = "audio file" if len(missing) == 1 else "audio files"
        raise SfcliError(f"{manifest}: {len(missing)} {files} not found (first: {missing[0]})")
