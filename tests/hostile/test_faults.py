"""Faults as tests: ``kill -9`` at each write point (``MLWRIGHT_KILL_AT``, see :mod:`mlwright.faults`), a full
disk and a read-only home (small tmpfs mounts, as root).  What a killed command leaves is never a half entry,
its temporary copies are gone after the next command, and the store says what happened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mlwright.monitoring.drift import feedback_table
from mlwright.store import Store

from .conftest import AUTH, Service, World
from .corpus_http import OK

KILLED = -signal.SIGKILL
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs (full disk, read-only) needs root")


@pytest.fixture()
def w(tmp_path) -> World:
    return World(tmp_path)


def killed_at(w: World, point: str, *args) -> subprocess.CompletedProcess:
    env = w.env | {"MLWRIGHT_KILL_AT": point}
    exe = str(Path(sys.executable).with_name("mlwright"))
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, timeout=240)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".") and p.name != ".installed")


@pytest.mark.parametrize("point", ["register.copied", "register.renamed"])
def test_kill_during_register_leaves_no_half_version(w, hostile_model, point):
    r = killed_at(w, point, "models", "register", hostile_model, "churn", "--alias", "champion")
    assert r.returncode == KILLED, r.stderr
    r = w.cli("models", "list")  # the next command: sees no version, sweeps the copy
    assert r.returncode == 0 and "churn" not in r.stdout, r.stdout
    arts = w.home / "artifacts"
    assert not leftovers(arts) and not [p for p in arts.glob("churn/*")], list(arts.rglob("*"))
    r = w.cli("models", "register", hostile_model, "churn", "--alias", "champion")
    assert r.returncode == 0 and "churn@1" in r.stdout, r.stderr  # the registry goes on: version 1
    assert len(list(arts.glob("churn/*"))) == 1 and not leftovers(arts)


@pytest.mark.slow
def test_kill_while_saving_a_model_leaves_no_half_directory(w, hostile_data, tmp_path):
    train = tmp_path / "t.csv"
    hostile_data.to_csv(train, index=False)
    args = ["fit", train, "-t", "churn", "--time-budget", "60", "--max-trials", "2",
            "--families", "lightgbm", "--quiet",
            "--report-seconds", "0", "--out", tmp_path / "m"]  # fmt: skip
    r = killed_at(w, "save.files", *args)
    assert r.returncode == KILLED
    assert not (tmp_path / "m").exists() and [p.name for p in tmp_path.glob(".m.*")]  # the partial copy, hidden
    r = w.cli(*args)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m" / "manifest.json").exists() and not list(tmp_path.glob(".m.*"))


def test_a_fit_killed_mid_run_is_recorded_as_killed(w, hostile_data, tmp_path):
    train = tmp_path / "t.csv"
    hostile_data.to_csv(train, index=False)
    r = killed_at(w, "fit.searched", "fit", train, "-t", "churn", "--time-budget", "60", "--max-trials", "2",
                  "--families", "lightgbm",
                  "--quiet", "--report-seconds", "0", "--out", tmp_path / "m")  # fmt: skip
    assert r.returncode == KILLED
    r = w.cli("runs", "list")
    assert r.returncode == 0 and "failed" in r.stdout and "running" not in r.stdout, r.stdout
    from mlwright.tracking import runs

    (run,) = runs(f"sqlite:///{w.home / 'mlwright.db'}")
    assert run["status"] == "failed" and run["error"].startswith("killed: its process")
    assert not (tmp_path / "m").exists()


def test_kill_during_batch_output_leaves_no_half_file(w, hostile_model, hostile_data, tmp_path):
    data = tmp_path / "rows.csv"
    hostile_data.drop(columns="churn").to_csv(data, index=False)
    out = tmp_path / "pred.csv"
    r = killed_at(w, "batch.chunk", "predict", hostile_model, data, "--out", out, "--chunk-rows", "50")
    assert r.returncode == KILLED
    assert not out.exists() and len(list(tmp_path.glob(".pred.csv.*.tmp"))) == 1
    r = w.cli("predict", hostile_model, data, "--out", out, "--chunk-rows", "50")
    assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(out)) == len(hostile_data) and not list(tmp_path.glob(".pred.csv.*"))


@pytest.mark.slow
def test_kill_during_feedback_write_keeps_the_old_label(w, hostile_model, tmp_path):
    assert w.cli("models", "register", hostile_model, "churn", "--alias", "champion").returncode == 0
    with Service(w, "churn@champion") as client:
        r = client.post("/v1/models/churn/predict", json={"records": [OK]}, headers=AUTH)
        pid = r.json()["prediction_ids"][0]
        r = client.post("/v1/models/churn/feedback", json={"feedback": [{"prediction_id": pid, "actual": "yes"}]},
                        headers=AUTH)  # fmt: skip
        assert r.status_code == 200, r.text
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"prediction_id": [pid], "actual": ["no"]}).to_csv(labels, index=False)
    r = killed_at(w, "feedback.write", "feedback", "churn", labels)
    assert r.returncode == KILLED
    store = Store(f"sqlite:///{w.home / 'mlwright.db'}")
    assert feedback_table(store, "churn").set_index("prediction_id").loc[pid, "actual"] == "yes"  # not lost
    assert w.cli("feedback", "churn", labels).returncode == 0
    assert feedback_table(store, "churn").set_index("prediction_id").loc[pid, "actual"] == "no"


@pytest.mark.slow
def test_kill_during_prediction_log_write_loses_only_that_batch(w, hostile_model):
    import time

    port_env = w.env | {"MLWRIGHT_KILL_AT": "predlog.write"}
    server = Service(World(w.root), str(hostile_model))
    server.w.env = port_env
    with server as client:
        r = client.post("/v1/models/model/predict", json={"records": [OK]}, headers=AUTH)
        assert r.status_code == 200  # answered; the writer then dies with the process
        deadline = time.monotonic() + 30
        while server.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.proc.returncode == KILLED
    r = w.cli("monitor", hostile_model, "--json")  # the store is whole: no half batch to read
    assert r.returncode in (0, 2) and "Traceback" not in r.stderr, r.stderr
    with Service(w, str(hostile_model)) as client:  # and the service logs again
        assert client.post("/v1/models/model/predict", json={"records": [OK]}, headers=AUTH).status_code == 200
    r = w.cli("monitor", hostile_model, "--json")
    assert r.returncode == 0, r.stderr


def test_kill_during_a_pipeline_step_is_recorded_and_the_lock_released(w, hostile_data, tmp_path):
    hostile_data.to_csv(tmp_path / "data-1.csv", index=False)
    f = tmp_path / "p.toml"
    f.write_text(f"""
[pipeline]
name = "p"

[source]
path = "{tmp_path.as_posix()}/data-*.csv"
target = "churn"

[model]
name = "p-model"

[[steps]]
kind = "check"
""")
    r = killed_at(w, "pipeline.step", "pipeline", "run", f)
    assert r.returncode == KILLED
    r = w.cli("pipeline", "runs", "--json")  # the next command: the run is failed, its step too
    assert r.returncode == 0, r.stderr
    (run,) = json.loads(r.stdout)
    assert run["status"] == "failed" and all(s["status"] != "running" for s in run["steps"]), run
    r = w.cli("pipeline", "run", f)  # the lock is free: the pipeline runs again
    assert r.returncode == 0, r.stderr


@pytest.fixture()
def tmpfs(tmp_path):
    """Mount a 3 MB tmpfs; yields (path, remount(options))."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("this machine does not let the tests mount a tmpfs")

    def remount(opts: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{opts}", str(mnt)], check=True)

    try:
        yield mnt, remount
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@ROOT_ONLY
def test_full_disk_register_fails_cleanly_and_the_registry_goes_on(tmpfs, hostile_model):
    mnt, _ = tmpfs
    w = World(mnt)
    w.home.mkdir()
    assert w.cli("models", "list").returncode == 0  # the store exists
    size = sum(f.stat().st_size for f in Path(hostile_model).rglob("*") if f.is_file())
    filler = mnt / "filler"
    free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
    filler.write_bytes(b"\0" * max(0, free - size // 2))  # room for half the model
    r = w.cli("models", "register", hostile_model, "churn")
    assert r.returncode == 2 and "[storage_error]" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not leftovers(w.home / "artifacts") and not list((w.home / "artifacts").glob("churn/*"))
    filler.unlink()
    r = w.cli("models", "register", hostile_model, "churn")
    assert r.returncode == 0 and "churn@1" in r.stdout, r.stderr


@ROOT_ONLY
def test_full_disk_save_writes_nothing(tmpfs, hostile_model, tmp_path):
    import mlwright

    mnt, _ = tmpfs
    model = mlwright.load(hostile_model)
    free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
    (mnt / "filler").write_bytes(b"\0" * max(0, free - 4096))
    with pytest.raises(mlwright.errors.StorageError, match="nothing was written"):
        model.save(mnt / "m")
    assert [p.name for p in mnt.iterdir()] == ["filler"]


@ROOT_ONLY
@pytest.mark.slow
def test_read_only_home_fails_before_the_search(tmpfs, hostile_data, tmp_path):
    mnt, remount = tmpfs
    remount("ro")
    w = World(tmp_path)
    w.env["MLWRIGHT_HOME"] = str(mnt / "home")
    train = tmp_path / "t.csv"
    hostile_data.to_csv(train, index=False)
    for extra in ([], ["--tracking", "none"]):
        r = w.cli("fit", train, "-t", "churn", "--time-budget", "5", "--quiet", "--out", tmp_path / "m", *extra)
        assert r.returncode == 2 and "[storage_error]" in r.stderr and "MLWRIGHT_HOME" in r.stderr, r.stderr
        assert "fitted in" not in r.stderr and not (tmp_path / "m").exists()
    r = w.cli("models", "register", tmp_path, "churn")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    # with a workdir elsewhere and no tracking, nothing needs the home: the fit runs and saves
    r = w.cli("fit", train, "-t", "churn", "--time-budget", "60", "--max-trials", "2", "--quiet",
              "--families", "lightgbm",
              "--report-seconds", "0", "--tracking", "none", "--workdir", tmp_path / "wd",
              "--out", tmp_path / "m")  # fmt: skip
    assert r.returncode == 0 and (tmp_path / "m" / "manifest.json").exists(), r.stderr


OUT_OF_CORE = """
import sys
import mlwright, mlwright.automl.outofcore as oc
oc.LARGE_SHARE = 0.0005  # this small table counts as larger than memory (see tests/test_large.py)
m = mlwright.AutoML(time_budget=60, max_trials=1, limits={"memory": "3GB"}, tracking=None, families=["lightgbm"],
                    workdir=sys.argv[2], report_seconds=0)
m.fit(sys.argv[1], target="churn")
print(m.large_)
"""


@pytest.mark.slow
def test_kill_while_staging_a_table_larger_than_memory_leaves_no_blocks(w, tmp_path):
    from .conftest import hostile_table

    data = tmp_path / "big.parquet"
    hostile_table(60_000, seed=3).to_parquet(data, index=False)
    work = tmp_path / "work"
    cmd = [sys.executable, "-c", OUT_OF_CORE, str(data), str(work)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=w.env | {"MLWRIGHT_KILL_AT": "outofcore.staging"},
                       timeout=240)  # fmt: skip
    assert r.returncode == KILLED, r.stderr[-2000:]
    assert len(list(work.glob("mlwright-rows-*"))) == 1  # the killed fit's staged blocks
    r = subprocess.run(cmd, capture_output=True, text=True, env=w.env, timeout=240)
    assert r.returncode == 0 and "'rows_read': " in r.stdout, r.stdout[-1000:] + r.stderr[-2000:]  # staged again
    assert not list(work.glob("mlwright-rows-*"))  # swept by the next fit, its own removed
