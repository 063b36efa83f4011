"""jieba's two dictionaries and its IDF table, loaded from a compact local cache: every stage's start-up
pays the dictionaries, every process that masks names the IDF table.

jieba builds its prefix dictionary (`Tokenizer.FREQ`, about 500,000 words and prefixes) from its
bundled dict.txt and keeps it in a marshal file that takes about 0.9 CPU-s to load; its part-of-
speech tagger parses dict.txt again (about 0.4 s) on `import jieba.posseg`. Here both are kept as
plain data (the words joined by newlines, the counts a little-endian int64 array, the tags joined by
newlines) and rebuilt as dicts in about a third of that time. The name masker's IDF of two-character
words (`load_two_char_idf`, 119,000 of the 270,000 lines of jieba's analyse/idf.txt) is kept the same
way, the IDFs a little-endian float64 array: parsing the text took about 0.2 s. No pickle or marshal
is read, so a planted cache file cannot run code.

The cache is exactly what jieba builds (a test compares them), lives under `$WUKONG_CACHE` or
~/.cache/wukong (`jieba/`), and is keyed by jieba's version and its source file's (dict.txt's or
idf.txt's) size and mtime. A missing or damaged cache is rebuilt with jieba's own code (the IDF table
from its text) and written atomically; a folder that cannot be written leaves the process on jieba's
own path. Only jieba's default dictionary is cached: a tokenizer given another dictionary, cache file
or temporary folder is left to jieba. jieba is built from source, so every new environment has new
mtimes and its own cache (15 MB): writing one removes those of other installs that no process has read
for `STALE_DAYS` (a read marks a cache used).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from manifests.storage import cache_root

log = logging.getLogger(__name__)


def _import_jieba() -> ModuleType:
    """jieba, imported without pkg_resources: jieba._compat imports it only to open jieba's bundled
    files and opens them itself when it is missing; importing it scans every installed distribution
    (0.1-0.3 s of each process's start-up)."""
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        return importlib.import_module("jieba")
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # `import pkg_resources` -> ImportError
    try:
        return importlib.import_module("jieba")
    finally:
        del sys.modules["pkg_resources"]


jieba = _import_jieba()  # the stages import jieba from here (`from manifests.jieba_dict import jieba`)

MAGIC = b"wukong-jieba-dict 1\n"
STALE_DAYS = 30  # a cache of another install unread this long is removed when a new one is written
_LOCK = threading.RLock()


def dict_file() -> Path:
    """jieba's bundled dictionary (dict.txt)."""
    return Path(jieba.__file__).resolve().parent / jieba.DEFAULT_DICT_NAME


def idf_file() -> Path:
    """jieba's keyword-extraction IDF table (analyse/idf.txt, `word idf` per line)."""
    return Path(jieba.__file__).resolve().parent / "analyse" / "idf.txt"


def cache_file(kind: str) -> Path:
    """Where the `kind` ("prefix", "tags" or "idf2") cache of this jieba and its source file lives."""
    st = (idf_file() if kind == "idf2" else dict_file()).stat()
    return cache_root() / "jieba" / f"{kind}-{jieba.__version__}-{st.st_size}-{st.st_mtime_ns}.bin"


def _encode(header: dict[str, Any], *sections: bytes) -> bytes:
    head = json.dumps({**header, "sections": [len(s) for s in sections]}).encode("ascii")
    return b"".join([MAGIC, head, b"\n", *sections])


def _decode(data: bytes) -> tuple[dict[str, Any], list[memoryview]]:
    if not data.startswith(MAGIC):
        raise ValueError("not a wukong jieba cache")
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC):end])
    view, at, sections = memoryview(data), end + 1, []
    for size in header["sections"]:
        if at + size > len(data):
            raise ValueError("truncated")
        sections.append(view[at:at + size])
        at += size
    if at != len(data):
        raise ValueError("trailing bytes")
    return header, sections


def _joined(words: list[str]) -> bytes | None:
    """The words joined by newlines, or None when a word holds one (it could not be split back)."""
    if any("\n" in w for w in words):
        return None
    return "\n".join(words).encode("utf-8")


def _split(section: memoryview, n: int) -> list[str]:
    words = str(section, "utf-8").split("\n") if n else []
    if len(words) != n:
        raise ValueError(f"{len(words)} words, header says {n}")
    return words


def _encode_numbers(values: dict[str, Any], dtype: str, **header: Any) -> bytes | None:
    """Words joined by newlines, then their values as one little-endian `dtype` array."""
    words = _joined(list(values))
    if words is None:
        return None
    array = np.fromiter(values.values(), dtype=dtype, count=len(values))
    return _encode({"n": len(values), **header}, words, array.tobytes())


def _decode_numbers(data: bytes, dtype: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the words' values, the header) of what `_encode_numbers` wrote."""
    header, (words, values) = _decode(data)
    n = header["n"]
    array = np.frombuffer(values, dtype=dtype)
    if len(array) != n:
        raise ValueError(f"{len(array)} values, header says {n}")
    return dict(zip(_split(words, n), array.tolist(), strict=True)), header


def encode_prefix(freq: dict[str, int], total: int) -> bytes | None:
    return _encode_numbers(freq, "<i8", total=total)


def decode_prefix(data: bytes) -> tuple[dict[str, int], int]:
    freq, header = _decode_numbers(data, "<i8")
    return freq, int(header["total"])


def encode_tags(tags: dict[str, str]) -> bytes | None:
    words, flags = _joined(list(tags)), _joined(list(tags.values()))
    if words is None or flags is None:
        return None
    return _encode({"n": len(tags)}, words, flags)


def decode_tags(data: bytes) -> dict[str, str]:
    header, (words, flags) = _decode(data)
    n = header["n"]
    return dict(zip(_split(words, n), _split(flags, n), strict=True))


def encode_idf(idf: dict[str, float]) -> bytes | None:
    return _encode_numbers(idf, "<f8")


def decode_idf(data: bytes) -> dict[str, float]:
    return _decode_numbers(data, "<f8")[0]


def parse_two_char_idf(path: Path) -> dict[str, float]:
    """The IDF of every two-character word of an idf.txt, read from its text."""
    out: dict[str, float] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line[2:3] == " ":
                out[line[:2]] = float(line[3:])
    return out


def _read(path: Path, decode: Any) -> Any:
    """The decoded cache, or None when it is missing or damaged (then it is rebuilt). A cache read is marked
    used (its mtime), so that `_prune` never removes the cache of an install still in use."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.debug("jieba cache %s unreadable (%s): using jieba's own loading", path, exc)
        return None
    try:
        decoded = decode(data)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        log.warning("jieba cache %s is damaged (%s): rebuilding it", path, exc)
        return None
    with contextlib.suppress(OSError):  # a read-only cache folder still serves
        os.utime(path)
    return decoded


def _write(path: Path, data: bytes | None) -> None:
    """Writes the cache atomically; a folder that cannot be written only costs the next start-up."""
    if data is None:
        return
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("jieba cache %s not written (%s)", path, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return
    _prune(path)


def _prune(path: Path) -> None:
    """Removes the caches of the same kind keyed to another jieba or another dict.txt or idf.txt (another
    install: jieba is built from source, so each new environment has new mtimes) that no process has read
    for STALE_DAYS. Each is 2 to 9 MB; an environment in use keeps its own fresh (`_read`)."""
    kind = path.name.split("-", 1)[0]
    cutoff = time.time() - STALE_DAYS * 86400
    for other in path.parent.glob(f"{kind}-*.bin"):
        if other != path:
            with contextlib.suppress(OSError):
                if other.stat().st_mtime < cutoff:
                    other.unlink()


def _default(tokenizer: jieba.Tokenizer) -> bool:
    """True for a tokenizer on jieba's bundled dictionary with jieba's default cache settings."""
    return tokenizer.dictionary == jieba.DEFAULT_DICT and not tokenizer.cache_file and not tokenizer.tmp_dir


def load_tokenizer() -> jieba.Tokenizer:
    """jieba's default tokenizer (`jieba.dt`, the one `jieba.cut` uses) with its prefix dictionary
    loaded, from the cache when there is one. Once per process; later calls return at once."""
    dt = jieba.dt
    if dt.initialized:
        return dt
    jieba.setLogLevel(logging.WARNING)
    with _LOCK:
        if dt.initialized or not _default(dt):
            dt.initialize()
            return dt
        path = cache_file("prefix")
        cached = _read(path, decode_prefix)
        if cached is None:
            dt.initialize()
            _write(path, encode_prefix(dt.FREQ, dt.total))
        else:
            with dt.lock:
                dt.FREQ, dt.total = cached
                dt.initialized = True
    return dt


def load_posseg() -> ModuleType:
    """`jieba.posseg`, its tagger's word-tag table loaded from the cache when there is one (importing
    it the usual way parses dict.txt again). Its tokenizer is `jieba.dt`, loaded by `load_tokenizer`."""
    dt = load_tokenizer()
    with _LOCK:
        if "jieba.posseg" in sys.modules:
            return sys.modules["jieba.posseg"]
        path = cache_file("tags")
        tags = _read(path, decode_tags) if _default(dt) else None
        if tags is None:
            posseg = importlib.import_module("jieba.posseg")
            if _default(dt):
                _write(path, encode_tags(posseg.dt.word_tag_tab))
            return posseg
        # The module builds its tagger at import and reads dict.txt for it: give it nothing to read,
        # then hand it the cached table.
        dt.get_dict_file = lambda: io.BytesIO()
        try:
            posseg = importlib.import_module("jieba.posseg")
        finally:
            del dt.get_dict_file
        posseg.dt.word_tag_tab = tags
        return posseg


def load_two_char_idf() -> dict[str, float]:
    """The IDF of every two-character word in jieba's keyword-extraction table (shipped with jieba), from
    the cache when there is one: what `parse_two_char_idf(idf_file())` reads."""
    with _LOCK:
        path = cache_file("idf2")
        idf = _read(path, decode_idf)
        if idf is None:
            idf = parse_two_char_idf(idf_file())
            _write(path, encode_idf(idf))
        return idf
