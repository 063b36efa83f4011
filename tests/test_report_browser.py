"""report.html in headless Chromium: the page loads from a file:// URL, every <img> decodes
(naturalWidth > 0), every link resolves, and nothing is fetched from outside the data dir.

Skipped only when no Chromium binary exists (CI installs Debian's: `apt-get install -y chromium`).
"""

from __future__ import annotations

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
    assert len(seen["imgs"]) == 9
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
