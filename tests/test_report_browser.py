"""report.html in headless Chromium: the page loads from a file:// URL, every <img> decodes
(naturalWidth > 0), every link resolves, and nothing is fetched from outside the data dir. On the demo
pipeline's real output: every sample thumbnail decodes, typing in the search box leaves exactly the
tiles whose caption matches, and a screenshot of the samples sections is saved in the test's tmp dir.

Skipped only when no Chromium binary exists (CI installs Debian's: `apt-get install -y chromium`).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from wukong.report import build_report
from wukong.report.plots import Style
from wukong.report.synthetic import write_synthetic_data_dir

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM = os.environ.get("CHROMIUM") or next((b for b in map(shutil.which, BROWSERS) if b), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH "
                                "(Debian: apt-get install -y chromium)")

# Runs in the page after load and writes what it saw into the DOM, which --dump-dom then prints.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images].map(i => ({src: i.getAttribute("src"), complete: i.complete,
                                              width: i.naturalWidth, height: i.naturalHeight}));
  const links = [...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href"));
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({title: document.title, imgs, links,
                                      sections: document.querySelectorAll("section").length});
  document.body.appendChild(probe);
});
</script>"""


class Refs(HTMLParser):
    """Every URL the page refers to (src, href) and every element id."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append(value)
            if name == "id" and value:
                self.ids.add(value)


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=15000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    write_synthetic_data_dir(root, rows=1500, seed=11)
    build_report(root, style=Style(None))
    return root


def test_report_renders_in_headless_chromium(report_dir: Path, tmp_path: Path) -> None:
    page = report_dir / "report.html"
    text = page.read_text(encoding="utf-8")
    probe_page = report_dir / "_browser_probe.html"  # beside report.html: same relative links
    probe_page.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = chromium("--dump-dom", probe_page.as_uri(), profile=tmp_path / "profile")
    probe_page.unlink()
    assert proc.returncode == 0, proc.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, "the page did not finish loading (no probe output)\n" + proc.stderr[-2000:]
    seen = json.loads(match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                      .replace("&amp;", "&"))
    assert seen["title"] == "Wukong dataset report" and seen["sections"] >= 10
    plots = [img for img in seen["imgs"] if not img["src"].startswith("report/samples/")]
    assert len(plots) == 9 and len(seen["imgs"]) > 9  # the plots, then the sample thumbnails
    for img in seen["imgs"]:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, img  # decoded, not a broken image
        assert (report_dir / img["src"]).is_file()
    refs = Refs()
    refs.feed(text)
    for url in refs.urls:  # self-contained: only in-page anchors and files beside report.html
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I), f"absolute URL in the report: {url}"
        if url.startswith("#"):
            assert url[1:] in refs.ids, f"broken anchor {url}"
        else:
            assert (report_dir / url).is_file(), f"broken link {url}"
    assert sorted(seen["links"]) == sorted(u for u in refs.urls if u.startswith("#"))


def test_report_screenshot(report_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    proc = chromium(f"--screenshot={shot}", "--window-size=1280,2000", (report_dir / "report.html").as_uri(),
                    profile=tmp_path / "profile")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a rendered page, not a blank one


# Runs after load (every image has loaded or failed by then): the thumbnails' decoded sizes, then types
# QUERY into the kept grid's search box and counts the tiles left visible.
SAMPLES_PROBE = """<script>
window.addEventListener("load", () => {
  const thumbs = [...document.querySelectorAll("img.thumb")].map(i => ({src: i.getAttribute("src"),
    complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}));
  const grid = document.getElementById("kept-grid");
  const shown = () => [...grid.querySelectorAll(".tile")].filter(t => getComputedStyle(t).display !== "none")
                                                        .map(t => t.getAttribute("data-key"));
  const box = document.querySelector('input[data-filter="kept-grid"]');
  const before = shown().length;
  box.focus();
  box.value = QUERY;
  box.dispatchEvent(new Event("input", {bubbles: true}));
  const after = shown(), counter = document.getElementById("kept-grid-count").textContent;
  box.value = "";
  box.dispatchEvent(new Event("input", {bubbles: true}));
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({thumbs, before, after, counter, reset: shown().length});
  document.body.appendChild(probe);
});
</script>"""
# Only the samples sections, for the screenshot.
SAMPLES_ONLY = ("<style>main>section:not([id^=samples-]),header,nav,.cards{display:none}"
                "main{padding-top:0}</style>")
TILE = re.compile(r'<figure class="tile[^"]*" data-caption="([^"]*)" data-key="(\d+)"')


def pick_query(captions: list[str]) -> str:
    """A two-character string in about a quarter of the captions (never all, never none)."""
    counts: dict[str, int] = {}
    for caption in captions:
        for part in {caption[i:i + 2].lower() for i in range(len(caption) - 1)}:
            if part.strip() == part and len(part) == 2:
                counts[part] = counts.get(part, 0) + 1
    usable = [(abs(n - len(captions) / 4), q) for q, n in counts.items() if 0 < n < len(captions)]
    return min(usable)[1]


def test_samples_decode_search_filters_and_screenshot(demo_run: tuple[Path, int], tmp_path: Path) -> None:
    root, _ = demo_run
    text = (root / "report.html").read_text(encoding="utf-8")
    grid = text[text.index('id="kept-grid"'):]
    grid = grid[:grid.index("</section>")]
    tiles = [(html.unescape(caption), key) for caption, key in TILE.findall(grid)]
    assert len(tiles) == 60
    query = pick_query([c for c, _ in tiles])
    expected = sorted(key for caption, key in tiles if query in caption.lower())
    assert 0 < len(expected) < len(tiles)
    work = tmp_path / "page"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("candidates", "filtered", "release", "logs"))
    probe_page = work / "probe.html"  # beside report.html: same relative links
    probe_page.write_text(text.replace("</body>", SAMPLES_PROBE.replace("QUERY", json.dumps(query)) + "</body>"),
                          encoding="utf-8")
    proc = chromium("--dump-dom", probe_page.as_uri(), profile=tmp_path / "profile")
    assert proc.returncode == 0, proc.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert match, "the page did not finish loading (no probe output)\n" + proc.stderr[-2000:]
    seen = json.loads(html.unescape(match.group(1)))
    files = sorted(p.name for p in (root / "report" / "samples").glob("*.jpg"))
    assert len(seen["thumbs"]) >= 60 and sorted({Path(t["src"]).name for t in seen["thumbs"]}) == files
    for thumb in seen["thumbs"]:
        assert thumb["complete"] and 0 < thumb["width"] <= 256 and 0 < thumb["height"] <= 256, thumb
    assert seen["before"] == 60 == seen["reset"]
    assert sorted(seen["after"]) == expected, query
    assert seen["counter"] == f"{len(expected)} of 60 shown"
    shot_page = work / "shot.html"
    shot_page.write_text(text.replace("</head>", SAMPLES_ONLY + "</head>"), encoding="utf-8")
    shot = tmp_path / "samples.png"
    proc = chromium(f"--screenshot={shot}", "--window-size=1280,1400", shot_page.as_uri(), profile=tmp_path / "p2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 200_000  # thumbnails rendered, not a blank page
