"""Reading web archives: our extractor next to a bare fastwarc + selectolax loop and warcio, per core.

    python -m bench.bench_warc [--mb 200] [--chinese-share 1.0] [--repeats 1]

Builds (once; cached under data/bench/) a gzipped WARC of at least `--mb` MB of real-looking pages
and the demo web's (bench/warc_corpus.py), then reads it, each reader in a fresh process on one
core, in one run:
- ours: crawler.archive's record reader and extraction (the site spider's page rules, charsets,
  lazy attributes, figcaptions, language selection from the metadata records), pairs counted, no
  part written;
- bare: fastwarc's ArchiveIterator over response records, selectolax (lexbor) on each payload,
  `<img alt>` only, as the issue defines it;
- warcio: warcio's ArchiveIterator, the same selectolax loop;
- the readers alone (records, no HTML): ours and fastwarc.
Reports MB/s of gzipped WARC, pages/s, pairs/s and peak RSS; ours also on a quarter of the file, to
show memory flat in file size. Appends a dated section to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import append_benchmarks, load_average, machine
from bench.warc_corpus import CACHE, build


def read_ours(path: str, parse: bool = True) -> dict[str, Any]:
    from crawler.archive.extract import ArchiveSteps
    from crawler.archive.reader import read_records
    from crawler.archive.records import Record

    pairs = pages = records = 0
    with open(path, "rb") as fh:
        if not parse:
            for item in read_records(fh):
                records += isinstance(item, Record)
            return {"records": records}
        for step in ArchiveSteps(path, ["zho"]).steps(read_records(fh)):
            pairs += len(step.pairs)
            pages += step.counts.get("pages", 0)
    return {"pairs": pairs, "pages": pages}


def _alts(payload: bytes) -> int:
    from selectolax.lexbor import LexborHTMLParser

    return sum(1 for img in LexborHTMLParser(payload).css("img") if img.attributes.get("alt"))


def read_bare(path: str, parse: bool = True) -> dict[str, Any]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    pairs = pages = records = 0
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh, record_types=WarcRecordType.response if parse else WarcRecordType.any_type,
                                      parse_http=parse):
            records += 1
            if parse:
                pairs += _alts(record.reader.read())
                pages += 1
    return {"pairs": pairs, "pages": pages} if parse else {"records": records}


def read_warcio(path: str) -> dict[str, Any]:
    from warcio.archiveiterator import ArchiveIterator

    pairs = pages = 0
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                pairs += _alts(record.content_stream().read())
                pages += 1
    return {"pairs": pairs, "pages": pages}


READERS = {"ours": lambda p: read_ours(p), "bare": lambda p: read_bare(p), "warcio": read_warcio,
           "ours-records": lambda p: read_ours(p, parse=False), "fastwarc-records": lambda p: read_bare(p, False)}


def _imports(name: str) -> None:
    """The reader's modules, imported before the clock starts (Scrapy's import alone is ~0.5 s)."""
    if name.startswith("ours"):
        import crawler.archive.extract  # noqa: F401
    elif name == "warcio":
        import warcio.archiveiterator  # noqa: F401
    else:
        import fastwarc.warc  # noqa: F401
    import selectolax.lexbor  # noqa: F401


def child(name: str, path: str) -> None:
    """One measurement in this process: prints its JSON."""
    _imports(name)
    started = time.perf_counter()
    cpu = time.process_time()
    result = READERS[name](path)
    result.update(seconds=time.perf_counter() - started, cpu=time.process_time() - cpu,
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))


def measure(name: str, path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.bench_warc", "--child", name, str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def quarter(path: Path) -> Path:
    """The first quarter of the archive (whole members), for the memory-vs-size check."""
    from crawler.archive.reader import read_records
    from crawler.archive.records import Record

    target = path.stat().st_size // 4
    out = path.with_name(path.name.replace(".warc.gz", ".quarter.warc.gz"))
    if out.exists():
        return out
    with open(path, "rb") as fh:
        cut = next(i.position.offset for i in read_records(fh) if isinstance(i, Record) and i.position.offset >= target)
    with open(path, "rb") as src:
        out.write_bytes(src.read(cut))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mb", type=int, default=200)
    p.add_argument("--chinese-share", type=float, default=1.0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    share = f"{int(args.chinese_share * 100)}zho"
    path = build(CACHE / f"corpus-{args.mb}mb-{share}.warc.gz", args.mb * 10**6, args.chinese_share)
    mb = path.stat().st_size / 1e6
    rows = []
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.repeats):
        for name in ("ours", "bare", "warcio", "ours-records", "fastwarc-records"):
            results.setdefault(name, []).append(measure(name, path))
    small = quarter(path)
    results["ours (quarter file)"] = [measure("ours", small)]
    base = min(r["cpu"] for r in results["bare"])
    for name, runs in results.items():
        best = min(runs, key=lambda r: r["cpu"])
        size = small.stat().st_size / 1e6 if "quarter" in name else mb
        cpu = best["cpu"]
        if "pairs" in best:
            ratio = f"{base / cpu:.2f}x" if name in ("ours", "warcio") else ""
            rows.append(f"| {name} | {size:,.0f} | {best['seconds']:.1f} | {cpu:.1f} | {size / cpu:.1f} | "
                        f"{best['pages'] / cpu:,.0f} | {best['pairs'] / cpu:,.0f} | {best['pairs']:,} | "
                        f"{best['peak_rss_mb']:.0f} | {ratio} |")
        else:
            rows.append(f"| {name} | {size:,.0f} | {best['seconds']:.1f} | {cpu:.1f} | {size / cpu:.1f} | - | - | "
                        f"{best['records']:,} records | {best['peak_rss_mb']:.0f} | |")
    table = "\n".join(["| reader (one process) | MB gz | wall s | CPU s | MB/s gz per core | pages/s per core | "
                       "pairs/s per core | pairs | peak RSS MB | speed vs bare |",
                       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", *rows])
    body = (f"`python -m bench.bench_warc --mb {args.mb} --chinese-share {args.chinese_share} --repeats "
            f"{args.repeats}` on {machine()}; {load_average()}. File: {mb:,.0f} MB of gzipped WARC, "
            f"{int(args.chinese_share * 100)}% of the generated pages Chinese (the rest English, skipped by ours "
            f"from their metadata record, parsed by bare and warcio). Each reader in its own process (one core), "
            f"its imports done before the clock starts; rates per CPU second (the machine is shared, so wall "
            f"time is shown but not used); the best of {args.repeats}. bare counts `<img alt>` only; ours "
            f"builds every pair (absolute URL, caption by the site spider's rules, page, date).\n\n{table}\n")
    print(body)
    append_benchmarks("Web archives: our extractor vs fastwarc + selectolax vs warcio", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
