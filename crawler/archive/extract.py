"""Archive records -> image-text pairs, as pure functions: a record's bytes in, pairs and counts out.

- A WARC `response` record with a 2xx HTML payload goes through the site spider's own page
  extraction (crawler.pages: the same response class, charset order and `<img>` rules), with the
  archive's `charset-detected` as the charset hint after `<meta>`.
- A WAT record describing a response yields its `IMG@/src` links with a non-empty `alt`,
  resolved against the page (and its `<base>`).
- Request, revisit, warcinfo, metadata-only, non-HTML and non-2xx records yield nothing; each is
  counted (`records/<type>`, `dropped/<why>`), and damage is counted and named (`Failure`).

Common Crawl writes each page's `metadata` record (with `languages-cld2`) right after its
response, so a response waits for the next record: a page whose metadata shows none of the wanted
languages is skipped before parsing (`skipped_language`); a page without language metadata (or with
an empty language list) is parsed, and the filter stage decides on each caption's language.

`ArchiveSteps` turns a file's records into `Step`s: the pairs and counts since the last step, and
the position from which reading the file again reproduces exactly what follows (a page still
waiting for its metadata is read again). Runners commit parts at steps, so a killed run resumes
without losing or repeating a pair.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.http import HtmlResponse

from crawler.archive.http import decode_payload, parse_http_response
from crawler.archive.records import Damage, Position, Record
from crawler.html import clean_attribute
from crawler.items import CandidatePair
from crawler.pages import decoded_response, read_page

SOURCE = "warc"
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class Failure:
    """A record (or file) that could not be read, named for the crawl stats."""

    where: str  # `FILE@OFFSET` or `FILE@OFFSET#INDEX`
    kind: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "kind": self.kind, "detail": self.detail}


@dataclass(slots=True)
class PageResult:
    pairs: list[CandidatePair] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    failure: tuple[str, str] | None = None  # (kind, detail), named by the caller


@dataclass(slots=True)
class Meta:
    """A page's archive metadata: the record it describes, CLD2's languages, the detected charset."""

    refers_to: str | None
    languages: list[str] | None
    charset: str | None


def cld2_languages(value: str | None) -> list[str] | None:
    """The language codes (both `code` and `code-iso-639-3`) of a `languages-cld2` JSON value."""
    if not value:
        return None
    try:
        data = json.loads(value)
        entries = data.get("languages", []) if isinstance(data, dict) else []
        codes = [str(e.get(k, "")).lower() for e in entries if isinstance(e, dict) for k in ("code", "code-iso-639-3")]
    except (ValueError, AttributeError):
        return None
    return [c for c in codes if c]


def wanted_language(meta: Meta | None, languages: Collection[str]) -> bool:
    """False only when the metadata names languages and none of them is wanted."""
    if meta is None or not meta.languages:
        return True
    return bool({c.lower() for c in languages} & set(meta.languages))


def warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _pair(url: str, caption: str, caption_source: str, page_url: str, at: datetime) -> CandidatePair:
    return CandidatePair(url=url, caption=caption, caption_source=caption_source, page_url=page_url, query=None,
                         source=SOURCE, crawled_at=at)


def _page_identity(record: Record) -> tuple[str, datetime] | str:
    uri = record.header("WARC-Target-URI")
    date = warc_date(record.header("WARC-Date"))
    if not uri:
        return "missing WARC-Target-URI"
    if date is None:
        return f"missing or invalid WARC-Date: {record.header('WARC-Date')!r}"
    return uri, date


def html_page(record: Record, charset_hint: str | None = None, user_agent: str = "") -> PageResult:
    """A WARC response record's pairs, exactly as the live site spider would take them from the page
    (none when the page opts out: `opt_out_pages`)."""
    result = PageResult()
    identity = _page_identity(record)
    if isinstance(identity, str):
        result.failure = ("bad_record", identity)
        return result
    url, at = identity
    http = parse_http_response(record.block)
    if isinstance(http, str):
        result.failure = ("bad_http", http)
        return result
    if not 200 <= http.status < 300:
        result.counts[f"dropped/http_{http.status}"] += 1
        return result
    decoded = decode_payload(http)
    if isinstance(decoded, str):
        result.failure = ("bad_payload", decoded)
        return result
    if record.header("WARC-Truncated"):
        result.counts["truncated_payload"] += 1
    response, detected = decoded_response(url, decoded.payload, decoded.headers, charset_hint, decoded.status)
    if not isinstance(response, HtmlResponse):
        result.counts["dropped/not_html"] += 1
        return result
    result.counts[f"charset/{detected.source}"] += 1
    page = read_page(response, user_agent)
    result.counts["pages"] += 1
    if page.opt_out is not None:
        result.counts["opt_out_pages"] += 1
    for reason, count in page.images.dropped.items():
        result.counts[f"dropped/{reason}"] += count
    result.pairs = [_pair(p.url, p.caption, p.caption_source, url, at) for p in page.images.pairs]
    return result


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if str(k).lower() == wanted), None)


def wat_page(envelope: dict[str, Any], url: str, at: datetime) -> PageResult:
    """A WAT response description's `IMG@/src` links with a non-empty `alt`, as pairs."""
    result = PageResult()
    response = _get(envelope, "Payload-Metadata", "HTTP-Response-Metadata")
    status_text = str(_get(response, "Response-Message", "Status") or "")
    if not status_text.isdigit():
        result.failure = ("bad_wat", "no HTTP status in the WAT record")
        return result
    status = int(status_text)
    if not 200 <= status < 300:
        result.counts[f"dropped/http_{status}"] += 1
        return result
    content_type = (_header(_get(response, "Headers"), "Content-Type") or "").lower()
    html = _get(response, "HTML-Metadata")
    if not isinstance(html, dict) or not content_type.startswith(HTML_TYPES):
        result.counts["dropped/not_html"] += 1
        return result
    result.counts["pages"] += 1
    base = url
    head_base = _get(html, "Head", "Base")
    if isinstance(head_base, str) and head_base.strip():
        base = urljoin(url, head_base.strip())
    links = html.get("Links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("path") != "IMG@/src":
            continue
        raw = str(link.get("url") or "").strip()
        caption = clean_attribute(str(link.get("alt") or ""))
        if not raw:
            result.counts["dropped/no_image_url"] += 1
            continue
        if raw[:5].lower() == "data:":
            result.counts["dropped/data_uri"] += 1
            continue
        try:
            image = urljoin(base, raw)
            parts = urlsplit(image)
        except ValueError:
            result.counts["dropped/bad_url"] += 1
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            result.counts["dropped/bad_url"] += 1
            continue
        if not caption:
            result.counts["dropped/no_caption"] += 1
            continue
        result.pairs.append(_pair(image, caption, "alt", url, at))
    return result


@dataclass(slots=True)
class _Draft:
    """A page record waiting for its metadata record."""

    position: Position
    type: str
    record_id: str | None
    decide: Callable[[Meta | None], PageResult]


def _wat_metadata(record: Record) -> dict[str, Any] | str:
    try:
        data = json.loads(record.block)
    except ValueError as exc:
        return f"not JSON: {exc}"
    envelope = data.get("Envelope") if isinstance(data, dict) else None
    return envelope if isinstance(envelope, dict) else "no Envelope"


def _warc_fields(block: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip().lower(), value.strip())
    return fields


@dataclass(slots=True)
class Step:
    """What one stretch of a file gave, and where reading again would continue (None: at the end)."""

    pairs: list[CandidatePair]
    counts: Counter[str]
    failures: list[Failure]
    resume: Position | None


class ArchiveSteps:
    """One file's records (and damage) -> `Step`s; `languages` are the wanted CLD2 codes, `user_agent`
    the crawl's (pages opting out for it, or for everyone, yield nothing)."""

    def __init__(self, label: str, languages: Collection[str], user_agent: str = "") -> None:
        self.label = label
        self.languages = tuple(languages)
        self.user_agent = user_agent
        self.pairs: list[CandidatePair] = []
        self.counts: Counter[str] = Counter()
        self.failures: list[Failure] = []

    def where(self, position: Position) -> str:
        suffix = f"#{position.index}" if position.index else ""
        return f"{self.label}@{position.offset}{suffix}"

    def fail(self, position: Position, kind: str, detail: str) -> None:
        self.counts[f"failed/{kind}"] += 1
        self.failures.append(Failure(self.where(position), kind, detail))

    def step(self, resume: Position | None) -> Step:
        out = Step(self.pairs, self.counts, self.failures, resume)
        self.pairs, self.counts, self.failures = [], Counter(), []
        return out

    def decide(self, draft: _Draft, meta: Meta | None) -> None:
        self.counts[f"records/{draft.type}"] += 1
        if not wanted_language(meta, self.languages):
            self.counts["skipped_language"] += 1
            return
        result = draft.decide(meta)
        self.counts.update(result.counts)
        self.pairs.extend(result.pairs)
        if result.failure is not None:
            self.fail(draft.position, *result.failure)

    def classify(self, record: Record) -> _Draft | Meta | str:
        """A page waiting for metadata, a metadata record, or the record's type (nothing to decide)."""
        kind = record.type.lower()
        if kind == "response":
            return _Draft(record.position, kind, record.header("WARC-Record-ID"),
                          lambda meta: html_page(record, meta.charset if meta else None, self.user_agent))
        if kind != "metadata":
            return kind
        if (record.header("Content-Type") or "").lower().startswith("application/json"):
            return self._classify_wat(record)
        fields = _warc_fields(record.block)
        return Meta(record.header("WARC-Concurrent-To"), cld2_languages(fields.get("languages-cld2")),
                    fields.get("charset-detected"))

    def _classify_wat(self, record: Record) -> _Draft | Meta | str:
        envelope = _wat_metadata(record)
        if isinstance(envelope, str):
            self.fail(record.position, "bad_wat", envelope)
            return "metadata"
        header = _get(envelope, "WARC-Header-Metadata") or {}
        described = str(_get(header, "WARC-Type") or "").lower()
        if described == "response":
            uri, date = header.get("WARC-Target-URI"), warc_date(header.get("WARC-Date"))
            if not uri or date is None:
                self.fail(record.position, "bad_wat", "no WARC-Target-URI or WARC-Date in the envelope")
                return "metadata"
            return _Draft(record.position, "wat_response", header.get("WARC-Record-ID"),
                          lambda meta: wat_page(envelope, str(uri), date))
        if described == "metadata":
            entries = _get(envelope, "Payload-Metadata", "WARC-Metadata-Metadata", "Metadata-Records")
            fields = {str(e.get("Name", "")).lower(): str(e.get("Value", "")) for e in entries or []
                      if isinstance(e, dict)}
            return Meta(header.get("WARC-Concurrent-To"), cld2_languages(fields.get("languages-cld2")),
                        fields.get("charset-detected"))
        return f"wat_{described or 'unknown'}"

    def steps(self, items: Iterable[Record | Damage]) -> Iterator[Step]:
        pending: _Draft | None = None
        for item in items:
            if isinstance(item, Damage):
                self.fail(item.position, item.kind, item.detail)
                continue
            kind = self.classify(item)
            after = Position(item.position.offset, item.position.index + 1)
            if isinstance(kind, Meta):
                if pending is not None:
                    self.decide(pending, kind if kind.refers_to == pending.record_id else None)
                    pending = None
                self.counts[f"records/{item.type.lower()}"] += 1
                yield self.step(after)
                continue
            if pending is not None:
                self.decide(pending, None)
                pending = None
            if isinstance(kind, _Draft):
                pending = kind
                yield self.step(kind.position)
                continue
            self.counts[f"records/{kind}"] += 1
            yield self.step(after)
        if pending is not None:
            self.decide(pending, None)
        yield self.step(None)
