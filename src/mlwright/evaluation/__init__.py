"""Judging a model: metrics (:mod:`.metrics`, the lowest layer after the store — the search, the ensemble
and the data checks all score with it), honest evaluation, calibration and diagnosis (:mod:`.diagnose`),
explanations (:mod:`.explain`) and paired model comparisons (:mod:`.compare`).

May import ``data``, ``features`` and ``models``; never the estimator, serving or anything above
(see ``tests/test_layers.py``).
"""
