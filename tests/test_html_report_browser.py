"""The html report in a real headless browser (Debian's chromium): the charts are laid out and drawn."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from piu.render_report import render_html
from piu.report import Period, build_report
from piu.store import Store
from tests.store_factories import NOW, UTC, sample_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# A newcomer without a browser gets a clear skip; CI (CI=true, .ci/run installs chromium) must run it.
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="chromium is not installed (apt-get install chromium); CI runs this test")

# Appended to a copy of the page: measure every drawn bar after layout and write the numbers
# into the DOM, which --dump-dom then prints.
MEASURE = """
<script>
const out = [...document.querySelectorAll("svg.chart")].map(svg => ({
  chart: svg.getAttribute("class"),
  box: svg.getBoundingClientRect().toJSON(),
  bars: [...svg.querySelectorAll("rect.bar")].map(r => {
    const b = r.getBoundingClientRect();
    return {label: r.dataset.date || r.dataset.label, count: +r.dataset.count, w: b.width, h: b.height,
            fill: getComputedStyle(r).fill};
  })
}));
const pre = document.createElement("pre"); pre.id = "measure"; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>
"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    assert CHROMIUM, "chromium is not installed: apt-get install -y chromium (see .ci/run)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    home = tmp_path_factory.mktemp("home")
    st = Store(home)
    sample_store(st)
    from datetime import datetime
    period = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 22, 23, 59, tzinfo=UTC))
    return render_html(build_report(st, period, generated_at=NOW))


def test_charts_are_drawn_after_layout(page: str, tmp_path: Path) -> None:
    # the report's own CSP forbids every script; the measuring copy drops it
    harness = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace("</body>", MEASURE + "</body>")
    path = tmp_path / "report.html"
    path.write_text(harness, encoding="utf-8")
    res = chromium("--virtual-time-budget=5000", "--dump-dom", path.as_uri(), profile=tmp_path / "profile")
    assert res.returncode == 0, res.stderr[-2000:]
    found = re.search(r'<pre id="measure">(.*?)</pre>', res.stdout, re.S)
    assert found, res.stdout[-2000:]
    charts = {c["chart"]: c for c in json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))}
    assert set(charts) == {"chart chart-days", "chart chart-rules", "chart chart-bands"}
    for chart in charts.values():
        assert chart["box"]["width"] > 100 and chart["box"]["height"] > 50
    days = charts["chart chart-days"]["bars"]
    assert [(b["label"], b["count"]) for b in days] == [("2026-11-19", 2), ("2026-11-20", 1)]
    assert all(b["w"] > 5 for b in days)
    # bar heights are proportional to the counts: 2 calls draw twice as tall as 1
    assert days[0]["h"] == pytest.approx(2 * days[1]["h"], rel=0.02) and days[1]["h"] > 20
    assert days[0]["fill"] == "rgb(239, 143, 0)" and days[1]["fill"] == "rgb(198, 40, 40)"
    rules = charts["chart chart-rules"]["bars"]
    assert [b["label"] for b in rules] == ["flag-of-concern", "passengers-on-cargo-vessel", "over-capacity",
                                           "minor-in-crew"]
    assert rules[0]["w"] == pytest.approx(3 * rules[2]["w"], rel=0.02) and rules[2]["h"] > 5
    bands = {b["label"]: b["w"] for b in charts["chart chart-bands"]["bars"]}
    assert bands["medium"] == pytest.approx(2 * bands["high"], rel=0.02) and bands["low"] == pytest.approx(bands["high"])


def test_prints_to_pdf_without_network(page: str, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    res = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", path.as_uri(), profile=tmp_path / "profile")
    assert res.returncode == 0, res.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 1
