"""The hostile corpus's shared world: one small model, registered twice (``churn`` and ``other``), served by
the real ``mlwright serve`` command in its own process on loopback, with its own MLWRIGHT_HOME and store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import mlwright

TOKEN = "hostile-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def hostile_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Integers, a categorical, floats, dates and a yes/no target."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "owner": rng.choice(["alice", "bob", "carol"], n),
            "usage": rng.normal(size=n),
            "joined": (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")).astype(str),
        }
    )
    signal_ = df.usage + (df.owner == "bob") + 0.02 * (df.age - 50) + rng.normal(scale=0.5, size=n)
    df["churn"] = np.where(signal_ > 0.3, "yes", "no")
    return df


class World:
    """Paths, the service's URL and client, and commands run against the same home."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.env = os.environ | {"MLWRIGHT_HOME": str(self.home), "MLWRIGHT_TOKEN": TOKEN, "PYTHONWARNINGS": "ignore"}
        self.url = ""
        self.client: httpx.Client | None = None

    def cli(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        exe = Path(sys.executable).with_name("mlwright")
        return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=self.env,
                              timeout=timeout)  # fmt: skip


@pytest.fixture(scope="session")
def hostile_data() -> pd.DataFrame:
    return hostile_table()


@pytest.fixture(scope="session")
def hostile_model(tmp_path_factory, hostile_data) -> Path:
    """A fitted XGBoost + linear model (XGBoost is the family that refused huge values), saved."""
    root = tmp_path_factory.mktemp("hostile-model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = mlwright.AutoML(time_budget=120, families=["xgboost", "linear"], max_trials=2, n_jobs=-1, report_seconds=0,
                            workdir=str(root / "run")).fit(hostile_data, target="churn")  # fmt: skip
    return m.save(root / "model")


class Service:
    """``mlwright serve ARGS`` in a subprocess on a free loopback port, until the context ends."""

    def __init__(self, w: World, *args: str):
        self.w, self.args = w, args
        self.url = ""

    def __enter__(self) -> httpx.Client:
        from ..test_serving import _free_port, _wait_ready

        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        exe = str(Path(sys.executable).with_name("mlwright"))
        self.proc = subprocess.Popen([exe, "serve", *self.args, "--port", str(port), "--max-rows", "1000"],
                                     env=self.w.env, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            _wait_ready(self.url, self.proc, 90)
        except AssertionError:
            self.proc.kill()
            raise RuntimeError(f"the service did not start: {self.proc.stderr.read()[-2000:]}") from None
        self.client = httpx.Client(base_url=self.url, timeout=60)
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.stderr = self.proc.stderr.read()


@pytest.fixture(scope="session")
def world(tmp_path_factory, hostile_model) -> World:
    """``churn`` and ``other`` registered (champion), served by ``mlwright serve`` in a subprocess; ``solo``:
    the model directory alone (the routes that serve "the" model)."""
    w = World(tmp_path_factory.mktemp("hostile"))
    w.model = hostile_model
    for name in ("churn", "other"):
        r = w.cli("models", "register", hostile_model, name, "--alias", "champion")
        assert r.returncode == 0, r.stderr
    main, solo = Service(w, "churn@champion", "other@champion"), Service(w, str(hostile_model))
    with main as client, solo as solo_client:
        w.client, w.solo, w.url = client, solo_client, main.url
        yield w
    for s in (main, solo):
        assert "Traceback" not in s.stderr, s.stderr[-3000:]
