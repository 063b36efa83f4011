"""The sensitive filter's learned second stage: what it rejects past the lexicon, what it keeps, its switches,
a bad model file, and retraining."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from sensitive_checks import details

from filters.sensitive import SensitiveFilter, skeletons
from filters.sensitive_model import MODEL_FILE, SensitiveModel
from filters.sensitive_train import (
    LABELLED,
    Params,
    data_fingerprint,
    read_set,
    real_safe,
    train,
    trained_on,
    training_examples,
    training_lines,
)
from manifests.config import Config, load_config
from manifests.errors import UserError

# Written for these tests (in no training set), none holding a lexicon term: offers that never name the trade's
# term, and insults built from ordinary words. The packaged model at the default threshold (0.9, chosen for 0.98 of
# the safe kept out of sample) rejects all of them but BELOW_09, each under its own category; at 0.98 only the first
# AT_098. Round 5's model (trained on more ordinary captions) is less sure of the weapons offer: 0.83 (round 4:
# 0.96), drugs second at 0.15; it stays the best category.
UNSEEN_UNSAFE = {
    "上头 嗨 同城 有货 懂的私": "drugs",
    "老哥们今晚这场稳稳的 跟着我下 私聊": "gambling",  # round 4's 老哥们跟单 ... 上车的私 is the lexicon's now
    "跪舔的奴才 狗腿子": "insults",
    "工作证 做一个 当天拿 可查": "fake_documents",
    "名下银行卡 出 一张给三百": "fraud",
    "妹妹 可上门 陪你 红包诚意": "porn",
    "整支出 带弹 可验 同城": "weapons",
}
AT_098 = 4
BELOW_09 = 1
KEPT = [
    # education and law-enforcement news, and the trades' words in their everyday senses
    "禁毒宣传 远离毒品", "反诈骗宣传 警惕刷单陷阱", "警方破获特大赌博案", "枪械历史展览 博物馆", "冰块 夏日 饮品",
    "小狗 狗粮 宠物", "鲜花配送 同城 私聊", "二手车 转让 私聊", "英超 曼城 夺冠 庆祝", "毕业证书 相框 定制",
    "理财知识 科普 讲座", "蒜薹炒肉盖饭", "2023新款连衣裙", "周杰伦演唱会门票", "一个", "你们",
]


@pytest.fixture(scope="module")
def flt() -> SensitiveFilter:
    return SensitiveFilter(Config())


def test_model_rejects_unseen_offers_and_insults_of_every_category(flt: SensitiveFilter) -> None:
    lexicon_only = SensitiveFilter(load_config(None, ["text.sensitive_model=false"]))
    captions = list(UNSEEN_UNSAFE)
    assert details(lexicon_only, captions) == [None] * len(captions)  # past the lexicon
    higher = SensitiveFilter(load_config(None, ["text.sensitive_model_threshold=0.98"]))
    rejected = len(captions) - BELOW_09
    for threshold, found in ((0.98, details(higher, captions[:AT_098])), (0.9, details(flt, captions[:rejected]))):
        for caption, detail in zip(captions, found, strict=False):
            category, tag, score = (detail or "::").split(":")
            assert (category, tag) == (UNSEEN_UNSAFE[caption], "model"), (caption, detail)
            assert threshold <= float(score) <= 1.0
    assert details(higher, captions[AT_098:]) == [None] * (len(captions) - AT_098)  # the threshold decides
    assert details(flt, captions[rejected:]) == [None] * BELOW_09
    best = SensitiveModel().best(skeletons(captions[rejected:]), frozenset(UNSEEN_UNSAFE.values()))
    assert [c for c, _ in best] == [UNSEEN_UNSAFE[c] for c in captions[rejected:]]  # still the right category


def test_model_keeps_education_everyday_senses_and_short_captions(flt: SensitiveFilter) -> None:
    assert details(flt, KEPT) == [None] * len(KEPT)


def test_lexicon_matches_keep_their_detail(flt: SensitiveFilter) -> None:
    found = details(flt, ["百家乐 真人", "跪舔的奴才 狗腿子"])
    assert found[0] == "gambling:百家乐" and found[1] is not None and found[1].startswith("insults:model:")


def test_a_category_switched_off_is_never_the_models_verdict() -> None:
    captions = ["跪舔的奴才 狗腿子", "上头 嗨 同城 有货 懂的私"]
    cfg = load_config(None, ["text.sensitive_categories=[gambling, porn, drugs, weapons, fake_documents, fraud]"])
    found = details(SensitiveFilter(cfg), captions)
    assert found[0] is None or not found[0].startswith("insults"), found
    assert found[1] is not None and found[1].startswith("drugs:model:")
    assert details(SensitiveFilter(load_config(None, ["text.sensitive_categories=[]"])), captions) == [None, None]


def test_model_off_gives_the_lexicons_verdicts_alone(flt: SensitiveFilter) -> None:
    rows = read_set(LABELLED / "sensitive_dev7a.tsv")
    captions = [r.caption for r in rows]
    off = details(SensitiveFilter(load_config(None, ["text.sensitive_model=false"])), captions)
    on = details(flt, captions)
    assert all(":model:" not in d for d in off if d)
    assert [d for d in on if d and ":model:" not in d] == [d for d in off if d]  # the lexicon's own, unchanged
    assert sum(1 for d in on if d and ":model:" in d) >= 5  # and the model adds to them


def test_real_world_captions_are_kept(flt: SensitiveFilter) -> None:
    captions = [e.caption for e in real_safe()]
    for name in ("names_dev2.tsv", "names_dev3.tsv", "mojibake_correct.tsv"):  # not trained on
        captions += [line.split("\t")[0] for line in (LABELLED / name).read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#")]
    assert len(captions) >= 3500
    assert [(c, d) for c, d in zip(captions, details(flt, captions), strict=True) if d] == []


@pytest.mark.parametrize("content", [None, b"", b"not a model at all", "truncate"])
def test_missing_or_corrupt_model_is_a_one_line_user_error(tmp_path: Path, content: bytes | str | None) -> None:
    path = tmp_path / "model.ftz"
    if content == "truncate":
        content = MODEL_FILE.read_bytes()[:100_000]
    if isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(UserError) as info:
        SensitiveModel(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "sensitive_train" in message


def test_packaged_model_is_small_and_knows_every_category() -> None:
    model = SensitiveModel()
    assert sorted(model.labels) == ["drugs", "fake_documents", "fraud", "gambling", "insults", "porn", "safe",
                                    "weapons"]
    assert MODEL_FILE.stat().st_size < 1_000_000


def test_the_packaged_model_is_the_one_its_data_give() -> None:
    """The packaged model was trained on exactly today's labelled sets and Params (the record its training wrote
    beside it), so retraining gives it again, byte for byte (next test): `make sensitive-model` after any change."""
    record = trained_on(MODEL_FILE)
    assert record["model"] == hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest(), "the model is not the one trained"
    lines = training_lines(training_examples(params=Params()), Params().seed)
    assert record["data"] == data_fingerprint(lines, Params()), "the labelled sets changed: run make sensitive-model"


def test_training_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    """Twice on a quarter of the data with a small hash table (the packaged Params' quantization of 200,000
    buckets alone takes 5 s): the same file, and the same record of what it was trained on."""
    small = [e for e in training_examples(params=Params()) if len(e.caption) % 4 == 0]
    params = dataclasses.replace(Params(), bucket=10_000, cutoff=2_000)
    first, second = tmp_path / "first.ftz", tmp_path / "second.ftz"
    train(small, first, params)
    train(small, second, params)
    assert first.read_bytes() == second.read_bytes() != MODEL_FILE.read_bytes()
    assert trained_on(first) == trained_on(second) == {
        "data": data_fingerprint(training_lines(small, params.seed), params),
        "model": hashlib.sha256(first.read_bytes()).hexdigest()}
    assert data_fingerprint(training_lines(small, params.seed), Params()) != trained_on(first)["data"]
    assert sorted(SensitiveModel(first).labels) == sorted(SensitiveModel().labels)
