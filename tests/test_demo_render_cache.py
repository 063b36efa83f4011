"""The demo web's rendered images on disk (wukong/demoweb/render_cache.py): the bytes a fresh render gives, read
back by another web instead of rendered, a new folder for new rendering code, and no harm when it cannot write."""

from __future__ import annotations

from pathlib import Path

import pytest

from wukong.demoweb import render_cache
from wukong.demoweb.generator import build_web
from wukong.demoweb.images import ImageRenderer
from wukong.demoweb.model import BODY_ERROR, BODY_HTML

PAIRS, SEED = 200, 4


def answers(web) -> dict[str, tuple[int, bytes]]:  # type: ignore[no-untyped-def]
    out = {}
    for spec in web.images.values():
        got = web.image_response(spec.name)
        out[spec.name] = (got.status, got.body)
    return out


def test_a_second_web_reads_the_renders_of_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = build_web(PAIRS, SEED)
    assert first.keep_renders_on_disk(tmp_path)
    written = answers(first)
    files = list((tmp_path / "demoweb" / render_cache.code_version()).rglob("*.bin"))
    rendered = {spec.rendition for spec in first.images.values() if spec.body not in (BODY_ERROR, BODY_HTML)}
    assert len(files) == len(rendered) > 100  # one file per distinct rendition

    def no_render(self, r):  # type: ignore[no-untyped-def]
        raise AssertionError(f"rendered {r} instead of reading it")

    second = build_web(PAIRS, SEED)
    assert second.keep_renders_on_disk(tmp_path)
    monkeypatch.setattr(ImageRenderer, "_encode", no_render)
    assert answers(second) == written  # every image from the disk
    monkeypatch.undo()
    assert answers(build_web(PAIRS, SEED)) == written  # and those are the bytes a web without the cache renders


def test_new_rendering_code_starts_a_new_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    web = build_web(PAIRS, SEED)
    web.keep_renders_on_disk(tmp_path)
    web.prerender()
    old = tmp_path / "demoweb" / render_cache.code_version()
    assert any(old.rglob("*.bin"))
    monkeypatch.setattr(render_cache, "code_version", lambda: "0123456789abcdef")
    fresh = build_web(PAIRS, SEED)
    fresh.keep_renders_on_disk(tmp_path)
    assert not old.exists() and fresh.renderer.disk is not None
    assert fresh.renderer.disk.folder == tmp_path / "demoweb" / "0123456789abcdef"


def test_an_unwritable_cache_turns_itself_off_and_the_web_still_answers(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    web = build_web(PAIRS, SEED)
    web.keep_renders_on_disk(blocker)  # demoweb/ under a file: cannot be made
    assert answers(web) == answers(build_web(PAIRS, SEED))
    assert web.renderer.disk is not None and not web.renderer.disk.enabled


def test_a_large_web_keeps_its_renders_in_memory_only(tmp_path: Path) -> None:
    web = build_web(render_cache.DISK_MAX_PAIRS + 1, SEED)
    assert not web.keep_renders_on_disk(tmp_path) and not (tmp_path / "demoweb").exists()
