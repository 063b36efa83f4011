"""Finds an installed font that can draw Chinese for the plots (`fc-list :lang=zh`), if there is one.

Without one, plots keep Chinese out of their labels (queries are shown by rank) and the HTML
tables carry the text: the browser has its own fallback fonts.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

# Preferred families first (substrings of the file name, lower case); anything else that fc-list lists comes after.
_PREFERRED = ("notosanscjk", "notosans-cjk", "sourcehansans", "wqy-microhei", "wqy-zenhei", "droidsansfallback")
_PROBE = "中文图片"


def _candidates() -> list[Path]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run([fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    paths = {Path(line.split(":", 1)[0].strip()) for line in out.stdout.splitlines() if line.strip()}

    def rank(p: Path) -> tuple[int, str]:
        name = p.name.lower().replace(" ", "")
        hits = [i for i, key in enumerate(_PREFERRED) if key in name]
        return (hits[0] if hits else len(_PREFERRED), str(p))

    return sorted((p for p in paths if p.suffix.lower() in (".ttf", ".otf", ".ttc")), key=rank)


def _draws_chinese(path: Path) -> bool:
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(path))
    return all(font.get_char_index(ord(ch)) for ch in _PROBE)


@functools.cache
def cjk_font_family() -> str | None:
    """The matplotlib family name of an installed font that draws Chinese (registered), or None."""
    from matplotlib import font_manager

    for path in _candidates():
        try:
            if not _draws_chinese(path):
                continue
            font_manager.fontManager.addfont(str(path))
            name = font_manager.FontProperties(fname=str(path)).get_name()
        except (OSError, RuntimeError, ValueError) as exc:
            log.debug("font %s unusable: %s", path, exc)
            continue
        log.debug("CJK font for plots: %s (%s)", name, path)
        return name
    return None
