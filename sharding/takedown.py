"""`take_down`: a copy of a release without the pairs a takedown file names.

Every file RELEASE's SHA256SUMS lists is either copied byte for byte (its sha256 checked on the way:
a damaged RELEASE is an error, not a silent copy) or rewritten:

- a shard that held a removed pair: its tar with the other members in their order, written by the
  same deterministic tar writer (fixed mtime, owner, mode), its parquet sidecar without the removed
  rows, and `NNNNN_stats.json` recounted (a shard left empty stays, as an empty tar, so shard numbers
  and webdataset brace ranges keep working);
- a manifest part that held a removed pair (and its CSV twin): the same rows without them;
- README.md: contents and distributions recomputed, a `Takedowns` table row added (date, pairs
  removed, pairs left); SHA256SUMS, written last, so that NEW is not a release until it is whole.

RELEASE and NEW may be local folders or object-storage prefixes. The same RELEASE, file and date
always give the same NEW, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from manifests.errors import UserError
from manifests.layout import ReleaseDir
from manifests.parquet_io import read_table, write_bytes_atomic, write_json_atomic, write_parquet_atomic
from manifests.schemas import MANIFEST, conform
from manifests.storage import DataPath, atomic_output
from sharding.card import CardFacts, card_limits, update_card
from sharding.checksums import CHECKSUMS, parse_checksums, sha256_file, write_checksums
from sharding.files import MANIFEST_FILE_RE, SHARD_FILE_RE, ShardFiles
from sharding.manifest_writer import csv_bytes
from sharding.release import overlapping, release_lock
from sharding.removals import Matches, Removals, match_manifests
from sharding.sample import JSON_FIELDS
from sharding.shard_writer import plan_digest
from sharding.sidecar import shard_stats
from sharding.tarwriter import DeterministicTarWriter
from sharding.tasks import thread_map

_CHUNK = 4 << 20


@dataclass(slots=True)
class TakedownSummary:
    out: DataPath
    entries: int = 0
    removed: int = 0
    pairs_left: int = 0
    shards_rewritten: int = 0
    shards_copied: int = 0
    files: int = 0
    unknown: list[str] = field(default_factory=list)

    def paragraph(self) -> str:
        text = (f"takedown: removed {self.removed:,} pairs ({self.pairs_left:,} left) into {self.out}: "
                f"{self.shards_rewritten:,} shards rewritten, {self.shards_copied:,} copied byte for byte; "
                f"SHA256SUMS over {self.files:,} files.")
        if self.unknown:
            shown = ", ".join(self.unknown[:5]) + (", ..." if len(self.unknown) > 5 else "")
            text += f"\n  {len(self.unknown):,} of {self.entries:,} entries matched no pair: {shown}"
        return text


def check_release(release: DataPath, out: DataPath) -> list[tuple[str, str]]:
    """SHA256SUMS entries of RELEASE after the one-line checks of RELEASE and NEW."""
    if not release.is_dir():
        raise UserError(f"release folder not found: {release}")
    if overlapping(release, out):
        raise UserError("--out must be a new folder outside RELEASE (and RELEASE not inside it)")
    rd = ReleaseDir(release)
    if not rd.checksums.is_file() or not rd.shards.is_dir():
        raise UserError(f"{release} is not a release: {CHECKSUMS} or shards/ not found")
    if out.exists() and (not out.is_dir() or any(not p.name.startswith(".") for p in out.iterdir())):
        raise UserError(f"--out {out} exists and is not an empty folder")
    return parse_checksums(rd.checksums)


def copy_checked(src: DataPath, dst: DataPath, want: str) -> None:
    """Copies `src` to `dst` whole, failing when its bytes do not match RELEASE's SHA256SUMS."""
    h = hashlib.sha256()
    with atomic_output(dst) as tmp, src.open("rb") as fin, open(tmp, "wb") as fout:
        while block := fin.read(_CHUNK):
            h.update(block)
            fout.write(block)
        if h.hexdigest() != want:
            raise UserError(f"{src} does not match the release's SHA256SUMS: run `wukong verify` on it")


@dataclass(frozen=True, slots=True)
class ShardRewrite:
    """What a rewritten shard holds afterwards (digests for SHA256SUMS, counts for the card)."""

    name: str
    count: int
    digests: dict[str, str]


def rewrite_shard(src_dir: DataPath, dst_dir: DataPath, index: int, removed: set[str]) -> ShardRewrite:
    """The shard without the members of `removed` keys: tar, sidecar and stats."""
    src, dst = ShardFiles(src_dir, index), ShardFiles(dst_dir, index)
    rows: list[dict] = []
    image_bytes = 0
    with src.tar.open("rb") as fh, tarfile.open(fileobj=fh, mode="r|") as tar, \
            DeterministicTarWriter(dst.tar) as out:
        for member in tar:
            key, _, ext = member.name.partition(".")
            data = tar.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if key in removed:
                continue
            out.add(member.name, data)
            if ext == "json":
                rows.append(json.loads(data))
            elif ext != "txt":
                image_bytes += len(data)
        tar_bytes, tar_sha = out.commit()
    rows.sort(key=lambda r: r["key"])
    keys = [r["key"] for r in rows]
    plan = plan_digest(src.name, keys, [{f: r.get(f) for f in JSON_FIELDS} for r in rows])
    sidecar = read_table(src.sidecar)
    sidecar = sidecar.filter(pc.invert(pc.is_in(sidecar["key"], pa.array(sorted(removed), pa.string()))))
    write_parquet_atomic(sidecar, dst.sidecar)
    stats = shard_stats(src.name, len(rows), image_bytes, tar_bytes, tar_sha, keys[0] if keys else None,
                        keys[-1] if keys else None, plan)
    write_json_atomic(stats, dst.stats)
    shards = dst_dir.name
    return ShardRewrite(src.name, len(rows), {
        f"{shards}/{dst.tar.name}": tar_sha,
        f"{shards}/{dst.sidecar.name}": sha256_file(dst.sidecar),
        f"{shards}/{dst.stats.name}": sha256_file(dst.stats),
    })


def rewrite_manifest(src: DataPath, dst: DataPath, removed: set[str]) -> tuple[str, int]:
    """A manifest part (parquet, or its CSV twin) without the removed keys; (sha256, rows left)."""
    parquet = src.with_suffix(".parquet")
    table = conform(read_table(parquet), MANIFEST)
    table = table.filter(pc.invert(pc.is_in(table["key"], pa.array(sorted(removed), pa.string()))))
    if src.suffix == ".csv":
        write_bytes_atomic(csv_bytes(table), dst)
    else:
        write_parquet_atomic(table, dst)
    return sha256_file(dst), table.num_rows


def take_down(release: DataPath, out: DataPath, removals: Removals, date: str,
              contact: str | None = None) -> TakedownSummary:
    """Writes NEW = RELEASE without the pairs `removals` names (see the module docstring)."""
    entries = check_release(release, out)
    listed = dict((rel, digest) for digest, rel in entries)
    src, dst = ReleaseDir(release), ReleaseDir(out)
    manifest_parts = [src.root / rel for rel in sorted(listed) if rel.startswith(f"{src.manifests.name}/")
                      and rel.endswith(".parquet")]
    matches = match_manifests(manifest_parts, removals)
    summary = TakedownSummary(out, entries=len(removals), unknown=matches.unknown(removals))
    if isinstance(out, Path):
        out.mkdir(parents=True, exist_ok=True)
    with release_lock(out):
        digests, counts = _write_files(src, dst, listed, matches)
        old_card = src.card.read_text(encoding="utf-8") if src.card.is_file() else ""
        summary.removed = len(matches.keys)
        summary.pairs_left = sum(counts.values())
        card = _card(old_card, dst, counts, summary.removed, date, contact).encode("utf-8")
        write_bytes_atomic(card, dst.card)
        digests[dst.card.name] = hashlib.sha256(card).hexdigest()
        write_checksums(dst.root, digests)
    summary.shards_rewritten = len(matches.by_shard)
    summary.shards_copied = len(counts) - len(matches.by_shard)
    summary.files = len(digests)
    return summary


def _write_files(src: ReleaseDir, dst: ReleaseDir, listed: dict[str, str], matches: Matches,
                 ) -> tuple[dict[str, str], dict[str, int]]:
    """Copies or rewrites every listed file but the card; (digests by path, pairs per shard)."""
    shards_dir, manifests_dir = src.shards.name, src.manifests.name
    rewritten: dict[int, set[str]] = {}
    copies: list[str] = []
    manifest_edits: list[tuple[str, set[str]]] = []
    shard_indexes: set[int] = set()
    for rel in sorted(listed):
        folder, _, name = rel.partition("/")
        shard = SHARD_FILE_RE.fullmatch(name) if folder == shards_dir else None
        if shard is not None:
            index = int(shard.group(1))
            shard_indexes.add(index)
            if ShardFiles(src.shards, index).name in matches.by_shard:
                rewritten[index] = matches.by_shard[ShardFiles(src.shards, index).name]
                continue
        elif folder == manifests_dir and MANIFEST_FILE_RE.fullmatch(name):
            removed = matches.by_manifest.get(name.rsplit(".", 1)[0] + ".parquet")
            if removed:
                manifest_edits.append((rel, removed))
                continue
        elif rel == src.card.name:
            continue
        copies.append(rel)
    thread_map(lambda rel: copy_checked(src.root / rel, dst.root / rel, listed[rel]), copies)
    digests = {rel: listed[rel] for rel in copies}
    shard_results = thread_map(lambda item: rewrite_shard(src.shards, dst.shards, *item), sorted(rewritten.items()))
    for result in shard_results:
        digests.update(result.digests)
    for rel, removed in manifest_edits:
        digests[rel] = rewrite_manifest(src.root / rel, dst.root / rel, removed)[0]
    counts = {ShardFiles(src.shards, i).name: _count(dst, i) for i in sorted(shard_indexes)}
    return digests, counts


def _count(dst: ReleaseDir, index: int) -> int:
    stats = json.loads(ShardFiles(dst.shards, index).stats.read_text(encoding="utf-8"))
    return int(stats.get("count", 0))


def _card(old: str, dst: ReleaseDir, counts: dict[str, int], removed: int, date: str, contact: str | None) -> str:
    """NEW's card: the old one with contents and distributions recomputed and the takedown recorded."""
    indexes = [int(name) for name in counts]
    stats = thread_map(lambda i: json.loads(ShardFiles(dst.shards, i).stats.read_text(encoding="utf-8")), indexes)
    meta = pa.concat_tables(thread_map(
        lambda i: read_table(ShardFiles(dst.shards, i).sidecar, columns=["caption", "width", "height", "mime"]),
        indexes)) if indexes else pa.table({"caption": [], "width": [], "height": [], "mime": []})
    manifests = [p for p in dst.manifests.iterdir() if MANIFEST_FILE_RE.fullmatch(p.name)] \
        if dst.manifests.is_dir() else []
    limits = card_limits(old) or (max(counts.values(), default=1), 1_000_000)
    facts = CardFacts(
        pairs=sum(counts.values()), shards=len(counts), samples_per_shard=limits[0],
        image_bytes=sum(int(s.get("image_bytes", 0)) for s in stats),
        tar_bytes=sum(int(s.get("tar_bytes", 0)) for s in stats),
        manifest_files=sum(1 for p in manifests if p.name.endswith(".parquet")),
        manifest_rows_per_file=limits[1], csv=any(p.name.endswith(".csv") for p in manifests),
    )
    return update_card(old, facts, meta, removed, date, contact)
