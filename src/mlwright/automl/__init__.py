"""The tabular AutoML estimator and its declared fitted state.

Lives here: :class:`AutoML` (the scikit-learn estimator that searches, ensembles and keeps the best
model), :class:`FittedModel` (everything ``fit`` produced, immutable), its :class:`Member` records, the
assembly of trials into the served model, and the model directory's save/load.

May import: ``data``, ``checks``/``cleaning``, ``features``, ``models``, ``search`` and ``execution``,
``ensemble``, ``evaluation`` (metrics, diagnose), ``predictor``, ``artifacts``, ``tracking`` (to record the
run), ``monitoring.reference`` and ``report`` (built after ``fit``, lazily).  Never ``serving``, ``registry``,
``loop``, ``ui`` or ``cli``.
"""

from mlwright.automl.estimator import ENSEMBLE_NAME, AutoML, load
from mlwright.automl.fitted import Estimate, FittedModel, Member, Provenance

__all__ = ["ENSEMBLE_NAME", "AutoML", "Estimate", "FittedModel", "Member", "Provenance", "load"]
