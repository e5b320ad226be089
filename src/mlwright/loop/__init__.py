"""Closing the loop: retraining a champion on new data behind a gate (:mod:`.retrain`), and pipelines —
declared, scheduled runs of fit → check → gate → promote → batch-score steps (:mod:`.pipelines`).

May import every stage below it (data, search, automl, registry, serving, monitoring); never ``ui`` or
``cli`` (see ``tests/test_layers.py``).
"""
