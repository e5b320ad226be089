"""A real headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by Selenium, for the
report and dashboard tests.  Where the browser is not installed, the tests skip with the reason."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DOCS_IMG = ARTIFACTS.parent / "docs" / "img"  # the guide's screenshots: refreshed by `make screenshots`
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--hide-scrollbars", "--disable-dev-shm-usage")  # fmt: skip


def start(width: int = 1280, height: int = 800):
    """A Chrome WebDriver session, or skip the test with why there is none."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.skip(
            "no headless browser here: Debian's chromium and chromium-driver are not installed "
            "(`make test` installs them with apt when run as root)"
        )
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=opts)


def full_page_screenshot(driver, name: str, width: int) -> Path:
    """Resize the window to the whole page at ``width`` and save a PNG under test-artifacts/ (and, with
    ``MLWRIGHT_DOCS_SCREENSHOTS=1``, over the guide's copy in docs/img/ when it has one of that name)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    driver.set_window_size(width, min(int(height) + 120, 16000))
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    if os.environ.get("MLWRIGHT_DOCS_SCREENSHOTS") == "1" and (DOCS_IMG / path.name).exists():
        shutil.copyfile(path, DOCS_IMG / path.name)  # one of the guide's set: replaced by this run's
    return path
