import numpy as np
import pytest
from sklearn import metrics as skm

from mlwright.errors import ConfigError
from mlwright.evaluation.metrics import METRICS, confusion_matrix, default_metric, get_metric, score_all

rng = np.random.default_rng(0)
Y2 = rng.integers(0, 2, 200)
P2 = np.clip(Y2 * 0.6 + rng.random(200) * 0.5, 0, 1)
PROBA2 = np.column_stack([1 - P2, P2])
Y3 = rng.integers(0, 3, 300)
RAW3 = rng.random((300, 3)) + np.eye(3)[Y3]
PROBA3 = RAW3 / RAW3.sum(1, keepdims=True)


def test_binary_metrics_match_sklearn():
    assert get_metric("roc_auc")(Y2, PROBA2) == pytest.approx(skm.roc_auc_score(Y2, P2))
    assert get_metric("log_loss")(Y2, PROBA2) == pytest.approx(skm.log_loss(Y2, PROBA2))
    labels = PROBA2.argmax(1)
    assert get_metric("f1")(Y2, PROBA2) == pytest.approx(skm.f1_score(Y2, labels))
    assert get_metric("precision")(Y2, PROBA2) == pytest.approx(skm.precision_score(Y2, labels))
    assert get_metric("balanced_accuracy")(Y2, PROBA2) == pytest.approx(skm.balanced_accuracy_score(Y2, labels))


def test_multiclass_metrics_match_sklearn():
    assert get_metric("roc_auc")(Y3, PROBA3, 3) == pytest.approx(skm.roc_auc_score(Y3, PROBA3, multi_class="ovr"))
    assert get_metric("log_loss")(Y3, PROBA3, 3) == pytest.approx(skm.log_loss(Y3, PROBA3))
    assert get_metric("f1_macro")(Y3, PROBA3, 3) == pytest.approx(skm.f1_score(Y3, PROBA3.argmax(1), average="macro"))
    assert confusion_matrix(Y3, PROBA3, 3) == skm.confusion_matrix(Y3, PROBA3.argmax(1)).tolist()


def test_regression_metrics_match_sklearn():
    y = rng.normal(size=100) + 5
    p = y + rng.normal(scale=0.3, size=100)
    assert get_metric("rmse")(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert get_metric("mae")(y, p) == pytest.approx(skm.mean_absolute_error(y, p))
    assert get_metric("r2")(y, p) == pytest.approx(skm.r2_score(y, p))
    assert get_metric("mape")(y, p) == pytest.approx(skm.mean_absolute_percentage_error(y, p))


def test_loss_direction():
    auc = get_metric("roc_auc")
    assert auc.loss(Y2, PROBA2) == -auc(Y2, PROBA2)
    assert auc.better(0.9, 0.8) and get_metric("rmse").better(1.0, 2.0)


def test_unknown_metric_lists_valid_ones_and_suggests():
    with pytest.raises(ConfigError, match="did you mean 'roc_auc'") as exc:
        get_metric("roc_aux")
    assert "log_loss" in str(exc.value)


def test_metric_must_fit_task():
    with pytest.raises(ConfigError, match="does not apply to a regression task"):
        get_metric("roc_auc", "regression")
    assert get_metric("AUC").name == "roc_auc"


def test_defaults_and_score_all():
    assert [default_metric(t) for t in ("binary", "multiclass", "regression")] == ["roc_auc", "log_loss", "rmse"]
    s = score_all("binary", Y2, PROBA2, 2)
    assert {"roc_auc", "f1", "accuracy", "log_loss"} <= set(s)
    assert set(score_all("multiclass", Y3, PROBA3, 3)).isdisjoint({"f1", "precision"})
    assert len(METRICS) >= 15
