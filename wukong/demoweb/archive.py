"""The demo web written out as a web archive, the way Common Crawl stores a crawl of it.

`write_warc` writes one `.warc.gz` (or plain `.warc`) with, per page a polite crawler fetches
(robots.txt obeyed), a `request`, a `response` (the page's bytes and headers as the server sends
them) and a `metadata` record with `charset-detected` and `languages-cld2`, each record its own
gzip member, written by warcio (an independent WARC writer). `extras=True` adds records that must
yield nothing: a 404 page, robots.txt (not HTML), a `revisit`, and an English page whose metadata
says so (its images are skipped by the language selection). `write_wat` writes the matching WAT
file: one JSON `metadata` record per WARC record, the response ones with the page's `IMG@/src`
and `A@/href` links (attribute values as written, found by Python's own HTML parser) and its
`<base>`, as Common Crawl's WAT files have them.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.robotparser import RobotFileParser

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from wukong.demoweb.model import Response
from wukong.demoweb.sites import home
from wukong.demoweb.web import DemoWeb

CRAWL_START = datetime(2026, 10, 1, tzinfo=UTC)
CCBOT = "CCBot/2.0 (https://commoncrawl.org/faq/)"
_ENCODING_LABEL = {"utf-8": "UTF-8", "gbk": "GB18030", "gb18030": "GB18030", "big5": "Big5"}
ENGLISH_PAGE = (b"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Travel notes</title></head>"
                b"<body><h1>Travel notes</h1><p>A page in English that the language selection skips.</p>"
                b"<img src=\"/img/english-1.jpg\" alt=\"Sunset over the harbour\">"
                b"<img src=\"/img/english-2.jpg\" alt=\"Street market at night\"></body></html>")


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    url: str
    response: Response
    languages: tuple[str, ...]  # CLD2 ISO 639-3 codes, as Common Crawl's metadata lists them
    charset: str | None


def crawlable_paths(web: DemoWeb) -> list[str]:
    """The page paths a crawler that obeys robots.txt fetches: the home page and every site page
    outside the disallowed section, in order."""
    robots = RobotFileParser()
    robots.parse(home.ROBOTS_TXT.decode("utf-8").splitlines())
    paths = ["/", *sorted(web.pages)]
    return [p for p in paths if robots.can_fetch(CCBOT, p)]


def archived_pages(web: DemoWeb, base_url: str, extras: bool = False) -> Iterator[ArchivedPage]:
    base = base_url.rstrip("/")
    for path in crawlable_paths(web):
        response = web.page_response(path)
        if response is None:
            continue
        page = web.pages.get(path)
        encoding = page.encoding if page is not None else "utf-8"
        yield ArchivedPage(base + path, response, ("zho",), _ENCODING_LABEL.get(encoding, encoding.upper()))
    if extras:
        yield ArchivedPage(base + "/news/missing.html", Response(404, "text/html; charset=utf-8",
                                                                 "<html><body><img src=\"/img/x.jpg\" alt=\"不存在\">"
                                                                 "</body></html>".encode()), ("zho",), "UTF-8")
        yield ArchivedPage(base + "/robots.txt", Response(200, "text/plain; charset=utf-8", home.ROBOTS_TXT),
                           (), "UTF-8")
        yield ArchivedPage(base + "/en/travel.html", Response(200, "text/html; charset=utf-8", ENGLISH_PAGE),
                           ("eng",), "UTF-8")


def _record_id(url: str, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{kind} {url}')}>"


def _date(i: int) -> str:
    return (CRAWL_START + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_headers(response: Response) -> list[tuple[str, str]]:
    return [("Content-Type", response.content_type), *response.headers, ("Content-Length", str(len(response.body)))]


def _reason(status: int) -> str:
    return {200: "OK", 404: "Not Found", 500: "Internal Server Error"}.get(status, "Unknown")


def _cld2(languages: tuple[str, ...]) -> str:
    names = {"zho": ("zh", "Chinese"), "eng": ("en", "ENGLISH")}
    entries = [{"code": names.get(c, (c, c))[0], "code-iso-639-3": c, "text-covered": 0.9, "score": 900.0,
                "name": names.get(c, (c, c))[1]} for c in languages]
    return json.dumps({"reliable": True, "text-bytes": 1000, "languages": entries}, ensure_ascii=False)


def write_warc(web: DemoWeb, base_url: str, dest: Path, *, gzip: bool = True, extras: bool = False,
               metadata: bool = True) -> int:
    """Writes the archive; returns the number of response records."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(dest, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        writer.write_record(_warcinfo(writer, dest.name))
        for i, page in enumerate(archived_pages(web, base_url, extras)):
            for record in _page_records(writer, page, i, metadata):
                writer.write_record(record)
            count += 1
        if extras:  # a revisit of the home page: never a source of pairs
            url = base_url.rstrip("/") + "/"
            revisit = writer.create_revisit_record(url, digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                                   refers_to_uri=url, refers_to_date=_date(0),
                                                   warc_headers_dict={"WARC-Date": _date(99999)})
            writer.write_record(revisit)
    return count


def _warcinfo(writer: WARCWriter, filename: str) -> Any:
    """The file's warcinfo record, with a fixed date and id: the same web gives the same bytes."""
    record = writer.create_warcinfo_record(filename, {"software": "wukong demo web", "isPartOf": "WUKONG-DEMO"})
    record.rec_headers.replace_header("WARC-Date", _date(0))
    record.rec_headers.replace_header("WARC-Record-ID", _record_id(filename, "warcinfo"))
    return record


def _page_records(writer: WARCWriter, page: ArchivedPage, i: int, metadata: bool) -> list[Any]:
    path = page.url.split("/", 3)[3] if page.url.count("/") >= 3 else ""
    host = page.url.split("/")[2]
    request_headers = StatusAndHeaders(f"GET /{path} HTTP/1.1", [("Host", host), ("User-Agent", CCBOT)],
                                       is_http_request=True)
    response_id = _record_id(page.url, "response")
    request = writer.create_warc_record(page.url, "request", payload=io.BytesIO(b""), http_headers=request_headers,
                                        warc_headers_dict={"WARC-Date": _date(i),
                                                           "WARC-Record-ID": _record_id(page.url, "request")})
    status = StatusAndHeaders(f"{page.response.status} {_reason(page.response.status)}",
                              _http_headers(page.response), protocol="HTTP/1.1")
    response = writer.create_warc_record(page.url, "response", payload=io.BytesIO(page.response.body),
                                         http_headers=status,
                                         warc_headers_dict={"WARC-Date": _date(i), "WARC-Record-ID": response_id})
    records = [request, response]
    if metadata:
        fields = f"fetchTimeMs: 12\r\ncharset-detected: {page.charset}\r\n"
        if page.languages:
            fields += f"languages-cld2: {_cld2(page.languages)}\r\n"
        records.append(writer.create_warc_record(
            page.url, "metadata", payload=io.BytesIO(fields.encode("utf-8")),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Date": _date(i), "WARC-Record-ID": _record_id(page.url, "metadata"),
                               "WARC-Concurrent-To": response_id}))
    return records


class _Links(HTMLParser):
    """`<img src alt>`, `<a href>` and `<base href>` as written (what a WAT generator records)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in reversed(attrs) if v is not None}  # the first of repeated attributes wins
        if tag == "img" and "src" in values:
            link = {"path": "IMG@/src", "url": values["src"]}
            if "alt" in values:
                link["alt"] = values["alt"]
            self.links.append(link)
        elif tag == "a" and "href" in values:
            self.links.append({"path": "A@/href", "url": values["href"]})
        elif tag == "base" and "href" in values and self.base is None:
            self.base = values["href"]


def _html_metadata(page: ArchivedPage) -> dict[str, Any]:
    codec = {"UTF-8": "utf-8", "GB18030": "gb18030", "Big5": "big5hkscs"}.get(page.charset or "", "utf-8")
    parser = _Links()
    parser.feed(page.response.body.decode(codec, "replace"))
    parser.close()
    head: dict[str, Any] = {}
    if parser.base is not None:
        head["Base"] = parser.base
    return {"Head": head, "Links": parser.links}


def _wat_record(writer: WARCWriter, url: str, i: int, envelope: dict[str, Any], filename: str, kind: str) -> Any:
    data = {"Container": {"Filename": filename, "Compressed": True}, "Envelope": {"Format": "WARC", **envelope}}
    return writer.create_warc_record(url, "metadata", payload=io.BytesIO(json.dumps(data, ensure_ascii=False).encode()),
                                     warc_content_type="application/json",
                                     warc_headers_dict={"WARC-Date": _date(i),
                                                        "WARC-Record-ID": _record_id(url, f"wat {kind}")})


def write_wat(web: DemoWeb, base_url: str, dest: Path, extras: bool = False) -> int:
    """Writes the WAT file of `write_warc`'s archive; returns the number of response descriptions."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(dest, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(_warcinfo(writer, dest.name))
        for i, page in enumerate(archived_pages(web, base_url, extras)):
            header = {"WARC-Type": "response", "WARC-Date": _date(i),
                      "WARC-Record-ID": _record_id(page.url, "response"), "WARC-Target-URI": page.url}
            response_meta: dict[str, Any] = {
                "Response-Message": {"Version": "HTTP/1.1", "Status": str(page.response.status),
                                     "Reason": _reason(page.response.status)},
                "Headers": dict(_http_headers(page.response)),
            }
            if page.response.content_type.startswith("text/html"):
                response_meta["HTML-Metadata"] = _html_metadata(page)
            writer.write_record(_wat_record(writer, page.url, i, {
                "WARC-Header-Metadata": header,
                "Payload-Metadata": {"Actual-Content-Type": "application/http; msgtype=response",
                                     "HTTP-Response-Metadata": response_meta}}, dest.name, "response"))
            meta_header = {"WARC-Type": "metadata", "WARC-Date": _date(i),
                           "WARC-Record-ID": _record_id(page.url, "metadata"),
                           "WARC-Concurrent-To": _record_id(page.url, "response"), "WARC-Target-URI": page.url}
            records = [{"Name": "charset-detected", "Value": page.charset or ""}]
            if page.languages:
                records.append({"Name": "languages-cld2", "Value": _cld2(page.languages)})
            writer.write_record(_wat_record(writer, page.url, i, {
                "WARC-Header-Metadata": meta_header,
                "Payload-Metadata": {"Actual-Content-Type": "application/warc-fields",
                                     "WARC-Metadata-Metadata": {"Metadata-Records": records}}}, dest.name,
                                     "metadata"))
            count += 1
    return count


def write_cc_index(warc: Path, warc_filename: str, dest: Path, row_group_size: int = 64) -> int:
    """A columnar-index excerpt (Common Crawl's column names and types) over the response records of
    `warc`, their offsets and lengths as warcio reads them; `warc_filename` is the name the rows give
    the file, `content_languages` comes from each response's metadata record. Returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from warcio.archiveiterator import ArchiveIterator

    rows: list[dict[str, Any]] = []
    languages: dict[str, str] = {}  # response record id -> ISO 639-3 codes
    with open(warc, "rb") as fh:
        records = ArchiveIterator(fh)
        for record in records:
            if record.rec_type == "metadata":
                fields = record.content_stream().read().decode("utf-8")
                line = next((x for x in fields.splitlines() if x.startswith("languages-cld2:")), "")
                if line:
                    codes = [e["code-iso-639-3"] for e in json.loads(line.split(":", 1)[1])["languages"]]
                    languages[record.rec_headers.get_header("WARC-Concurrent-To")] = ",".join(codes)
                continue
            if record.rec_type != "response":
                continue
            content_type = record.http_headers.get_header("Content-Type") or ""
            charset = content_type.partition("charset=")[2].strip()
            row = {"url": record.rec_headers.get_header("WARC-Target-URI"),
                   "fetch_status": int(record.http_headers.get_statuscode()),
                   "content_mime_detected": content_type.split(";")[0].strip(),
                   "content_charset": charset.upper() or None,
                   "record_id": record.rec_headers.get_header("WARC-Record-ID"),
                   "warc_filename": warc_filename, "warc_record_offset": records.get_record_offset()}
            records.read_to_end(record)
            rows.append({**row, "warc_record_length": records.get_record_length()})
    for row in rows:
        row["content_languages"] = languages.get(row.pop("record_id")) or None
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("url", pa.string()), ("fetch_status", pa.int16()), ("content_mime_detected", pa.string()),
        ("content_charset", pa.string()), ("warc_filename", pa.string()), ("warc_record_offset", pa.int32()),
        ("warc_record_length", pa.int32()), ("content_languages", pa.string())]))
    dest.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, dest, row_group_size=row_group_size)
    return table.num_rows
