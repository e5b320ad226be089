"""The package's shape stays as design.md §7 draws it: lower stages never import higher ones (module-level
or inside functions), no import cycles besides the model-family registry, at most 10 top-level modules."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first.  A module belongs to the longest prefix listed; modules of one layer may import each other.
LAYERS: list[tuple[str, ...]] = [
    ("mlwright._version", "mlwright.errors", "mlwright.config", "mlwright.faults", "mlwright.processes",
     "mlwright.budget"),
    ("mlwright.store", "mlwright.jsonsafe"),
    ("mlwright.evaluation.metrics",),
    ("mlwright.data",),
    ("mlwright.artifacts",),
    ("mlwright.features", "mlwright.models"),
    ("mlwright.evaluation", "mlwright.ensemble", "mlwright.predictor", "mlwright.monitoring.stats",
     "mlwright.fairness"),
    ("mlwright.execution", "mlwright.search"),
    ("mlwright.report", "mlwright.monitoring.reference"),
    ("mlwright.data.profile", "mlwright.data.components", "mlwright.data.checks", "mlwright.data.leakage",
     "mlwright.data.cleaning", "mlwright.fairness.data"),
    ("mlwright.tracking", "mlwright.external"),
    ("mlwright.automl", "mlwright.forecast", "mlwright.unsupervised"),
    ("mlwright.registry",),
    ("mlwright.serving", "mlwright.artifacts.onnx", "mlwright.monitoring.feedback"),
    ("mlwright.monitoring",),
    ("mlwright.loop",),
    ("mlwright.ui",),
    ("mlwright.serving.app", "mlwright.serving.__init__"),
    ("mlwright.cli", "mlwright.__main__", "mlwright.__init__", "mlwright.tracking.pyfunc"),
]  # fmt: skip


def modules() -> dict[str, Path]:
    out = {}
    for f in (SRC / "mlwright").rglob("*.py"):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if "migrations" not in parts:
            out[".".join(parts)] = f
    return out


def layer(mod: str) -> int:
    best, found = -1, None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best:
                best, found = len(p), i
    assert found is not None, f"{mod} is in no layer: add it to LAYERS"
    return found


def imports(mod: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """The mlwright modules ``mod`` imports anywhere in its source (a package import means its __init__)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlwright"):
            names = [f"{node.module}.{a.name}" for a in node.names]
            names = [n if n in mods or f"{n}.__init__" in mods else node.module for n in names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("mlwright")]
        for n in names:
            out.add(n if n in mods else f"{n}.__init__")
    return out


def test_lower_stages_never_import_higher_ones():
    mods = modules()
    wrong = []
    for mod, path in mods.items():
        for target in imports(mod, path, mods):
            if target in mods and layer(target) > layer(mod):
                wrong.append(f"{mod} (layer {layer(mod)}) imports {target} (layer {layer(target)})")
    assert wrong == [], "\n".join(sorted(wrong))


def test_at_most_ten_top_level_modules():
    top = [f.stem for f in (SRC / "mlwright").glob("*.py") if f.name != "__init__.py"]
    assert len(top) <= 10, top


def test_every_exception_class_is_in_the_one_error_tree():
    """Exceptions are declared in ``mlwright.errors`` only (one tree, one ``code`` and HTTP status each)."""
    import mlwright.errors as errors

    tree = set(errors.__all__)
    outside = []
    for mod, path in modules().items():
        if mod == "mlwright.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if any(b in tree or b.endswith(("Error", "Exception")) for b in bases):
                    outside.append(f"{mod}.{node.name}")
    assert outside == [], outside
    for name in tree - {"closest", "did_you_mean", "writable_dir", "MlwrightWarning"}:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.MlwrightError) and cls.__doc__ and cls.code, name
    assert issubclass(errors.MlwrightWarning, UserWarning)  # the one warning class, beside the tree


def test_sql_on_the_store_only_inside_store():
    """Only ``store/`` builds queries on mlwright's own database (repository functions); ``data.sql`` alone
    speaks SQL besides, to the user's databases (SqlSource, batch output to a table)."""
    allowed = {"mlwright.data.sql"}
    wrong = []
    for mod, path in modules().items():
        if mod.startswith("mlwright.store") or mod in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            wrong += [f"{mod} imports {n}" for n in names if n.startswith(("sqlalchemy", "mlwright.store.tables"))]
    assert wrong == [], wrong
