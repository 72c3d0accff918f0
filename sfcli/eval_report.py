"""The reports of ``sfcli eval``: a Markdown summary and JSON, from :func:`sfcli.evaluation.evaluate`."""

from __future__ import annotations

import json
import math
from typing import Any

from sfcli.evaluation import ABSENT_QUERIES, DIAGNOSTIC_QUERIES

COLUMNS = ("target_si_sdr", "target_si_sdri", "target_sdri", "residual_si_sdr", "residual_si_sdri")
HEADERS = ("target SI-SDR", "target SI-SDRi", "target SDRi", "residual SI-SDR", "residual SI-SDRi")


def _fmt(ms: dict[str, float] | None) -> str:
    if not ms or ms.get("runs", 0) == 0 or math.isnan(ms["mean"]):
        return "–"
    return f"{ms['mean']:.2f} ± {ms['std']:.2f}" if ms["runs"] > 1 else f"{ms['mean']:.2f}"


def _header(report: dict[str, Any]) -> str:
    nruns = len(report["runs"])
    sets = report.get("mixture_sets") or []
    what = f"{len(sets)} mixture sets ({', '.join(sets)}) × " if sets else ""
    spread = " (mean ± std across runs)" if nruns > 1 else ""
    return (
        f"{report['n_mixtures']} mixtures, {what}{nruns} run(s){spread}; input SI-SDR {report['input_si_sdr']:.2f} dB"
    )


def _overall_rows(report: dict[str, Any]) -> list[str]:
    lines = ["| query | " + " | ".join(HEADERS) + " |", "|---|" + "---|" * len(HEADERS)]
    for q, ms in report["aggregate"]["overall"].items():
        if q in ABSENT_QUERIES:
            continue
        label = f"{q} (wrong query: lower = follows the query)" if q in DIAGNOSTIC_QUERIES else q
        lines.append(f"| {label} | " + " | ".join(_fmt(ms.get(m)) for m in COLUMNS) + " |")
    if "irm" in report:
        irm = report["irm"]["overall"]
        lines.append(
            "| oracle IRM (bound) | " + " | ".join(f"{irm[m]:.2f}" if m in irm else "–" for m in COLUMNS) + " |"
        )
    lines.append("| no separation | – | 0.00 | 0.00 | – | 0.00 |")
    return lines


def _absent_rows(report: dict[str, Any]) -> list[str]:
    absent = {q: ms for q, ms in report["aggregate"]["overall"].items() if q in ABSENT_QUERIES}
    if not absent:
        return []
    lines = [
        "",
        "| absent-sound query (a third label, in neither source) | energy kept (dB; lower is better) |",
        "|---|---|",
    ]
    lines += [f"| {q} | {_fmt(ms.get('kept_db'))} |" for q, ms in absent.items()]
    return lines


def _category_rows(report: dict[str, Any]) -> list[str]:
    agg = report["aggregate"]
    qs = [q for q in agg["overall"] if q not in ABSENT_QUERIES]
    if not agg["per_category"] or not qs:
        return []
    lines = ["", "| category | " + " | ".join(f"{q} target SI-SDRi" for q in qs) + " | IRM SI-SDRi |"]
    lines.append("|---|" + "---|" * (len(qs) + 1))
    for c, byq in agg["per_category"].items():
        irm_c = report.get("irm", {}).get("per_category", {}).get(c, {})
        irm_s = f"{irm_c['target_si_sdri']:.2f}" if "target_si_sdri" in irm_c else "–"
        lines.append(f"| {c} | " + " | ".join(_fmt(byq.get(q, {}).get("target_si_sdri")) for q in qs) + f" | {irm_s} |")
    return lines


def markdown_table(report: dict[str, Any], per_category: bool = True) -> str:
    """A Markdown summary: overall table (dB) with the IRM bound and baseline, absent-sound queries, per category."""
    lines = [_header(report), "", *_overall_rows(report), *_absent_rows(report)]
    if per_category:
        lines += _category_rows(report)
    return "\n".join(lines) + "\n"


def json_report(report: dict[str, Any], per_mixture: bool = False) -> str:
    """The report as JSON (per-mixture rows left out unless ``per_mixture``); NaN becomes null."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    rep = dict(report)
    if not per_mixture:
        rep["runs"] = [{k: v for k, v in r.items() if k != "mixtures"} for r in report["runs"]]
    return json.dumps(clean(rep), indent=2)


__all__ = ["json_report", "markdown_table"]
