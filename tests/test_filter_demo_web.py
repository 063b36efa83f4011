"""Crawl the demo web with the site spider, filter it, and compare every row with the ground truth:
each pair kept or rejected with the reason the demo web planted, and the accounting invariant."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from filters.runner import run_filter
from manifests.config import load_config
from wukong.cli import main as wukong

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo.yaml"
NOT_CANDIDATES = {"not_crawled", "empty_caption"}  # the crawler never emits these pairs


@pytest.fixture(scope="module")
def filtered(demo_web, ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("demo")
    rc = wukong(["-q", "crawl", "--spider", "site", "--start-url", f"{demo_web.base_url}/", "--config", str(CONFIG),
                 "--out", str(root / "candidates")])
    assert rc == 0
    assert "crawl site:" in (root / "logs" / "crawl.log").read_text(encoding="utf-8")  # DIR/logs/<stage>.log
    run_filter(root / "candidates", root / "filtered", load_config(CONFIG))
    return root


def _outcomes(filtered_dir: Path) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    got: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for f in sorted((filtered_dir / "rejected").glob("*.parquet")):
        for r in pq.read_table(f, columns=["page_url", "url", "reason", "detail"]).to_pylist():
            got[(r["page_url"], r["url"])] = (r["reason"], r["detail"])
    for f in sorted((filtered_dir / "kept").glob("*.parquet")):
        for r in pq.read_table(f, columns=["page_url", "url", "caption"]).to_pylist():
            got[(r["page_url"], r["url"])] = (None, r["caption"])
    return got


def test_every_ground_truth_decision_is_reproduced(demo_web, filtered: Path) -> None:  # type: ignore[no-untyped-def]
    truth = demo_web.web.ground_truth(demo_web.base_url).to_pylist()
    got = _outcomes(filtered / "filtered")
    mismatches = Counter()
    examples = {}
    expected_rows = 0
    for row in truth:
        key = (row["page_url"], row["url"])
        if row["disallowed"] or row["expected_reason"] in NOT_CANDIDATES:
            assert key not in got, f"{key} should never reach the filter"
            continue
        expected_rows += 1
        reason = got.get(key, ("MISSING", None))[0]
        if reason != row["expected_reason"]:
            mismatches[(row["expected_reason"], reason)] += 1
            examples.setdefault((row["expected_reason"], reason), row["caption"])
    assert not mismatches, f"{dict(mismatches)} e.g. {examples}"
    assert expected_rows == len(got)

    reasons = Counter(r for r, _ in got.values())
    # The demo web plants every kind of defect the filter knows.
    for reason in ("not_chinese", "placeholder", "too_long", "sensitive", "frequent_caption", "duplicate_url",
                   "http_404", "http_500", "not_an_image", "corrupt_image", "too_small", "bad_aspect",
                   "duplicate_image", "near_duplicate"):
        assert reasons[reason] > 0, reason


def test_stats_add_up_and_details_name_kept_keys(filtered: Path) -> None:
    stats = json.loads((filtered / "filtered" / "stats.json").read_text())
    candidates = sum(pq.read_metadata(p).num_rows for p in (filtered / "candidates").glob("*.parquet"))
    assert stats["input"] == candidates == stats["kept"] + sum(stats["rejected"].values())
    kept_keys = set()
    for f in (filtered / "filtered" / "kept").glob("*.parquet"):
        kept_keys.update(pq.read_table(f, columns=["key"]).column("key").to_pylist())
    assert len(kept_keys) == stats["kept"]
    near = []
    for f in (filtered / "filtered" / "rejected").glob("*.parquet"):
        t = pq.read_table(f, columns=["reason", "detail"]).to_pylist()
        near += [r["detail"] for r in t if r["reason"] in ("near_duplicate", "duplicate_image")]
    assert near and all(d in kept_keys for d in near)


def test_release_of_the_demo_web_downloads_back_whole(demo_web, filtered: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Shard the filtered demo crawl, then fetch the release again from its manifests with `wukong download`:
    every released pair comes back once (the demo web still serves every kept image), captions and bytes equal."""
    import hashlib

    import webdataset as wds

    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    release = tmp_path / "release"
    assert wukong(["-q", "shard", "--in", str(filtered / "filtered"), "--out", str(release),
                   "--config", str(CONFIG)]) == 0
    assert wukong(["verify", str(release)]) == 0
    manifest = {}
    for f in sorted((release / "manifests").glob("*.parquet")):
        for r in pq.read_table(f).to_pylist():
            manifest[r["url"]] = r
    out = tmp_path / "downloaded"
    assert wukong(["-q", "download", "--manifests", str(release / "manifests" / "*.parquet"), "--out", str(out),
                   "--processes", "1", "--threads", "16"]) == 0
    got = {}
    for sample in wds.WebDataset(sorted(str(p) for p in out.glob("*.tar")), shardshuffle=False):
        meta = json.loads(sample["json"])
        assert meta["url"] not in got, "a pair came back twice"
        got[meta["url"]] = (sample["txt"].decode("utf-8"), hashlib.sha256(sample["jpg"]).hexdigest())
    assert set(got) == set(manifest)
    for url, (caption, digest) in got.items():
        assert caption == manifest[url]["caption"]
        assert digest == manifest[url]["sha256"]
