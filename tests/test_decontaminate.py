"""Decontamination (`dedup.exclude`): candidates near a reference image are rejected as `contaminated`
with the reference named; references from folders, globs and parquet files; bad input is one line."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from candidate_parts import write_candidate_parts
from loopback import serve_app
from PIL import Image

from filters.dedup import decide_duplicates
from filters.image_inspect import phash_hex
from filters.image_views import VIEW_COUNT
from filters.references import list_references, load_reference_hashes
from manifests.config import Config
from manifests.reasons import CONTAMINATED, NEAR_DUPLICATE
from wukong.cli import main
from wukong.demoweb.pictures import codewords, colourise, ramp, render_luma

N = 40
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
CODES = codewords(N + 5, seed=11)


def picture(i: int, w: int = 400, h: int = 300) -> Image.Image:
    return colourise(render_luma(int(CODES[i]), 1000 + i, w, h), ramp(1000 + i), "RGB")


def encode(img: Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _app() -> web.Application:
    images = {i: encode(picture(i), quality=90) for i in range(N)}

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=images[int(request.match_info["i"])], content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/img/{i}.jpg", handler)
    return app


@pytest.fixture(scope="module")
def candidates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with serve_app(_app()) as base:
        captions = ["北京故宫的红墙{}号", "海边的日落风景{}"]
        yield write_candidate_parts(tmp_path_factory.mktemp("candidates"), base, captions, N)


def reference_folder(root: Path) -> Path:
    """Re-encoded copies of candidates 3 (JPEG quality 40), 7 (resized to 70%), 12 (PNG), in
    subfolders; one image that no candidate resembles, and a file that is not an image."""
    refs = root / "coco_cn"
    (refs / "val").mkdir(parents=True)
    (refs / "val" / "q40.jpg").write_bytes(encode(picture(3), quality=40))
    (refs / "val" / "small.jpg").write_bytes(encode(picture(7).resize((280, 210), Image.Resampling.LANCZOS)))
    (refs / "png.png").write_bytes(encode(picture(12), "PNG"))
    (refs / "other.webp").write_bytes(encode(picture(N + 1), "WEBP"))
    (refs / "README.txt").write_text("COCO-CN test images\n")
    return refs


def _filter(cands: Path, out: Path, exclude: list[str], *extra: str) -> int:
    args = ["--quiet", "filter", "--in", str(cands), "--out", str(out), "--config", str(CONFIG),
            "--set", "ray.rows_per_task=15", "--set", "privacy.mask_person_names=false",
            "--set", f"dedup.exclude={json.dumps(exclude)}"]
    for s in extra:
        args += ["--set", s]
    return main(args)


def _outcomes(out: Path) -> dict[int, tuple[str | None, str | None]]:
    got: dict[int, tuple[str | None, str | None]] = {}
    for folder in ("kept", "rejected"):
        for f in sorted((out / folder).glob("*.parquet")):
            t = pq.read_table(f).to_pylist()
            for r in t:
                got[int(r["url"].rsplit("/", 1)[1].split(".")[0])] = (r.get("reason"), r.get("detail"))
    return got


def test_reencoded_copies_are_contaminated_with_their_reference(candidates: Path, tmp_path: Path,
                                                                ray_local: None,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    refs = reference_folder(tmp_path)
    # parquet references: image bytes (a copy of 20, quality 50) and bare pHashes (of 25, 26)
    pq.write_table(pa.table({"id": ["a"], "image": [encode(picture(20), quality=50)]}), tmp_path / "muge.parquet")
    hashes = [phash_hex(picture(25)), phash_hex(picture(26).resize((300, 225)))]
    pq.write_table(pa.table({"phash": hashes}), tmp_path / "flickr.parquet")
    out = tmp_path / "filtered"
    assert _filter(candidates, out, [str(refs), str(tmp_path / "muge.parquet"), str(tmp_path / "*.parquet")]) == 0
    assert "dedup.exclude: 7 reference images hashed" in capsys.readouterr().out
    got = _outcomes(out)
    assert len(got) == N
    contaminated = {i: d for i, (r, d) in got.items() if r == CONTAMINATED}
    assert contaminated == {3: "coco_cn/val/q40.jpg", 7: "coco_cn/val/small.jpg", 12: "coco_cn/png.png",
                            20: "muge.parquet#0", 25: "flickr.parquet#0", 26: "flickr.parquet#1"}
    assert all(r is None for i, (r, _) in got.items() if i not in contaminated)  # distinct images untouched
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rejected"] == {CONTAMINATED: 6} and stats["kept"] == N - 6

    # the report counts them in their funnel step
    assert main(["report", "--data-dir", str(tmp_path), "--samples", "0"]) == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "evaluation-set decontamination" in page and CONTAMINATED in page

    # a resumed run reuses the cached reference hashes: same result, nothing hashed again
    cache = sorted((out / "_work").glob("references-*.parquet"))
    assert len(cache) == 1
    stamp = cache[0].stat().st_mtime_ns
    assert _filter(candidates, out, [str(refs), str(tmp_path / "muge.parquet"), str(tmp_path / "*.parquet")]) == 0
    assert cache[0].stat().st_mtime_ns == stamp and _outcomes(out) == got
    # a changed reference folder restarts the run: the copy of 12 removed, 12 is kept again
    (refs / "png.png").unlink()
    assert _filter(candidates, out, [str(refs)]) == 0
    again = {i: d for i, (r, d) in _outcomes(out).items() if r == CONTAMINATED}
    assert again == {3: "coco_cn/val/q40.jpg", 7: "coco_cn/val/small.jpg"}


def test_unreadable_reference_is_counted_and_named(candidates: Path, tmp_path: Path, ray_local: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    refs = reference_folder(tmp_path)
    (refs / "broken.jpg").write_bytes(encode(picture(5))[:300])  # truncated
    (refs / "empty.png").write_bytes(b"")
    assert _filter(candidates, tmp_path / "filtered", [str(refs)]) == 0
    out = capsys.readouterr().out
    assert "4 reference images hashed; 2 unreadable: coco_cn/broken.jpg (corrupt_image" in out
    assert "coco_cn/empty.png (empty_body" in out
    assert {i for i, (r, _) in _outcomes(tmp_path / "filtered").items() if r == CONTAMINATED} == {3, 7, 12}


def _empty_folder(p: Path) -> Path:
    (p / "empty").mkdir()
    return p / "empty"


def _text_only(p: Path) -> Path:
    (p / "t").mkdir()
    (p / "t" / "a.txt").write_text("x")
    return p / "t"


def _parquet(p: Path, table: pa.Table) -> Path:
    pq.write_table(table, p / "refs.parquet")
    return p / "refs.parquet"


def _not_parquet(p: Path) -> Path:
    (p / "n.parquet").write_bytes(b"PAR1 not parquet")
    return p / "n.parquet"


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p / "missing", "not found"),
    (_empty_folder, "no reference images in"),
    (_text_only, "no reference images in"),
    (lambda p: p / "*.jpg", "no reference images in"),
    (lambda p: _parquet(p, pa.table({"url": ["x"]})), "no image (binary) or phash column"),
    (lambda p: _parquet(p, pa.table({"phash": ["xyz"]})), "phash values must be 16 hex characters"),
    (_not_parquet, "not a readable parquet"),
])
def test_bad_reference_input_is_one_line_before_ray(make, message: str, candidates: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    entry = make(tmp_path)
    assert _filter(candidates, tmp_path / "filtered", [str(entry)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wukong: error: dedup.exclude: ")
    assert message in err and "\n" not in err
    assert not (tmp_path / "filtered" / "_work").exists()  # nothing ran


def test_reference_listing_and_hashing_without_ray(tmp_path: Path) -> None:
    refs = reference_folder(tmp_path)
    listed = list_references([str(refs)], Config().storage)
    assert [f.name for f in listed.files] == ["coco_cn/other.webp", "coco_cn/png.png", "coco_cn/val/q40.jpg",
                                              "coco_cn/val/small.jpg"]
    assert [f.name for f in list_references([str(refs / "val" / "*.jpg")], Config().storage).files] == [
        "q40.jpg", "small.jpg"]
    hashes = load_reference_hashes(listed, tmp_path / "cache.parquet", Config())
    assert hashes.names == [f.name for f in listed.files] and hashes.hashes.dtype == np.uint64
    assert hashes.ids.tolist() == [i for i in range(4) for _ in range(VIEW_COUNT)]
    # an image without borders: its 100% view is its pHash
    assert int(hashes.hashes[VIEW_COUNT]) == int(phash_hex(Image.open(refs / "png.png")), 16)
    assert list_references([str(refs)], Config().storage).digest == listed.digest
    (refs / "val" / "q40.jpg").write_bytes(encode(picture(3), quality=41))
    assert list_references([str(refs)], Config().storage).digest != listed.digest


def test_references_on_object_storage(tmp_path: Path, s3_server) -> None:  # type: ignore[no-untyped-def]
    refs = reference_folder(tmp_path)
    pq.write_table(pa.table({"image": [encode(picture(20), quality=50)]}), tmp_path / "muge.parquet")
    bucket = s3_server.new_bucket()
    fs = s3_server.filesystem()
    fs.put(str(refs) + "/", f"{bucket}/eval/coco_cn/", recursive=True)
    fs.put(str(tmp_path / "muge.parquet"), f"{bucket}/eval/muge.parquet")
    cfg = Config()
    cfg.storage.endpoint_url, cfg.storage.region = s3_server.endpoint, "us-east-1"
    cfg.storage.access_key_id, cfg.storage.secret_access_key = "wukong-test", "wukong-test-secret"
    listed = list_references([f"s3://{bucket}/eval/coco_cn", f"s3://{bucket}/eval/*.parquet"], cfg.storage)
    assert [f.name for f in listed.files] == ["coco_cn/other.webp", "coco_cn/png.png", "coco_cn/val/q40.jpg",
                                              "coco_cn/val/small.jpg", "muge.parquet"]
    hashes = load_reference_hashes(listed, tmp_path / "cache.parquet", cfg)
    local = load_reference_hashes(list_references([str(refs), str(tmp_path / "muge.parquet")], cfg.storage),
                                  tmp_path / "local.parquet", cfg)
    assert hashes.names[-1] == "muge.parquet#0" and hashes.hashes.tolist() == local.hashes.tolist()


def test_a_crop_or_a_framed_copy_of_a_reference_is_contamination(tmp_path: Path) -> None:
    """References get the candidates' view hashes: a candidate that is a crop of a test image, or the
    test image in a frame, matches it (the pHash alone would not)."""
    from PIL import ImageOps

    from filters.image_inspect import inspect_image
    from filters.image_views import views_from_bytes

    refs = tmp_path / "refs"
    refs.mkdir()
    for i in (1, 2, 3):
        (refs / f"{i}.jpg").write_bytes(encode(picture(i)))
    candidates = [picture(1).crop((36, 27, 364, 273)),  # 9% a side cut
                  ImageOps.expand(picture(2), 30, (255, 255, 255)),  # a white frame
                  picture(4)]  # unrelated
    hashes = load_reference_hashes(list_references([str(refs)], Config().storage), tmp_path / "c.parquet", Config())
    rows = np.vstack([views_from_bytes(inspect_image(encode(c), 10**9).views, 1) for c in candidates])
    res = decide_duplicates([str(i).zfill(20) for i in (1, 2, 3)], [_sha(i) for i in (1, 2, 3)], rows,
                            np.array([1, 1, 1]), 4, references=hashes.hashes, reference_ids=hashes.ids)
    assert res.reasons().tolist() == [CONTAMINATED, CONTAMINATED, None]
    assert res.details(hashes.names).tolist()[:2] == ["refs/1.jpg", "refs/2.jpg"]
    before = [bin(int(phash_hex(c), 16) ^ int(phash_hex(picture(i)), 16)).count("1") for c, i in
              zip(candidates[:2], (1, 2), strict=True)]
    assert min(before) > 4


# ----------------------------------------------------------------------- the decision, on hashes alone


def _sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _flip(h: int, *bits: int) -> int:
    for b in bits:
        h ^= 1 << b
    return h


def test_group_member_near_a_reference_takes_the_kept_member_with_it() -> None:
    base = 0x0123456789ABCDEF
    keys = [str(i).zfill(20) for i in (1, 2, 3, 4)]
    phash = np.array([base, _flip(base, 60, 61, 62), _flip(base, 0), 0xFEDCBA9876543210], dtype=np.uint64)
    area = np.array([100, 900, 50, 100])
    # reference r0 is 2 bits from row 2 only (5 bits from the kept row 1); r1 matches nothing; r2 row 0 exactly
    refs = np.array([_flip(base, 0, 1, 2), 0x0F0F0F0F0F0F0F0F, base], dtype=np.uint64)
    res = decide_duplicates(keys, [_sha(i) for i in range(4)], phash, area, 4, references=refs)
    assert res.reasons().tolist() == [NEAR_DUPLICATE, CONTAMINATED, NEAR_DUPLICATE, None]
    assert res.details(["r0", "r1", "r2"]).tolist()[1] == "r2"  # the group's best match: distance 0
    assert res.counts()[CONTAMINATED] == 1


def test_distance_boundary_ties_and_order_do_not_matter() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    phash = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
    refs = np.concatenate([phash[:50] ^ np.uint64(0b1111), phash[50:100] ^ np.uint64(0b11111),
                           phash[:50] ^ np.uint64(0b11)])  # at 4 bits (hit), 5 bits (miss), 2 bits (better)
    keys = rng.permutation(n).astype(np.uint64) + 1
    shas = [_sha(i) for i in range(n)]
    area = rng.integers(1, 100, n)

    def decided(order: np.ndarray, ref_order: np.ndarray) -> dict[int, tuple[str | None, str | None]]:
        names = [f"ref{i}" for i in range(len(refs))]
        res = decide_duplicates(keys[order], [shas[i] for i in order], phash[order], area[order], 4,
                                references=refs[ref_order])
        det = res.details([names[i] for i in ref_order])
        return {int(k): (r, d) for k, r, d in zip(keys[order], res.reasons(), det, strict=True)}

    base = decided(np.arange(n), np.arange(len(refs)))
    hit = {int(keys[i]) for i in range(50)}
    assert {k for k, (r, _) in base.items() if r == CONTAMINATED} == hit
    assert all(base[int(keys[i])][1] == f"ref{100 + i}" for i in range(50))
    assert decided(rng.permutation(n), np.arange(len(refs))) == base
    # the same hash twice among the references: the first in `dedup.exclude` order is named
    twice = np.concatenate([refs, refs[100:101]])
    res = decide_duplicates(keys, shas, phash, area, 4, references=twice)
    assert res.details([f"ref{i}" for i in range(len(twice))])[0] == "ref100"
    # with near dedup off, contamination still runs
    res = decide_duplicates(keys, shas, phash, area, 4, near=False, references=refs)
    assert res.counts()[CONTAMINATED] == 50
