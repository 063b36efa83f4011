"""Renders the report as one self-contained HTML page: inline CSS, relative image links, and one small
inline script (the samples' search box) only when a gallery has one; nothing is fetched from outside.

Everything that comes from data (captions come from the web) goes through `html.escape`. Numbers
are printed with thousands separators and carry their exact value in a `data-value` attribute, so
tools and tests can read them back without parsing the formatting.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from wukong.report import gallery as gal

Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Percent:
    """A percentage cell (printed with one decimal)."""

    value: float


@dataclass(slots=True)
class Table:
    headers: list[str]
    rows: list[list[Cell | Percent]]
    title: str | None = None
    table_id: str | None = None
    row_keys: list[str] | None = None  # `data-key` of each row (e.g. the rejection reason)
    footer: list[Cell | Percent] | None = None


@dataclass(frozen=True, slots=True)
class Image:
    src: str  # relative to report.html
    alt: str


@dataclass(slots=True)
class Section:
    section_id: str
    title: str
    intro: str = ""
    images: list[Image] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: str | None = None  # why the section has no content (which stage to run)
    galleries: list[gal.Gallery] = field(default_factory=list)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;
margin:0;color:#222;background:#f6f7f9}
header{background:#1f3b57;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85;font-size:13px}
nav{background:#fff;border-bottom:1px solid #ddd;padding:8px 32px;position:sticky;top:0;font-size:13px}
nav a{margin-right:14px;color:#1f3b57;text-decoration:none}nav a:hover{text-decoration:underline}
main{padding:8px 32px 40px;max-width:1180px}
section{background:#fff;border:1px solid #e2e4e8;border-radius:6px;padding:14px 20px;margin:16px 0}
h2{font-size:18px;margin:4px 0 8px}h3{font-size:14px;margin:14px 0 6px}
.intro{color:#555;font-size:13px;margin:0 0 8px}.missing{color:#8a5a00;background:#fff6e0;padding:8px 12px;
border-radius:4px}.note{color:#555;font-size:12px}.warn{color:#a61b1b}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}.card{border:1px solid #e2e4e8;border-radius:6px;
padding:10px 16px;min-width:130px}.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}
img{max-width:100%;height:auto;display:block;margin:8px 0}
.tables{display:flex;flex-wrap:wrap;gap:0 28px;align-items:flex-start}
table{border-collapse:collapse;font-size:13px;margin:6px 0 10px}
th,td{border-bottom:1px solid #e8e8e8;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f0f2f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
tfoot td{font-weight:bold;border-top:2px solid #ccc}td.text{max-width:460px;overflow-wrap:anywhere}
.ok{color:#2e7d32}.bad{color:#c62828;font-weight:bold}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: Cell | Percent) -> str:
    if isinstance(value, Percent):
        return f'<td class="n" data-value="{value.value!r}">{value.value:.1f}%</td>'
    if isinstance(value, bool) or value is None:
        return f"<td>{'' if value is None else esc('yes' if value else 'no')}</td>"
    if isinstance(value, int):
        return f'<td class="n" data-value="{value}">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="n" data-value="{value!r}">{value:,.2f}</td>'
    return f'<td class="text">{esc(value)}</td>'


def render_table(table: Table) -> list[str]:
    out = ["<div>"]
    if table.title:
        out.append(f"<h3>{esc(table.title)}</h3>")
    table_id = f' id="{esc(table.table_id)}"' if table.table_id else ""
    out.append(f"<table{table_id}><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in table.headers)
               + "</tr></thead><tbody>")
    for i, row in enumerate(table.rows):
        key = f' data-key="{esc(table.row_keys[i])}"' if table.row_keys else ""
        out.append(f"<tr{key}>" + "".join(_cell(c) for c in row) + "</tr>")
    out.append("</tbody>")
    if table.footer is not None:
        out.append('<tfoot><tr data-key="total">' + "".join(_cell(c) for c in table.footer) + "</tr></tfoot>")
    out.append("</table></div>")
    return out


def render_section(section: Section) -> list[str]:
    out = [f'<section id="{esc(section.section_id)}"><h2>{esc(section.title)}</h2>']
    if section.intro:
        out.append(f'<p class="intro">{esc(section.intro)}</p>')
    if section.missing is not None:
        out.append(f'<p class="missing">{esc(section.missing)}</p>')
    for image in section.images:
        out.append(f'<img src="{esc(image.src)}" alt="{esc(image.alt)}">')
    if section.tables:
        out.append('<div class="tables">')
        for table in section.tables:
            out.extend(render_table(table))
        out.append("</div>")
    out.extend(f'<p class="note">{esc(note)}</p>' for note in section.notes)
    for gallery in section.galleries:
        out.extend(gal.render_gallery(gallery))
    out.append("</section>")
    return out


def render_page(title: str, subtitle: str, cards: Sequence[tuple[str, str]], sections: Sequence[Section],
                warnings: Sequence[str] = ()) -> str:
    """The whole page: a header with key numbers, a navigation bar, then the sections in order."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{CSS}{gal.CSS}</style></head><body>",
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>",
        "<nav>" + "".join(f'<a href="#{esc(s.section_id)}">{esc(s.title)}</a>' for s in sections) + "</nav>",
        "<main>",
        '<div class="cards">' + "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>'
                                        for k, v in cards) + "</div>",
    ]
    out.extend(f'<p class="warn">warning: {esc(w)}</p>' for w in warnings)
    for section in sections:
        out.extend(render_section(section))
    out.append("</main>")
    if any(g.search for s in sections for g in s.galleries):
        out.append(gal.SCRIPT)
    out.append("</body></html>\n")
    return "\n".join(out)
