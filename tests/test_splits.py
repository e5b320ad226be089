import numpy as np
import pytest

from mlwright.search.splits import make_splits


def test_stratified_kfold_keeps_class_shares_and_covers_every_row():
    y = np.array([0] * 90 + [1] * 10)
    s = make_splits(y, "binary", seed=0)
    assert s.kind == "stratified_kfold" and len(s.folds) == 5 and s.oof_mask.all()
    for tr, va in s.folds:
        assert set(tr).isdisjoint(va)
        assert y[va].sum() == 2  # 10 positives spread evenly over 5 folds
    assert np.array_equal(np.sort(np.concatenate([va for _, va in s.folds])), np.arange(100))


def test_rare_class_lowers_the_fold_count():
    y = np.array([0] * 50 + [1] * 3)
    assert len(make_splits(y, "binary").folds) == 3


def test_kfold_for_regression_and_three_folds_for_large_data():
    assert make_splits(np.random.default_rng(0).normal(size=100), "regression").kind == "kfold"
    assert len(make_splits(np.zeros(25_000), "regression").folds) == 3


def test_group_kfold_never_splits_a_group():
    y = np.tile([0, 1], 60)
    groups = np.repeat(np.arange(12), 10)
    s = make_splits(y, "binary", groups=groups)
    assert s.kind == "group_kfold"
    for tr, va in s.folds:
        assert set(groups[tr]).isdisjoint(groups[va])


def test_time_split_validates_on_later_rows_only():
    order = np.random.default_rng(1).permutation(100)
    s = make_splits(np.zeros(100), "regression", order=order)
    assert s.kind == "time"
    for tr, va in s.folds:
        assert order[tr].max() < order[va].min()
    assert 0 < s.oof_mask.sum() < 100  # the earliest block is never validated


def test_holdout_for_large_data(monkeypatch):
    import mlwright.search.splits as S

    monkeypatch.setattr(S, "LARGE_DATA_ROWS", 1000)
    s = S.make_splits(np.tile([0, 1], 1000), "binary")
    assert s.kind == "holdout" and len(s.folds) == 1 and s.oof_mask.sum() == 400


def test_one_group_is_an_error():
    with pytest.raises(ValueError, match="2 distinct groups"):
        make_splits(np.tile([0, 1], 10), "binary", groups=np.zeros(20))
