"""manifests.page_cache: a finished local file's pages leave the page cache and its bytes stay; anything
that is not a local file is left alone."""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
from pathlib import Path

import pytest

from manifests.page_cache import drop_cached

PAGE = mmap.PAGESIZE


def resident_pages(path: Path) -> int:
    """How many of `path`'s pages are in the page cache (mincore(2) on a shared mapping of it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    size = path.stat().st_size
    pages = (size + PAGE - 1) // PAGE
    with open(path, "rb") as fh:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fh.fileno(), 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            vec = ctypes.create_string_buffer(pages)
            assert libc.mincore(addr, size, vec) == 0, os.strerror(ctypes.get_errno())
            return sum(b & 1 for b in vec.raw)
        finally:
            libc.munmap(addr, size)


def file_system(path: Path) -> str:
    """The file system type of the mount holding `path` (/proc/self/mountinfo), or "" when unknown."""
    best, kind = "", ""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return ""
    for line in lines:
        fields = line.split()
        mount, fs_type = fields[4], fields[fields.index("-") + 1]
        if str(path).startswith(mount.rstrip("/") + "/") and len(mount) >= len(best):
            best, kind = mount, fs_type
    return kind


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="posix_fadvise and mincore: Linux")
def test_a_written_file_leaves_the_page_cache_and_keeps_its_bytes(tmp_path: Path) -> None:
    if file_system(tmp_path) in ("tmpfs", "ramfs", ""):
        pytest.skip(f"{tmp_path} is on {file_system(tmp_path) or 'an unknown file system'}: its pages are its storage")
    path = tmp_path / "part.bin"
    data = os.urandom(64 * PAGE)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())  # clean pages: what the stages' atomic writes leave
    assert resident_pages(path) == 64
    assert drop_cached(path) is True
    assert resident_pages(path) == 0
    assert path.read_bytes() == data  # read back from disk


def test_nothing_but_a_local_file_is_touched(tmp_path: Path) -> None:
    assert drop_cached(tmp_path / "missing.parquet") is False
    assert drop_cached(str(tmp_path)) is False  # a string (what a URL arrives as) is not a local file
    assert drop_cached(None) is False
