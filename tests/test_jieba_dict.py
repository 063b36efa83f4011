"""manifests.jieba_dict: the cached dictionaries and IDF table are exactly jieba's, and a bad cache costs nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from manifests.jieba_dict import (
    STALE_DAYS,
    _read,
    _write,
    decode_idf,
    decode_prefix,
    decode_tags,
    encode_idf,
    encode_prefix,
    encode_tags,
)

REPO = Path(__file__).resolve().parents[1]

# Loads both dictionaries and the IDF table through the cache, then builds them again with jieba's own code
# (a second Tokenizer on dict.txt, a second POS tagger, idf.txt's text parsed) and reports whether they are equal.
PROBE = """
import hashlib, json, logging, os
from manifests.jieba_dict import cache_file, idf_file, load_posseg, load_tokenizer, load_two_char_idf
from manifests.jieba_dict import parse_two_char_idf
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
dt = load_tokenizer()
posseg = load_posseg()
tags = posseg.dt.word_tag_tab
idf = load_two_char_idf()
equal = None
if os.environ.get("COMPARE") == "1":
    import jieba
    own = jieba.Tokenizer()
    own.FREQ, own.total = own.gen_pfdict(own.get_dict_file())
    equal = [dt.FREQ == own.FREQ and dt.total == own.total, tags == jieba.posseg.POSTokenizer(own).word_tag_tab,
             idf == parse_two_char_idf(idf_file())]
print(json.dumps({
    "words": len(dt.FREQ), "tags": len(tags), "idf": len(idf), "equal": equal,
    "digest": hashlib.sha256("\\n".join(f"{k} {v}" for d in (dt.FREQ, tags)
                                        for k, v in d.items()).encode()).hexdigest(),
    "idf_digest": hashlib.sha256(repr(sorted(idf.items())).encode()).hexdigest(),
    "cut": [f"{p.word}/{p.flag}" for p in posseg.dt.cut("张伟在北京故宫拍照")],
    "cached": [cache_file(k).is_file() for k in ("prefix", "tags", "idf2")],
}))
"""


def probe(cache: Path, compare: bool = False) -> tuple[dict, str]:
    """Runs PROBE in a fresh process with this cache folder; `compare` also builds jieba's own."""
    env = {**os.environ, "WUKONG_CACHE": str(cache), "COMPARE": "1" if compare else "0"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """A cold start (jieba's own loading, cache written), then a warm one (loaded from the cache) that also
    builds jieba's own dictionaries to compare: the cold start gave what the warm one gives (the digests)."""
    cache = tmp_path_factory.mktemp("cache")
    cold, _ = probe(cache)
    warm, _ = probe(cache, compare=True)
    return cache, cold, warm


def test_cache_gives_exactly_what_jieba_builds(built: tuple[Path, dict, dict]) -> None:
    cache, cold, warm = built
    files = sorted(p.name.split("-")[0] for p in (cache / "jieba").iterdir())
    assert files == ["idf2", "prefix", "tags"]
    assert warm["equal"] == [True, True, True]
    assert cold == {**warm, "equal": None}  # the same words, tags, IDF table (digests) and cut
    assert warm["words"] > 400_000 and warm["tags"] > 300_000 and warm["idf"] > 100_000
    assert warm["cut"] == ["张伟/nr", "在/p", "北京故宫/ns", "拍照/v"]
    assert warm["cached"] == [True, True, True]


def test_damaged_cache_is_rebuilt(built: tuple[Path, dict, dict]) -> None:
    cache, _, warm = built
    for path in (cache / "jieba").iterdir():
        path.write_bytes(path.read_bytes()[:1000])  # truncated, as by a full disk
    run, stderr = probe(cache)
    assert "is damaged (truncated): rebuilding it" in stderr
    assert run == {**warm, "equal": None}
    again, stderr = probe(cache)  # rewritten whole
    assert again == run and "damaged" not in stderr


def test_unwritable_cache_folder_falls_back_to_jieba(tmp_path: Path, built: tuple[Path, dict, dict]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    run, stderr = probe(blocker)
    assert run == {**built[2], "equal": None, "cached": [False, False, False]}
    assert "Traceback" not in stderr


def test_round_trip_and_words_that_cannot_be_stored() -> None:
    freq = {"北京": 5, "北": 0, "a b": 3}
    assert decode_prefix(encode_prefix(freq, 8)) == (freq, 8)
    assert decode_tags(encode_tags({"北京": "ns", "x": "eng"})) == {"北京": "ns", "x": "eng"}
    assert decode_idf(encode_idf({"姚明": 11.2, "安静": 7.0})) == {"姚明": 11.2, "安静": 7.0}
    assert encode_idf({"两\n行": 1.0}) is None
    assert encode_prefix({"两\n行": 1}, 1) is None  # a newline inside a word: left to jieba
    with pytest.raises(ValueError, match="not a wukong jieba cache"):
        decode_prefix(b"\x04marshal")


def test_caches_of_other_installs_unread_for_a_month_are_removed_when_one_is_written(tmp_path: Path) -> None:
    """Each environment that builds jieba has its own cache (new mtimes, new names): writing one removes the
    same kind's caches that nobody read for STALE_DAYS, and keeps those read since."""
    folder = tmp_path / "jieba"
    folder.mkdir()
    names = {"stale": "tags-0.42.1-1-1.bin", "read": "tags-0.42.1-2-2.bin", "other kind": "prefix-0.42.1-1-1.bin"}
    long_ago = time.time() - (STALE_DAYS + 1) * 86400
    for name in names.values():
        (folder / name).write_bytes(encode_tags({"北京": "ns"}))
        os.utime(folder / name, (long_ago, long_ago))
    assert _read(folder / names["read"], decode_tags) == {"北京": "ns"}  # used today: kept
    _write(folder / "tags-0.42.1-3-3.bin", encode_tags({"上海": "ns"}))
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted([names["read"], names["other kind"], "tags-0.42.1-3-3.bin"])
