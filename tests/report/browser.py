"""Render a page in headless Chromium and collect what went wrong (for the browser tests).

The page is copied with a small collector script injected at the top of its ``<head>``: it
records uncaught errors, failed resource loads, Content-Security-Policy violations and images
that did not decode, and writes them into the DOM after ``load``; ``--dump-dom`` then returns
them. Chromium's own log (``--enable-logging=stderr``) is also scanned for console lines,
which a page without scripts should never produce.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
REQUIRE_ENV = "ATTNBENCH_REQUIRE_BROWSER"
"""Set to 1 (``.ci/run`` does when it could install Chromium) to fail instead of skipping."""

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",
)

COLLECTOR = """<script>
window.__attnbenchErrors = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  window.__attnbenchErrors.push(e.message || ('resource failed: ' + (t && (t.src || t.href))));
}, true);
document.addEventListener('securitypolicyviolation', function (e) {
  window.__attnbenchErrors.push('csp violation: ' + e.blockedURI);
});
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  images.forEach(function (i) {
    if (!(i.complete && i.naturalWidth > 0)) {
      window.__attnbenchErrors.push('not decoded: ' + i.alt);
    }
  });
  var out = document.createElement('pre');
  out.id = 'attnbench-collector';
  out.textContent = JSON.stringify({errors: window.__attnbenchErrors, images: images.length,
    decoded: images.filter(function (i) { return i.naturalWidth > 0; }).length,
    title: document.title, h2: document.querySelectorAll('h2').length});
  document.body.appendChild(out);
});
</script>"""

_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\]\s*(.*)")
_RESULT = re.compile(r'<pre id="attnbench-collector">(.*?)</pre>', re.S)


def find_browser() -> str | None:
    """Path of a Chromium-family browser, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Rendered:
    """What the browser reported: the collector's record, console lines, the screenshot."""

    collected: dict[str, object]
    console: list[str]
    screenshot: Path


def _with_collector(page: str) -> str:
    # the page forbids scripts; the test's copy allows its own inline collector
    page = page.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
    return page.replace("<head>", "<head>" + COLLECTOR, 1)


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(profile)}
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )


def render(browser: str, page: Path, work: Path) -> Rendered:
    """Load ``page`` (with the collector) and take a 1280×2400 screenshot of the original."""
    work.mkdir(parents=True, exist_ok=True)
    probe = work / "probe.html"
    probe.write_text(_with_collector(page.read_text(encoding="utf-8")), encoding="utf-8")
    dom = _run(browser, work / "profile-dom", "--dump-dom", probe.as_uri())
    match = _RESULT.search(dom.stdout)
    if dom.returncode != 0 or match is None:
        raise AssertionError(
            f"chromium did not render the page (exit {dom.returncode}):\n{dom.stderr[-3000:]}"
        )
    collected = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    console = [m.group(1) for line in dom.stderr.splitlines() if (m := _CONSOLE.search(line))]
    shot = work / "page.png"
    grab = _run(browser, work / "profile-shot", f"--screenshot={shot}", "--window-size=1280,2400",
                "--hide-scrollbars", page.as_uri())
    if grab.returncode != 0 or not shot.exists():
        raise AssertionError(f"chromium took no screenshot (exit {grab.returncode})")
    console += [m.group(1) for line in grab.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return Rendered(collected, console, shot)
