"""The report's sections that show the data itself: a searchable grid of kept pairs, a few rejected
pairs per reason, and near-duplicate groups side by side (the kept member marked).

Thumbnails are written by `ThumbWriter` from the bytes `samples` found; a section whose stage has
not run, or whose pairs have no stored bytes, says so instead of showing broken images.
"""

from __future__ import annotations

from wukong.report.data import ReportData
from wukong.report.funnel import step_of
from wukong.report.gallery import Gallery, Tile
from wukong.report.page import Section
from wukong.report.samples import NearGroup, Pair, SampleLimits, SampleSet
from wukong.report.thumbs import MAX_SIDE, ThumbWriter

NEEDS_KEPT = "Needs kept pairs: run `wukong filter` (or `wukong shard` for a release)."
# Why a rejected pair of each step has no thumbnail.
_NO_IMAGE = {
    "text": "rejected before download", "frequent_caption": "rejected before download",
    "url": "rejected before download", "download": "download failed",
    "image": "bytes not kept by the filter", "duplicate_image": "no stored bytes",
    "near_duplicate": "no stored bytes", "other": "no stored bytes",
}


def _size(pair: Pair) -> str | None:
    return f"{pair.width}x{pair.height}" if pair.width is not None and pair.height is not None else None


def _tile(pair: Pair, thumbs: ThumbWriter, details: list[str], group: str | None = None, kept: bool = False,
          missing: str = "no image", size: bool = False) -> Tile:
    """A tile of `pair`; `size` adds the image's width x height (from the data, else from its bytes)."""
    thumb = thumbs.write(pair.key, pair.image) if pair.key and pair.image is not None else None
    if thumb is None and pair.image is not None:
        missing = "image does not decode"
    if size:
        measured = _size(pair) or (f"{thumb.original[0]}x{thumb.original[1]}" if thumb else None)
        details = [*details, measured or ""]
    return Tile(pair.caption, [d for d in details if d], thumb.src if thumb else None,
                (thumb.width, thumb.height) if thumb else None, pair.key, pair.url, group, kept, missing)


def _source_line(pair: Pair) -> str:
    source = pair.source or "(no source)"
    return f"{source} · {pair.query}" if pair.query else source


def kept_section(data: ReportData, samples: SampleSet, limits: SampleLimits, thumbs: ThumbWriter) -> Section:
    section = Section("samples-kept", "Kept samples")
    if samples.kept_from is None:
        section.missing = NEEDS_KEPT
        return section
    if not samples.kept:
        section.notes.append("No kept pairs.")
        return section
    tiles = [_tile(p, thumbs, [_source_line(p)], size=True) for p in samples.kept]
    shown = sum(t.thumb_src is not None for t in tiles)
    section.intro = (f"{len(samples.kept):,} of {samples.kept_total:,} kept pairs, picked at random (seed "
                     f"{limits.seed}) from the {samples.kept_from}: thumbnails (at most {MAX_SIDE} px) made from "
                     f"the stored image bytes, with the caption, where the pair came from and the image's size.")
    if shown < len(tiles):
        section.notes.append(f"{len(tiles) - shown} of {len(tiles)} pairs have no thumbnail: their stored bytes "
                             "do not decode as an image.")
    section.galleries.append(Gallery("kept-grid", tiles, search=True))
    return section


def _reason_note(samples: SampleSet) -> str:
    work = ("the filter's work files (filtered/_work/) hold them" if samples.has_work_files
            else "filtered/_work/ is gone, so they have none either")
    return ("A few pairs per reason (picked at random, in pipeline order). Thumbnails exist only where the image "
            "bytes were stored: for duplicate_image and near_duplicate rows " + work + "; images rejected by the "
            "download or the image checks were never stored, and nothing is downloaded again for the report.")


def rejected_section(data: ReportData, samples: SampleSet, thumbs: ThumbWriter) -> Section:
    section = Section("samples-rejected", "Rejected examples")
    if data.filtered is None:
        section.missing = "Needs the filter stage (filtered/stats.json): run `wukong filter`."
        return section
    if not samples.rejected:
        section.notes.append("No rejected pairs.")
        return section
    section.intro = _reason_note(samples)
    stats = data.filtered.stats
    for reason, pairs in samples.rejected.items():
        missing = _NO_IMAGE[step_of(reason)]
        tiles = [_tile(p, thumbs, [f"{reason}: {p.detail}" if p.detail else reason], missing=missing,
                       size=p.image is not None) for p in pairs]
        section.galleries.append(Gallery(f"rejected-{reason}", tiles,
                                         title=f"{reason} ({stats.rejected.get(reason, 0):,} pairs)",
                                         attrs={"data-reason": reason}))
    return section


def _group_gallery(group: NearGroup, thumbs: ThumbWriter) -> Gallery:
    tiles: list[Tile] = []
    if group.kept is not None:
        tiles.append(_tile(group.kept, thumbs, [], group=group.group_id, kept=True, size=True))
    else:
        tiles.append(Tile("(the kept member is not in the kept parts)", ["kept"], key=group.group_id,
                          group=group.group_id, kept=True))
    tiles += [_tile(p, thumbs, ["near_duplicate"], group=group.group_id, missing="no stored bytes", size=True)
              for p in group.members]
    shown = len(group.members) + 1
    more = f", {shown} shown" if shown < group.size else ""
    return Gallery(f"group-{group.group_id}", tiles, title=f"group {group.group_id}: {group.size} images{more}",
                   layout="group", group=group.group_id)


def groups_section(data: ReportData, samples: SampleSet, thumbs: ThumbWriter) -> Section:
    section = Section("samples-groups", "Near-duplicate groups")
    if data.filtered is None:
        section.missing = "Needs the filter stage (filtered/stats.json): run `wukong filter`."
        return section
    if not samples.groups:
        section.notes.append("No near-duplicate groups: no pair was rejected as near_duplicate.")
        return section
    section.intro = (f"{len(samples.groups)} of {samples.group_total:,} groups of near-identical images (pHash "
                     "within dedup.phash_max_distance), picked at random and shown largest first: the kept member "
                     "(green, first) and the rejected members that name it in `detail`.")
    if not samples.has_work_files:
        section.notes.append("filtered/_work/ is gone: the rejected members' bytes went with it, so only the kept "
                             "members have thumbnails.")
    section.galleries += [_group_gallery(g, thumbs) for g in samples.groups]
    return section


def sample_sections(data: ReportData, samples: SampleSet, limits: SampleLimits, thumbs: ThumbWriter,
                    ) -> list[Section]:
    if limits.kept <= 0:
        return [Section("samples-kept", "Samples", notes=["Samples are off (--samples 0): no thumbnails."])]
    return [kept_section(data, samples, limits, thumbs), rejected_section(data, samples, thumbs),
            groups_section(data, samples, thumbs)]
