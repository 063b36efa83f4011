"""Where the pipeline's files live: a local path, or an fsspec URL (`s3://bucket/prefix`) on object
storage, behind one Path-like type so that every stage reads and writes both the same way.

Local paths stay `pathlib.Path`; URLs become `upath.UPath` objects that carry their storage options
(endpoint, credentials) and travel pickled to Ray workers on other nodes: no shared disk is needed.
upath (and fsspec under it) is imported only when a URL is used: a run on local files never loads it
(`is_upath` answers without it).

Atomic completion: a file is written complete under a local temporary name first. Locally it is
then fsynced and renamed into place; on object storage it is uploaded to its final key, and an
object becomes visible only when its upload (one PUT, or a completed multipart upload) ends, so a
reader never sees a partial file there either. `exclusive=True` refuses to replace an existing
object (a conditional PUT, `If-None-Match: *`): how parallel writers claim distinct names.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeGuard

from manifests.errors import UserError

if TYPE_CHECKING:
    from upath import UPath

DataPath: TypeAlias = "Path | UPath"


def is_upath(path: object) -> TypeGuard[UPath]:
    """Whether `path` is a `UPath`; without importing upath: until something has, none can exist."""
    upath = sys.modules.get("upath")
    return upath is not None and isinstance(path, upath.UPath)


class StorageOptions(Protocol):
    """What this module reads of the `storage` config section (`manifests.config.StorageConfig` is
    one): the storage layer takes these values and never needs the config module."""

    endpoint_url: str | None
    region: str | None
    access_key_id: str | None
    secret_access_key: str | None
    anonymous: bool


_LOCAL_PROTOCOLS = ("", "file", "local")


def is_url(spec: str | os.PathLike[str]) -> bool:
    text = str(spec)
    return "://" in text and not text.startswith("file://")


def storage_options(storage: StorageOptions | None, protocol: str) -> dict[str, Any]:
    """fsspec options for `protocol` from the config; unset keys are left to the environment."""
    opts: dict[str, Any] = {}
    if protocol in ("s3", "s3a"):
        # Listings are never cached: other workers write into the same prefixes.
        opts["use_listings_cache"] = False
        if storage is not None:
            if storage.endpoint_url:
                opts["endpoint_url"] = storage.endpoint_url
            if storage.region:
                opts["client_kwargs"] = {"region_name": storage.region}
            if storage.access_key_id:
                opts["key"] = storage.access_key_id
            if storage.secret_access_key:
                opts["secret"] = storage.secret_access_key
            if storage.anonymous:
                opts["anon"] = True
    return opts


def data_path(spec: str | os.PathLike[str], storage: StorageOptions | None = None) -> DataPath:
    """A local `Path` (absolute) for a plain path or `file://` URL, a `UPath` for any other URL."""
    if is_upath(spec) and is_remote(spec):
        return spec
    text = os.fspath(spec) if not isinstance(spec, str) else spec
    if text.startswith("file://"):
        return Path(text.removeprefix("file://")).absolute()
    if not is_url(text):
        return Path(text).absolute()
    protocol = text.split("://", 1)[0]
    try:
        from upath import UPath

        return UPath(text, **storage_options(storage, protocol))
    except (ValueError, ImportError) as exc:
        raise UserError(f"unsupported storage URL {text}: {str(exc).splitlines()[0]}") from None


def is_remote(path: DataPath | str) -> bool:
    if isinstance(path, str):
        return is_url(path)
    return is_upath(path) and path.protocol not in _LOCAL_PROTOCOLS


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def upload(local: Path, dest: UPath, exclusive: bool = False) -> bool:
    """Copies a complete local file to `dest`; with `exclusive`, returns False when `dest` exists."""
    fs = dest.fs
    if not exclusive:
        fs.put_file(os.fspath(local), dest.path)
        return True
    try:
        fs.put_file(os.fspath(local), dest.path, mode="create")
    except FileExistsError:
        return False
    return True


@contextmanager
def atomic_output(dest: DataPath) -> Iterator[Path]:
    """Yields a local temporary file to write; on a clean exit it becomes `dest` whole, on an
    exception nothing appears and the temporary file is removed."""
    if is_remote(dest):
        with tempfile.TemporaryDirectory(prefix="wukong-upload-") as tmp_dir:
            tmp = Path(tmp_dir) / dest.name
            yield tmp
            assert is_upath(dest)
            upload(tmp, dest)
        return
    assert isinstance(dest, Path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def remove_tree(path: DataPath) -> None:
    """Removes a folder (a prefix on object storage) and everything in it; missing is fine."""
    if is_remote(path):
        assert is_upath(path)
        if path.fs.exists(path.path):
            path.fs.rm(path.path, recursive=True)
        return
    shutil.rmtree(path, ignore_errors=True)


def cache_root() -> Path:
    """This machine's cache folder for wukong: `$WUKONG_CACHE` or ~/.cache/wukong."""
    return Path(os.environ.get("WUKONG_CACHE") or Path.home() / ".cache" / "wukong")


def local_cache_dir(path: DataPath, purpose: str) -> Path:
    """A local folder tied to a remote location, for what cannot live on object storage (locks,
    append-only journals, logs): `cache_root()`, then purpose and the URL."""
    base = cache_root()
    digest = hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:16]
    return base / purpose / f"{path.name or 'root'}-{digest}"


def as_path(spec: str | DataPath, storage: StorageOptions | None = None) -> DataPath:
    """`spec` as a path object: a URL string becomes a UPath, a local string a `Path` as given
    (relative stays relative), and a path object is returned unchanged."""
    if isinstance(spec, str):
        return data_path(spec, storage) if is_url(spec) else Path(spec)
    return spec


def storage_failure(exc: BaseException) -> str | None:
    """One line for an error raised by the object-storage client itself (unreachable endpoint, no
    credentials, a refused request), or None for any other error."""
    module = type(exc).__module__
    if module.startswith(("botocore", "aiobotocore", "s3fs")):
        return f"object storage: {' '.join(str(exc).split()) or type(exc).__name__}"
    return None



GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Listing:
    """What `list_files` found: `kind` is "folder", "glob" or "file"; `root` the folder (or file) as a
    normalised path or URL; `files` (path or URL, size, version stamp: modification time or ETag)."""

    kind: str
    root: str
    files: list[tuple[str, int, str]]


def list_files(spec: str, storage: StorageOptions | None = None) -> Listing:
    """The files `spec` names, sorted: a folder (every file below it), a glob (`*`, `?`, `[...]`, `**`)
    or one file, local or on object storage; the stamps make digests change with the files. A folder
    or glob that names nothing gives no files; a missing path is a one-line UserError."""
    from fsspec.core import url_to_fs

    remote = is_url(spec)
    protocol = spec.split("://", 1)[0] if remote else "file"
    text = spec if remote else os.fspath(Path(spec.removeprefix("file://")).absolute())
    try:
        fs, path = url_to_fs(text, **storage_options(storage, protocol))
        path = path.rstrip("/")
        if GLOB_CHARS & set(path):
            kind, found = "glob", fs.glob(path, detail=True)
        elif fs.isdir(path):
            kind, found = "folder", fs.find(path, detail=True)
        elif fs.isfile(path):
            kind, found = "file", {path: fs.info(path)}
        else:
            raise UserError(f"not found: {spec}")
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot list {spec}: {str(exc).splitlines()[0] or type(exc).__name__}") from None

    def full(name: str) -> str:
        return f"{protocol}://{name}" if remote else name

    files = []
    for name, info in sorted(found.items()):
        if info.get("type") == "file":
            stamp = info.get("ETag") or info.get("mtime") or info.get("LastModified") or ""
            files.append((full(name), int(info.get("size") or 0), str(stamp)))
    return Listing(kind, full(path), files)
