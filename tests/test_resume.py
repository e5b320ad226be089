"""Resume: a fit killed mid-search (kill -9), run again with the same command, continues its run — the
finished trials read back, not rerun; nothing duplicated in the store or the trial log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import mlwright
from mlwright.tracking import run_detail

from .conftest import make_table


def _kept(wd) -> dict[str, dict]:
    d = wd / "trials"
    if not d.exists():
        return {}
    out = {}
    for t in d.iterdir():
        if not t.name.startswith(".") and (t / "result.json").exists():
            out[t.name] = json.loads((t / "result.json").read_text())
    return out


@pytest.mark.slow
def test_killed_fit_resumes_without_rerunning_finished_trials(tmp_path):
    data = tmp_path / "train.csv"
    make_table(600, "binary", seed=4).to_csv(data, index=False)
    wd = tmp_path / "wd"
    cmd = [sys.executable, "-m", "mlwright", "fit", str(data), "-t", "label", "--time-budget", "12", "--workdir",
           str(wd), "--out", str(tmp_path / "model"), "--quiet", "--report-seconds", "0",
           "--families", "lightgbm,linear", "--max-trials", "6"]  # fmt: skip
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while len(_kept(wd)) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, f"the fit ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _kept(wd)
    assert len(before) >= 3 and not (tmp_path / "model").exists()
    run_id = json.loads((wd / "state.json").read_text())["run_id"]
    assert run_detail(run_id)["status"] == "running"  # what the killed process left

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stderr[-3000:]
    model = mlwright.load(tmp_path / "model")
    trials = {t["model"]: t for t in model.trials_}
    for name, rec in before.items():  # every trial finished before the kill: read back, same result
        assert trials[name]["worker"] == "resumed"
        assert trials[name]["score"] == pytest.approx(rec["result"]["score"]) if rec["result"]["score"] else True
    assert any(t["worker"] != "resumed" for t in model.trials_)  # and the search went on
    ids = [t["id"] for t in model.trials_]
    assert len(ids) == len(set(ids)) == max(ids)
    run = run_detail(run_id)  # the same run, finished; one row per trial
    assert run["status"] == "finished" and model.run_id_ == run_id
    assert sorted(t["trial"] for t in run["trial_records"]) == sorted(ids)
    logged = [json.loads(line)["id"] for line in (wd / "trials.jsonl").read_text().splitlines()]
    assert sorted(logged) == sorted(ids)
    # a workdir holding another run's trials (other data) starts afresh
    make_table(500, "binary", seed=5).to_csv(data, index=False)
    third = subprocess.run([*cmd[:-1], "3"], capture_output=True, text=True, timeout=240)
    assert third.returncode == 0, third.stderr[-3000:]
    assert json.loads((wd / "state.json").read_text())["run_id"] != run_id
    assert all(t["worker"] != "resumed" for t in mlwright.load(tmp_path / "model").trials_)
