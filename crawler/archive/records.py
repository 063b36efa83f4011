"""WARC records from a byte stream, one at a time, with damage as values.

A file is read in chunks, never whole. `.warc.gz` files hold one gzip member per record (Common
Crawl and every WARC writer by default; a member holding several records, or a whole-file gzip
stream, also reads); plain `.warc` files hold the records one after another. The kind is told by
the first bytes, not the name.

Every record comes with its `Position`: the offset of its gzip member (of the record itself in a
plain file) and how many records precede it inside that member, so that a reader can start again
exactly there (`read_records(stream_at_offset, position)`). Common Crawl's index offsets are such
member offsets.

Damage is a `Damage` value and reading goes on: a corrupt or truncated gzip member (the reader
resynchronises at the next member that starts a WARC record), a record header that is not WARC or
lacks `WARC-Type`/`Content-Length`, a block whose declared `Content-Length` disagrees with where the
record ends. A file that does not start with a WARC record is one `not_warc` and nothing else.
One bad record never costs the others.

fastwarc is faster per record, but it raises at the first damaged member and so loses the rest of
the file. Here zlib-ng inflates (zlib's interface, about three times zlib's speed) and the Python
work per record (a dozen header lines) is a few microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from zlib_ng import zlib_ng as zlib  # zlib's interface, about three times faster inflation

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
_MEMBER_MAGIC = b"\x1f\x8b\x08"
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


class _Records:
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


def read_records(stream: BinaryIO, start: Position | None = None, chunk: int = CHUNK) -> Iterator[Record | Damage]:
    """The records (and damage) of a WARC stream positioned at `start.offset` (default 0), skipping
    the `start.index` records that precede the wanted one in its member."""
    start = start or Position(0, 0)
    head = stream.read(chunk)
    if head[:2] == GZIP_MAGIC:
        yield from _gzip_records(stream, head, start, chunk)
    else:
        yield from _plain_records(stream, head, start, chunk)


def _plain_records(stream: BinaryIO, head: bytes, start: Position, chunk: int) -> Iterator[Record | Damage]:
    parser = _Records(start.offset, plain=True, skip=start.index, at_file_start=start.offset == 0)
    data = head
    while data:
        yield from parser.feed(data)
        if parser.dead:
            return
        data = stream.read(chunk)
    yield from parser.finish()


RAW_KEPT = 8 << 20  # compressed bytes of the current member kept for resynchronising after damage
STEP = 64 << 10  # compressed bytes given to the inflater at a time: what it leaves over is copied


class _Window:
    """The compressed file seen through a buffer: `buf` holds the file from offset `base` on; bytes
    before the current member's start are dropped only when more is read, and then at most the last
    RAW_KEPT bytes of a member are kept (to resynchronise after damage)."""

    def __init__(self, stream: BinaryIO, head: bytes, offset: int, chunk: int) -> None:
        self.stream = stream
        self.chunk = chunk
        self.buf = head
        self.base = offset

    def more(self, keep_from: int) -> bool:
        """Reads the next chunk, dropping what lies before file offset `keep_from`; False at the end."""
        data = self.stream.read(self.chunk)
        if not data:
            return False
        keep_from = max(keep_from, self.base + len(self.buf) - RAW_KEPT)
        cut = max(0, keep_from - self.base)
        self.buf = self.buf[cut:] + data
        self.base += cut
        return True

    def find_member(self, start: int) -> int | None:
        """The file offset of the next gzip member header at or after `start`, or None at the end."""
        while True:
            found = self.buf.find(_MEMBER_MAGIC, max(0, start - self.base))
            if found >= 0:
                return self.base + found
            start = self.base + max(len(self.buf) - 2, 0)  # a magic may straddle two reads
            if not self.more(start):
                return None


def _gzip_records(stream: BinaryIO, head: bytes, start: Position, chunk: int) -> Iterator[Record | Damage]:
    """Member by member, each member's records parsed as its bytes inflate. A damaged member is one
    `Damage`; reading resumes at the next gzip header whose member inflates to a WARC record (a
    false start, the magic bytes inside compressed data, is passed over silently)."""
    window = _Window(stream, head, start.offset, chunk)
    member_offset = start.offset
    skip = start.index
    resyncing = False
    at_file_start = start.offset == 0
    while True:
        if resyncing:
            found = window.find_member(member_offset)
            if found is None:
                return
            member_offset = found
        elif member_offset >= window.base + len(window.buf) and not window.more(member_offset):
            return
        inflater = zlib.decompressobj(wbits=31)
        parser = _Records(member_offset, plain=False, skip=skip, at_file_start=at_file_start)
        damage: list[Damage] = []  # the parser's, reported once the member inflates without error
        position = member_offset  # the next compressed byte to give the inflater
        outcome = "member"
        while True:
            index = position - window.base
            if index >= len(window.buf):
                if not window.more(member_offset):
                    outcome = "eof"
                    break
                index = position - window.base
            piece = memoryview(window.buf)[index:index + STEP]
            try:
                out = inflater.decompress(piece)
            except zlib.error as exc:
                outcome = str(exc)
                break
            position += len(piece) - len(inflater.unused_data)
            if out:
                if resyncing and not parser.consumed and not parser.pending and \
                        not b"WARC/".startswith(out.lstrip(b"\r\n")[:5]):
                    outcome = "not a WARC member"
                    break
                resyncing = False
                for item in parser.feed(out):
                    if isinstance(item, Damage):
                        if item.kind == NOT_WARC:
                            yield item
                            return
                        damage.append(item)
                    else:
                        yield item
            if inflater.eof:
                break
        at_file_start = False
        if outcome == "member":
            skip = 0
            yield from damage
            yield from parser.finish()
            member_offset = position
            continue
        if outcome == "eof":
            if not resyncing:
                yield Damage(Position(member_offset, parser.index - len(damage)), TRUNCATED_GZIP,
                             "the file ends inside a gzip member")
            return
        if not resyncing:  # the parser's damage in this member is part of this one
            yield Damage(Position(member_offset, parser.index - len(damage)), CORRUPT_GZIP, outcome)
            resyncing = True
        skip = 0
        member_offset += 1  # the next member is looked for from just after this one's start
