"""The documents in a real browser: headless Chromium driven by Selenium through the system
chromedriver (never a downloaded one). The page renders (a screenshot that is not blank),
the inline script runs under the document's Content-Security-Policy, and the table sorts
and filters without a server."""

from __future__ import annotations

import io
import math

import pytest

from reports.briefing_report import briefing_html
from reports.scorecard_report import scorecard_html
from tests.browser_support import start_chromium
from tests.reports.test_reports_documents import FLAGS
from tests.reports.test_reports_language import _figures
from tests.reports.test_reports_support import HOSTILE, sample_snapshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory)
    yield driver
    driver.quit()


def _open(browser, tmp_path, name: str, html: str):
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    browser.get(path.as_uri())
    return path


def _not_blank(png: bytes) -> float:
    """Share of pixels that are not (near) white."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    histogram = image.histogram()
    dark = sum(histogram[:235])
    return dark / (image.width * image.height)


def _column(browser, table: int, index: int) -> list[str]:
    return browser.execute_script(
        "const rows = document.querySelectorAll('table.sortable')[arguments[0]].tBodies[0].rows;"
        "return Array.from(rows).filter(r => !r.hidden)"
        "  .map(r => r.cells[arguments[1]].getAttribute('data-sort'));",
        table,
        index,
    )


def _click_header(browser, column: str, table: int = 0):
    from selenium.webdriver.common.by import By

    tables = browser.find_elements(By.CSS_SELECTOR, "table.sortable")
    tables[table].find_element(By.CSS_SELECTOR, f'th[data-column="{column}"] button').click()


def _as_numbers(values: list[str]) -> list[float | None]:
    return [None if v == "" else float(v) for v in values]


def _severe(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_scorecard_renders_sorts_and_filters(browser, tmp_path):
    from selenium.webdriver.common.by import By

    _open(browser, tmp_path, "scorecard.html", scorecard_html(sample_snapshot(), "en", flags=FLAGS))
    png = browser.get_screenshot_as_png()
    (tmp_path / "scorecard.png").write_bytes(png)
    assert _not_blank(png) > 0.03
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Time to removal")
    # The script ran (the CSP allowed it): the row counter was filled in.
    assert browser.find_element(By.ID, "filter-count").text == "Showing 4 of 4 rows"
    # The hostile name is a name in a cell, not an element.
    assert browser.execute_script("return document.scripts.length") == 1
    names = [
        row.get_attribute("data-name")
        for row in browser.find_elements(By.CSS_SELECTOR, "table.sortable tbody tr")
    ]
    assert HOSTILE in names

    headers = browser.execute_script(
        "return Array.from(document.querySelector('table.sortable').tHead.rows[0].cells)"
        ".map(th => th.getAttribute('data-column'))"
    )
    notices, median, within_72h = (
        headers.index(c) for c in ("notices", "median", "norm:inhope_72h")
    )

    _click_header(browser, "notices")  # numbers sort largest first
    assert _as_numbers(_column(browser, 0, notices)) == [120, 80, 60]
    _click_header(browser, "notices")
    assert _as_numbers(_column(browser, 0, notices)) == [60, 80, 120]

    _click_header(browser, "median")  # shortest first; "not reached" is the slowest
    assert _as_numbers(_column(browser, 0, median)) == [6.25, 30.5, math.inf]
    _click_header(browser, "median")
    assert _as_numbers(_column(browser, 0, median)) == [math.inf, 30.5, 6.25]

    _click_header(browser, "norm:inhope_72h")  # an unknown share stays last either way
    assert _as_numbers(_column(browser, 0, within_72h)) == [0.99, 0.7, None]
    _click_header(browser, "norm:inhope_72h")
    assert _as_numbers(_column(browser, 0, within_72h)) == [0.7, 0.99, None]
    sorted_by = browser.execute_script(
        "return document.querySelector('th[data-column=\"norm:inhope_72h\"]')"
        ".getAttribute('aria-sort')"
    )
    assert sorted_by == "ascending"

    browser.find_element(By.ID, "filter-text").send_keys("host")
    assert browser.find_element(By.ID, "filter-count").text == "Showing 2 of 4 rows"
    browser.execute_script(
        "const f = document.getElementById('filter-text'); f.value = '';"
        "f.dispatchEvent(new Event('input'));"
    )  # back to every row
    assert browser.find_element(By.ID, "filter-count").text == "Showing 4 of 4 rows"
    browser.find_element(By.ID, "filter-outside").click()
    visible = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.sortable tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.getAttribute('data-key'))"
    )
    assert visible == ["Slow Offshore Ltd"]
    browser.find_element(By.ID, "filter-outside").click()
    browser.find_element(By.ID, "filter-flags").click()
    assert browser.find_element(By.ID, "filter-count").text == "Showing 1 of 4 rows"
    assert _severe(browser) == []


def test_dutch_scorecard_counter_and_briefing_charts_render(browser, tmp_path):
    from selenium.webdriver.common.by import By

    _open(
        browser, tmp_path, "scorecard-nl.html", scorecard_html(sample_snapshot(), "nl", flags=FLAGS)
    )
    assert browser.find_element(By.ID, "filter-count").text == "4 van 4 rijen zichtbaar"

    _open(
        browser,
        tmp_path,
        "briefing.html",
        briefing_html(sample_snapshot(), _figures(), "en", flags=FLAGS),
    )
    png = browser.get_screenshot_as_png()
    (tmp_path / "briefing.png").write_bytes(png)
    assert _not_blank(png) > 0.03
    sizes = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure svg'))"
        ".map(svg => { const box = svg.getBoundingClientRect(); return [box.width, box.height]; })"
    )
    assert len(sizes) == 3
    assert all(width > 300 and height > 100 for width, height in sizes)
    assert browser.execute_script("return document.scripts.length") == 0
    assert _severe(browser) == []
