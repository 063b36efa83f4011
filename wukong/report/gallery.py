"""Image galleries in the report: tiles of thumbnail + caption + details, as a grid (optionally with a
search box that filters it by caption) or as rows of near-duplicate groups side by side.

Everything from data goes through `html.escape`. The search is a few lines of inline JavaScript
(`SCRIPT`), so the page still works from file:// with nothing fetched; without JavaScript every
tile stays visible. Each tile carries `data-key` and `data-caption`; a group's tiles carry
`data-group="<group id>"` and the kept member also `data-kept="1"`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

CAPTION_CHARS = 60  # longer captions are cut in the tile (the whole caption is its tooltip and is searched)


@dataclass(frozen=True, slots=True)
class Tile:
    caption: str
    details: list[str]  # short lines under the caption: source, size, reason ...
    thumb_src: str | None = None  # relative to report.html; None: no bytes (a placeholder box instead)
    thumb_size: tuple[int, int] | None = None
    key: str | None = None
    url: str | None = None  # shown as text (never a link: the page fetches nothing)
    group: str | None = None
    kept: bool = False
    missing: str = "no image"

    @property
    def short_caption(self) -> str:
        return self.caption if len(self.caption) <= CAPTION_CHARS else self.caption[:CAPTION_CHARS - 1] + "…"


@dataclass(slots=True)
class Gallery:
    gallery_id: str
    tiles: list[Tile]
    title: str | None = None
    note: str | None = None
    search: bool = False  # a search box that filters the tiles by caption
    layout: str = "grid"  # grid | group (one row, side by side)
    group: str | None = None  # the group id of a `group` layout
    attrs: dict[str, str] = field(default_factory=dict)


CSS = """
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(168px,1fr));gap:10px;margin:8px 0 14px}
.groupbox{display:inline-block;vertical-align:top;margin:0 14px 12px 0;max-width:100%}.groupbox h3{margin-top:6px}
.gallery.group{display:flex;flex-wrap:nowrap;overflow-x:auto;gap:8px;padding-bottom:4px;margin:4px 0}
.gallery.group .tile{flex:0 0 168px}
.tile{margin:0;border:1px solid #e2e4e8;border-radius:6px;padding:6px;background:#fafbfc;font-size:12px;
overflow:hidden}.tile.kept{border:2px solid #2e7d32;background:#f1f8f1}
.tile img.thumb{width:100%;height:140px;object-fit:contain;background:#eef0f3;margin:0 0 4px;border-radius:3px}
.tile .noimg{height:140px;display:flex;align-items:center;justify-content:center;background:#f0f0f0;color:#888;
border-radius:3px;margin:0 0 4px;text-align:center;padding:0 6px}.tile .noline{color:#999;margin:0 0 3px;
font-style:italic}
.tile figcaption{font-size:13px;overflow-wrap:anywhere;margin:0 0 2px}.tile .d{color:#666;margin:0}
.tile .u{color:#888;margin:0;overflow-wrap:anywhere;font-size:11px}
.badge{display:inline-block;background:#2e7d32;color:#fff;border-radius:3px;padding:0 5px;font-size:11px}
.searchbar{display:flex;gap:10px;align-items:center;margin:6px 0}.searchbar input{font-size:14px;padding:4px 8px;
width:320px;border:1px solid #ccc;border-radius:4px}.searchbar span{color:#555;font-size:13px}
"""

SCRIPT = """<script>
document.querySelectorAll("input[data-filter]").forEach(function (box) {
  var grid = document.getElementById(box.getAttribute("data-filter"));
  var count = document.getElementById(box.getAttribute("data-count"));
  var tiles = Array.prototype.slice.call(grid.querySelectorAll(".tile"));
  box.addEventListener("input", function () {
    var q = box.value.trim().toLowerCase(), shown = 0;
    tiles.forEach(function (t) {
      var hit = q === "" || t.getAttribute("data-caption").toLowerCase().indexOf(q) >= 0;
      t.style.display = hit ? "" : "none";
      if (hit) { shown += 1; }
    });
    count.textContent = shown + " of " + tiles.length + " shown";
  });
});
</script>"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_tile(tile: Tile, box: bool = True) -> str:
    """One tile; without a thumbnail, a box of the thumbnail's size (`box`) or one line saying why."""
    attrs = [f'class="tile{" kept" if tile.kept else ""}"', f'data-caption="{_esc(tile.caption)}"']
    if tile.key:
        attrs.append(f'data-key="{_esc(tile.key)}"')
    if tile.group is not None:
        attrs.append(f'data-group="{_esc(tile.group)}"')
    if tile.kept:
        attrs.append('data-kept="1"')
    out = [f"<figure {' '.join(attrs)}>"]
    if tile.thumb_src is not None:
        size = f' width="{tile.thumb_size[0]}" height="{tile.thumb_size[1]}"' if tile.thumb_size else ""
        group = f' data-group="{_esc(tile.group)}"' if tile.group is not None else ""
        out.append(f'<img class="thumb" src="{_esc(tile.thumb_src)}" alt="{_esc(tile.caption)}"{size}{group}>')
    elif box:
        out.append(f'<div class="noimg">{_esc(tile.missing)}</div>')
    else:
        out.append(f'<p class="noline">{_esc(tile.missing)}</p>')
    badge = '<span class="badge">kept</span> ' if tile.kept else ""
    out.append(f'<figcaption title="{_esc(tile.caption)}">{badge}'
               f"{_esc(tile.short_caption) or '<i>(empty caption)</i>'}</figcaption>")
    out.extend(f'<p class="d">{_esc(line)}</p>' for line in tile.details)
    if tile.url:
        out.append(f'<p class="u">{_esc(tile.url)}</p>')
    out.append("</figure>")
    return "".join(out)


def render_gallery(gallery: Gallery) -> list[str]:
    """A grid (title, note, search box, tiles), or a group's row in a box that sits beside the next group's."""
    out: list[str] = ['<div class="groupbox">'] if gallery.layout == "group" else []
    if gallery.title:
        out.append(f"<h3>{_esc(gallery.title)}</h3>")
    if gallery.note:
        out.append(f'<p class="note">{_esc(gallery.note)}</p>')
    if gallery.search:
        count_id = f"{gallery.gallery_id}-count"
        out.append(f'<div class="searchbar"><input type="search" id="{_esc(gallery.gallery_id)}-search" '
                   f'placeholder="filter by caption" aria-label="filter by caption" '
                   f'data-filter="{_esc(gallery.gallery_id)}" data-count="{_esc(count_id)}">'
                   f'<span id="{_esc(count_id)}">{len(gallery.tiles)} of {len(gallery.tiles)} shown</span></div>')
    extra = "".join(f' {_esc(k)}="{_esc(v)}"' for k, v in gallery.attrs.items())
    group = f' data-group="{_esc(gallery.group)}"' if gallery.group is not None else ""
    out.append(f'<div class="gallery{" group" if gallery.layout == "group" else ""}" '
               f'id="{_esc(gallery.gallery_id)}"{group}{extra}>')
    # A grid with no thumbnail at all (a text or download reason) stays compact: no empty boxes.
    box = gallery.layout == "group" or any(t.thumb_src is not None for t in gallery.tiles)
    out.extend(render_tile(tile, box) for tile in gallery.tiles)
    out.append("</div>")
    if gallery.layout == "group":
        out.append("</div>")
    return out
