"""The sensitive model measured out of sample: leave-one-set-out, and false rejections on real text.

    python -m bench.bench_sensitive_model [--threshold 0.9] [--sets NAME ...] [--no-append]
                                          [--param dim=16 --param wordNgrams=3 ...]

For each labelled set `tests/data/labelled/sensitive_*.tsv`, a model is trained on every other set plus the real
safe captions (filters.sensitive_train) and the lexicon, then lexicon + that model, are measured on the set left out:
unsafe rejected and safe kept, per set and pooled, at `--threshold` and over a sweep of thresholds (the lexicon was
tuned on most of these sets, so its own figures are in sample; the model's are not). Then the packaged model
(trained on everything) on real text it never saw: the labelled name, mojibake and check sets, the demo web's
captions (its planted sensitive ones left out) and every word of jieba's dictionary: the share the model rejects.
Appends the tables to BENCHMARKS.md unless --no-append.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import fields, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from bench.common import append_benchmarks
from filters.base import DETAIL, REASON, apply_filter
from filters.lexicon import default_categories
from filters.sensitive import SensitiveFilter, folded_skeletons
from filters.sensitive_model import SAFE, SensitiveModel
from filters.sensitive_train import (
    LABELLED,
    Example,
    Params,
    jieba_words,
    sensitive_sets,
    train,
    training_examples,
)
from filters.text_chain import normalize_captions
from manifests import reasons
from manifests.config import Config, load_config
from wukong.demoweb.generator import build_web

SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)
UNSEEN = ("names_dev2.tsv", "names_dev3.tsv", "names_dev4.tsv", "names_dev5.tsv", "names_dev6.tsv",
          "names_check4.tsv", "mojibake_correct.tsv", "mojibake_rare_correct.tsv")


def lexicon_details(captions: list[str], cfg: Config) -> list[str | None]:
    """The lexicon's detail per caption (None = kept), model off."""
    table = apply_filter(normalize_captions(pa.table({"caption": pa.array(captions, pa.string())})),
                         SensitiveFilter(cfg))
    return [d if r == reasons.SENSITIVE else None
            for r, d in zip(table.column(REASON).to_pylist(), table.column(DETAIL).to_pylist(), strict=True)]


def model_probs(flt: SensitiveFilter, captions: list[str]) -> list[float]:
    """The model's best default-category probability per caption (0 where education clears it), as the filter
    computes it."""
    texts = normalize_captions(pa.table({"caption": pa.array(captions, pa.string())})).column("caption_norm")
    texts = pc.fill_null(texts.combine_chunks(), "")
    return [p for _, p in flt.model_best(texts, folded_skeletons(texts), min(SWEEP))]


def rates(rows: list[Example], lexicon: list[str | None], probs: list[float], threshold: float | None
          ) -> tuple[int, int, int, int]:
    """(unsafe, rejected, safe, kept) for the lexicon alone (threshold None) or lexicon + model."""
    unsafe = rejected = safe = kept = 0
    for row, lex, prob in zip(rows, lexicon, probs, strict=True):
        out = lex is not None or (threshold is not None and prob >= threshold)
        if row.label == SAFE:
            safe, kept = safe + 1, kept + (not out)
        else:
            unsafe, rejected = unsafe + 1, rejected + out
    return unsafe, rejected, safe, kept


def _r(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.3f})" if d else "-"


def operating_point(per_set: list[tuple[list[Example], list[str | None], list[float]]], goal: float) -> str:
    """The lowest threshold (of 0.5..0.9999) at which lexicon + model keep `goal` of the safe captions, pooled."""
    for t in [0.5 + i / 100 for i in range(49)] + [0.99 + i / 10_000 for i in range(100)]:
        per = [rates(rows, lex, probs, t) for rows, lex, probs in per_set]
        u, r, s, k = (sum(x[i] for x in per) for i in range(4))
        if k / s >= goal:
            return f"| {t:.4f} (lowest with safe kept >= {goal}) | {_r(r, u)} | {_r(k, s)} | " \
                   f"{min(x[3] / x[2] for x in per if x[2]):.3f} |"
    return f"| (no threshold keeps {goal} of the safe) | | | |"


def leave_one_out(names: list[str], params: Params, threshold: float, cfg: Config, misses: str | None) -> str:
    sets = sensitive_sets()
    per_set: dict[str, tuple[list[Example], list[str | None], list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sensitive-") as tmp:
        for name in names:
            rows = sets[name]
            path = Path(tmp) / f"{name}.ftz"
            train(training_examples(without=(name,), params=params), path, params)
            per_set[name] = (rows, lexicon_details([r.caption for r in rows], cfg),
                             model_probs(SensitiveFilter(Config(), SensitiveModel(path)), [r.caption for r in rows]))
            print(f"  {name}: trained without it", flush=True)
    if misses:
        with open(misses, "w", encoding="utf-8") as out:
            for name, (rows, lex, probs) in per_set.items():
                for row, d, p in zip(rows, lex, probs, strict=True):
                    if d is None and (row.label == SAFE) == (p >= threshold):
                        out.write(f"{name}\t{row.label}\t{p:.4f}\t{row.caption}\n")
    lines = ["| set left out | unsafe | safe | lexicon: unsafe rejected | lexicon: safe kept | "
             f"+ model {threshold}: unsafe rejected | + model: safe kept |", "|---|---:|---:|---:|---:|---:|---:|"]
    pooled = [0, 0, 0, 0, 0, 0]
    for name, (rows, lex, probs) in per_set.items():
        u, r0, s, k0 = rates(rows, lex, probs, None)
        _, r1, _, k1 = rates(rows, lex, probs, threshold)
        lines.append(f"| {name} | {u} | {s} | {_r(r0, u)} | {_r(k0, s)} | {_r(r1, u)} | {_r(k1, s)} |")
        for i, v in enumerate((u, r0, s, k0, r1, k1)):
            pooled[i] += v
    u, r0, s, k0, r1, k1 = pooled
    lines.append(f"| **all** | {u} | {s} | {_r(r0, u)} | {_r(k0, s)} | {_r(r1, u)} | {_r(k1, s)} |")
    sweep = ["| threshold | unsafe rejected (pooled) | safe kept (pooled) | lowest safe kept of one set |",
             "|---:|---:|---:|---:|"]
    for t in SWEEP:
        per = [rates(rows, lex, probs, t) for rows, lex, probs in per_set.values()]
        u, r, s, k = (sum(x[i] for x in per) for i in range(4))
        low = min(x[3] / x[2] for x in per if x[2])
        sweep.append(f"| {t} | {_r(r, u)} | {_r(k, s)} | {low:.3f} |")
    for goal in (0.99, 0.985, 0.98):
        sweep.append(operating_point(list(per_set.values()), goal))
    cats = ["| category (pooled, left out) | unsafe | lexicon rejected | + model rejected |", "|---|---:|---:|---:|"]
    for cat in default_categories():
        u = r0 = r1 = 0
        for rows, lex, probs in per_set.values():
            for row, d, p in zip(rows, lex, probs, strict=True):
                if row.label == cat:
                    u, r0, r1 = u + 1, r0 + (d is not None), r1 + (d is not None or p >= threshold)
        cats.append(f"| {cat} | {u} | {_r(r0, u)} | {_r(r1, u)} |")
    return "\n".join(lines) + "\n\n" + "\n".join(sweep) + "\n\n" + "\n".join(cats)


def unseen_text(threshold: float, cfg: Config, params: Params) -> str:
    """False rejections of a model trained on every set with `params` (and of the lexicon) on real text not in its
    training data."""
    corpora: dict[str, list[str]] = {}
    for name in UNSEEN:
        corpora[name] = [line.split("\t")[0] for line in (LABELLED / name).read_text(encoding="utf-8").splitlines()
                         if line.strip() and not line.startswith("#")]
    web = build_web(3000, 7)
    corpora["demo web captions (3,000-pair web, planted sensitive left out)"] = [
        o.caption for o in web.occurrences if o.caption and o.planted != "sensitive"]
    corpora[f"jieba dict.txt words (2+ characters, but the {params.jieba_words:,} trained on)"] = (
        jieba_words(10**7)[params.jieba_words:])
    with tempfile.TemporaryDirectory(prefix="bench-sensitive-") as tmp:
        path = Path(tmp) / "all.ftz"
        train(training_examples(params=params), path, params)
        model = SensitiveModel(path)
    lines = ["| text (not trained on) | rows | lexicon rejects | model rejects (of the lexicon's kept) | examples |",
             "|---|---:|---:|---:|---|"]
    for name, captions in corpora.items():
        lex = lexicon_details(captions, cfg)
        probs = model_probs(SensitiveFilter(Config(), model), captions)
        flagged = [c for c, d, p in zip(captions, lex, probs, strict=True) if d is None and p >= threshold]
        n_lex = sum(d is not None for d in lex)
        lines.append(f"| {name} | {len(captions):,} | {_r(n_lex, len(captions))} | "
                     f"{_r(len(flagged), len(captions))} | {' '.join(flagged[:6])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threshold", type=float, default=Config().text.sensitive_model_threshold)
    ap.add_argument("--sets", nargs="*", help="sets to leave out in turn (default: every sensitive set)")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a Params field")
    ap.add_argument("--skip-unseen", action="store_true", help="only the leave-one-set-out tables")
    ap.add_argument("--misses", help="write the captions the model got wrong, left out, to this TSV")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args(argv)
    kinds = {f.name: f.type for f in fields(Params)}
    params = replace(Params(), **{k: (float if kinds[k] == "float" else int)(v)
                                  for k, v in (p.split("=", 1) for p in args.param)})
    cfg = load_config(None, ["text.sensitive_model=false"])
    names = args.sets or list(sensitive_sets())
    text = f"Params: {params}; threshold {args.threshold}.\n\n"
    text += leave_one_out(names, params, args.threshold, cfg, args.misses)
    if not args.skip_unseen:
        text += "\n\n" + unseen_text(args.threshold, cfg, params)
    print(text)
    if not args.no_append:
        append_benchmarks("Sensitive model: bench/bench_sensitive_model.py, leave-one-set-out", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
