"""`SHA256SUMS` in sha256sum's format (relative paths, sorted) and its verification."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from manifests.errors import UserError
from manifests.parquet_io import write_bytes_atomic

CHECKSUMS = "SHA256SUMS"
_LINE_RE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


def sha256_file(path: Path, chunk: int = 4 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_checksums(root: Path, digests: dict[str, str]) -> Path:
    """Writes `root/SHA256SUMS` from {relative posix path: sha256}."""
    lines = [f"{digests[rel]}  {rel}\n" for rel in sorted(digests)]
    return write_bytes_atomic("".join(lines).encode("utf-8"), root / CHECKSUMS)


def _safe_relative(text: str) -> str | None:
    p = PurePosixPath(text)
    if p.is_absolute() or not p.parts or any(part in ("..", ".", "") for part in p.parts) or "\\" in text:
        return None
    return str(p)


def parse_checksums(path: Path) -> list[tuple[str, str]]:
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


def verify(root: Path, threads: int = 4) -> tuple[int, list[str]]:
    """Recomputes every listed file's sha256: (files checked, one `path: PROBLEM` line per bad file)."""
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
            return f"{rel}: FAILED to read ({exc.strerror})"
        return None if got == want else f"{rel}: FAILED checksum"

    with ThreadPoolExecutor(max_workers=threads) as pool:
        problems = [p for p in pool.map(check, entries) if p]
    return len(entries), problems


def unlisted(root: Path, listed: Iterable[str]) -> list[str]:
    """Visible files under `root` that SHA256SUMS does not list (reported, not an error)."""
    known = set(listed) | {CHECKSUMS}
    rels = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(rel for rel in rels
                  if rel not in known and not any(part.startswith(".") for part in rel.split("/")))
