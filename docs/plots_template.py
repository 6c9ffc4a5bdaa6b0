"""Rebuild .dvc/plots/offline.html, DVC's plots page with Vega inlined, so that
`dvc plots show` draws every plot with no network (DVC's own page loads Vega from a CDN).

Run from anywhere, with npm and access to the npm registry:

    python docs/plots_template.py                  # the newest vega@5 vega-lite@5 vega-embed@6
    python docs/plots_template.py vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0

It runs `npm pack` in a temporary folder, takes each package's minified browser build
(build/<name>.min.js) and licence, and writes the template. .dvc/config points at it
(plots.html_template, a path relative to .dvc/). Keep the major versions of dvc_render's own
page (dvc_render.vega.VegaRenderer.SCRIPTS), which the specs DVC writes are made for; then run
tests/test_plots_offline.py.
"""
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / ".dvc" / "plots" / "offline.html"
PACKAGES = ["vega@5", "vega-lite@5", "vega-embed@6"]  # in load order
# vega's npm package ships no LICENSE file: its repository's (github.com/vega/vega) is the same
# BSD-3-Clause text as vega-lite's under this copyright line.
COPYRIGHT = {"vega": "Copyright (c) 2015-2023, University of Washington Interactive Data Lab"}
# dvc_render fills the page by replacing these (str.replace, no str.format: braces are safe)
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")
PAGE = """<!DOCTYPE html>
<html>
<head>
{refresh_tag}
<title>DVC Plot</title>
<!-- DVC plots page with Vega inlined (no network needed); made by docs/plots_template.py -->
%s
<style>table { border-spacing: 15px; }</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""


def member(tar, path):
    """The text of package/<path> in an npm tarball, or None."""
    try:
        return tar.extractfile(f"package/{path}").read().decode("utf8")
    except KeyError:
        return None


def read_package(tgz):
    """(name, version, licence text or None, minified build without its source-map line)."""
    with tarfile.open(tgz) as tar:
        meta = json.loads(member(tar, "package.json"))
        if meta["license"] != "BSD-3-Clause":
            sys.exit(f"{meta['name']} is now {meta['license']}: update the licence notes")
        js = member(tar, f"build/{meta['name']}.min.js")
        licence = member(tar, "LICENSE")
    js = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "", js)
    if re.search(r"</script|<!--", js, re.IGNORECASE) or any(p in js for p in PLACEHOLDERS):
        sys.exit(f"{meta['name']}'s build cannot be inlined as it is")
    return meta["name"], meta["version"], licence, js


def script(name, version, licence, js):
    """The package's <script> element, preceded by its licence as an HTML comment."""
    return (f"<!-- npm package {name} {version}, build/{name}.min.js, BSD-3-Clause licence:\n"
            f"{licence.strip()}\n-->\n<script>{js}</script>")


def build(specs):
    """The template's text, from the npm packages specs (in load order)."""
    with tempfile.TemporaryDirectory() as tmp:
        packed = json.loads(subprocess.run(["npm", "pack", "--json", "--silent", *specs], cwd=tmp,
                                           check=True, capture_output=True, text=True).stdout)
        packages = [read_package(Path(tmp, p["filename"])) for p in packed]
    bsd = next(lic for _, _, lic, _ in packages if lic)
    packages = [(n, v, lic or bsd.replace(bsd.splitlines()[0], COPYRIGHT[n], 1), js)
                for n, v, lic, js in packages]
    return PAGE % "\n".join(script(*p) for p in packages), [f"{n}@{v}" for n, v, _, _ in packages]


def main(specs):
    text, versions = build(specs or PACKAGES)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf8", newline="\n")
    print(f"{OUT}: {len(text.encode()):,} bytes, {' '.join(versions)}")


if __name__ == "__main__":
    main(sys.argv[1:])
