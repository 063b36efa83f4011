"""The filter stage's non-text steps alone on small pyarrow tables: URL keys, global caption frequency
and URL dedup, the image filter on good and bad bodies, task planning and its one-line errors."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageFile

from filters.base import apply_filters
from filters.global_text import caption_hash64, decide_global_text
from filters.image import ImageFilter
from filters.plan import plan_tasks
from filters.url import UrlFilter
from manifests.config import Config
from manifests.errors import UserError
from manifests.keys import key_for_url, normalize_url
from manifests.schemas import CANDIDATE


def _img(w: int, h: int, fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(w * 7 + h)
    arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    Image.fromarray(arr, "RGB").convert(mode).save(buf, fmt)
    return buf.getvalue()


def _bomb_png(side: int = 30000) -> bytes:
    """A tiny PNG whose header declares side x side pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 100))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


def test_url_filter_keys_are_digits_and_stable() -> None:
    table = pa.table({"url": ["HTTP://Example.COM:80/a/图.jpg#x", "http://example.com/a/%E5%9B%BE.jpg",
                              "ftp://x/y.jpg", None]})
    out = apply_filters(table, [UrlFilter(Config())])
    keys = out.column("key").to_pylist()
    assert keys[0] == keys[1] and keys[0].isdigit() and len(keys[0]) == 20
    assert keys[0] == key_for_url(normalize_url("http://example.com/a/图.jpg"))
    assert out.column("reason").to_pylist() == [None, None, "invalid_url", "invalid_url"]


def test_frequent_captions_counted_over_all_rows_and_url_dedup_tie_rule() -> None:
    caps = ["查看源网页"] * 4 + ["海边日落", "海边日落", "雪山"]
    urls = [1, 2, 3, 4, 10, 10, 11]
    alive = np.array([True, True, True, False, True, True, True])
    pages = {4: ("http://b/page", "海边日落"), 5: ("http://a/page", "海边日落")}
    result = decide_global_text(
        np.array([caption_hash64(c) for c in caps], dtype=np.uint64),
        np.array(urls, dtype=np.uint64),
        alive,
        max_caption_repeats=3,
        tie_breaker=lambda pos: [pages[int(p)] for p in pos],
    )
    decided = dict(zip(result.rows.tolist(), result.reasons, strict=True))
    # 4 rows share the boilerplate caption (one already rejected still counts): the 3 alive ones go.
    assert decided == {0: "frequent_caption", 1: "frequent_caption", 2: "frequent_caption", 4: "duplicate_url"}
    assert result.details[:3] == ["4 pairs"] * 3


def test_image_filter_reasons_and_measurements() -> None:
    bodies = [
        _img(400, 300),                      # kept
        _img(400, 300, "PNG"),              # kept, png
        _img(150, 400),                      # too small
        _img(900, 250),                      # aspect 3.6
        _img(400, 300)[:2000],               # truncated
        b"<html><body>not found</body></html>",
        _bomb_png(),
        b"",
    ]
    table = pa.table({"image": pa.array(bodies, pa.binary())})
    out = apply_filters(table, [ImageFilter(Config())])
    assert out.column("reason").to_pylist() == [
        None, None, "too_small", "bad_aspect", "corrupt_image", "not_an_image", "decompression_bomb", "empty_body"]
    assert out.column("width").to_pylist()[:2] == [400, 400]
    assert out.column("mime").to_pylist()[:2] == ["image/jpeg", "image/png"]
    assert all(len(h) == 16 for h in out.column("phash").to_pylist()[:2])


def test_exif_rotation_swaps_width_and_height() -> None:
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (300, 500, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    out = apply_filters(pa.table({"image": pa.array([buf.getvalue()], pa.binary())}), [ImageFilter(Config())])
    assert (out.column("width")[0].as_py(), out.column("height")[0].as_py()) == (300, 500)


def _rotated_jpeg(w: int, h: int) -> bytes:
    img = Image.fromarray(np.random.default_rng(2).integers(0, 255, (h, w, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_an_image_failing_the_size_checks_is_measured_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not decoded: too_small or bad_aspect with the size after EXIF rotation, no hashes; a truncated
    body of a failing size says its size, a truncated body of a good size is still corrupt_image."""
    bodies = [_img(150, 400), _img(150, 400, "PNG"), _img(900, 250, "WEBP"), _rotated_jpeg(500, 150),
              _img(150, 400)[:1500], _img(400, 300)[:2000], _img(400, 300)]
    decoded: list[str] = []
    load = ImageFile.ImageFile.load  # every format's decode ends here (WebP's through super())

    def counted(self: ImageFile.ImageFile) -> object:
        decoded.append(self.format or "")
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    out = apply_filters(pa.table({"image": pa.array(bodies, pa.binary())}), [ImageFilter(Config())])
    assert out.column("reason").to_pylist() == ["too_small", "too_small", "bad_aspect", "too_small", "too_small",
                                                "corrupt_image", None]
    assert out.column("detail").to_pylist()[:5] == ["150x400", "150x400", "900x250", "150x500", "150x400"]
    assert out.column("mime").to_pylist()[:4] == ["image/jpeg", "image/png", "image/webp", "image/jpeg"]
    assert [h is None for h in out.column("phash").to_pylist()] == [True, False, True, True, True, True, False]
    # the PNG (its EXIF may follow its pixels), the truncated good-size JPEG and the kept one were decoded
    assert sorted(set(decoded)) == ["JPEG", "PNG"] and decoded.count("JPEG") >= 2


def test_each_signature_is_opened_by_its_own_plugin_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Image.open is told the format the magic bytes announce: no other plugin reads the header (TGA and
    others accept any bytes), and an unreadable body's detail names no object address (reruns write
    the same bytes)."""
    from filters import image_inspect

    tried: list[str] = []
    opener = Image.open

    def recording(fp: object, mode: str = "r", formats: list[str] | None = None) -> Image.Image:
        tried.append(",".join(formats or ["every plugin"]))
        return opener(fp, mode, formats)  # type: ignore[arg-type]

    monkeypatch.setattr(image_inspect.Image, "open", recording)
    bodies = [_img(400, 300), _img(400, 300, "PNG"), _img(400, 300, "GIF"), _img(400, 300, "WEBP"),
              _img(400, 300, "BMP"), b"\xff\xd8\xff" + b"\0" * 50]
    infos = [image_inspect.inspect_image(b, 10**8) for b in bodies]
    assert tried == ["JPEG", "PNG", "GIF", "WEBP", "BMP,DIB", "JPEG"]
    assert [i.mime for i in infos[:5]] == ["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"]
    assert all(i.reason is None for i in infos[:5])
    assert (infos[5].reason, infos[5].detail) == ("corrupt_image", "cannot identify image file")


def _write_candidates(path: Path, n: int) -> None:
    rows = {f.name: pa.nulls(n, f.type) for f in CANDIDATE}
    rows["url"] = pa.array([f"http://127.0.0.1/{i}.jpg" for i in range(n)])
    pq.write_table(pa.Table.from_pydict(rows, schema=CANDIDATE), path)


def test_plan_cuts_parts_into_tasks_and_rejects_bad_input(tmp_path: Path) -> None:
    _write_candidates(tmp_path / "part-site-00000.parquet", 25)
    _write_candidates(tmp_path / "part-site-00001.parquet", 5)
    tasks = plan_tasks(tmp_path, rows_per_task=10)
    assert [(t.start, t.stop) for t in tasks] == [(0, 10), (10, 20), (20, 25), (0, 5)]
    assert [t.task_id for t in tasks] == [0, 1, 2, 3]

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no candidate parquet parts"):
        plan_tasks(empty, 10)
    with pytest.raises(UserError, match="input folder not found"):
        plan_tasks(tmp_path / "nope", 10)
    bad = tmp_path / "bad"
    bad.mkdir()
    pq.write_table(pa.table({"url": ["http://x/y.jpg"]}), bad / "part-00000.parquet")
    with pytest.raises(UserError, match="missing column"):
        plan_tasks(bad, 10)
    (bad / "part-00000.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(UserError, match="not a readable parquet"):
        plan_tasks(bad, 10)


def test_work_of_an_older_layout_is_started_over_not_resumed(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A `_work/` written by a version whose work files had another shape (before the image pass kept
    view hashes) must not be read back: the fingerprint carries the layout's version."""
    import filters.plan as plan
    from manifests.layout import FilteredDir

    (tmp_path / "in").mkdir()
    _write_candidates(tmp_path / "in" / "part-site-00000.parquet", 5)
    tasks = plan.plan_tasks(tmp_path / "in", rows_per_task=10)
    layout = plan.WorkLayout(FilteredDir(tmp_path / "out"))
    monkeypatch.setattr(plan, "WORK_FORMAT", plan.WORK_FORMAT - 1)
    assert plan.prepare_work(layout, tasks, Config()) is False
    (layout.image_dir).mkdir(parents=True)
    (layout.image(0)).write_bytes(b"an old image work file")
    assert plan.prepare_work(layout, tasks, Config()) is True  # same version: resumed
    monkeypatch.setattr(plan, "WORK_FORMAT", plan.WORK_FORMAT + 1)
    assert plan.prepare_work(layout, tasks, Config()) is False  # a newer version starts over
    assert not layout.image(0).exists()
