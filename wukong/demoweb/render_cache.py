"""The demo web's encoded images on disk, shared by every process of this machine that serves a demo web.

Rendering is the demo web's largest cost (the 1,500-pair test web's 1,470 images: 11 CPU-s; `make demo`'s 3,000
pairs: 19 CPU-s), and every process that serves a web paid it again: each pytest-xdist worker's server, each
`make demo`. A rendition's bytes depend only on (codeword, style seed, rendition) and on the rendering code, so they
are kept under `$WUKONG_CACHE/demoweb/<code version>/` (default ~/.cache/wukong), one file per rendition named by
the SHA-256 of those inputs and written by atomic rename (two processes writing one file write the same bytes). The
code version is a digest of the rendering modules and of Pillow's and numpy's versions: a change to any of them
starts a new folder and removes the others. Only webs of at most `DISK_MAX_PAIRS` pairs use it (the 3,000-pair
demo: about 120 MB); a folder that cannot be written turns it off for the process, which then renders as before.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import PIL

from manifests.storage import cache_root
from wukong.demoweb.model import Rendition

log = logging.getLogger(__name__)

DISK_MAX_PAIRS = 5_000
# The modules whose code decides a rendition's bytes.
RENDER_MODULES = ("images.py", "pictures.py", "seeds.py", "model.py")


@functools.cache
def code_version() -> str:
    digest = hashlib.sha256(f"Pillow {PIL.__version__} numpy {np.__version__}".encode())
    here = Path(__file__).resolve().parent
    for name in RENDER_MODULES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def rendition_key(code: int, style: int, rendition: Rendition) -> str:
    return hashlib.sha256(f"{code}|{style}|{rendition!r}".encode()).hexdigest()


class DiskRenders:
    """Encoded renditions under `root`/demoweb/<code version>/; `get` and `put` by `rendition_key`."""

    def __init__(self, root: Path | None = None) -> None:
        base = (root or cache_root()) / "demoweb"
        self.folder = base / code_version()
        self.enabled = True
        if not self.folder.is_dir() and base.is_dir():  # renders of older code: never read again
            for old in base.iterdir():
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.bin"

    def get(self, key: str) -> bytes | None:
        if not self.enabled:
            return None
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._turn_off(exc)
            return None

    def put(self, key: str, data: bytes) -> None:
        if not self.enabled:
            return
        path = self._path(key)
        # not manifests.storage.atomic_output: it fsyncs each file, which a cache that can be rebuilt does not need
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            self._turn_off(exc)

    def _turn_off(self, exc: OSError) -> None:
        self.enabled = False
        log.warning("demo web: rendered images are not kept on disk (%s); rendering each one", exc)
