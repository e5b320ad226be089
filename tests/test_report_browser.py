"""The HTML reports as a user sees them: rendered by headless Chromium, every section there, every image decoded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlwright

from .browser import full_page_screenshot, start

IMAGES_OK = "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
OVERFLOW = "return document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module")
def driver():
    d = start()
    yield d
    d.quit()


def _profile_page(tmp_path) -> str:
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.lognormal(10, 0.5, n),
            "segment": rng.choice(["retail", "corporate", "public sector with a long name"], n),
            "signup": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        }
    )
    df.loc[rng.random(n) < 0.2, "income"] = np.nan
    df["churned"] = np.where(rng.random(n) < 0.3, "yes", "no")
    df["closed_reason"] = np.where(df.churned == "yes", "moved", None)
    path = tmp_path / "profile.html"
    mlwright.profile(df, target="churned").to_html(path)
    return path.as_uri()


def test_profile_renders_in_chromium(driver, tmp_path):
    from selenium.webdriver.common.by import By

    driver.set_window_size(1280, 800)
    driver.get(_profile_page(tmp_path))
    headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "section h2")]
    assert headings == [
        "Overview",
        "Findings",
        "Target: churned",
        "Columns",
        "Missing values",
        "Correlations",
        "Principal components",
    ]
    ok = driver.execute_script(IMAGES_OK)
    assert len(ok) >= 8 and all(ok), "every embedded figure decodes"
    rows = driver.find_elements(By.CSS_SELECTOR, "#findings tr")
    assert any("closed_reason" in r.text and "CRITICAL" in r.text.upper() for r in rows)
    assert driver.execute_script(OVERFLOW) <= 1, "no horizontal scrolling at 1280 px"
    shot = full_page_screenshot(driver, "profile_1280", 1280)
    assert shot.stat().st_size > 50_000


def test_profile_is_usable_on_a_phone(driver, tmp_path):
    driver.set_window_size(390, 844)
    driver.get(_profile_page(tmp_path))
    assert driver.execute_script(OVERFLOW) <= 1, "no horizontal scrolling at 390 px"
    full_page_screenshot(driver, "profile_390", 390)


def test_model_report_renders_in_chromium(driver, tmp_path):
    from selenium.webdriver.common.by import By

    rng = np.random.default_rng(1)
    n = 500
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})
    df["target"] = np.where(df.a + 0.5 * df.b + rng.normal(size=n) > 0, "pos", "neg")
    model = mlwright.AutoML(time_budget=60, families=["lightgbm", "linear"], max_trials=3).fit(
        df.iloc[:400], target="target"
    )
    path = tmp_path / "model.html"
    model.report(path, data=df.iloc[400:])
    driver.set_window_size(1280, 800)
    driver.get(path.as_uri())
    headings = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "section h2")]
    assert headings == [
        "Summary", "Model card", "Diagnosis", "Leaderboard", "Cross-validated evaluation", "Test evaluation",
        "Explanations", "Data findings", "How this report was made",
    ]  # fmt: skip
    ok = driver.execute_script(IMAGES_OK)
    assert len(ok) >= 15 and all(ok), "every embedded figure decodes"
    assert driver.execute_script(OVERFLOW) <= 1
    full_page_screenshot(driver, "model_report_1280", 1280)
    driver.set_window_size(390, 844)
    driver.get(path.as_uri())
    assert driver.execute_script(OVERFLOW) <= 1, "no horizontal scrolling at 390 px"
    full_page_screenshot(driver, "model_report_390", 390)
