"""WARC records from a byte stream, one at a time, with damage as values: `read_records`.

A file is read in chunks, never whole. `.warc.gz` files hold one gzip member per record (Common
Crawl and every WARC writer by default; a member holding several records, or a whole-file gzip
stream, also reads); plain `.warc` files hold the records one after another. The kind is told by
the first bytes, not the name.

Every record comes with its `Position` (crawler.archive.records), so `read_records(stream at
offset, position)` starts again exactly there; Common Crawl's index offsets are such member
offsets. Damage is a value and reading goes on: a corrupt or truncated gzip member (the reader
resynchronises at the next member that starts a WARC record), besides what the record parser finds.
A file that does not start with a WARC record is one `not_warc` and nothing else. One bad record
never costs the others.

fastwarc is faster per record, but it raises at the first damaged member and so loses the rest of
the file. Here zlib-ng inflates (zlib's interface, about three times zlib's speed) and the Python
work per record (a dozen header lines) is a few microseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from zlib_ng import zlib_ng as zlib  # zlib's interface, about three times faster inflation

from crawler.archive.records import (
    CORRUPT_GZIP,
    NOT_WARC,
    TRUNCATED_GZIP,
    Damage,
    Position,
    Record,
    RecordParser,
)

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
_MEMBER_MAGIC = b"\x1f\x8b\x08"


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
    parser = RecordParser(start.offset, plain=True, skip=start.index, at_file_start=start.offset == 0)
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
        parser = RecordParser(member_offset, plain=False, skip=skip, at_file_start=at_file_start)
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
