"""Input columns for dedup: keys, sha256 digests and pHashes from numpy, lists or pyarrow.

Text (hex, decimal digits) or raw bytes are read in bounded blocks, never copied whole: numpy
`S`/`U`/uint8-matrix arrays and pyarrow columns are viewed, lists converted block by block. Keys are
20-digit decimal strings (or their uint64 values); pHashes are 16-character hex strings (or uint64,
or int64 bit patterns); sha256 digests are 64-character hex strings or 32 raw bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from filters.dedup.arrays import ALL_ONES, TEXT_CHUNK, U64, chunks

KEY_DIGITS = 20
_MAX_U64_TEXT = np.frombuffer(str(ALL_ONES).encode(), dtype=np.uint8)

_HEX_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_LUT[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX_LUT[_c] = 10 + _i
_DEC_LUT = np.full(256, 255, dtype=np.uint8)
_DEC_LUT[48:58] = np.arange(10, dtype=np.uint8)


def _arrow_matrix(values: Any, name: str) -> tuple[np.ndarray, bool] | None:
    """(rows, width) uint8 view of a pyarrow string/binary column whose values all have one length,
    and whether it is text; None when `values` is not a pyarrow array."""
    module = type(values).__module__ or ""
    if not module.startswith("pyarrow"):
        return None
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        return None
    if values.null_count:
        raise ValueError(f"{name}: {values.null_count} null values")
    t = values.type
    n = len(values)
    if pa.types.is_fixed_size_binary(t):
        w = t.byte_width
        data = np.frombuffer(values.buffers()[1], dtype=np.uint8, count=(values.offset + n) * w)
        return data[values.offset * w:].reshape(n, w), False
    if pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        off_type = np.int64 if (pa.types.is_large_string(t) or pa.types.is_large_binary(t)) else np.int32
        offsets = np.frombuffer(values.buffers()[1], dtype=off_type, count=values.offset + n + 1)[values.offset:]
        if n == 0:
            return np.zeros((0, 0), dtype=np.uint8), pa.types.is_string(t) or pa.types.is_large_string(t)
        lengths = np.diff(offsets)
        w = int(lengths[0])
        if (lengths != w).any():
            raise ValueError(f"{name}: values of different lengths")
        data = np.frombuffer(values.buffers()[2], dtype=np.uint8, count=int(offsets[-1]))[int(offsets[0]):]
        return data.reshape(n, w), pa.types.is_string(t) or pa.types.is_large_string(t)
    raise ValueError(f"{name}: unsupported arrow type {t}")


class _BytesColumn:
    """A column of fixed-width byte strings (ASCII text or raw bytes) read as (rows, width) uint8 blocks.

    numpy `S`/`U`/uint8-matrix arrays are viewed without copying; lists, object arrays and pyarrow
    columns are converted block by block, so no full-size copy is ever made.
    """

    def __init__(self, values: Any, width: int, text: bool, name: str) -> None:
        self.width, self.text, self.name = width, text, name
        self._matrix: np.ndarray | None = None
        self._seq: Any = None
        arrow = _arrow_matrix(values, name)
        if arrow is not None:
            self._matrix = arrow[0]
        elif isinstance(values, np.ndarray) and values.dtype.kind in "SV":
            self._matrix = values.reshape(-1).view(np.uint8).reshape(len(values), values.dtype.itemsize)
        elif isinstance(values, np.ndarray) and values.dtype.kind == "U":
            self._matrix = values.reshape(-1).view(np.uint32).reshape(len(values), values.dtype.itemsize // 4)
        elif isinstance(values, np.ndarray) and values.dtype == np.uint8 and values.ndim == 2:
            self._matrix = values
        elif (isinstance(values, np.ndarray) and values.dtype.kind == "O") or isinstance(values, Sequence):
            self._seq = values
        else:
            raise ValueError(f"{name}: unsupported input {type(values).__name__}")
        self.length = len(self._matrix) if self._matrix is not None else len(self._seq)

    def block(self, start: int, stop: int) -> np.ndarray:
        if self._matrix is not None:
            return self._fit(self._matrix[start:stop])
        return self._convert(self._seq[start:stop])

    def take(self, rows: np.ndarray) -> np.ndarray:
        if self._matrix is not None:
            return self._fit(self._matrix[rows])
        if isinstance(self._seq, np.ndarray):
            return self._convert(self._seq[rows])
        return self._convert([self._seq[int(i)] for i in rows])

    def _fit(self, m: np.ndarray) -> np.ndarray:
        if m.dtype == np.uint32:  # numpy unicode: non-ASCII code points become 0, an invalid character
            m8 = m.astype(np.uint8)
            m8[m > 127] = 0
            m = m8
        w = m.shape[1]
        if w > self.width:
            if m[:, self.width:].any():
                raise ValueError(f"{self.name}: values longer than {self.width}")
            return m[:, : self.width]
        if w < self.width:  # `S` arrays drop trailing NULs: padding restores raw bytes; text then fails
            out = np.zeros((len(m), self.width), dtype=np.uint8)
            out[:, :w] = m
            return out
        return m

    def _convert(self, items: Any) -> np.ndarray:
        n = len(items)
        if n == 0:
            return np.zeros((0, self.width), dtype=np.uint8)
        if self.text:
            try:
                arr = np.array(items, dtype=f"S{self.width + 1}")
            except (UnicodeEncodeError, TypeError, ValueError) as exc:
                raise ValueError(f"{self.name}: not ASCII text ({exc})") from None
            return self._fit(arr.view(np.uint8).reshape(n, self.width + 1))
        try:
            if any(len(v) != self.width for v in items):
                raise ValueError(f"{self.name}: values must be {self.width} bytes")
            data = b"".join(items)
        except TypeError:
            raise ValueError(f"{self.name}: expected bytes values") from None
        return np.frombuffer(data, dtype=np.uint8).reshape(n, self.width)


def _first(values: Any) -> Any:
    if isinstance(values, np.ndarray):
        return values.reshape(-1)[0] if values.size else None
    return values[0] if len(values) else None


def _hex_to_bytes(m: np.ndarray, name: str) -> np.ndarray:
    nib = _HEX_LUT[m]
    if (nib == 255).any():
        raise ValueError(f"{name}: not a hex string of {m.shape[1]} characters")
    return (nib[:, 0::2] << 4) | nib[:, 1::2]


def _be_u64(b: np.ndarray) -> np.ndarray:
    """Big-endian uint64 of the first 8 bytes of each row of a (rows, >=8) uint8 matrix."""
    return np.ascontiguousarray(b[:, :8]).view(">u8").reshape(-1).astype(np.uint64)


def _integers(values: Any, name: str, *, reinterpret_signed: bool) -> np.ndarray | None:
    arr = values if isinstance(values, np.ndarray) else None
    if arr is None and (type(values).__module__ or "").startswith("pyarrow"):
        import pyarrow as pa

        t = values.type
        if pa.types.is_integer(t):
            if values.null_count:
                raise ValueError(f"{name}: {values.null_count} null values")
            arr = values.to_numpy() if isinstance(values, pa.Array) else values.combine_chunks().to_numpy()
    if arr is None and isinstance(values, Sequence) and len(values) and isinstance(values[0], int | np.integer):
        try:  # not np.asarray: a list mixing ints above and below 2**63 would become float64
            return np.array(values, dtype=np.uint64)
        except OverflowError:
            raise ValueError(f"{name}: integers outside 0..2**64-1") from None
    if arr is None or arr.dtype.kind not in "ui":
        return None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array")
    if arr.dtype.kind == "i":
        if reinterpret_signed and arr.dtype == np.int64:
            return arr.view(np.uint64)
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name}: negative values")
    return arr.astype(np.uint64, copy=False)


def phash_from_hex(values: Any) -> np.ndarray:
    """uint64 perceptual hashes from 16-character hex strings (list, numpy or pyarrow), vectorised."""
    col = _BytesColumn(values, 16, True, "phash")
    out = np.empty(col.length, dtype=np.uint64)
    for a, b in chunks(col.length, TEXT_CHUNK):
        out[a:b] = _be_u64(_hex_to_bytes(col.block(a, b), "phash"))
    return out


def phash_to_hex(values: np.ndarray) -> list[str]:
    """The 16-character lowercase hex form of uint64 hashes (as imagehash writes them)."""
    return [format(int(v), "016x") for v in np.asarray(values, dtype=np.uint64)]


def parse_keys(keys: Any) -> np.ndarray:
    """uint64 values of 20-digit decimal keys (strings, bytes, numpy, pyarrow), or integer keys as they are."""
    ints = _integers(keys, "keys", reinterpret_signed=False)
    if ints is not None:
        return ints
    col = _BytesColumn(keys, KEY_DIGITS, True, "keys")
    out = np.empty(col.length, dtype=np.uint64)
    pw = 10 ** np.arange(9, -1, -1, dtype=np.uint64)
    for a, b in chunks(col.length, TEXT_CHUNK):
        m = col.block(a, b)
        dig = _DEC_LUT[m]
        if (dig == 255).any():
            raise ValueError(f"keys: not {KEY_DIGITS} decimal digits")
        # 20 digits overflow uint64 above 18446744073709551615: compare as text (same length, so same order)
        diff = m != _MAX_U64_TEXT
        first = diff.argmax(axis=1)
        rows = np.arange(len(m))
        too_big = diff.any(axis=1) & (m[rows, first] > _MAX_U64_TEXT[first])
        if too_big.any():
            raise ValueError("keys: value above 2**64 - 1")
        hi = (dig[:, :10].astype(np.uint64) * pw).sum(axis=1, dtype=np.uint64)
        lo = (dig[:, 10:].astype(np.uint64) * pw).sum(axis=1, dtype=np.uint64)
        out[a:b] = hi * U64(10**10) + lo
    return out


def format_keys(values: np.ndarray) -> np.ndarray:
    """20-digit zero-padded decimal strings (numpy `U20`) of uint64 keys, vectorised."""
    v = np.array(values, dtype=np.uint64, copy=True).reshape(-1)
    digits = np.empty((len(v), KEY_DIGITS), dtype=np.uint8)
    for i in range(KEY_DIGITS - 1, -1, -1):
        digits[:, i] = (v % U64(10)).astype(np.uint8) + 48
        v //= U64(10)
    return digits.view(f"S{KEY_DIGITS}").reshape(-1).astype(f"U{KEY_DIGITS}")


def as_phash(phash: Any) -> np.ndarray:
    ints = _integers(phash, "phash", reinterpret_signed=True)
    return ints if ints is not None else phash_from_hex(phash)


class Sha256Column:
    """sha256 digests given as 64-char hex text or 32 raw bytes; the uint64 prefix in blocks, full digests on demand."""

    def __init__(self, values: Any) -> None:
        first = _first(values) if not (type(values).__module__ or "").startswith("pyarrow") else None
        arrow = _arrow_matrix(values, "sha256")
        if arrow is not None:
            text = arrow[0].shape[1] == 64
        elif isinstance(values, np.ndarray) and values.dtype == np.uint8 and values.ndim == 2:
            text = values.shape[1] == 64
        elif isinstance(values, np.ndarray) and values.dtype.kind in "SV":
            text = values.dtype.itemsize > 32
        elif isinstance(values, np.ndarray) and values.dtype.kind == "U":
            text = True
        else:
            text = not isinstance(first, bytes | bytearray | memoryview) or len(first) != 32
        self.text = text
        self.col = _BytesColumn(values, 64 if text else 32, text, "sha256")

    def _digest(self, m: np.ndarray) -> np.ndarray:
        return _hex_to_bytes(m, "sha256") if self.text else m

    def prefix(self, start: int, stop: int) -> np.ndarray:
        return _be_u64(self._digest(self.col.block(start, stop)))

    def full(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), 4) uint64: the digests as big-endian words (sorting them sorts the digests)."""
        d = np.ascontiguousarray(self._digest(self.col.take(rows)))
        return d.view(">u8").astype(np.uint64).reshape(len(rows), 4)
