"""The workbench in a real browser: headless Chromium (the system's, through the system
chromedriver) against uvicorn on 127.0.0.1. Signs in, picks a quarter, sorts and filters
the providers, opens a provider, acknowledges a drift flag (then found in the audit log),
downloads the overdue CSV; every page is screenshotted to /tmp/web-shots/ and checked not
blank, and the browser reports no Content-Security-Policy violation (the one script is a
static file)."""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
from pathlib import Path

import pytest

from monitor.web import Settings, create_app
from tests.browser_support import start_chromium
from tests.reports.test_reports_browser import _not_blank
from tests.web_support import ANALYST, AS_OF_PARAM, PASSWORD, RESELLER, seed

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/web-shots")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'monitor.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, folder)
    from monitor.statistics.periods import parse_period
    from monitor.statistics.snapshots import store_scorecard_snapshot
    from tests.drift.test_drift_scenarios import AS_OF

    quarter = parse_period("2026Q3")
    store_scorecard_snapshot(
        engine,
        period_from=quarter.start,
        period_to=quarter.end,
        as_of=AS_OF,
        by="provider",
        label="2026Q3",
    )
    engine.dispose()
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(compute_wait=None, db_url=url)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    driver = start_chromium(
        tmp_path_factory,
        prefs={"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    yield driver
    driver.quit()


def _shot(browser, name: str) -> None:
    """Screenshot the whole page to /tmp/web-shots/NAME.png; it must not be blank."""
    SHOTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(max(height, 700), 6000))
    png = browser.get_screenshot_as_png()
    (SHOTS / f"{name}.png").write_bytes(png)
    browser.set_window_size(1400, 1000)
    assert _not_blank(png) > 0.02, name


def _no_csp_violations(browser) -> None:
    problems = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
        or (entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"])
    ]
    assert problems == [], "\n".join(sorted(set(p[:300] for p in problems)))[:3000]


def _ready(browser) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return document.documentElement.dataset.script") == "ready"
    )


def _click_to_next_page(browser, element) -> None:
    """Click something that loads a new page, and wait until the new page's script ran."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element("tag name", "html")
    element.click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(old))
    _ready(browser)


def _click_to_next_page_plain(browser, element) -> None:
    """Click a link to a page that is not the workbench's (a stored document)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element("tag name", "html")
    element.click()
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(old))
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )


def _visible_column(browser, index: int) -> list[str]:
    return browser.execute_script(
        "return Array.from(document.getElementById('scorecard').tBodies[0].rows)"
        ".filter(r => !r.hidden).map(r => r.cells[arguments[0]].getAttribute('data-sort'));",
        index,
    )


def test_the_workbench_in_a_browser(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # Sign in.
    browser.get(f"{server}/login")
    _shot(browser, "01-login")
    browser.find_element(By.ID, "name").send_keys(ANALYST)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    _click_to_next_page(browser, browser.find_element(By.ID, "sign-in"))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Overview")

    # Pick a quarter (as of 2026-10-01, where the seeded tickets are).
    browser.get(f"{server}/?{AS_OF_PARAM}")
    _ready(browser)
    assert browser.find_element(By.ID, "custom-dates").get_attribute("hidden") is not None
    Select(browser.find_element(By.ID, "period-select")).select_by_value("2026Q3")
    _click_to_next_page(
        browser, browser.find_element(By.CSS_SELECTOR, "#period-picker button[type=submit]")
    )
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview 2026Q3"
    assert "period=2026Q3" in browser.current_url
    cards = browser.find_element(By.ID, "key-figures").text
    assert "Notices" in cards and "Median time to removal" in cards
    _shot(browser, "02-overview")

    # Sort and filter the providers.
    browser.get(f"{server}/providers?period=2026Q3&{AS_OF_PARAM}")
    _ready(browser)
    _shot(browser, "03-providers")
    notices_header = browser.find_element(By.XPATH, "//table[@id='scorecard']//th[4]/button")
    notices_header.click()
    ascending = [int(v) for v in _visible_column(browser, 3)]
    assert ascending == sorted(ascending) and len(ascending) >= 5
    notices_header.click()
    assert [int(v) for v in _visible_column(browser, 3)] == sorted(ascending, reverse=True)
    search = browser.find_element(By.ID, "table-search")
    search.send_keys("stable")
    names = _visible_column(browser, 1)
    assert names and all("stable" in name for name in names)
    assert "of" in browser.find_element(By.ID, "shown-count").text
    search.clear()
    search.send_keys("script")
    assert _visible_column(browser, 1) == ["<script>alert(1)</script>"]  # shown as text
    _shot(browser, "04-providers-filtered")
    search.clear()
    browser.find_element(By.ID, "hide-low").click()
    assert all(
        r == "0"
        for r in browser.execute_script(
            "return Array.from(document.getElementById('scorecard').tBodies[0].rows)"
            ".filter(r => !r.hidden).map(r => r.dataset.low);"
        )
    )

    # Open a provider page.
    _click_to_next_page(browser, browser.find_element(By.LINK_TEXT, RESELLER))
    assert browser.find_element(By.ID, "provider-name").text == RESELLER
    assert browser.find_element(By.CSS_SELECTOR, "figure.chart img.chart")
    assert browser.find_element(By.ID, "quarters")
    # Both charts are images of their own: each loaded and drew (an SVG refused by its
    # Content-Security-Policy or failing to load has no natural size).
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script(
            "const images = Array.from(document.querySelectorAll('img.chart'));"
            "return images.length === 2 && images.every(i => i.complete && i.naturalWidth > 0);"
        )
    )
    _shot(browser, "05-provider")

    # Acknowledge a drift flag with a note; it shows in the audit log.
    browser.get(f"{server}/drift")
    _ready(browser)
    _shot(browser, "06-drift")
    form = browser.find_element(By.CSS_SELECTOR, "form.ack-form")
    flag_id = form.find_element(By.NAME, "flag").get_attribute("value")
    note = "Reseller confirmed the move; escalated to the AE hotline contact."
    form.find_element(By.NAME, "note").send_keys(note)
    _click_to_next_page(browser, form.find_element(By.TAG_NAME, "button"))
    acknowledged = browser.find_element(By.ID, f"flag-{flag_id}")
    assert note in acknowledged.text and f"Acknowledged by {ANALYST}" in acknowledged.text
    _shot(browser, "07-drift-acknowledged")
    browser.get(f"{server}/audit")
    audit = browser.find_element(By.ID, "audit").text
    assert note in audit and "acknowledge" in audit and flag_id in audit
    _shot(browser, "08-audit")

    # Download the overdue CSV.
    browser.get(f"{server}/overdue?{AS_OF_PARAM}")
    _ready(browser)
    _shot(browser, "09-overdue")
    browser.find_element(By.ID, "overdue-csv").click()
    deadline = time.monotonic() + 20
    files: list[Path] = []
    while time.monotonic() < deadline:
        files = [p for p in browser.downloads.glob("overdue-*.csv")]
        if files:
            break
        time.sleep(0.1)
    assert files, "the CSV was not downloaded"
    rows = list(csv.DictReader(io.StringIO(files[0].read_text(encoding="utf-8"))))
    assert rows and {"ticket_id", "url_hash", "clock_start"} <= set(rows[0])
    assert any(row["ticket_id"] == "'=HYPERLINK(1)" for row in rows)

    # The other pages render too.
    for name, path in (
        ("10-quarantine", "/quarantine"),
        ("11-reference", "/reference"),
        ("12-publications", "/publications"),
        ("13-providers-by-country", f"/providers?period=2026Q3&by=country&{AS_OF_PARAM}"),
    ):
        browser.get(server + path)
        _ready(browser)
        _shot(browser, name)
    _no_csp_violations(browser)

    # A stored snapshot's scorecard, rendered on demand, sorts in its sandbox.
    browser.get(server + "/publications")
    _click_to_next_page_plain(browser, browser.find_element(By.LINK_TEXT, "HTML en"))
    assert "2026" in browser.title
    _shot(browser, "14-publication-scorecard")
    _no_csp_violations(browser)
