"""Trains the sensitive model (filters/data/sensitive_model.ftz) from the project's labelled captions.

    python -m filters.sensitive_train [--out FILE] [--without SET ...]

Training data: every `tests/data/labelled/sensitive_*.tsv` (`caption<TAB>unsafe|safe<TAB>category`: an unsafe
caption is labelled with its category, a safe one, traps included, `safe`) plus the real-world Wukong-style captions
of `REAL_SAFE` (first column of each file, all `safe`). Each caption becomes the skeleton the lexicon matches on,
one token per character (filters.sensitive_model.features). Lines are shuffled with a fixed seed and fitted in a
child process with fastText's training build (filters.sensitive_fit: one thread, fixed seed, then quantized), so
the same data and `Params` give the same file byte for byte. `--without` leaves sets out (leave-one-set-out
measurements: bench/bench_sensitive_model.py).

Beside each model it writes `<model>.sha256` (read by `trained_on`): the SHA-256 of the training lines with the `Params`
and of the model it wrote, so a test can tell, without training again, that the packaged model is the one these
data give (training being byte-for-byte reproducible, which a test checks on a small set).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from filters.base import REASON, apply_filter
from filters.sensitive import SensitiveFilter, skeletons
from filters.sensitive_model import LABEL_PREFIX, MODEL_FILE, SAFE, features
from filters.text_normalize import normalize_captions
from manifests.config import Config
from manifests.errors import UserError
from manifests.jieba_dict import dict_file

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "labelled"
SENSITIVE_GLOB = "sensitive_*.tsv"
# Real captions of the tests (the ones test_sensitive_lexicon keeps): dishes, products, places, people, contacts.
REAL_SAFE = ("language.tsv", "names.tsv", "names_holdout.tsv", "names_dev.tsv", "contacts.tsv")
TRAINER_DIR = Path(sys.prefix) / "fasttext-train"  # fasttext-wheel, installed there by `make venv`
UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class Params:
    """fastText's supervised hyper-parameters (chosen by leave-one-set-out, BENCHMARKS.md) and quantization."""

    dim: int = 16
    epoch: int = 5  # 30 epochs at lr 0.5 (and 3-grams) rank the blind sets better but keep 0.985 of the safe at best
    lr: float = 0.1
    wordNgrams: int = 2  # word n-grams over one-character tokens: character bigrams
    bucket: int = 200_000
    minCount: int = 1
    minn: int = 0
    maxn: int = 0
    seed: int = 1
    jieba_words: int = 0  # the most frequent words of jieba's dictionary the lexicon keeps, as safe examples
    cutoff: int = 40_000  # rows of the input matrix kept by quantization (characters and n-grams by norm)
    dsub: int = 2


@dataclass(frozen=True, slots=True)
class Example:
    caption: str
    label: str  # a category or `safe`


def labelled_rows(path: str | Path) -> list[tuple[str, str, str]]:
    """(caption, unsafe|safe, category) per line of a labelled sensitive TSV (`#` lines are comments); a malformed
    line is a UserError naming it."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[1] not in (UNSAFE, SAFE) or not parts[2].strip():
            raise UserError(f"{path}:{n}: expected caption<TAB>unsafe|safe<TAB>category, got {line!r}")
        rows.append((parts[0], parts[1], parts[2].strip()))
    return rows


def read_set(path: Path) -> list[Example]:
    """One labelled sensitive set as training examples: the category of an unsafe caption, `safe` otherwise."""
    return [Example(caption, category if label == UNSAFE else SAFE) for caption, label, category in labelled_rows(path)]


def sensitive_sets(folder: Path = LABELLED) -> dict[str, list[Example]]:
    """Every labelled sensitive set by file stem (`sensitive_dev3`), in name order."""
    return {p.stem: read_set(p) for p in sorted(folder.glob(SENSITIVE_GLOB))}


def real_safe(folder: Path = LABELLED) -> list[Example]:
    """The real-world captions of REAL_SAFE, labelled safe."""
    rows = []
    for name in REAL_SAFE:
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                rows.append(Example(line.split("\t")[0], SAFE))
    return rows


def jieba_words(n: int) -> list[str]:
    """jieba's dictionary words of two or more characters, most frequent first (ties in file order), the first n."""
    if n <= 0:
        return []
    entries = []
    for i, line in enumerate(dict_file().read_text(encoding="utf-8").splitlines()):
        word, freq = [*line.split(" "), "0"][:2]
        if len(word) >= 2:
            entries.append((-int(freq), i, word))
    return [w for _, _, w in sorted(entries)[:n]]


def lexicon_keeps(captions: list[str]) -> list[bool]:
    """Whether the packaged lexicon alone (default categories, model off) keeps each caption."""
    cfg = Config()
    cfg.text.sensitive_model = False
    table = apply_filter(normalize_captions(pa.table({"caption": pa.array(captions, pa.string())})),
                         SensitiveFilter(cfg))
    return pc.is_null(table.column(REASON)).to_pylist()


def training_examples(without: tuple[str, ...] = (), folder: Path = LABELLED, params: Params = Params()
                      ) -> list[Example]:
    """The sensitive sets but `without` (file stems), the real safe captions, and `params.jieba_words` everyday
    words that the lexicon keeps (a word it rejects, 赌博, is not an everyday example)."""
    sets = sensitive_sets(folder)
    unknown = set(without) - set(sets)
    if unknown:
        raise UserError(f"no labelled set named {sorted(unknown)[0]!r} (known: {', '.join(sets)})")
    examples = [e for name, rows in sets.items() if name not in without for e in rows] + real_safe(folder)
    words = jieba_words(params.jieba_words)
    if words:
        examples += [Example(w, SAFE) for w, keep in zip(words, lexicon_keeps(words), strict=True) if keep]
    return examples


def training_lines(examples: list[Example], seed: int) -> list[str]:
    """`__label__<label> c h a r s` per example with a non-empty skeleton, shuffled with `seed`."""
    skels = skeletons([e.caption for e in examples])
    lines = [f"{LABEL_PREFIX}{e.label} {features(s)}" for e, s in zip(examples, skels, strict=True) if s]
    random.Random(seed).shuffle(lines)
    return lines


def trained_on_file(model: Path) -> Path:
    """Where the record of what `model` was trained on lies: `<model>.sha256`."""
    return model.with_name(model.name + ".sha256")


def data_fingerprint(lines: list[str], params: Params) -> str:
    """SHA-256 of the `Params` and the training lines (what fastText reads): equal ones give an equal model."""
    digest = hashlib.sha256(json.dumps(asdict(params), sort_keys=True).encode())
    for line in lines:
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def trained_on(model: Path) -> dict[str, str]:
    """The record written beside `model`: {"data": data_fingerprint, "model": SHA-256 of the model file}."""
    return dict(line.split(" ", 1)[::-1] for line in trained_on_file(model).read_text(encoding="ascii").splitlines())


def train(examples: list[Example], out: Path, params: Params = Params()) -> None:
    """Fits, quantizes and writes the model to `out` (a child process with the training build of fastText), and
    beside it the record of what it was trained on (`trained_on`)."""
    if not (TRAINER_DIR / "fasttext").is_dir():
        raise UserError(f"training needs fastText's training build in {TRAINER_DIR}: run `make venv` "
                        f"(or pip install --no-deps --target {TRAINER_DIR} fasttext-wheel==0.9.2)")
    lines = training_lines(examples, params.seed)
    with tempfile.TemporaryDirectory(prefix="sensitive-train-") as tmp:
        data = Path(tmp) / "train.txt"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path = os.pathsep.join(filter(None, [str(TRAINER_DIR), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        result = subprocess.run([sys.executable, "-m", "filters.sensitive_fit", str(data), str(out),
                                 json.dumps(asdict(params))], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            err = (result.stderr.strip() or "no output").splitlines()
            raise UserError(f"fastText training failed: {err[-1]}")
    model_sha = hashlib.sha256(out.read_bytes()).hexdigest()
    trained_on_file(out).write_text(f"{data_fingerprint(lines, params)} data\n{model_sha} model\n", encoding="ascii")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(MODEL_FILE), help="model file to write (default: the packaged one)")
    ap.add_argument("--without", action="append", default=[], metavar="SET", help="leave a labelled set out")
    args = ap.parse_args(argv)
    try:
        examples = training_examples(tuple(args.without), params=Params())
        train(examples, Path(args.out))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(examples):,} captions, {Path(args.out).stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
