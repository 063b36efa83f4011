"""The filter funnel: rejection reasons grouped into pipeline steps, in the order the filters run.

Pure functions over `FilterStats` (no IO), so the report's tables and plots share one set of numbers,
taken from `stats.json` exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from manifests import reasons as r
from manifests.stats import FilterStats

_HTTP = re.compile(r"^http_(\d+)$")


@dataclass(frozen=True, slots=True)
class Step:
    """One filter step: its name, a human label and the reasons it gives, in order."""

    name: str
    label: str
    reasons: tuple[str, ...]


DOWNLOAD_REASONS: tuple[str, ...] = (
    r.TIMEOUT, r.CONNECTION_ERROR, r.DNS_ERROR, r.TOO_LARGE, r.NOT_AN_IMAGE,
    r.TOO_MANY_REDIRECTS, r.PRIVATE_ADDRESS, r.EMPTY_BODY,
)

# The pipeline order (DESIGN.md, stage 2): cheapest first. `other` catches reasons this report does not know.
STEPS: tuple[Step, ...] = (
    Step("text", "text filters",
         (r.MOJIBAKE, r.EMPTY_CAPTION, r.PLACEHOLDER, r.TOO_SHORT, r.TOO_LONG, r.NOT_CHINESE, r.SENSITIVE)),
    Step("frequent_caption", "frequent captions", (r.FREQUENT_CAPTION,)),
    Step("url", "URL dedup", (r.INVALID_URL, r.DUPLICATE_URL)),
    # Opt-out lists act before any download, opt-out headers on the image response: both are counted
    # here, before the download step (a host's download attempts leave its opt-outs out).
    Step("opt_out", "opt-outs (lists, X-Robots-Tag, TDMRep)", (r.OPT_OUT,)),
    Step("download", "download", DOWNLOAD_REASONS),
    Step("image", "image checks", (r.CORRUPT_IMAGE, r.DECOMPRESSION_BOMB, r.TOO_SMALL, r.BAD_ASPECT)),
    Step("duplicate_image", "exact image dedup", (r.DUPLICATE_IMAGE,)),
    Step("near_duplicate", "near-duplicate dedup", (r.NEAR_DUPLICATE,)),
    Step("contaminated", "evaluation-set decontamination", (r.CONTAMINATED,)),
    Step("other", "other reasons", ()),
)
STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)


def is_download_reason(reason: str) -> bool:
    return reason in DOWNLOAD_REASONS or _HTTP.match(reason) is not None


def step_of(reason: str) -> str:
    """The step that gives `reason` (`http_<status>` is a download failure); unknown reasons -> `other`."""
    if _HTTP.match(reason):
        return "download"
    for step in STEPS:
        if reason in step.reasons:
            return step.name
    return "other"


def reason_sort_key(reason: str) -> tuple[int, int, int, str]:
    """Pipeline order: the step, then the reason's place in that step (HTTP failures by status)."""
    step = step_of(reason)
    step_index = STEP_NAMES.index(step)
    m = _HTTP.match(reason)
    if m:  # after the named download reasons, by status code
        return (step_index, len(DOWNLOAD_REASONS), int(m.group(1)), reason)
    known = STEPS[step_index].reasons
    return (step_index, known.index(reason) if reason in known else len(known), 0, reason)


def ordered_reasons(stats: FilterStats) -> list[str]:
    """The reasons present in `stats`, in pipeline order."""
    return sorted(stats.rejected, key=reason_sort_key)


@dataclass(frozen=True, slots=True)
class ReasonRow:
    reason: str
    step: str
    count: int
    percent_of_input: float


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """The pairs left after a step (`removed` by it); the first row is the input, the last the release."""

    name: str
    label: str
    remaining: int
    removed: int
    percent_of_input: float


def _pct(n: int, total: int) -> float:
    return 100.0 * n / total if total else 0.0


def reason_rows(stats: FilterStats) -> list[ReasonRow]:
    return [ReasonRow(reason, step_of(reason), stats.rejected[reason], _pct(stats.rejected[reason], stats.input))
            for reason in ordered_reasons(stats)]


def funnel_rows(stats: FilterStats, released: int | None = None) -> list[FunnelRow]:
    """Input -> after each step that rejected something -> kept (-> released when the release exists).

    The `kept` row is `stats.kept` as written; when stats are unbalanced the last step's remainder
    and `kept` differ, which the report flags in its consistency checks.
    """
    rows = [FunnelRow("input", "candidates (filter input)", stats.input, 0, _pct(stats.input, stats.input))]
    by_step: dict[str, int] = {}
    for reason, n in stats.rejected.items():
        by_step[step_of(reason)] = by_step.get(step_of(reason), 0) + n
    remaining = stats.input
    for step in STEPS:
        removed = by_step.get(step.name, 0)
        if not removed:
            continue
        remaining -= removed
        rows.append(FunnelRow(step.name, f"after {step.label}", remaining, removed, _pct(remaining, stats.input)))
    rows.append(FunnelRow("kept", "kept (filter output)", stats.kept, 0, _pct(stats.kept, stats.input)))
    if released is not None:
        rows.append(FunnelRow("released", "released (manifests)", released, stats.kept - released,
                              _pct(released, stats.input)))
    return rows
