"""Measuring the privacy maskers on labelled captions: precision and recall of the masked spans.

A labelled file is UTF-8 TSV, `caption<TAB>expected caption`, `#` comment lines; the expected caption
is the caption with each name or contact replaced by its token (`<人名>`, `<电话>`, `<邮箱>`,
`<身份证号>`). Both columns go through the filter stage's caption normaliser first, because the
maskers see normalised captions in the pipeline. A found span counts as right only when it is
exactly an expected span with the same token; anything else is a false positive, and each expected
span not found is a false negative. Used by `python -m bench.bench_privacy` and the tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from filters.text_normalize import normalize_text

Span = tuple[int, int, str]  # start, end, token
NAME_TOKENS = ("<人名>",)
CONTACT_TOKENS = ("<电话>", "<邮箱>", "<身份证号>")


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """(caption, expected) rows of a labelled file; a row without exactly one tab is an error."""
    pairs = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != 2:
            raise ValueError(f"{path}:{number}: expected caption<TAB>expected caption")
        pairs.append((cells[0], cells[1]))
    return pairs


def expected_spans(caption: str, expected: str, tokens: Iterable[str]) -> set[Span]:
    """The spans of `caption` that `expected` replaces, each with its token."""
    splitter = re.compile("(" + "|".join(re.escape(t) for t in tokens) + ")")
    pieces = splitter.split(expected)
    texts, used = pieces[0::2], pieces[1::2]
    match = re.fullmatch("(.+?)".join(re.escape(p) for p in texts), caption)
    if match is None:
        raise ValueError(f"labelled pair does not line up: {caption} / {expected}")
    return {(*match.span(i + 1), token) for i, token in enumerate(used)}


@dataclass(slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    by_token: dict[str, list[int]] = field(default_factory=dict)  # token -> [tp, fp, fn]
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def line(self, name: str) -> str:
        return (f"{name}: precision {self.precision:.3f} recall {self.recall:.3f} "
                f"(tp {self.tp} fp {self.fp} fn {self.fn})")


def score(find: Callable[[str], set[Span]], mask: Callable[[str], str], pairs: list[tuple[str, str]],
          tokens: Iterable[str], normalize: bool = True) -> Score:
    """Span-level counts of `find` (spans with tokens) against the labelled `pairs`."""
    tokens = tuple(tokens)
    result = Score()
    for caption, expected in pairs:
        if normalize:
            caption, expected = normalize_text(caption), normalize_text(expected)
        want, got = expected_spans(caption, expected, tokens), find(caption)
        for kind, spans in (("tp", want & got), ("fp", got - want), ("fn", want - got)):
            setattr(result, kind, getattr(result, kind) + len(spans))
            for span in spans:
                counts = result.by_token.setdefault(span[2], [0, 0, 0])
                counts[("tp", "fp", "fn").index(kind)] += 1
        if got != want:
            result.errors.append(f"{caption} -> {mask(caption)} (want {expected})")
    return result


def score_names(masker: object, pairs: list[tuple[str, str]], normalize: bool = True) -> Score:
    """`masker` is a `filters.privacy.NameMasker`."""
    token = NAME_TOKENS[0]
    return score(lambda t: {(s, e, token) for s, e in masker.find_names(t)},  # type: ignore[attr-defined]
                 lambda t: masker.mask_text(t).replace(masker.token, token),  # type: ignore[attr-defined]
                 pairs, NAME_TOKENS, normalize)


def score_contacts(masker: object, pairs: list[tuple[str, str]], normalize: bool = True) -> Score:
    """`masker` is a `filters.contacts.ContactMasker`."""
    return score(lambda t: {(c.start, c.end, c.token) for c in masker.find_contacts(t)},  # type: ignore[attr-defined]
                 masker.mask_text, pairs, CONTACT_TOKENS, normalize)  # type: ignore[attr-defined]
