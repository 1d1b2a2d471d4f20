"""The HTML page: self-contained, escaped, complete; and rendered in a real browser."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
from matplotlib import image as mpimg

from attnbench.report.bundle import build_bundle
from attnbench.report.forest import parse_verdict
from attnbench.report.html import CSP, render_html
from attnbench.report.series import RunInput
from attnbench.report.writer import draw, write_report
from tests.report import browser
from tests.report.test_bundle import STAMP, two_runs
from tests.report.test_forest import GOOD


def _page(runs: list[RunInput] | None = None, gate: bool = True) -> tuple[str, dict[str, bytes]]:
    bundle = build_bundle(runs or two_runs(), parse_verdict(GOOD, "g.json") if gate else None,
                          created_utc=STAMP)
    images = draw(bundle)
    return render_html(bundle, images), images


def test_page_is_self_contained() -> None:
    page, images = _page()
    assert f'content="{CSP}"' in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", page)  # only data: URLs
    assert "http://" not in page and "https://" not in page
    inline = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert sorted(base64.b64decode(d) for d in inline) == sorted(images.values())
    assert "forest.png" in images


def test_page_has_every_section_and_the_numbers() -> None:
    page, _ = _page()
    for heading in ("Summary", "Warnings", "Scaling exponents", "Figures", "Gate verdict",
                    "Environment"):
        assert f"<h2>{heading}</h2>" in page
    assert "NVIDIA A100-SXM4-80GB" in page and "h100.json" in page
    assert "<td>2.5.1+cu124</td>" in page  # each run's environment
    assert "threshold 5.0%" in page and "overall <b>fail</b>" in page


def test_text_from_result_files_is_escaped() -> None:
    runs = two_runs()[:1]
    runs[0].run.suite["name"] = "<img src=x onerror=alert(1)>"
    page, _ = _page(runs, gate=False)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<h2>Gate verdict</h2>" not in page


def test_warnings_are_listed() -> None:
    runs = two_runs()[:1]
    for case in runs[0].run.cases:
        if case.variant == "softmax.sdpa":
            case.models = {"time": "O(N)"}
    page, _ = _page(runs, gate=False)
    assert "<b>SCALING_ABOVE_CLAIM</b>" in page


def _distinct_colours(path: Path) -> int:
    pixels = mpimg.imread(str(path))
    rgb = (pixels[..., :3] * 255).astype("uint8").reshape(-1, 3)
    return len({tuple(p) for p in rgb[:: max(1, len(rgb) // 200_000)]})


def test_page_renders_in_headless_chromium_without_errors(tmp_path: Path) -> None:
    path = browser.find_browser()
    if path is None:
        if os.environ.get(browser.REQUIRE_ENV) == "1":
            pytest.fail(f"{browser.REQUIRE_ENV}=1 but no Chromium is installed")
        pytest.skip("no Chromium browser found; install Debian's `chromium` (.ci/run does)")
    runs = two_runs()
    bundle = build_bundle(runs, parse_verdict(GOOD, "g.json"), created_utc=STAMP)
    written = write_report(bundle, tmp_path / "report")
    rendered = browser.render(path, written.directory / "index.html", tmp_path / "browser")
    expected_images = len([f for f in written.files if f.endswith(".png")])
    assert rendered.collected["errors"] == []
    assert rendered.console == []
    assert rendered.collected["images"] == expected_images
    assert rendered.collected["decoded"] == expected_images
    assert rendered.collected["title"] == "attnbench report"
    assert rendered.collected["h2"] == 6
    assert _distinct_colours(rendered.screenshot) > 50  # text, tables and plots: not blank


def test_the_collector_does_catch_errors(tmp_path: Path) -> None:
    """The browser check can fail: a broken image and a blocked fetch are reported."""
    path = browser.find_browser()
    if path is None:
        pytest.skip("no Chromium browser found; install Debian's `chromium` (.ci/run does)")
    page, _ = _page(two_runs()[:1], gate=False)
    page = page.replace("</body>", '<img alt="broken" src="data:image/png;base64,AAAA">'
                        '<img alt="remote" src="http://198.51.100.1/x.png"></body>')
    bad = tmp_path / "bad.html"
    bad.write_text(page, encoding="utf-8")
    rendered = browser.render(path, bad, tmp_path / "browser")
    errors = " ".join(map(str, rendered.collected["errors"]))  # type: ignore[call-overload]
    assert "not decoded: broken" in errors
    assert "csp violation: http://198.51.100.1/x.png" in errors
    assert any("Content Security Policy" in line for line in rendered.console)
