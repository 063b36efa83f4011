"""`SHA256SUMS` in sha256sum's format (relative paths, sorted) and its verification, for a release in a
local folder or on object storage (the files are then hashed as they stream in)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath

from manifests.errors import UserError
from manifests.parquet_io import write_bytes_atomic
from manifests.storage import DataPath, is_remote
from sharding.files import relative_files

CHECKSUMS = "SHA256SUMS"
_LINE_RE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


def sha256_file(path: DataPath, chunk: int = 4 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_checksums(root: DataPath, digests: dict[str, str]) -> DataPath:
    """Writes `root/SHA256SUMS` from {relative posix path: sha256}."""
    lines = [f"{digests[rel]}  {rel}\n" for rel in sorted(digests)]
    return write_bytes_atomic("".join(lines).encode("utf-8"), root / CHECKSUMS)


def _safe_relative(text: str) -> str | None:
    p = PurePosixPath(text)
    if p.is_absolute() or not p.parts or any(part in ("..", ".", "") for part in p.parts) or "\\" in text:
        return None
    return str(p)


def parse_checksums(path: DataPath) -> list[tuple[str, str]]:
    """(sha256, relative path) pairs; a malformed line or a path leaving the release is a UserError."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE_RE.fullmatch(line)
        rel = _safe_relative(m.group(2)) if m else None
        if m is None or rel is None:
            raise UserError(f"{path}:{number}: not a sha256sum line with a relative path")
        entries.append((m.group(1), rel))
    return entries


def verify(root: DataPath, threads: int | None = None) -> tuple[int, list[str]]:
    """Recomputes every listed file's sha256: (files checked, one `path: PROBLEM` line per bad file).

    `threads` defaults to 4 for a local folder and 16 on object storage (network round trips).
    """
    if not root.is_dir():
        raise UserError(f"release folder not found: {root}")
    sums = root / CHECKSUMS
    if not sums.is_file():
        raise UserError(f"{root} is not a release: {CHECKSUMS} not found")
    entries = parse_checksums(sums)

    def check(entry: tuple[str, str]) -> str | None:
        want, rel = entry
        path = root / rel
        if not path.is_file():
            return f"{rel}: MISSING"
        try:
            got = sha256_file(path)
        except OSError as exc:
            return f"{rel}: FAILED to read ({exc.strerror or str(exc).splitlines()[0]})"
        return None if got == want else f"{rel}: FAILED checksum"

    if threads is None:
        threads = 16 if is_remote(root) else 4
    with ThreadPoolExecutor(max_workers=threads) as pool:
        problems = [p for p in pool.map(check, entries) if p]
    return len(entries), problems


def unlisted(root: DataPath, listed: Iterable[str]) -> list[str]:
    """Visible files under `root` that SHA256SUMS does not list (reported, not an error)."""
    known = set(listed) | {CHECKSUMS}
    return sorted(rel for rel in relative_files(root)
                  if rel not in known and not any(part.startswith(".") for part in rel.split("/")))
