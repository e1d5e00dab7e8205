"""Headless Chromium for the browser tests, through the system chromedriver (never a
downloaded one), started the same way for the report and the workbench tests."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def start_chromium(tmp_path_factory, prefs: dict | None = None):
    """A headless Chromium driver with a fresh profile, its console log kept; skips the test
    where Chromium, chromedriver or Selenium is missing. `prefs`: Chromium preferences."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("headless chromium and chromedriver are not installed (CI installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager (which would download one) never runs.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
