"""Near duplicates as the web makes them (issue 19): recall per edit kind, false merges, hashing cost.

    python -m bench.bench_edits [--scenes 5220] [--pictures 4000] [--originals-per-source 60] [--no-append]

Recall: originals (photographs shipped in wheels, windows cut from them, photo-like scenes, demo web
pictures), each encoded as a JPEG (quality 90), and each edit of `bench/edit_corpus.py` applied and
encoded again; a copy is caught when the filter's rule joins it with its original. Every lever is
measured on the same images: the pHash alone (the rule before issue 19), the view hashes without
trimming, trimming alone (the 100% view), views and trimming, that rule with a second hash (a 64-bit
dHash of the whole grey image) confirming each pair, and the rule kept: views and trimming, a match
through views other than both 100% views confirmed by the tone words (filters/image_tone.py).
False merges: all distinct images (photographs, windows, scenes incl. ones sharing a layout or a
background, faces, demo web pictures) go through `decide_duplicates` as the filter calls it; every
row rejected is a distinct image merged. Cost: the image filter's decode-and-hash (`inspect_image`)
with and without the view hashes and the tone word, interleaved in one process.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.common import append_benchmarks, load_average, machine
from bench.edit_corpus import (
    EDITS,
    EXTRA_EDITS,
    backdrop,
    demo_pictures,
    each_demo_picture,
    encode,
    photographs,
    scene,
    windows,
)

D = 4  # dedup.phash_max_distance


def _signature(data: bytes) -> dict[str, np.ndarray]:
    """Every lever's hashes of one encoded image (as the image filter decodes it)."""
    from filters import image_inspect as ii
    from filters.image_tone import tone_word
    from filters.image_views import image_views, thumbnail, trim_box, view_hashes

    img = Image.open(io.BytesIO(data))
    if img.format == "JPEG":
        img.draft("RGB", (64, 64))
    img.load()
    grey = ii.hash_grey(img)
    thumb = thumbnail(grey)
    views = image_views(grey, thumb)
    box = trim_box(np.asarray(grey))
    tone = np.array([tone_word(img, grey, box, thumbnail(grey.crop(box)) if box else thumb)], dtype=np.uint64)
    a = np.asarray(grey.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.float64)  # dHash of the grey image
    dhash = np.packbits((a[:, 1:] > a[:, :-1]).ravel()).view(">u8").astype(np.uint64)
    return {"phash": np.array([int(ii.dct_phash_hex(grey), 16)], dtype=np.uint64),
            "crops": view_hashes(thumb), "trim": views[:1], "views": views, "dhash": dhash,
            "tone": tone}


def _near(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.bitwise_count(a[:, None] ^ b[None, :]).min() <= D)


def _confirmed(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> bool:
    """The filter's rule: the 100% views within D, or any views within D and the tone words agree."""
    from filters.image_tone import tones_agree

    if int(np.bitwise_count(x["views"][0] ^ y["views"][0])) <= D:
        return True
    return _near(x["views"], y["views"]) and bool(tones_agree(x["tone"], y["tone"])[0])


LEVERS: dict[str, Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], bool]] = {
    "pHash alone (before)": lambda x, y: _near(x["phash"], y["phash"]),
    "crop views, no trim": lambda x, y: _near(x["crops"], y["crops"]),
    "trim, 100% view only": lambda x, y: _near(x["trim"], y["trim"]),
    "trim + crop views": lambda x, y: _near(x["views"], y["views"]),
    "views + dHash <= 12 confirms": lambda x, y: _near(x["views"], y["views"])
    and int(np.bitwise_count(x["dhash"] ^ y["dhash"])[0]) <= 12,
    "views, tone confirms cropped matches (kept)": _confirmed,
}
KEPT = "views, tone confirms cropped matches (kept)"


def originals(n: int, seed: int) -> dict[str, list[Image.Image]]:
    photos = photographs()
    rng = np.random.default_rng(seed)
    wins = windows(photos, 6, seed)
    picks = rng.choice(len(wins), min(n, len(wins)), replace=False)
    return {"photographs": list(photos.values()), "photo windows": [wins[i] for i in picks],
            "scenes": [scene(seed * 7919 + i) for i in range(n)], "demo web pictures": demo_pictures(n, seed + 1)}


def recall(sources: dict[str, list[Image.Image]], seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    edits = {name: (kind, fn) for kind, (_, table) in EDITS.items() for name, fn in table.items()}
    edits.update({name: ("extra", fn) for name, fn in EXTRA_EDITS.items()})
    hits: dict[tuple[str, str, str], list[bool]] = {}
    for source, images in sources.items():
        for img in images:
            base = _signature(encode(img))
            for name, (_, fn) in edits.items():
                copy = _signature(encode(fn(img, rng)))
                for lever, rule in LEVERS.items():
                    hits.setdefault((source, name, lever), []).append(rule(base, copy))
    return {"hits": hits, "edits": edits}


def distinct_set(scenes: int, pictures: int, seed: int) -> Iterator[tuple[str, Image.Image]]:
    """The distinct images, one at a time (10,000 full-size images at once would take ~5 GB)."""
    photos = photographs()
    for p in photos.values():
        yield "photograph", p
    for w in windows(photos, 6, seed):
        yield "photo window", w
    layouts = scenes // 5  # a fifth of the scenes share their layout in tens: same sky, horizon and ridge
    for i in range(scenes - layouts):
        yield "scene", scene(seed * 104_729 + i)
    for i in range(layouts):
        yield "scene, shared layout", scene(seed * 15_485_863 + i, layout=i // 10)
    backgrounds = [scene(seed * 31 + b) for b in range(max(1, scenes // 100))]
    for i in range(scenes // 10):
        yield "object on a shared background", backdrop(seed + i, backgrounds[i % len(backgrounds)])
    for p in each_demo_picture(pictures, seed + 2):
        yield "demo web picture", p
    try:
        import skimage

        faces = np.load(Path(skimage.__file__).parent / "data" / "lfw_subset.npy")
    except (ImportError, OSError):
        return
    for f in faces:
        yield "face (LFW)", Image.fromarray((f * 255).astype(np.uint8)).resize((200, 200), Image.Resampling.BICUBIC)


def false_merges(images: Iterable[tuple[str, Image.Image]]) -> dict[str, Any]:
    from filters.dedup import NEAR_DUPLICATE_CODE, decide_duplicates

    kinds: list[str] = []
    sigs: list[dict[str, np.ndarray]] = []
    areas: list[int] = []
    for kind, img in images:
        kinds.append(kind)
        sigs.append(_signature(encode(img)))
        areas.append(img.size[0] * img.size[1])
    n = len(sigs)
    keys = np.arange(1, n + 1, dtype=np.uint64)
    shas = [hashlib.sha256(str(i).encode()).digest() for i in range(n)]
    area = np.array(areas, dtype=np.int64)
    out: dict[str, Any] = {"n": n, "kinds": {}}
    for kind in kinds:
        out["kinds"][kind] = out["kinds"].get(kind, 0) + 1
    tone = np.concatenate([s["tone"] for s in sigs])
    for lever, column, confirm in (("pHash alone (before)", "phash", None), ("trim + crop views", "views", None),
                                   (KEPT, "views", tone)):
        res = decide_duplicates(keys, shas, np.stack([s[column] for s in sigs]), area, D, tone=confirm)
        merged = np.flatnonzero(res.reason_code == NEAR_DUPLICATE_CODE)
        out[lever] = [(kinds[i], kinds[int(res.kept_index[i])]) for i in merged.tolist()]
    return out


def hashing_cost(sources: dict[str, list[Image.Image]], rounds: int = 6) -> dict[str, float]:
    """CPU µs per image of `inspect_image` with three hash steps, interleaved image by image (the
    machine's load drifts): the pHash alone as before issue 19 (np.median), the view hashes added
    (round 1), and the view hashes and the tone word (the filter now)."""
    from filters import image_inspect as ii
    from filters.image_views import DCT, image_views, thumbnail, views_to_bytes

    datas = [encode(img, 85) for imgs in sources.values() for img in imgs][:400]
    now = ii.hashes

    def before(img: Image.Image) -> tuple[str, bytes, int]:
        thumb = thumbnail(ii.hash_grey(img))
        low = DCT @ thumb @ DCT.T
        return np.packbits((low > np.median(low)).ravel()).tobytes().hex(), b"", 0

    def views(img: Image.Image) -> tuple[str, bytes, int]:
        grey = ii.hash_grey(img)
        thumb = thumbnail(grey)
        return ii._phash_of(thumb), views_to_bytes(image_views(grey, thumb)), 0

    steps = {"before_us": before, "views_us": views, "with_us": now}
    spent = dict.fromkeys(steps, 0.0)
    try:
        for _ in range(rounds):
            for d in datas:
                for label, fn in steps.items():
                    ii.hashes = fn  # type: ignore[assignment]
                    t0 = time.process_time()
                    ii.inspect_image(d, 10**9)
                    spent[label] += time.process_time() - t0
    finally:
        ii.hashes = now  # type: ignore[assignment]
    return {k: v / (rounds * len(datas)) * 1e6 for k, v in spent.items()}


def report(rec: dict[str, Any], fm: dict[str, Any], cost: dict[str, float], command: str) -> str:
    hits, edits = rec["hits"], rec["edits"]
    levers = list(LEVERS)
    sources = sorted({k[0] for k in hits})

    def rate(name: str, lever: str, src: list[str]) -> tuple[float, int]:
        v = [h for s in src for h in hits[(s, name, lever)]]
        return float(np.mean(v)), len(v)

    lines = ["| edit | kind (goal) | " + " | ".join(levers) + " | kept, photographs only |",
             "|---|---|" + "---:|" * (len(levers) + 1)]
    for name, (kind, _) in edits.items():
        goal = f"{EDITS[kind][0]:.2f}" if kind in EDITS else "none"
        cells = [f"{rate(name, lv, sources)[0]:.3f}" for lv in levers]
        lines.append(f"| {name} | {kind} (>= {goal}) | " + " | ".join(cells) +
                     f" | {rate(name, KEPT, ['photographs'])[0]:.3f} |")
    lines.append("")
    lines.append("| kind | goal | " + " | ".join(levers) + " |")
    lines.append("|---|---:|" + "---:|" * len(levers))
    for kind, (goal, table) in EDITS.items():
        cells = []
        for lv in levers:
            v = [h for name in table for s in sources for h in hits[(s, name, lv)]]
            cells.append(f"{np.mean(v):.3f}")
        lines.append(f"| {kind} | {goal:.2f} | " + " | ".join(cells) + " |")
    n_orig = {s: len(hits[(s, next(iter(edits)), levers[0])]) for s in sources}
    kinds = ", ".join(f"{k} {v:,}" for k, v in fm["kinds"].items())
    merges = []
    for lever in ("pHash alone (before)", "trim + crop views", KEPT):
        pairs = fm[lever]
        detail = ", ".join(f"{a} into {b}" for a, b in pairs[:5]) + (" ..." if len(pairs) > 5 else "")
        merges.append(f"{lever}: {len(pairs)} distinct images merged" + (f" ({detail})" if pairs else ""))
    notes = [
        f"Command: `{command}`. Machine: {machine()}; {load_average()}.",
        "Originals per source: " + ", ".join(f"{s} {n}" for s, n in n_orig.items()) + "; each original and each "
        f"copy a JPEG at quality 90 (the resize edits re-encode at their own quality first); caught = joined "
        f"within dedup.phash_max_distance {D}.",
        f"False merges on {fm['n']:,} distinct images ({kinds}), through `decide_duplicates` as the filter "
        "calls it: " + "; ".join(merges) + ".",
        "Hashing cost, CPU µs per image of `inspect_image` (decode in draft mode, sha256, hashes; interleaved "
        f"image by image, 6 rounds over the same JPEGs): pHash alone as before issue 19 {cost['before_us']:.0f}, "
        f"with the view hashes {cost['views_us']:.0f} ({cost['views_us'] / cost['before_us'] - 1:+.1%}), with the "
        f"view hashes and the tone word (now) {cost['with_us']:.0f} ({cost['with_us'] / cost['before_us'] - 1:+.1%}).",
    ]
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--originals-per-source", type=int, default=60)
    ap.add_argument("--scenes", type=int, default=5220)
    ap.add_argument("--pictures", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-append", action="store_true")
    a = ap.parse_args(argv)
    sources = originals(a.originals_per_source, a.seed)
    rec = recall(sources, a.seed)
    print("recall measured", flush=True)
    fm = false_merges(distinct_set(a.scenes, a.pictures, a.seed))
    print("false merges measured", flush=True)
    cost = hashing_cost(sources)
    command = "python -m bench.bench_edits " + " ".join(sys.argv[1:] if argv is None else argv)
    text = report(rec, fm, cost, command.strip())
    print(text)
    if not a.no_append:
        append_benchmarks("Near duplicates as the web makes them: bench/bench_edits.py", text)


if __name__ == "__main__":
    main()
