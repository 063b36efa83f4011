"""The sensitive filter's learned second stage: a quantized fastText classifier over the caption's skeleton.

The lexicon (filters/sensitive.py) catches what names a trade's term; offers that never name it (`9mm子弹 散装
批量 出`), emoji-coded trade talk and insults built from ordinary words are left to this model. It reads the same
skeleton the lexicon matches on (normalised, separators removed, traditional characters, emoji stand-ins and
look-alikes folded), one token per character; fastText's word n-grams over those tokens are character n-grams.
Labels: one per packaged category plus `safe`. It runs only on rows the lexicon kept and rejects a row when its
most probable *enabled* category reaches `text.sensitive_model_threshold`; the detail reads
`category:model:0.97`. The model file is `data/sensitive_model.ftz`, trained by `python -m filters.sensitive_train`
(what on: `data/sensitive_model.md`). fasttext-predict loads it (the runtime has no training code); a truncated
or foreign file would load silently and predict garbage, so the file's structure is walked first and a bad one
is a UserError.
"""

from __future__ import annotations

import struct
from pathlib import Path

import fasttext

from manifests.errors import UserError

MODEL_FILE = Path(__file__).resolve().parent / "data" / "sensitive_model.ftz"
LABEL_PREFIX = "__label__"
SAFE = "safe"
MODEL_TAG = "model"  # the detail's middle part: `insults:model:0.97`
_MAGIC, _VERSION = 793712314, 12
_KSUB = 256  # centroids per sub-quantizer in fastText's product quantizer


MAX_CHARS = 128  # a Wukong caption has at most 32 words; the model reads no further than this


def features(skeleton: str) -> str:
    """The model's input line for one skeleton: its first MAX_CHARS characters separated by spaces (no newline)."""
    return " ".join(skeleton[:MAX_CHARS].replace("\n", ""))


class _Reader:
    """Reads little-endian values from bytes, raising ValueError past the end."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError("truncated")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def skip(self, size: int) -> None:
        if size < 0 or self.pos + size > len(self.data):
            raise ValueError("truncated")
        self.pos += size

    def word(self) -> bytes:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ValueError("truncated")
        word, self.pos = self.data[self.pos:end], end + 1
        return word


def _skip_pq(r: _Reader) -> None:
    dim, _nsubq, _dsub, _lastdsub = r.take("<4i")
    r.skip(4 * int(dim) * _KSUB)


def _skip_matrix(r: _Reader, quantized: bool) -> tuple[int, int]:
    if not quantized:
        m, n = r.take("<2q")
        r.skip(4 * int(m) * int(n))
        return int(m), int(n)
    (qnorm,) = r.take("<?")
    m, n, codesize = r.take("<2qi")
    r.skip(int(codesize))
    _skip_pq(r)
    if qnorm:
        r.skip(int(m))
        _skip_pq(r)
    return int(m), int(n)


def model_labels(data: bytes) -> list[str]:
    """The labels of a supervised fastText model file (.bin or .ftz), after checking that its header,
    dictionary and matrices fill the file exactly; ValueError with the reason otherwise."""
    r = _Reader(data)
    if r.take("<2i") != (_MAGIC, _VERSION):
        raise ValueError("not a fastText model file")
    args = r.take("<12id")
    dim, bucket = int(args[0]), int(args[8])
    size, nwords, nlabels, _ntokens, prune = r.take("<3i2q")
    labels = []
    for _ in range(int(size)):
        word = r.word()
        _count, kind = r.take("<qb")
        if kind == 1:
            labels.append(word.decode("utf-8"))
    prune = int(prune)  # -1: not pruned; else the number of n-gram buckets kept
    r.skip(8 * max(prune, 0))
    if len(labels) != nlabels or size != nwords + nlabels:
        raise ValueError("dictionary does not add up")
    (qin,) = r.take("<?")
    rows, cols = _skip_matrix(r, bool(qin))
    if cols != dim or rows != nwords + (bucket if prune < 0 else prune):
        raise ValueError("input matrix does not match the dictionary")
    (qout,) = r.take("<?")
    rows, cols = _skip_matrix(r, bool(qout))
    if (rows, cols) != (nlabels, dim) or r.pos != len(data):
        raise ValueError("output matrix does not match the labels")
    return [label.removeprefix(LABEL_PREFIX) for label in labels]


class SensitiveModel:
    """The loaded classifier; `labels` are the categories it knows (and `safe`)."""

    def __init__(self, path: str | Path = MODEL_FILE) -> None:
        path = Path(path)
        try:
            labels = model_labels(path.read_bytes())
        except OSError as exc:
            raise UserError(f"sensitive model {path}: cannot read it ({exc.strerror or exc}); "
                            "retrain it with python -m filters.sensitive_train") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise UserError(f"sensitive model {path} is not a valid fastText model ({exc}); "
                            "retrain it with python -m filters.sensitive_train") from None
        self.path = path
        self.labels = labels
        self._predict = fasttext.load_model(str(path)).f.predict

    def scores(self, skeletons: list[str]) -> list[dict[str, float]]:
        """Per skeleton, the probability of every label (fasttext-predict's list call returns no probabilities,
        so the C++ predict is called once a row)."""
        k = len(self.labels)
        out = []
        for skel in skeletons:
            out.append({label.removeprefix(LABEL_PREFIX): prob
                        for prob, label in self._predict(features(skel) + "\n", k, 0.0, "strict")})
        return out

    def best(self, skeletons: list[str], categories: frozenset[str]) -> list[tuple[str, float]]:
        """Per skeleton, the most probable of `categories` and its probability (`("", 0.0)` when none is known).
        fastText returns the labels most probable first, so the first enabled one is the best."""
        k, skip = len(self.labels), len(LABEL_PREFIX)
        out: list[tuple[str, float]] = []
        for skel in skeletons:
            for prob, label in self._predict(features(skel) + "\n", k, 0.0, "strict"):
                if label[skip:] in categories:
                    out.append((label[skip:], float(prob)))
                    break
            else:
                out.append(("", 0.0))
        return out
