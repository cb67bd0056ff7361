"""The reports as a reader sees them, in headless Chromium (Debian's `chromium`, driven by
Playwright with the system browser; nothing is downloaded).

Runs against the demo report (`make demo`) and the real-sample report (`make real-sample`),
which `make browser-test` builds first. Checks: no console errors, every chart has data and
readable axes (at least two labels on each axis, no two labels overlapping, legend entries
apart and inside the chart), nothing wider than the page, the analyst's sections present,
tables sortable by a click.
"""

import os
import pathlib
import shutil

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = pathlib.Path(__file__).resolve().parents[2]
REPORTS = {
    "demo": ROOT / "data/reports/demo/index.html",
    "real-sample": ROOT / "data/reports/real-sample/index.html",
}
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# The flags this sandbox needs: no sandbox as root, and no background connections (the
# network is closed; Chromium's own update and metrics requests would be refused).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH = 1100


@pytest.fixture(scope="module")
def browser():
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def open_report(browser, name):
    path = REPORTS[name]
    assert path.is_file(), f"{path} missing: run `make {name}` first"
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems, requests


def overlaps(a, b, slack=0.5):
    return not (
        a["x"] + a["width"] <= b["x"] + slack
        or b["x"] + b["width"] <= a["x"] + slack
        or a["y"] + a["height"] <= b["y"] + slack
        or b["y"] + b["height"] <= a["y"] + slack
    )


CHARTS_JS = """
() => Array.from(document.querySelectorAll('svg[role=img]')).map(svg => {
  const box = e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height, text: e.textContent}; };
  const paths = Array.from(svg.querySelectorAll('path.series, .series path')).filter(p => (p.getAttribute('d') || '').trim().length > 0);
  return {
    title: svg.getAttribute('aria-label'),
    svg: box(svg),
    series: paths.length + svg.querySelectorAll('.series circle').length,
    xticks: Array.from(svg.querySelectorAll('text.xtick')).map(box),
    yticks: Array.from(svg.querySelectorAll('text.ytick')).map(box),
    legend: Array.from(svg.querySelectorAll('text.legend')).map(box),
  };
})
"""


@pytest.mark.parametrize("name", list(REPORTS))
def test_a_reader_sees_readable_charts_and_every_section(browser, name):
    page, problems, requests = open_report(browser, name)
    charts = page.evaluate(CHARTS_JS)
    assert len(charts) >= 3, f"{name}: {len(charts)} charts"
    for chart in charts:
        where = f"{name}: chart {chart['title']!r}"
        assert chart["series"] > 0, f"{where} has no data"
        assert len(chart["xticks"]) >= 2, f"{where}: {len(chart['xticks'])} time labels"
        assert len(chart["yticks"]) >= 2, f"{where}: {len(chart['yticks'])} value labels"
        for axis in ("xticks", "yticks", "legend"):
            labels = chart[axis]
            for i in range(len(labels)):
                for j in range(i + 1, len(labels)):
                    assert not overlaps(labels[i], labels[j]), (
                        f"{where}: {axis} {labels[i]['text']!r} and {labels[j]['text']!r} overlap"
                    )
        right = chart["svg"]["x"] + chart["svg"]["width"]
        for label in chart["xticks"] + chart["legend"]:
            assert label["x"] + label["width"] <= right + 1, f"{where}: {label['text']!r} sticks out"
    # Nothing wider than the page.
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{name}: page {widths[0]} px wide in a {widths[1]} px window"
    # The analyst's sections.
    for section in ["network", "undeclared", "declared", "removal-events", "outages", "join-bursts", "watchlists", "coverage", "provenance"]:
        assert page.locator(f"#{section}").count() == 1, f"{name}: no #{section}"
    assert page.locator("[id^=watchlist-]").count() >= 1, f"{name}: no watchlist section"
    assert problems == [], f"{name}: {problems}"
    # Self-contained: nothing fetched but the page itself.
    assert [r for r in requests if not r.startswith("file://")] == [], requests
    page.close()


@pytest.mark.parametrize("name", list(REPORTS))
def test_tables_sort_by_a_click(browser, name):
    page, problems, _ = open_report(browser, name)
    table = page.locator("#undeclared ~ div.scroll table.sortable").first
    if table.count() == 0:
        table = page.locator("table.sortable").first
    header = table.locator("th", has_text="relays").first
    column = table.locator("th").all_inner_texts().index(header.inner_text())
    cells = lambda: [float(t.replace(" ", "").replace("k", "e3") or 0) for t in table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()]
    header.click()
    ascending = cells()
    assert ascending == sorted(ascending), ascending
    header.click()
    descending = cells()
    assert descending == sorted(descending, reverse=True), descending
    assert problems == []
    page.close()


def test_the_demo_leads_with_the_planted_undeclared_actors(browser):
    page, _, _ = open_report(browser, "demo")
    first_rows = page.locator("#undeclared ~ div.scroll table.sortable").first.locator("tbody tr").all_inner_texts()
    assert any("undeclared" in row for row in first_rows[:3]), first_rows[:3]
    # The kax17 list is a watchlist with presence charts.
    assert page.locator("h3", has_text="kax17").count() >= 1
    page.close()
