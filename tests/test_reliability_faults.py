"""Issue 6, faults from the web: every misbehaviour of the demo web's `/fault/<kind>` routes (and of a
few loopback servers of our own) through the real downloader and image filter, then through the whole
filter stage. Each row ends with its own reason or is kept with the right measurements, the run ends,
and `input == kept + rejected`. Everything talks to 127.0.0.1 only; every wait is bounded."""

from __future__ import annotations

import io
import json
import socket
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver
from loopback import OnlyLoopbackConnector, serve_app
from PIL import Image

from filters.base import REASON, apply_filters
from filters.download import Downloader, FetchResult
from filters.image import IMAGE_COLUMN, ImageFilter
from filters.runner import run_filter
from manifests.config import DownloadConfig, load_config
from manifests.schemas import CANDIDATE
from wukong.demoweb import faults

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
CONNECT_S = 1.0
READ_S = 2.0
RETRIES = 1
BACKOFF = 0.05
CAP = 2_000_000
OVER_CAP = 3_000_000
GZIP_BOMB_BYTES = 256 * 1024 * 1024


def download_cfg(**kw: Any) -> DownloadConfig:
    base: dict[str, Any] = dict(allow_private_networks=True, connect_timeout=CONNECT_S, read_timeout=READ_S,
                                retries=RETRIES, backoff=BACKOFF, max_retry_after=2.0, max_bytes=CAP,
                                per_host=64)
    base.update(kw)
    return DownloadConfig(**base)


# --- loopback misbehaviours the demo web cannot play --------------------------------------------


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed): connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def unaccepting_port() -> Iterator[int]:
    """A listener whose accept queue is full and never drained: a SYN to it is dropped, so connecting
    hangs until the client's connect timeout (a black-holed host, on loopback)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for c in fillers:
            c.close()
        srv.close()


def _gzip_bomb() -> bytes:
    """A JPEG magic followed by 256 MiB of zeros, gzip-compressed to about 256 KB."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (16 * 1024 * 1024)
    parts = [comp.compress(b"\xff\xd8\xff")] + [comp.compress(block) for _ in range(GZIP_BOMB_BYTES // len(block))]
    return b"".join([*parts, comp.flush()])


@pytest.fixture(scope="module")
def own_web() -> Iterator[str]:
    """A loopback server with the one fault the demo web lacks: a gzip bomb (Content-Encoding)."""
    bomb = _gzip_bomb()

    async def gzip_bomb(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Type": "image/jpeg", "Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/gzip-bomb.jpg", gzip_bomb)
    with serve_app(app) as base:
        yield base


# --- what each fault must produce --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expect:
    """`reason` None = kept, then with these measurements; `dup_group` rows serve identical bytes."""

    reason: str | None
    size: tuple[int, int] | None = None
    mime: str | None = None
    attempts: int | None = None
    dup_group: bool = False


# path under the demo web -> expected outcome through download + image filter
DEMO_FAULTS: dict[str, Expect] = {
    "/fault/ok.jpg": Expect(None, (400, 300), "image/jpeg", 1, dup_group=True),
    "/fault/reset.jpg": Expect("connection_error", attempts=RETRIES + 1),
    "/fault/reset.jpg?times=1&id=rel-reset": Expect(None, (400, 300), "image/jpeg", 2, dup_group=True),
    "/fault/drip.jpg?n=10": Expect("timeout", attempts=RETRIES + 1),
    "/fault/stall.jpg?s=3": Expect("timeout", attempts=RETRIES + 1),
    "/fault/429.jpg": Expect("http_429", attempts=RETRIES + 1),
    "/fault/429.jpg?times=1&id=rel-429": Expect(None, (400, 300), "image/jpeg", 2, dup_group=True),
    "/fault/503.jpg": Expect("http_503", attempts=RETRIES + 1),
    "/fault/503.jpg?times=1&id=rel-503": Expect(None, (400, 300), "image/jpeg", 2, dup_group=True),
    "/fault/500.jpg": Expect("http_500", attempts=RETRIES + 1),
    "/fault/500.jpg?times=1&id=rel-500": Expect(None, (400, 300), "image/jpeg", 2, dup_group=True),
    "/fault/404.jpg": Expect("http_404", attempts=1),
    "/fault/redirect.jpg": Expect(None, (400, 300), "image/jpeg", 1, dup_group=True),
    "/fault/redirect-loop.jpg": Expect("too_many_redirects", attempts=1),
    "/fault/huge-length.jpg": Expect("too_large", attempts=1),
    "/fault/chunked.jpg": Expect(None, (400, 300), "image/jpeg", 1, dup_group=True),
    f"/fault/oversize.jpg?bytes={OVER_CAP}": Expect("too_large", attempts=1),
    f"/fault/oversize-chunked.jpg?bytes={OVER_CAP}": Expect("too_large", attempts=1),
    "/fault/bomb.png": Expect("decompression_bomb"),
    "/fault/animated-gif.gif": Expect(None, (320, 240), "image/gif"),
    "/fault/cmyk-jpeg.jpg": Expect(None, (400, 300), "image/jpeg"),
    "/fault/png16.png": Expect(None, (400, 300), "image/png"),
    "/fault/exif-rotated.jpg": Expect(None, (300, 600), "image/jpeg"),
    "/fault/svg.svg": Expect("not_an_image"),
    "/fault/png-as-jpg.jpg": Expect(None, (400, 300), "image/png"),
    "/fault/html-as-jpeg.jpg": Expect("not_an_image"),
    "/fault/truncated-jpeg.jpg": Expect("corrupt_image"),
    "/fault/empty.jpg": Expect("empty_body"),
}


def _other_faults(unaccepting_port: int, own_web: str) -> dict[str, Expect]:
    """Absolute URLs of the faults outside the demo web."""
    return {
        f"http://127.0.0.1:{closed_port()}/refused.jpg": Expect("connection_error", attempts=RETRIES + 1),
        "http://images.wukong-reliability.invalid/dns.jpg": Expect("dns_error", attempts=1),
        f"http://127.0.0.1:{unaccepting_port}/connect-timeout.jpg": Expect("timeout", attempts=RETRIES + 1),
        f"{own_web}/gzip-bomb.jpg": Expect("too_large", attempts=1),
    }


def warm_demo_faults() -> None:
    """Renders the demo web's cached fault bodies up front: the first bomb or GIF is rendered inside the
    server's event loop and would stall every other request of the batch for a second."""
    for make in (faults.ok_jpeg, faults.png_bytes, faults.bomb_png, faults.animated_gif, faults.cmyk_jpeg,
                 faults.png16, faults.exif_rotated_jpeg):
        make()


@dataclass(slots=True)
class Outcome:
    fetch: FetchResult
    reason: str | None
    detail: str | None
    width: int | None
    height: int | None
    mime: str | None
    phash: str | None


def download_and_inspect(urls: list[str], cfg: DownloadConfig, downloader: Downloader | None = None) -> list[Outcome]:
    """What the image pass does with these URLs: download, then the image filter on the bodies."""
    dl = downloader or Downloader(cfg)
    try:
        results = dl.fetch_many(urls)
    finally:
        if downloader is None:
            dl.close()
    table = pa.table({
        IMAGE_COLUMN: pa.array([r.data for r in results], pa.binary()),
        REASON: pa.array([r.reason for r in results], pa.string()),
        "detail": pa.array([r.detail for r in results], pa.string()),
    })
    table = apply_filters(table, [ImageFilter(load_config(CONFIG))])
    cols = {n: table.column(n).to_pylist() if n in table.column_names else [None] * len(urls)
            for n in (REASON, "detail", "width", "height", "mime", "phash")}
    return [Outcome(r, cols[REASON][i], cols["detail"][i], cols["width"][i], cols["height"][i], cols["mime"][i],
                    cols["phash"][i]) for i, r in enumerate(results)]


@pytest.fixture(scope="module")
def all_faults(demo_web: Any, unaccepting_port: int, own_web: str) -> dict[str, tuple[Expect, Outcome, float]]:
    """Every fault fetched concurrently by one downloader, as a Ray image actor would."""
    warm_demo_faults()
    expected = {demo_web.url(p): e for p, e in DEMO_FAULTS.items()} | _other_faults(unaccepting_port, own_web)
    urls = list(expected)
    started = time.monotonic()
    outcomes = download_and_inspect(urls, download_cfg())
    elapsed = time.monotonic() - started
    return {u: (expected[u], o, elapsed) for u, o in zip(urls, outcomes, strict=True)}


def test_every_fault_ends_with_its_own_reason_or_is_kept(all_faults: dict[str, tuple[Expect, Outcome, float]]) -> None:
    wrong = {}
    for url, (want, got, _) in all_faults.items():
        actual = (got.reason, (got.width, got.height) if got.reason is None else None,
                  got.mime if got.reason is None else None)
        if actual != (want.reason, want.size, want.mime if want.reason is None else None):
            wrong[url] = (actual, got.detail, want)
        if want.attempts is not None and got.fetch.attempts != want.attempts:
            wrong[url] = ("attempts", got.fetch.attempts, want.attempts)
    assert not wrong, wrong
    # A wall-clock bound on the whole batch: the slowest fault (two attempts of connect + read) sets it.
    (elapsed,) = {e for _, _, e in all_faults.values()}
    assert elapsed < (RETRIES + 1) * (CONNECT_S + READ_S) + 2 * BACKOFF + 3.0


def test_details_name_the_cause(all_faults: dict[str, tuple[Expect, Outcome, float]]) -> None:
    by_path = {u.split("/", 3)[-1]: o for u, (_, o, _) in all_faults.items()}
    assert "Content-Length 2147483648" in (by_path["fault/huge-length.jpg"].detail or "")
    assert "Content-Length 3000000" in (by_path[f"fault/oversize.jpg?bytes={OVER_CAP}"].detail or "")
    assert "body over 2000000 bytes" in (by_path[f"fault/oversize-chunked.jpg?bytes={OVER_CAP}"].detail or "")
    assert "900000000 pixels" in (by_path["fault/bomb.png"].detail or "")
    assert "truncated" in (by_path["fault/truncated-jpeg.jpg"].detail or "")
    assert (by_path["fault/svg.svg"].detail or "").startswith("magic bytes 3c3f786d6c")  # "<?xml"
    assert by_path["fault/429.jpg"].fetch.status == 429
    assert "RFC 6761" in (by_path["dns.jpg"].detail or "")


def test_16_bit_png_hash_is_its_picture_not_a_white_page(all_faults: dict[str, tuple[Expect, Outcome, float]]) -> None:
    """Found here: convert('RGB') clips 16-bit grey to white, so every 16-bit PNG hashed 8000000000000000
    and all of them were near duplicates of one another."""
    (png16,) = [o for u, (_, o, _) in all_faults.items() if u.endswith("/png16.png")]
    wide = np.asarray(Image.open(io.BytesIO(faults.png16())), dtype=np.uint32)
    grey8 = Image.fromarray((wide // 257).astype(np.uint8), "L")  # the demo web stored grey * 257
    assert png16.phash != "8000000000000000"
    assert imagehash.hex_to_hash(png16.phash) - imagehash.phash(grey8) <= 2


def test_animated_gif_is_measured_on_its_first_frame(all_faults: dict[str, tuple[Expect, Outcome, float]]) -> None:
    (gif,) = [o for u, (_, o, _) in all_faults.items() if u.endswith("/animated-gif.gif")]
    first = Image.open(io.BytesIO(faults.animated_gif()))
    assert getattr(first, "n_frames", 1) == 3
    assert gif.phash == str(imagehash.phash(first.convert("RGB")))


def test_drip_ends_as_timeout_within_connect_plus_read(demo_web: Any) -> None:
    """One byte a second: the total timeout (connect + read) ends each attempt, whatever the pace."""
    t0 = time.monotonic()
    (out,) = download_and_inspect([demo_web.url("/fault/drip.jpg?n=10")], download_cfg(retries=0))
    assert out.reason == "timeout" and out.fetch.attempts == 1
    assert time.monotonic() - t0 < CONNECT_S + READ_S + 1.0  # 1 s of scheduling slack on a busy machine


def test_429_waits_for_retry_after(demo_web: Any) -> None:
    t0 = time.monotonic()
    (out,) = download_and_inspect([demo_web.url("/fault/429.jpg?times=1&id=rel-429-wait")], download_cfg())
    assert out.reason is None and out.fetch.attempts == 2
    assert time.monotonic() - t0 >= 0.95  # Retry-After: 1


def test_dns_failure_of_a_name(demo_web: Any) -> None:
    """A resolver that finds nothing (injected: no lookup leaves the machine) -> dns_error, no retry;
    and `.invalid` names fail at once without asking any resolver."""

    class NoSuchName(AbstractResolver):
        asked: list[str] = []  # noqa: RUF012

        async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
            NoSuchName.asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        async def close(self) -> None:
            return None

    dl = Downloader(download_cfg(), resolver=NoSuchName())
    try:
        t0 = time.monotonic()
        outs = download_and_inspect(["http://img.example-cdn.test/a.jpg", "http://x.invalid/b.jpg",
                                     "http://INVALID./c.jpg"], download_cfg(), downloader=dl)
        assert time.monotonic() - t0 < 1.0
    finally:
        dl.close()
    assert [o.reason for o in outs] == ["dns_error"] * 3
    assert [o.fetch.attempts for o in outs] == [1, 1, 1]
    assert NoSuchName.asked == ["img.example-cdn.test"]


def test_gzip_bomb_stays_bounded(own_web: str) -> None:
    """256 MiB behind 256 KB of gzip: stopped at the byte cap while decompressing, never held whole."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    (out,) = download_and_inspect([f"{own_web}/gzip-bomb.jpg"], download_cfg())
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert out.reason == "too_large"
    assert grown_mb < 100


def test_redirect_to_a_private_address_is_refused_before_connecting(demo_web: Any) -> None:
    """The guard on (only 10.x forbidden, so the loopback demo web stays reachable): the demo web's
    302 to http://10.0.0.1/ is refused; the connector fails the test if asked to leave 127.0.0.1."""

    cfg = download_cfg(allow_private_networks=False)
    dl = Downloader(cfg, connector_cls=OnlyLoopbackConnector, forbidden=lambda ip: ip.startswith("10."))
    try:
        private, ok = download_and_inspect([demo_web.url("/fault/redirect-private.jpg"),
                                            demo_web.url("/fault/redirect.jpg")], cfg, downloader=dl)
    finally:
        dl.close()
    assert private.reason == "private_address" and "10.0.0.1" in (private.detail or "")
    assert ok.reason is None


# --- the whole filter stage on the faults -------------------------------------------------------

CAPTION = "北京故宫的红墙{}号"


def write_candidates(urls: list[str], out_dir: Path, parts: int = 2) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    per = -(-len(urls) // parts)
    for p in range(parts):
        chunk = urls[p * per:(p + 1) * per]
        cols: dict[str, pa.Array] = {f.name: pa.nulls(len(chunk), f.type) for f in CANDIDATE}
        cols["url"] = pa.array(chunk, pa.string())
        cols["caption"] = pa.array([CAPTION.format(p * per + i) for i in range(len(chunk))], pa.string())
        cols["caption_source"] = pa.array(["alt"] * len(chunk))
        cols["page_url"] = pa.array([f"http://127.0.0.1/page/{p * per + i}.html" for i in range(len(chunk))])
        cols["source"] = pa.array(["site"] * len(chunk))
        pq.write_table(pa.Table.from_pydict(cols, schema=CANDIDATE), out_dir / f"part-site-{p:05d}.parquet")
    return out_dir


def read_outcomes(out: Path) -> tuple[dict[str, tuple[str, str | None]], dict[str, dict[str, Any]]]:
    rejected: dict[str, tuple[str, str | None]] = {}
    for f in sorted((out / "rejected").glob("*.parquet")):
        for r in pq.read_table(f, columns=["url", "reason", "detail"]).to_pylist():
            assert r["url"] not in rejected
            rejected[r["url"]] = (r["reason"], r["detail"])
    kept: dict[str, dict[str, Any]] = {}
    for f in sorted((out / "kept").glob("*.parquet")):
        for r in pq.read_table(f, columns=["url", "key", "width", "height", "mime"]).to_pylist():
            assert r["url"] not in kept
            kept[r["url"]] = r
    return rejected, kept


def test_filter_stage_on_every_fault(demo_web: Any, unaccepting_port: int, own_web: str, ray_local: None,
                                     tmp_path: Path) -> None:
    # The private redirect stays out: the demo config allows private networks (the demo web is on
    # loopback), so the stage would really connect to 10.0.0.1. The guard test above covers it.
    # Transient faults get ids of their own: the demo web counts failures per id for the whole session.
    expected = {demo_web.url(p.replace("&id=rel-", "&id=stage-")): e for p, e in DEMO_FAULTS.items()} \
        | _other_faults(unaccepting_port, own_web)
    urls = list(expected)
    candidates = write_candidates(urls, tmp_path / "candidates")
    cfg = load_config(CONFIG, [f"download.connect_timeout={CONNECT_S}", f"download.read_timeout={READ_S}",
                               f"download.retries={RETRIES}", f"download.backoff={BACKOFF}",
                               "download.max_retry_after=2", f"download.max_bytes={CAP}", "download.per_host=64",
                               "ray.rows_per_task=8", "privacy.mask_person_names=false"])
    warm_demo_faults()
    started = time.monotonic()
    result = run_filter(candidates, tmp_path / "filtered", cfg)
    assert time.monotonic() - started < 120
    stats = json.loads((tmp_path / "filtered" / "stats.json").read_text())
    rejected, kept = read_outcomes(tmp_path / "filtered")
    assert stats["input"] == len(urls) == stats["kept"] + sum(stats["rejected"].values())
    assert len(kept) + len(rejected) == len(urls) and not set(kept) & set(rejected)
    assert stats["rejected"] == dict(Counter(r for r, _ in rejected.values()))
    assert result.stats.balanced

    group = [u for u, e in expected.items() if e.dup_group]
    kept_of_group = [u for u in group if u in kept]
    assert len(kept_of_group) == 1, kept_of_group  # identical bytes: one kept, the rest duplicate_image
    survivor = kept[kept_of_group[0]]["key"]
    wrong = {}
    for url, want in expected.items():
        if url in group and url not in kept:
            got = rejected[url]
            if got != ("duplicate_image", survivor):
                wrong[url] = got
        elif url.endswith("/animated-gif.gif"):
            # Its first frame is the control picture at 320x240: a near duplicate of the larger kept one.
            if rejected.get(url) != ("near_duplicate", survivor):
                wrong[url] = rejected.get(url) or "kept"
        elif want.reason is None:
            row = kept.get(url)
            if row is None or ((row["width"], row["height"]), row["mime"]) != (want.size, want.mime):
                wrong[url] = row or rejected.get(url)
        elif rejected.get(url, ("kept",))[0] != want.reason:
            wrong[url] = rejected.get(url) or "kept"
    assert not wrong, wrong
