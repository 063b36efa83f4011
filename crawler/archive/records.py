"""WARC records, their positions and their damage, and the parser that cuts records out of bytes.

A `Record` is one WARC record: headers (names lowercased) and block. Its `Position` is the offset of
its gzip member (of the record itself in a plain file) and how many records precede it inside that
member, so that a reader can start again exactly there. `Damage` is bytes that could not be read as
a record, with a kind and a detail: a record header that is not WARC or lacks `WARC-Type` /
`Content-Length`, a block whose declared `Content-Length` disagrees with where the record ends, a
file that does not start with a WARC record. The reader (crawler.archive.reader) feeds the parser
member by member, or a plain file in chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_HEADER_BYTES = 64 << 10
MAX_BLOCK_BYTES = 256 << 20  # a record larger than this is counted, not held in memory
_VERSION_RE = re.compile(rb"^WARC/\d+\.\d+\r?$")
_RECORD_START = re.compile(rb"(?:^|\n)WARC/\d+\.\d+\r?\n")

# Damage kinds
NOT_WARC = "not_warc"
CORRUPT_GZIP = "corrupt_gzip"
TRUNCATED_GZIP = "truncated_gzip"
TRUNCATED_RECORD = "truncated_record"
BAD_HEADER = "bad_header"
BAD_CONTENT_LENGTH = "bad_content_length"
OVERSIZE_RECORD = "oversize_record"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a record starts: its gzip member's offset (the record's own in a plain file), and the
    number of records before it inside that member."""

    offset: int
    index: int = 0


@dataclass(slots=True)
class Record:
    """One WARC record: its headers (names lowercased, values as written) and its block."""

    position: Position
    headers: dict[str, str]
    block: bytes

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class Damage:
    """Bytes that could not be read as a record: where, what kind, and a short detail."""

    position: Position
    kind: str
    detail: str


def parse_header_block(raw: bytes) -> dict[str, str] | str:
    """WARC header lines after the first line -> {lowercased name: value}; continuation lines are
    joined; the first duplicate wins. A string is returned when the block is malformed."""
    headers: dict[str, str] = {}
    last = None
    for line in raw.decode("utf-8", "replace").split("\n"):
        if line[:1] in (" ", "\t") and last is not None:
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            if line.strip():
                return f"header line without a name: {line[:60]!r}"
            continue
        key = name.strip().lower()
        if not key:
            return f"header line without a name: {line[:60]!r}"
        last = key
        if key not in headers:
            headers[key] = value.strip()
    return headers


class RecordParser:
    """Parses records out of a run of bytes (one gzip member, or a whole plain file), fed in pieces.

    The bytes not yet parsed are `buf[pos:]`. After damage a gzip member is dead (its remaining
    bytes are ignored: the next member starts the next record); a plain file seeks the next line
    that starts a WARC record.
    """

    def __init__(self, origin: int, plain: bool, skip: int = 0, at_file_start: bool = False) -> None:
        self.origin = origin  # the member's offset, or the plain file's offset where reading started
        self.plain = plain
        self.buf = b""
        self.pos = 0
        self.consumed = 0  # bytes of this run parsed (or skipped) before buf[pos]
        self.index = 0  # records (and damaged records) seen in this member
        self.skip = skip  # records to pass over silently (a resume inside a member)
        self.discard = 0  # block bytes of an oversize record still to throw away
        self.at_file_start = at_file_start  # nothing read yet from offset 0: a non-WARC start is `not_warc`
        self.dead = False
        self.seeking = False

    @property
    def pending(self) -> int:
        return len(self.buf) - self.pos

    def position(self) -> Position:
        if self.plain:
            return Position(self.origin + self.consumed, 0)
        return Position(self.origin, self.index)

    def feed(self, data: bytes) -> Iterator[Record | Damage]:
        if self.dead:
            return
        if self.discard:
            take = min(self.discard, len(data))
            self.discard -= take
            self.consumed += take
            data = data[take:]
        if self.pos >= len(self.buf):
            self.buf, self.pos = data, 0
        else:
            self.buf, self.pos = self.buf[self.pos:] + data, 0
        yield from self._parse(final=False)

    def finish(self) -> Iterator[Record | Damage]:
        if self.dead:
            return
        yield from self._parse(final=True)
        if self.discard:
            yield self._damage(TRUNCATED_RECORD, f"ends {self.discard:,} bytes into an oversize record")
        elif self.buf[self.pos:].strip() and not self.seeking:
            yield self._damage(TRUNCATED_RECORD, f"{self.pending:,} bytes that do not complete a record")
        self.buf, self.pos = b"", 0

    def _drop(self, n: int) -> None:
        self.pos += n
        self.consumed += n

    def _damage(self, kind: str, detail: str) -> Damage:
        damage = Damage(self.position(), kind, detail)
        self.at_file_start = False
        if self.plain:
            self.seeking = True
        else:
            self.index += 1
            self.dead = True
            self.buf, self.pos = b"", 0
        return damage

    def _seek(self) -> bool:
        """Plain files, after damage: drops bytes up to the next line that starts a WARC record."""
        match = _RECORD_START.search(self.buf, self.pos + 1)
        if match is None:
            keep = min(self.pending, 32)  # a record start may straddle this piece and the next
            self._drop(self.pending - keep)
            return False
        start = match.start() + (1 if self.buf[match.start():match.start() + 1] == b"\n" else 0)
        self._drop(start - self.pos)
        self.seeking = False
        return True

    def _parse(self, final: bool) -> Iterator[Record | Damage]:
        buf = self.buf
        while not self.dead:
            if self.seeking and not self._seek():
                return
            pos = self.pos
            while pos < len(buf) and buf[pos] in (10, 13):  # blank lines between records
                pos += 1
            self._drop(pos - self.pos)
            if pos >= len(buf):
                return
            line_end = buf.find(b"\n", pos, pos + 80)
            if line_end < 0 and len(buf) - pos <= 64 and not final:
                return
            first_line = buf[pos:line_end if line_end >= 0 else pos + 64]
            if line_end < 0 or not _VERSION_RE.match(first_line):
                if self.at_file_start:
                    yield self._damage(NOT_WARC, f"does not start with a WARC record: {first_line[:40]!r}")
                    self.dead = True
                    return
                yield self._damage(BAD_HEADER, f"not a WARC record header: {first_line[:40]!r}")
                continue
            end, sep = buf.find(b"\r\n\r\n", pos), 4
            if end < 0:
                end, sep = buf.find(b"\n\n", pos), 2
            if end < 0:
                if len(buf) - pos > MAX_HEADER_BYTES:
                    yield self._damage(BAD_HEADER, "no end of the record header within 64 KiB")
                    continue
                if final:
                    yield self._damage(TRUNCATED_RECORD, "ends inside a record header")
                return
            headers = parse_header_block(buf[line_end + 1:end])
            problem = headers if isinstance(headers, str) else _missing(headers)
            if problem:
                yield self._damage(BAD_HEADER, problem)
                continue
            assert isinstance(headers, dict)
            length = int(headers["content-length"])
            start = end + sep
            if length > MAX_BLOCK_BYTES:
                yield Damage(self.position(), OVERSIZE_RECORD,
                             f"{headers.get('warc-type', '?')} record of {length:,} bytes")
                self.at_file_start = False
                if not self.plain:
                    self.index += 1
                available = len(buf) - start
                self._drop(min(len(buf), start + length) - pos)
                self.discard = max(0, length - available)
                return
            if len(buf) < start + length + (0 if final else 4):
                if final:
                    got = max(len(buf) - start, 0)
                    yield self._damage(BAD_CONTENT_LENGTH if not self.plain else TRUNCATED_RECORD,
                                       f"Content-Length {length:,}, {got:,} bytes follow")
                return
            after = buf[start + length:start + length + 4]
            if not _record_ends(after):
                yield self._damage(BAD_CONTENT_LENGTH,
                                   f"Content-Length {length:,} does not end the record (followed by {after!r})")
                continue
            record = Record(self.position(), headers, buf[start:start + length])
            self.at_file_start = False
            if not self.plain:
                self.index += 1
            self._drop(start + length - pos)
            if self.skip:
                self.skip -= 1
                continue
            yield record


def _missing(headers: dict[str, str]) -> str | None:
    if "warc-type" not in headers:
        return "missing WARC-Type"
    length = headers.get("content-length")
    if length is None:
        return "missing Content-Length"
    if not length.isdigit():
        return f"Content-Length is not a number: {length[:20]!r}"
    return None


def _record_ends(after: bytes) -> bool:
    """Whether the bytes after a block end the record: line breaks only (CRLF CRLF by the standard;
    one line break, or none at the end of the input, is tolerated), then the next record or nothing."""
    stripped = after.lstrip(b"\r\n")
    return not stripped or (len(stripped) < len(after) and b"WARC/".startswith(stripped[:5]))
