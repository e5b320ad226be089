"""The dashboard in a real headless Chromium, the way a user clicks through it: log in → upload the demo CSV →
choose the target → profile and findings → start a short run (live progress) → leaderboard → register →
promote (with the confirmation) → predict form → prediction and probabilities → review → correct it.

Every page is screenshotted at 1280×800 and at a phone's width (390 px) into ``test-artifacts/dashboard-*.png``;
at the phone width no page may scroll sideways (wide tables scroll inside their own box).
"""

from __future__ import annotations

import time

import pytest

from mlwright.cli import demo_data_path

from .browser import full_page_screenshot, start
from .dashboard import TOKEN, running

OVERFLOW = "return document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def driver():
    d = start(1280, 800)
    yield d
    d.quit()


def _shots(driver, name: str, checks_mobile: bool = True) -> None:
    """Screenshot the page wide and narrow; at the narrow width nothing may stick out sideways."""
    full_page_screenshot(driver, f"dashboard-{name}-1280", 1280)
    driver.set_window_size(390, 844)
    time.sleep(0.15)
    if checks_mobile:
        assert driver.execute_script(OVERFLOW) <= 0, f"{name}: the page scrolls sideways at 390 px"
    full_page_screenshot(driver, f"dashboard-{name}-390", 390)
    driver.set_window_size(1280, 800)


def _wait(driver, cond, timeout: float = 90.0, what: str = ""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            v = cond()
            if v:
                return v
        except Exception:  # the element is not there yet
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; page: {driver.current_url}")


def test_whole_path_in_a_browser(tmp_path, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with running(tmp_path) as (base, url):
        d = driver
        d.get(f"{base}/ui/models")
        assert "/ui/login" in d.current_url  # nothing without logging in
        d.find_element(By.ID, "token").send_keys("wrong-token")
        d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        err = _wait(d, lambda: d.find_element(By.CSS_SELECTOR, "p.error"), 10, "the wrong-token message")
        assert "not this service's token" in err.text
        _shots(d, "login")
        d.find_element(By.ID, "token").send_keys(TOKEN)
        d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        _wait(d, lambda: d.current_url.endswith("/ui/models"), 10, "the page asked for before login")

        # ---- new run: upload, target, profile + findings, start
        d.get(f"{base}/ui/new")
        _shots(d, "new")
        d.find_element(By.ID, "file").send_keys(str(demo_data_path()))
        d.find_element(By.ID, "upload").click()
        _wait(d, lambda: d.find_element(By.ID, "target"), 20, "the target choice")
        Select(d.find_element(By.ID, "target")).select_by_value("card")  # the page submits itself on change
        _wait(d, lambda: d.find_element(By.ID, "start"), 60, "the profile and the start button")
        cols = d.find_element(By.ID, "columns").text
        assert "income" in cols and "numeric" in cols and "categorical" in cols
        assert "binary" in d.find_element(By.ID, "target-info").text
        assert d.find_element(By.ID, "findings").text  # findings listed (or "No problems found.")
        _shots(d, "profile")
        budget = d.find_element(By.ID, "time_budget")
        budget.clear()
        budget.send_keys("8")
        d.find_element(By.ID, "start").click()

        # ---- live progress, updated by the page's script while the run trains
        _wait(d, lambda: "/ui/jobs/" in d.current_url, 10, "the run's page")
        _wait(d, lambda: int(d.find_element(By.ID, "trials").text or 0) >= 1, 60, "trials counting up live")
        _shots(d, "progress")
        _wait(d, lambda: d.find_element(By.ID, "open-run"), 90, "the run to finish")
        assert d.find_element(By.ID, "state").text == "finished"
        d.find_element(By.ID, "open-run").click()

        # ---- run: leaderboard, diagnosis, report
        board = _wait(d, lambda: d.find_element(By.ID, "leaderboard"), 10, "the leaderboard")
        rows = board.find_elements(By.CSS_SELECTOR, "tbody tr.best")
        assert len(rows) == 1 and "served" in rows[0].text  # the model the run keeps, marked
        assert len(board.find_elements(By.CSS_SELECTOR, "tbody tr")) >= 3
        score = float(d.find_element(By.ID, "score").text)
        assert 0.5 < score <= 1.0
        assert d.find_element(By.ID, "diagnosis").text
        _shots(d, "run")
        d.find_element(By.ID, "register").click()  # name defaults to the target: "card"

        # ---- models: promote with confirmation
        _wait(d, lambda: "/ui/models/card" in d.current_url, 20, "the model page")
        assert "registered as version 1" in d.find_element(By.CSS_SELECTOR, ".flash").text
        d.find_element(By.ID, "promote-1").click()
        _wait(d, lambda: d.find_element(By.ID, "confirm"), 10, "the confirmation")
        _shots(d, "confirm")
        d.find_element(By.ID, "do-promote").click()  # without ticking: the browser refuses (required)
        assert "/promote" in d.current_url
        d.find_element(By.ID, "confirm").click()
        d.find_element(By.ID, "do-promote").click()
        _wait(d, lambda: "now+champion" in d.current_url or "now champion" in d.page_source, 10, "the promotion")
        assert "champion" in d.find_element(By.ID, "versions").text
        _shots(d, "model")

        # ---- predict form from the Schema
        d.get(f"{base}/ui/predict/card")
        owner = d.find_element(By.ID, "f_owner")
        assert owner.tag_name == "select"
        assert {o.text for o in owner.find_elements(By.TAG_NAME, "option")} >= {"yes", "no"}
        assert d.find_element(By.ID, "f_income").get_attribute("type") == "number"
        for name, value in {"reports": "0", "age": "38", "income": "4.2", "dependents": "1", "months": "40",
                            "majorcards": "1", "active": "6"}.items():  # fmt: skip
            d.find_element(By.ID, f"f_{name}").send_keys(value)
        Select(owner).select_by_visible_text("yes")
        Select(d.find_element(By.ID, "f_selfemp")).select_by_visible_text("no")
        d.find_element(By.ID, "predict").click()
        predicted = _wait(d, lambda: d.find_element(By.ID, "prediction"), 20, "the prediction").text
        assert predicted in ("yes", "no")
        probs = d.find_element(By.ID, "probabilities").text
        assert "yes" in probs and "no" in probs
        assert len(d.find_elements(By.CSS_SELECTOR, "#why tr")) >= 3  # what moved it, column by column
        _shots(d, "predict")

        # ---- review: the prediction just made, corrected with a comment
        def logged():  # the service writes its prediction log in the background: reload until it is there
            d.get(f"{base}/ui/review/card")
            return d.find_element(By.ID, "review")

        _wait(d, logged, 30, "the logged prediction")
        d.find_element(By.LINK_TEXT, "Mark wrong").click()
        other = "no" if predicted == "yes" else "yes"
        Select(_wait(d, lambda: d.find_element(By.ID, "actual"), 10, "the review form")).select_by_value(other)
        d.find_element(By.ID, "comment").send_keys("applicant was declined by the branch")
        _shots(d, "review-item")
        d.find_element(By.ID, "save-feedback").click()
        _wait(d, lambda: "feedback saved" in d.page_source, 10, "the feedback to be saved")
        row = d.find_element(By.CSS_SELECTOR, "#review tbody tr.wrong")
        assert other in row.text and "declined by the branch" in row.text
        _shots(d, "review")

        # ---- pipelines: a scheduled pipeline that has run once, and its step log
        from mlwright.loop.pipelines import run_pipeline

        spec = tmp_path / "nightly.toml"
        spec.write_text(f'[pipeline]\nname = "nightly-card"\nschedule = "30 2 * * *"\n[source]\npath = '
                        f'"{demo_data_path()}"\ntarget = "card"\n[model]\nname = "card"\n[[steps]]\nkind = "check"\n',
                        encoding="utf-8")  # fmt: skip
        run_pipeline(spec, store=url)
        d.get(f"{base}/ui/pipelines")
        assert "30 2 * * *" in d.find_element(By.ID, "pipelines").text
        d.find_element(By.CSS_SELECTOR, "#pipeline-runs a").click()
        _wait(d, lambda: d.find_element(By.CSS_SELECTOR, "pre.log"), 10, "the step log")
        _shots(d, "pipeline-run")

        # ---- traffic for the monitoring page: a file of 300 applicants with their incomes tripled, scored
        import pandas as pd

        rows = pd.read_csv(demo_data_path()).sample(300, random_state=0)
        rows.assign(income=rows["income"] * 3).to_csv(tmp_path / "applicants.csv", index=False)
        d.get(f"{base}/ui/predict/card")
        d.find_element(By.ID, "score-input").send_keys(str(tmp_path / "applicants.csv"))
        d.find_element(By.CSS_SELECTOR, "#score-file button[type=submit]").click()

        def drifted():  # the log is written in the background: reload until the window holds the file's rows
            d.get(f"{base}/ui/monitoring/card")
            found = d.find_element(By.XPATH, "//dt[text()='Drifted features']/following-sibling::dd").text
            return "income" in found

        _wait(d, drifted, 30, "the tripled incomes flagged as drift")

        for page in ("runs", "monitoring/card", "pipelines", "predict", ""):
            d.get(f"{base}/ui/{page}")
            assert "Something went wrong" not in d.page_source
            _shots(d, (page.replace("/", "-") or "home") + ("-list" if page == "predict" else ""))


def test_segments_from_new_run_in_a_browser(tmp_path, driver):
    """Upload → "find segments" (no target) → the run finishes → its report → register → the model's report."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with running(tmp_path) as (base, _url):
        d = driver
        d.get(f"{base}/ui/login")
        d.find_element(By.ID, "token").send_keys(TOKEN)
        d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        _wait(d, lambda: "/ui/login" not in d.current_url, 10, "the login")
        d.get(f"{base}/ui/new")
        d.find_element(By.ID, "file").send_keys(str(demo_data_path()))
        d.find_element(By.ID, "upload").click()
        form = _wait(d, lambda: d.find_element(By.ID, "unsupervised-form"), 20, "the segments form")
        Select(d.find_element(By.ID, "unsupervised_kind")).select_by_value("cluster")
        d.find_element(By.ID, "exclude").send_keys("card")  # the label stays out of the segments
        budget = d.find_element(By.ID, "unsupervised_budget")
        budget.clear()
        budget.send_keys("8")
        _shots(d, "segments-form")
        form.find_element(By.ID, "start-unsupervised").click()
        _wait(d, lambda: "/ui/jobs/" in d.current_url, 10, "the run's page")
        _wait(d, lambda: d.find_element(By.ID, "open-report"), 90, "the segments run to finish")
        assert "clusters by" in d.find_element(By.ID, "finished-summary").text
        _shots(d, "segments-run")
        d.find_element(By.CSS_SELECTOR, "#register-cluster button[type=submit]").click()
        _wait(d, lambda: d.find_element(By.ID, "model-report"), 20, "the registered model's page")
        d.find_element(By.ID, "model-report").click()
        _wait(d, lambda: "How the algorithm and k were chosen" in d.page_source, 20, "the segments report")
        assert d.find_elements(By.CSS_SELECTOR, "img[alt='map of the rows']")
