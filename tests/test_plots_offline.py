"""`dvc plots show` draws every plot with no network: .dvc/config's plots.html_template is a page
with Vega inlined (docs/plots_template.py), where DVC's own page loads Vega from a CDN."""
import re
import shutil
import subprocess
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from dvc_render.html import PAGE_HTML

from tests.conftest import ROOT, run

CHROMIUM = shutil.which("chromium")
# a proxy on the discard port, no name resolution: anything the page fetches from the network fails
OFFLINE = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Page(HTMLParser):
    """A page's loads (script src, link href), <img> sources, and the ids of the divs holding a
    chart Vega drew (its <canvas class="marks"> or <svg class="marks">)."""

    def __init__(self, text):
        super().__init__()
        self.loads, self.images, self.drawn, self.open = [], [], set(), []
        self.feed(text)
        self.vega = set(re.findall(r"vegaEmbed\('#([^']+)'", text))  # dvc_render's plot divs

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if (src := attrs.get({"script": "src", "link": "href"}.get(tag))):
            self.loads.append(src)
        if tag == "img":
            self.images.append(attrs.get("src") or "")
        if tag in ("canvas", "svg") and "marks" in (attrs.get("class") or "").split():
            self.drawn.update(i for t, i in self.open if t == "div" and i)
        if tag not in VOID:
            self.open.append((tag, attrs.get("id")))

    def handle_endtag(self, tag):
        if any(t == tag for t, _ in self.open):
            while self.open.pop()[0] != tag:
                pass


def remote(page):
    return [u for u in page.loads if urlparse(u).scheme in ("http", "https") or u.startswith("//")]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """index.html of `dvc plots show` in the working copy: with .dvc/config's template (offline)
    and with dvc_render's own page (default)."""
    tmp = tmp_path_factory.mktemp("plots")
    (tmp / "default.html").write_text(PAGE_HTML)
    run(["dvc", "plots", "show", "-o", str(tmp / "offline")], ROOT)
    run(["dvc", "plots", "show", "-o", str(tmp / "default"), "--html-template",
         str(tmp / "default.html")], ROOT)
    return {name: tmp / name / "index.html" for name in ("offline", "default")}


def test_the_page_fetches_nothing_from_the_network(pages):
    page, default = (Page(pages[name].read_text()) for name in ("offline", "default"))
    assert page.vega and page.images, "the repository's plots: dvclive's and plots/*.png"
    assert page.vega == default.vega and len(page.images) == len(default.images)
    assert not remote(page)
    tags = re.findall(r"<(?:script|link)\b[^>]*>", pages["offline"].read_text(), re.IGNORECASE)
    assert not [t for t in tags if re.search(r"https?://", t)]
    assert remote(default), "DVC's own page loads Vega from a CDN: the check above can fail"
    for src in page.images:
        assert src.startswith("data:image") or (pages["offline"].parent / src).is_file(), src


@pytest.mark.skipif(not CHROMIUM, reason="chromium is not on PATH (.ci/run installs Debian's)")
def test_every_plot_is_drawn_with_no_network(pages, tmp_path):
    divs = Page(pages["offline"].read_text()).vega
    drawn = {}
    for name, index in pages.items():
        done = subprocess.run(
            [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
             f"--user-data-dir={tmp_path / name}", *OFFLINE, "--virtual-time-budget=20000",
             "--dump-dom", index.as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0 and "</html>" in done.stdout, done.stderr[-3000:]
        drawn[name] = Page(done.stdout).drawn & divs
        print(f"{name}: {len(drawn[name])} of {len(divs)} Vega plots drawn offline")
    assert drawn["offline"] == divs, f"{len(drawn['offline'])} of {len(divs)} drawn"
    assert not drawn["default"], "DVC's own page drew plots offline: the test cannot fail"
