"""Web-archive reading on saved bytes, no network: WARC records (gzip members and plain), damage as
values (truncated and corrupt members, wrong Content-Length, missing headers, not WARC), resume
positions, HTTP payload decoding (chunked, gzip, br), and the extraction of pairs from WARC and
WAT records with the language selection. Real Common Crawl records in tests/data/commoncrawl/."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections import Counter
from pathlib import Path

import brotli
import pytest

from crawler.archive.extract import ArchiveSteps, cld2_languages, html_page
from crawler.archive.http import dechunk, decode_payload, parse_http_response
from crawler.archive.reader import read_records
from crawler.archive.records import Damage, Position, Record

DATA = Path(__file__).parent / "data" / "commoncrawl"
PAGE = '<html><body><img src="a.jpg" alt="图一"><img src="/b.jpg" alt="图二"></body></html>'.encode()


def http(body: bytes = PAGE, headers: bytes = b"Content-Type: text/html; charset=utf-8\r\n", status: bytes = b"200 OK",
         ) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + headers + b"\r\n" + body


def record(kind: str, name: str, block: bytes, length: int | None = None, extra: str = "",
           content_type: str = "application/http; msgtype=response") -> bytes:
    uri = f"http://example.cn/{name if '.' in name else name + '.html'}"
    head = (f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{name}>\r\n"
            f"WARC-Date: 2024-05-18T01:58:10Z\r\nWARC-Target-URI: {uri}\r\n{extra}"
            f"Content-Type: {content_type}\r\nContent-Length: {len(block) if length is None else length}\r\n\r\n")
    return head.encode() + block + b"\r\n\r\n"


R1, R2, R3 = (record("response", n, http()) for n in ("a", "b", "c"))
gz = gzip.compress


def summary(data: bytes, start: Position | None = None, chunk: int = 1 << 20) -> list[tuple[str, int, int, str]]:
    stream = io.BytesIO(data[start.offset:] if start else data)
    out = []
    for item in read_records(stream, start, chunk=chunk):
        if isinstance(item, Damage):
            out.append(("damage", item.position.offset, item.position.index, item.kind))
        else:
            out.append(("record", item.position.offset, item.position.index, item.header("WARC-Target-URI") or ""))
    return out


def names(items: list[tuple[str, int, int, str]]) -> list[str]:
    return [x[3].rsplit("/", 1)[-1] if x[0] == "record" else x[3] for x in items]


@pytest.mark.parametrize("chunk", [7, 1 << 20])  # tiny reads put every boundary in the middle of a read
def test_members_and_plain_files_and_their_damage(chunk: int) -> None:
    m1, m2, m3 = gz(R1), gz(R2), gz(R3)
    assert summary(m1 + m2 + m3, chunk=chunk) == [("record", 0, 0, "http://example.cn/a.html"),
                                                  ("record", len(m1), 0, "http://example.cn/b.html"),
                                                  ("record", len(m1) + len(m2), 0, "http://example.cn/c.html")]
    assert [x[1] for x in summary(R1 + R2 + R3, chunk=chunk)] == [0, len(R1), len(R1) + len(R2)]
    corrupt = bytearray(m2)
    corrupt[len(corrupt) // 2] ^= 0xFF
    cases = {
        "corrupt member": (m1 + bytes(corrupt) + m3, ["a.html", "corrupt_gzip", "c.html"]),
        "truncated member": (m1 + m2[:-20] + m3, ["a.html", "corrupt_gzip", "c.html"]),
        "file ends in a member": (m1 + m2 + m3[:-30], ["a.html", "b.html", "truncated_gzip"]),
        "garbage between members": (m1 + b"GARBAGE" * 10 + m3, ["a.html", "corrupt_gzip", "c.html"]),
        "Content-Length too long": (m1 + gz(record("response", "b", http(), len(http()) + 30)) + m3,
                                    ["a.html", "bad_content_length", "c.html"]),
        "Content-Length too short": (m1 + gz(record("response", "b", http(), len(http()) - 10)) + m3,
                                     ["a.html", "bad_content_length", "c.html"]),
        "plain, too long": (R1 + record("response", "b", http(), len(http()) + 30) + R3,
                            ["a.html", "bad_content_length", "c.html"]),
        "plain, too short": (R1 + record("response", "b", http(), len(http()) - 10) + R3,
                             ["a.html", "bad_content_length", "c.html"]),
        "no WARC-Type": (m1 + gz(R2.replace(b"WARC-Type: response\r\n", b"")) + m3, ["a.html", "bad_header", "c.html"]),
        "plain, no Content-Length": (R1 + R2.replace(b"Content-Length", b"X-Length") + R3,
                                     ["a.html", "bad_header", "c.html"]),
        "not WARC": (b"<html>not an archive</html>\n" * 5, ["not_warc"]),
        "gzipped, not WARC": (gz(b"id,name\n1,x\n" * 10) + m1, ["not_warc"]),
        "one member, three records": (gz(R1 + R2 + R3), ["a.html", "b.html", "c.html"]),
    }
    for label, (data, expected) in cases.items():
        assert names(summary(data, chunk=chunk)) == expected, label


def test_resume_positions_skip_exactly_what_was_read() -> None:
    m1, m2, m3 = gz(R1), gz(R2), gz(R3)
    assert names(summary(m1 + m2 + m3, Position(len(m1), 0))) == ["b.html", "c.html"]
    assert names(summary(m1 + m2 + m3, Position(len(m1), 1))) == ["c.html"]  # after b: its member, skipped
    whole = gz(R1 + R2 + R3)
    assert summary(whole, Position(0, 2)) == [("record", 0, 2, "http://example.cn/c.html")]
    assert names(summary(R1 + R2 + R3, Position(len(R1), 0))) == ["b.html", "c.html"]
    assert names(summary(R1 + R2 + R3, Position(len(R1), 1))) == ["c.html"]


def test_real_common_crawl_records() -> None:
    with open(DATA / "whirlwind.warc.gz", "rb") as fh:
        items = list(read_records(fh))
    assert [(i.type, i.position.offset) for i in items if isinstance(i, Record)] == \
        [("warcinfo", 0), ("request", 516), ("response", 1023), ("metadata", 18374)]
    response = items[2]
    assert isinstance(response, Record) and len(response.block) == int(response.header("Content-Length") or 0)
    parsed = parse_http_response(response.block)
    assert not isinstance(parsed, str) and parsed.status == 200
    assert parsed.header("X-Crawler-content-encoding") == "gzip"  # stored decoded, header renamed
    assert decode_payload(parsed) is parsed  # nothing left to decode
    meta = items[3]
    assert isinstance(meta, Record)
    assert cld2_languages(meta.block.decode().split("languages-cld2: ", 1)[1]) == ["es", "spa"]


def test_payload_codings() -> None:
    chunked = b"5\r\n<html\r\n1e\r\n><img src=a.jpg alt=hi></html>\r\n0\r\n\r\n"
    assert dechunk(chunked) == b"<html><img src=a.jpg alt=hi></html>"
    assert dechunk(b"<html>not chunked</html>") is None
    assert dechunk(b"ff\r\nshort") is None

    def decoded(body: bytes, headers: bytes) -> bytes | str:
        parsed = parse_http_response(http(body, headers))
        assert not isinstance(parsed, str)
        out = decode_payload(parsed)
        return out if isinstance(out, str) else out.payload

    assert decoded(chunked, b"Transfer-Encoding: chunked\r\n") == b"<html><img src=a.jpg alt=hi></html>"
    assert decoded(gzip.compress(PAGE), b"Content-Encoding: gzip\r\n") == PAGE
    assert decoded(zlib.compress(PAGE)[2:-4], b"Content-Encoding: deflate\r\n") == PAGE  # raw deflate
    assert decoded(brotli.compress(PAGE), b"Content-Encoding: br\r\n") == PAGE
    assert decoded(PAGE, b"X-Crawler-Content-Encoding: gzip\r\n") == PAGE  # Common Crawl's renaming
    assert decoded(PAGE, b"Transfer-Encoding: chunked\r\n") == "declared chunked, not validly chunked"
    assert decoded(b"not gzip", b"Content-Encoding: gzip\r\n") == "declared Content-Encoding gzip, does not decode"
    assert decoded(PAGE, b"Content-Encoding: compress\r\n") == "unsupported Content-Encoding compress"
    assert parse_http_response(b"no http here\r\n\r\nbody") == "not an HTTP status line: b'no http here'"


def steps_of(data: bytes, languages: tuple[str, ...] = ("zho",)) -> tuple[list[tuple[str, str, str]], Counter[str],
                                                                            list[str]]:
    pairs, counts, failures = [], Counter(), []
    for step in ArchiveSteps("f.warc.gz", languages).steps(read_records(io.BytesIO(data))):
        pairs += [(p.page_url.rsplit("/", 1)[-1], p.url.rsplit("/", 1)[-1], p.caption) for p in step.pairs]
        counts.update(step.counts)
        failures += [f"{f.where} {f.kind}" for f in step.failures]
    return pairs, counts, failures


def cld2(*codes: str) -> str:
    return json.dumps({"reliable": True, "languages": [{"code": c[:2], "code-iso-639-3": c} for c in codes]})


def metadata(name: str, languages: str | None) -> bytes:
    fields = "charset-detected: UTF-8\r\n" + (f"languages-cld2: {languages}\r\n" if languages else "")
    return record("metadata", f"m-{name}", fields.encode(), extra=f"WARC-Concurrent-To: <urn:uuid:{name}>\r\n",
                  content_type="application/warc-fields")


def test_pages_languages_and_what_yields_nothing() -> None:
    data = b"".join(gz(r) for r in [
        record("warcinfo", "info", b"software: test\r\n", content_type="application/warc-fields"),
        record("request", "a-req", b"GET /a.html HTTP/1.1\r\n\r\n", content_type="application/http; msgtype=request"),
        record("response", "a", http()), metadata("a", cld2("zho")),        # Chinese: parsed
        record("response", "b", http()), metadata("b", cld2("eng", "fra")),  # no Chinese: skipped unparsed
        record("response", "c", http()), metadata("c", None),               # no language metadata: parsed
        record("response", "d", http()),                                   # no metadata record at all: parsed
        record("response", "e", http(status=b"404 Not Found")), metadata("e", cld2("zho")),
        record("response", "f.png", http(b"\x89PNG", b"Content-Type: image/png\r\n")),
        record("revisit", "g", http(b"")),
        record("response", "h", b"garbage that is not HTTP"),
        record("resource", "i", PAGE, content_type="text/html"),
    ])
    pairs, counts, failures = steps_of(data)
    both = (("a.jpg", "图一"), ("b.jpg", "图二"))
    assert pairs == [(p, u, c) for p in ("a.html", "c.html", "d.html") for u, c in both]
    assert counts["records/response"] == 7 and counts["records/metadata"] == 4 and counts["records/request"] == 1
    assert counts["records/revisit"] == 1 and counts["records/resource"] == 1 and counts["records/warcinfo"] == 1
    assert counts["skipped_language"] == 1 and counts["pages"] == 3
    assert counts["dropped/http_404"] == 1 and counts["dropped/not_html"] == 1
    assert failures == [f"f.warc.gz@{data.index(gz(record('response', 'h', b'garbage that is not HTTP')))} bad_http"]
    # a wanted language other than Chinese turns the selection around
    other, counts, _ = steps_of(data, ("fra",))
    assert {p for p, _, _ in other} == {"b.html", "c.html", "d.html"} and counts["skipped_language"] == 2  # a, e


def test_pages_that_opt_out_in_the_archive_yield_nothing() -> None:
    data = b"".join(gz(r) for r in [
        record("response", "a", http(headers=b"Content-Type: text/html\r\nX-Robots-Tag: noai\r\n")),
        record("response", "b", http(b'<meta name="robots" content="noimageai">' + PAGE)),
        record("response", "c", http(headers=b"Content-Type: text/html\r\nX-Robots-Tag: otherbot: noai\r\n")),
    ])
    pairs, counts, failures = steps_of(data)
    assert {p for p, _, _ in pairs} == {"c.html"} and counts["opt_out_pages"] == 2 and counts["pages"] == 3
    assert failures == []


def test_html_page_charset_hint_comes_after_meta() -> None:
    gbk = "<html><body><img src=a.jpg alt=\"红烧肉\"></body></html>".encode("gb18030")
    undeclared = parse_record(record("response", "x", http(gbk, b"Content-Type: text/html\r\n")))
    assert [p.caption for p in html_page(undeclared, "GB18030").pairs] == ["红烧肉"]
    declared = ("<meta charset=\"big5\">" + "<img src=a.jpg alt=\"臺北\">").encode("big5")
    record_big5 = parse_record(record("response", "y", http(declared, b"Content-Type: text/html\r\n")))
    assert [p.caption for p in html_page(record_big5, "UTF-8").pairs] == ["臺北"]  # the page's own meta wins


def parse_record(data: bytes) -> Record:
    (item,) = read_records(io.BytesIO(data))
    assert isinstance(item, Record)
    return item


def wat(name: str, envelope: dict[str, object]) -> bytes:
    body = json.dumps({"Envelope": envelope}).encode()
    return record("metadata", f"wat-{name}", body, content_type="application/json")


def test_wat_links_with_alt_resolved_against_base() -> None:
    page = {"WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Record-ID": "<urn:uuid:p>",
                                     "WARC-Date": "2024-05-18T01:58:10Z",
                                     "WARC-Target-URI": "http://example.cn/dir/p.html"},
            "Payload-Metadata": {"HTTP-Response-Metadata": {
                "Response-Message": {"Status": "200"}, "Headers": {"content-type": "text/html; charset=gbk"},
                "HTML-Metadata": {"Head": {"Base": "/static/"}, "Links": [
                    {"path": "IMG@/src", "url": "x.jpg", "alt": " 西湖 "},
                    {"path": "IMG@/src", "url": "http://cdn.cn/y.jpg", "alt": "雷峰塔"},
                    {"path": "IMG@/src", "url": "z.jpg"},
                    {"path": "IMG@/src", "url": "data:image/png;base64,AAAA", "alt": "内嵌"},
                    {"path": "A@/href", "url": "next.html", "text": "下一页"}]}}}}
    meta = {"WARC-Header-Metadata": {"WARC-Type": "metadata", "WARC-Concurrent-To": "<urn:uuid:p>"},
            "Payload-Metadata": {"WARC-Metadata-Metadata": {"Metadata-Records": [
                {"Name": "languages-cld2", "Value": cld2("zho")}]}}}
    skipped = json.loads(json.dumps(page))
    skipped["WARC-Header-Metadata"]["WARC-Record-ID"] = "<urn:uuid:q>"
    skipped_meta = json.loads(json.dumps(meta))
    skipped_meta["WARC-Header-Metadata"]["WARC-Concurrent-To"] = "<urn:uuid:q>"
    skipped_meta["Payload-Metadata"]["WARC-Metadata-Metadata"]["Metadata-Records"][0]["Value"] = cld2("jpn")
    data = b"".join(gz(x) for x in [wat("p", page), wat("pm", meta), wat("q", skipped), wat("qm", skipped_meta),
                                    record("metadata", "broken", b"{not json", content_type="application/json")])
    pairs, counts, failures = steps_of(data)
    assert pairs == [("p.html", "x.jpg", "西湖"), ("p.html", "y.jpg", "雷峰塔")]
    assert counts["dropped/no_caption"] == 1 and counts["dropped/data_uri"] == 1 and counts["skipped_language"] == 1
    assert len(failures) == 1 and failures[0].endswith("bad_wat")
    full = [p for s in ArchiveSteps("w", ("zho",)).steps(read_records(io.BytesIO(data))) for p in s.pairs]
    assert [p.url for p in full] == ["http://example.cn/static/x.jpg", "http://cdn.cn/y.jpg"]


def test_real_wat_file_reads() -> None:
    pairs, counts, failures = steps_of((DATA / "whirlwind.warc.wat.gz").read_bytes())
    assert pairs == [] and failures == [] and counts["records/warcinfo"] == 1 and counts["records/wat_request"] == 1


def test_steps_resume_after_a_waiting_page() -> None:
    """A response waits for its metadata: the step before the metadata resumes at the response."""
    parts = [gz(record("response", "a", http())), gz(metadata("a", cld2("zho"))), gz(record("response", "b", http()))]
    data = b"".join(parts)
    steps = list(ArchiveSteps("f", ("zho",)).steps(read_records(io.BytesIO(data))))
    assert [(s.resume, len(s.pairs)) for s in steps] == [
        (Position(0, 0), 0),                                  # a is waiting: reading again starts at a
        (Position(len(parts[0]), 1), 2),                      # a decided by its metadata
        (Position(len(parts[0]) + len(parts[1]), 0), 0),      # b waiting
        (None, 2)]                                            # the end decides b
