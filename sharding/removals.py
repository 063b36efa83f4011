"""A takedown file and what it matches in a release.

The file (UTF-8, local or on object storage) lists one entry a line: an image URL (http or https),
a sample key (digits) or a sha256 of the image bytes (64 hex digits); blank lines, `#` lines and
` #` comments are ignored. A URL also matches its normalised form's key, so `HTTP://Host:80/a.jpg`
removes the pair released as `http://host/a.jpg`. Anything else on a line is a one-line error that
names the file and line: a takedown must never silently skip what someone asked to remove.

Matching reads only the release manifests' `url`, `key`, `sha256` and `shard` columns, part by
part (vectorised `is_in`), never the images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from manifests.errors import UserError
from manifests.keys import key_for_url, normalize_url
from manifests.parquet_io import read_parquet_checked
from manifests.schemas import MANIFEST
from manifests.storage import DataPath
from manifests.text_files import read_text_file

_SHA256 = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")
_KEY = re.compile(r"[0-9]{1,64}")


@dataclass(slots=True)
class Removals:
    """The entries of a takedown file, by kind, each with its line as written (for reports)."""

    urls: dict[str, str] = field(default_factory=dict)  # url as written -> its normalised key
    keys: set[str] = field(default_factory=set)
    digests: set[str] = field(default_factory=set)
    written: dict[str, str] = field(default_factory=dict)  # entry (normalised) -> the line as written

    def __len__(self) -> int:
        return len(self.urls) + len(self.keys) + len(self.digests)


def parse_removals(path: DataPath) -> Removals:
    """Reads a takedown file; a missing, unreadable, empty or malformed one is a UserError."""
    text, _ = read_text_file(path, "takedown file")
    out = Removals()
    for number, line in enumerate(text.splitlines(), 1):
        entry = re.split(r"\s#", line, maxsplit=1)[0].strip()
        if not entry or entry.startswith("#"):
            continue
        if (m := _SHA256.fullmatch(entry)) is not None:
            out.digests.add(m.group(1).lower())
            out.written.setdefault(m.group(1).lower(), entry)
        elif _KEY.fullmatch(entry):
            out.keys.add(entry)
            out.written.setdefault(entry, entry)
        elif (norm := normalize_url(entry)) is not None and " " not in entry:
            out.urls[entry] = key_for_url(norm)
            out.written.setdefault(entry, entry)
        else:
            raise UserError(f"{path}:{number}: not an http(s) URL, a key or a sha256: {entry[:80]}")
    if not out:
        raise UserError(f"{path}: no URL, key or sha256 to remove")
    return out


@dataclass(slots=True)
class Matches:
    """What a takedown removes: keys per shard and per manifest part, and the entries that matched."""

    by_shard: dict[str, set[str]] = field(default_factory=dict)
    by_manifest: dict[str, set[str]] = field(default_factory=dict)  # manifest part name -> keys
    matched: set[str] = field(default_factory=set)  # normalised entries that matched a pair

    @property
    def keys(self) -> set[str]:
        return set().union(*self.by_shard.values()) if self.by_shard else set()

    def unknown(self, removals: Removals) -> list[str]:
        """The entries as written that matched no pair, in file order."""
        return [written for entry, written in removals.written.items() if entry not in self.matched]


def match_manifests(parts: list[DataPath], removals: Removals) -> Matches:
    """Scans the manifest parts for pairs the takedown names."""
    keys = pa.array(sorted(removals.keys | set(removals.urls.values())), pa.string())
    urls = pa.array(sorted(removals.urls), pa.string())
    digests = pa.array(sorted(removals.digests), pa.string())
    url_of_key = {k: u for u, k in removals.urls.items()}
    out = Matches()
    for part in parts:
        table = read_parquet_checked(part, MANIFEST, columns=["url", "key", "sha256", "shard"])
        hit = pc.or_(pc.or_(pc.is_in(table["key"], keys), pc.is_in(table["url"], urls)),
                     pc.is_in(table["sha256"], digests))
        rows = table.filter(pc.fill_null(hit, False)).to_pylist()
        for row in rows:
            out.by_shard.setdefault(row["shard"], set()).add(row["key"])
            out.by_manifest.setdefault(part.name, set()).add(row["key"])
            for entry in (row["key"], row["url"], row["sha256"], url_of_key.get(row["key"])):
                if entry is not None and (entry in removals.written):
                    out.matched.add(entry)
    return out
