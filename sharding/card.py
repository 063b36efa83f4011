"""`README.md`, the dataset card: contents, the filter funnel, distributions, config, consent and
removal, licences, and the takedowns applied since the release was built.

Everything in it is computed from the release itself, the filter stats and the config, and nothing
from the clock, so the card is as reproducible as the shards (a takedown's date is given to it).
A takedown rewrites the card section by section (`update_card`): contents and distributions are
recomputed, a row joins the `Takedowns` table, every other section stays as the build wrote it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from manifests.stats import FilterStats
from manifests.storage import DataPath
from sharding.distributions import histogram_table, quantile_table, word_counts

MB = 1_000_000


@dataclass(frozen=True, slots=True)
class CardFacts:
    """The numbers of a release that the card reports."""

    pairs: int
    shards: int
    samples_per_shard: int
    image_bytes: int
    tar_bytes: int
    manifest_files: int
    manifest_rows_per_file: int
    csv: bool


def funnel_table(stats: FilterStats) -> str:
    total = stats.input or 1
    lines = ["| step | pairs | % of input |", "|---|---:|---:|",
             f"| crawled candidates (input) | {stats.input:,} | 100.00% |"]
    for reason, n in sorted(stats.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| rejected: `{reason}` | {n:,} | {100.0 * n / total:.2f}% |")
    lines.append(f"| **kept** | **{stats.kept:,}** | **{100.0 * stats.kept / total:.2f}%** |")
    if not stats.balanced:
        lines.append("\nWarning: the filter stats do not add up (input != kept + rejected).")
    return "\n".join(lines)


def distributions(meta: pa.Table) -> str:
    captions = meta.column("caption").to_pylist()
    chars = np.fromiter((len(c) for c in captions), dtype=np.int64, count=len(captions))
    words, sampled = word_counts(captions)
    w = np.asarray(meta.column("width").to_pylist(), dtype=np.float64)
    h = np.asarray(meta.column("height").to_pylist(), dtype=np.float64)
    word_note = "" if sampled == len(captions) else f" (jieba words on an evenly spaced sample of {sampled:,})"
    parts = [
        "### Caption length" + word_note,
        "",
        quantile_table({"characters": chars, "jieba words": words}),
        "",
        "### Image size (pixels, as decoded by the filter stage)",
        "",
        quantile_table({
            "width": w, "height": h, "shorter side": np.minimum(w, h),
            "aspect ratio (long/short)": np.maximum(w, h) / np.maximum(np.minimum(w, h), 1),
            "megapixels": w * h / 1e6,
        }),
        "",
        "### Image formats",
        "",
        histogram_table(Counter(meta.column("mime").to_pylist()), len(captions), "mime"),
    ]
    return "\n".join(parts)


CONTENTS = "Contents"
DISTRIBUTIONS = "Distributions"
CONSENT = "Consent, opt-outs and removal"
TAKEDOWNS = "Takedowns"
CONTACT_PLACEHOLDER = "REPLACE WITH THE PUBLISHER'S CONTACT (set `shard.removal_contact`)"


def contents_section(facts: CardFacts) -> str:
    return f"""| | |
|---|---:|
| image-text pairs | {facts.pairs:,} |
| shards (`shards/NNNNN.tar`) | {facts.shards:,} of up to {facts.samples_per_shard:,} pairs |
| image bytes | {facts.image_bytes / MB:,.1f} MB |
| tar bytes | {facts.tar_bytes / MB:,.1f} MB |
| manifest files (`manifests/part-NNNNN.parquet`) | {facts.manifest_files:,} \
of up to {facts.manifest_rows_per_file:,} rows |"""


def consent_section(contact: str | None) -> str:
    """The opt-out policy the filter stage applies, and how to have a pair removed."""
    return f"""The filter stage leaves out images whose owners said no, when its defaults are kept
(`download.respect_opt_out: true`; the filter config above shows this build's settings, and the funnel
counts them as `opt_out`):

- image responses with `X-Robots-Tag: noai`, `noimageai`, `noindex`, `noimageindex` or `none`, for
  every crawler, for `*` or for our User-Agent (`wukong-pipeline: noai`);
- image responses with TDMRep's `tdm-reservation: 1`;
- image and page URLs on the domains and URL prefixes of the opt-out lists
  (`privacy.opt_out_lists`), before anything is downloaded.

To have a pair removed, send its image URL, its key or the sha256 of the image to:
{contact or CONTACT_PLACEHOLDER}. The publisher removes it with
`wukong takedown RELEASE --remove FILE --out NEW`, which writes the release again without it
(untouched shards stay byte for byte) and records the removal in the `{TAKEDOWNS}` section below."""


def render_card(facts: CardFacts, measured: str, stats: FilterStats | None, config_yaml: str,
                filter_config: tuple[str, str] | None, contact: str | None = None) -> str:
    """The card's markdown. `measured` is `distributions(meta)` of every released pair."""
    funnel = funnel_table(stats) if stats is not None else "The filter stage's `stats.json` was not found."
    csv_note = " and the same rows as `url,caption` CSV (`part-NNNNN.csv`)" if facts.csv else ""
    filter_cfg = (
        f"The filter stage's config (`{filter_config[0]}`):\n\n```yaml\n{filter_config[1].rstrip()}\n```\n"
        if filter_config else "The filter stage did not record its config next to its output.\n"
    )
    return f"""# Wukong-style Chinese image-text pairs

A dataset of Chinese image-text pairs built with wukong-pipeline (crawl -> filter -> shard), in the
form of Noah's Ark Lab's Wukong release: image URLs with Chinese captions, plus the images themselves
as webdataset shards.

## {CONTENTS}

{contents_section(facts)}

## Layout

- `shards/NNNNN.tar`: webdataset shards. Per pair `<key>.<ext>` (the original image bytes, extension
  from the real format), `<key>.txt` (the caption, UTF-8) and `<key>.json` (url, caption, key, width,
  height, sha256, phash, caption_raw, page_url, query, source, mime, shard). Keys are digits only.
- `shards/NNNNN.parquet`: one row per pair of the shard (img2dataset's sidecar columns);
  `shards/NNNNN_stats.json`: the shard's counts, written last.
- `manifests/part-NNNNN.parquet`: the release manifest, one row per pair: `url`, `caption`, `key`,
  `width`, `height`, `sha256`, `phash`, `shard`{csv_note}.
- `SHA256SUMS`: every file above; check with `wukong verify RELEASE` or `sha256sum -c SHA256SUMS`.

Read the shards with `webdataset.WebDataset("shards/{{00000..{max(facts.shards - 1, 0):05d}}}.tar")`;
fetch the images again from their URLs with
`wukong download --manifests 'manifests/*.parquet' --out DIR` (img2dataset).

## Filter funnel

{funnel}

## {DISTRIBUTIONS}

{measured}

## Config

The release stage ran with:

```yaml
{config_yaml.rstrip()}
```

{filter_cfg}
## {CONSENT}

{consent_section(contact)}

## Licences and intended use

- The images belong to their owners. This dataset is meant for research; it records where each
  image was found (`url`, `page_url`). Redistribute the manifests (URLs and captions), as Wukong did,
  rather than the images; honour takedown requests by removing the pair.
- Language identification uses fastText's lid.176 model, published by Facebook under CC BY-SA 3.0
  (https://fasttext.cc/docs/en/language-identification.html); Wukong's word lists come from jieba (MIT).
- The captions were normalised (NFKC), filtered for sensitive words, and contact details (phone
  numbers, e-mail addresses, ID-card numbers) and person names were masked when the privacy filter
  was on; automatic filters miss things: review before use.
"""


_HEADING = re.compile(r"^## (.+)$", re.M)


def split_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(text before the first `## ` heading, [(heading, body)]) of a card."""
    heads = list(_HEADING.finditer(text))
    preface = text[:heads[0].start()] if heads else text
    sections = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        sections.append((m.group(1).strip(), text[m.end():end].strip("\n")))
    return preface, sections


def join_sections(preface: str, sections: list[tuple[str, str]]) -> str:
    return preface.rstrip("\n") + "\n\n" + "".join(f"## {title}\n\n{body}\n\n" for title, body in sections
                                                 ).rstrip("\n") + "\n"


def card_limits(text: str) -> tuple[int, int] | None:
    """(samples per shard, manifest rows per file) as a card states them, if it does."""
    shards = re.search(r"of up to ([0-9,]+) pairs", text)
    rows = re.search(r"of up to ([0-9,]+) rows", text)
    if shards is None or rows is None:
        return None
    return int(shards.group(1).replace(",", "")), int(rows.group(1).replace(",", ""))


def update_card(old: str, facts: CardFacts, meta: pa.Table, removed: int, date: str,
                contact: str | None = None) -> str:
    """The card of a release after a takedown of `removed` pairs on `date` (YYYY-MM-DD)."""
    preface, sections = split_sections(old or "# Dataset card\n")
    found = {title: i for i, (title, _) in enumerate(sections)}
    fresh = {CONTENTS: contents_section(facts), DISTRIBUTIONS: distributions(meta)}
    for title, body in fresh.items():
        if title in found:
            sections[found[title]] = (title, body)
        else:
            sections.append((title, body))
    if CONSENT not in found:
        sections.append((CONSENT, consent_section(contact)))
    rows = [line for line in dict(sections).get(TAKEDOWNS, "").splitlines() if re.match(r"\| \d{4}-", line)]
    rows.append(f"| {date} | {removed:,} | {facts.pairs:,} |")
    body = ("Pairs removed on request since the release was built (`wukong takedown`); the filter funnel\n"
            "above describes the build itself.\n\n| date | pairs removed | pairs left |\n|---|---:|---:|\n"
            + "\n".join(rows))
    sections = [s for s in sections if s[0] != TAKEDOWNS] + [(TAKEDOWNS, body)]
    return join_sections(preface, sections)


def find_filter_config(filtered_root: DataPath) -> tuple[str, str] | None:
    """The config the filter stage saved beside its output, when it saved one."""
    for name in ("config.yaml", "config.yml", "config.json"):
        p = filtered_root / name
        if p.is_file() and p.stat().st_size < 1_000_000:
            return name, p.read_text(encoding="utf-8", errors="replace")
    return None
