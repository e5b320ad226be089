"""Store and model registry on real databases: SQLite (always), PostgreSQL and MariaDB (when reachable)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import warnings

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import mlwright
from mlwright.cli import app
from mlwright.errors import ArtifactIntegrityError, ModelNotFoundError, RegistryError, StoreError
from mlwright.registry import Registry, parse_ref
from mlwright.store import Store

PG = os.environ.get("MLWRIGHT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB = os.environ.get("MLWRIGHT_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
runner = CliRunner()


def _reachable(url: str) -> str | None:
    try:
        with sa.create_engine(url, connect_args={"connect_timeout": 3}).connect():
            return None
    except Exception as exc:  # the reason goes into the skip message
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store_url(request, tmp_path):
    """A fresh, empty store database of each kind (PostgreSQL: own schema; MariaDB: own database)."""
    kind = request.param
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = PG if kind == "postgresql" else MARIADB
    why = _reachable(base)
    if why:
        pytest.skip(f"{kind} server not reachable at {base} ({why}); CI and the dev machines run one on loopback")
    name = f"mlw_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE {'SCHEMA' if kind == 'postgresql' else 'DATABASE'} {name}")
    url = f"{base}?options=-csearch_path%3D{name}" if kind == "postgresql" else base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(
                f"DROP {'SCHEMA' if kind == 'postgresql' else 'DATABASE'} {name}"
                + (" CASCADE" if kind == "postgresql" else "")
            )
        admin.dispose()


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """Two small saved models (different seeds) to register."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    df["y"] = np.where(df.a + rng.normal(scale=0.5, size=300) > 0, "yes", "no")
    out = []
    for seed in (0, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = mlwright.AutoML(time_budget=60, families=["lightgbm"], max_trials=1, seed=seed, report_seconds=0)
            a.fit(df, target="y")
        out.append(a.save(tmp_path_factory.mktemp("m") / f"model{seed}"))
    return out, df


def test_migrations_build_the_schema_the_code_expects(store_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mlwright.store.tables import metadata

    store = Store(store_url)
    Store(store_url)  # opening again is a no-op
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": "mlw_alembic_version"})
        diff = [
            d
            for d in compare_metadata(ctx, metadata)
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "mlw_alembic_version")
        ]
        assert diff == [], diff
        assert ctx.get_current_revision() == "0006"


def test_register_alias_promote_rollback_archive(store_url, saved_models, tmp_path):
    (m0, m1), df = saved_models
    reg = Registry(store_url, root=tmp_path / "artifacts")
    v1 = reg.register(m0, "churn", alias="champion")
    v2 = reg.register(m1, "churn")
    v3 = reg.register(m0, "churn")
    assert (v1.version, v2.version, v3.version) == (1, 2, 3)
    assert v1.path.is_dir() and v1.path != m0 and v1.sha256 == mlwright.artifacts.file_sha256(m0 / "manifest.json")
    assert reg.get("churn").version == 1 and reg.resolve("churn@champion").version == 1
    assert reg.resolve("churn@2").version == 2
    reg.promote("churn", 2)
    reg.promote("churn", 3)
    reg.set_alias("churn", "challenger", 1)
    assert reg.get("churn", "challenger").version == 1
    assert reg.rollback("churn").version == 2  # the previous champion
    assert reg.rollback("churn").version == 1  # and the one before
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        reg.rollback("churn")
    with pytest.raises(RegistryError, match="still challenger, champion"):
        reg.archive("churn", 1)
    assert reg.archive("churn", 3).status == "archived"
    with pytest.raises(RegistryError, match="archived"):
        reg.promote("churn", 3)
    listing = reg.models()
    assert listing == [
        {"name": "churn", "versions": 3, "latest": 3, "aliases": {"champion": 1, "challenger": 1},
         "created": listing[0]["created"]}
    ]  # fmt: skip
    model = reg.load("churn@champion")
    X = df.drop(columns="y").head(5)
    np.testing.assert_array_equal(model.predict(X), mlwright.load(m0).predict(X))


def test_lookup_errors_are_clear(store_url, saved_models, tmp_path):
    (m0, _), _ = saved_models
    reg = Registry(store_url, root=tmp_path / "artifacts")
    reg.register(m0, "churn")
    with pytest.raises(ModelNotFoundError, match="no registered model named 'chrun' \\(did you mean 'churn'\\?\\)"):
        reg.resolve("chrun")
    with pytest.raises(ModelNotFoundError, match="no version 9"):
        reg.resolve("churn@9")
    with pytest.raises(ModelNotFoundError, match="no alias 'champion'"):
        reg.resolve("churn@champion")
    for bad in ("../etc", "a/b", "", "x y", "..", "name;DROP TABLE mlw_models"):
        with pytest.raises(RegistryError, match="not allowed"):
            reg.register(m0, bad)
    with pytest.raises(RegistryError, match="alias"):
        parse_ref("churn@-x")
    assert [m["name"] for m in reg.models()] == ["churn"]


def test_tampered_artifacts_are_refused(saved_models, tmp_path):
    (m0, _), _ = saved_models
    reg = Registry(f"sqlite:///{tmp_path / 's.db'}", root=tmp_path / "artifacts")
    v = reg.register(m0, "churn")
    manifest = v.path / "manifest.json"
    data = json.loads(manifest.read_text())
    data["task"] = "regression"
    manifest.write_text(json.dumps(data))
    with pytest.raises(ArtifactIntegrityError, match="changed since it was registered"):
        reg.load("churn")
    bad_src = tmp_path / "bad"
    import shutil

    shutil.copytree(m0, bad_src)
    next(iter((bad_src / "models").iterdir())).write_bytes(b"junk")
    with pytest.raises(ArtifactIntegrityError):
        reg.register(bad_src, "churn")
    assert len(reg.versions("churn")) == 1


def _register_many(url: str, root: str, src: str, n: int, out) -> None:
    reg = Registry(url, root=root)
    out.put([reg.register(src, "shared").version for _ in range(n)])


def test_concurrent_writers_get_distinct_versions(store_url, saved_models, tmp_path):
    (m0, _), _ = saved_models
    Registry(store_url, root=tmp_path / "a")  # migrate once, as a deployment would
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_register_many, args=(store_url, str(tmp_path / "a"), str(m0), 4, q)) for _ in range(4)]
    for p in procs:
        p.start()
    got = sorted(v for _ in procs for v in q.get(timeout=120))
    for p in procs:
        p.join(30)
    assert got == list(range(1, 17))
    reg = Registry(store_url, root=tmp_path / "a")
    vs = reg.versions("shared")
    assert [v.version for v in vs] == list(range(16, 0, -1))
    assert len({v.path for v in vs}) == 16 and all((v.path / "manifest.json").is_file() for v in vs)


KILLER = textwrap.dedent(
    """
    import sys, time, shutil
    import mlwright.registry as r
    real = shutil.copyfile
    def slow(src, dst, *a, **k):
        out = real(src, dst, *a, **k)
        print("copied", flush=True)
        time.sleep(60)  # killed here: part of the copy exists, no row does
        return out
    r.shutil.copyfile = slow
    r.Registry(sys.argv[1], root=sys.argv[2]).register(sys.argv[3], "churn")
    """
)


def test_kill_9_mid_register_leaves_the_old_state(saved_models, tmp_path):
    (m0, _), _ = saved_models
    url, root = f"sqlite:///{tmp_path / 's.db'}", tmp_path / "a"
    reg = Registry(url, root=root)
    reg.register(m0, "churn", alias="champion")
    proc = subprocess.Popen([sys.executable, "-c", KILLER, url, str(root), str(m0)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "copied"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert len(list(root.glob("churn/.tmp-*"))) == 1  # the killed copy
    after = Registry(url, root=root)
    assert not list(root.glob("churn/.tmp-*"))  # swept by the next use of the registry
    assert [v.version for v in after.versions("churn")] == [1]
    assert after.get("churn").version == 1 and after.load("churn") is not None
    assert after.register(m0, "churn").version == 2  # the registry keeps working


def test_store_errors_are_typed(tmp_path):
    with pytest.raises(StoreError, match="cannot open the store"):
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store("notadb://x")


def test_cli_models(saved_models, tmp_path, monkeypatch):
    (m0, m1), _ = saved_models
    monkeypatch.setenv("MLWRIGHT_STORE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    r = runner.invoke(app, ["models", "register", str(m0), "churn", "--alias", "champion"])
    assert r.exit_code == 0, r.output
    assert "churn@1" in r.output
    assert runner.invoke(app, ["models", "register", str(m1), "churn"]).exit_code == 0
    r = runner.invoke(app, ["models", "promote", "churn", "2"])
    assert r.exit_code == 0 and "churn@2 is now champion" in r.output
    r = runner.invoke(app, ["models", "list"])
    assert "churn" in r.output and "champion" in r.output
    r = runner.invoke(app, ["models", "show", "churn", "--json"])
    assert [v["version"] for v in json.loads(r.output)] == [2, 1]
    r = runner.invoke(app, ["models", "rollback", "churn"])
    assert r.exit_code == 0 and "churn@1 is now champion" in r.output
    r = runner.invoke(app, ["models", "archive", "churn", "2"])
    assert r.exit_code == 0 and "archived" in r.output
    r = runner.invoke(app, ["models", "show", "nope"])
    assert r.exit_code == 2 and "no registered model named 'nope'" in r.output
    time.sleep(0)


def test_prediction_log_on_every_database(store_url):
    from mlwright.serving.predlog import PredictionLog, read_log

    rng = np.random.default_rng(0)
    n = 20_000  # a payload well past MySQL's 64 KB BLOB
    inputs = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], n)})
    result = {"ids": [f"id{i}" for i in range(n)], "predictions": rng.normal(size=n).tolist(), "probabilities": None}
    store = Store(store_url)
    log = PredictionLog(store, interval=0.05)
    assert log.put("batch1", "m", "1", 3.5, inputs, result)
    log.close()
    assert log.written == 1 and log.failed == 0
    got_in, got_out = read_log(store, "m")
    np.testing.assert_allclose(got_in["a"].to_numpy(), inputs["a"].to_numpy())
    assert list(got_out["prediction_id"][:3]) == ["id0", "id1", "id2"] and len(got_out) == n
