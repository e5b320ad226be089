"""Validation splits: (stratified) k-fold, holdout for large data, group k-fold, time-ordered."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    ShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
    TimeSeriesSplit,
)

from mlwright.config import DEFAULT_FOLDS, LARGE_DATA_ROWS
from mlwright.errors import MlwrightWarning

__all__ = ["Splits", "make_splits"]


@dataclass(frozen=True)
class Splits:
    """Train/validation index pairs and the rows that receive out-of-fold predictions."""

    kind: str
    folds: list[tuple[np.ndarray, np.ndarray]]
    oof_mask: np.ndarray  # rows validated exactly once


def make_splits(
    y: np.ndarray,
    task: str,
    n_folds: int | None = None,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
    seed: int = 0,
) -> Splits:
    """Choose and build the validation scheme.

    Parameters
    ----------
    y : array
        Encoded target (class indices or values).
    task : str
    n_folds : int, optional
        Defaults to 5 (3 above 20 000 rows); a holdout is used above ``LARGE_DATA_ROWS`` rows.
    groups : array, optional
        Group labels: rows of one group never sit on both sides of a split.
    order : array, optional
        Sort key (time): each validation block comes after its training rows.
    seed : int
    """
    n = len(y)
    classification = task != "regression"
    if n_folds is None:
        n_folds = DEFAULT_FOLDS if n <= 20_000 else 3
    if classification:
        counts = np.bincount(y.astype(int))
        smallest = int(counts[counts > 0].min())
        if smallest < n_folds and order is None:
            if smallest >= 2:
                n_folds = smallest
            else:
                warnings.warn("a class has a single row: stratification is off", MlwrightWarning, stacklevel=3)
                classification = False
    n_folds = max(2, n_folds)
    X = np.zeros((n, 1))
    if order is not None:
        idx = np.argsort(order, kind="stable")
        folds = [(idx[tr], idx[va]) for tr, va in TimeSeriesSplit(n_splits=n_folds).split(X)]
        kind = "time"
    elif groups is not None:
        g = np.asarray(groups)
        n_groups = len(np.unique(g))
        k = min(n_folds, n_groups)
        if k < 2:
            raise ValueError("group k-fold needs at least 2 distinct groups")
        cv = StratifiedGroupKFold(k, shuffle=True, random_state=seed) if classification else GroupKFold(k)
        folds = list(cv.split(X, y, g))
        kind = "group_kfold"
    elif n > LARGE_DATA_ROWS:
        cv = (StratifiedShuffleSplit if classification else ShuffleSplit)(n_splits=1, test_size=0.2, random_state=seed)
        folds = list(cv.split(X, y))
        kind = "holdout"
    else:
        cv = (StratifiedKFold if classification else KFold)(n_folds, shuffle=True, random_state=seed)
        folds = list(cv.split(X, y))
        kind = "stratified_kfold" if classification else "kfold"
    mask = np.zeros(n, dtype=bool)
    for _, va in folds:
        mask[va] = True
    return Splits(kind=kind, folds=folds, oof_mask=mask)
