"""The MLflow pyfunc of an mlwright model — a models-from-code file that MLflow runs when it loads the model.

``mlflow.pyfunc.load_model(uri).predict(df)`` returns what ``mlwright.load(dir).predict(df)`` returns
(for probabilities, ``mlwright.load`` the ``mlwright_model`` artifact itself).  The model directory (the artifact
``mlwright_model``) is checked against its manifest's SHA-256 sums as it loads, as every mlwright load
is.  Not imported by mlwright itself.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.pyfunc import PythonModel


class MlwrightPyfunc(PythonModel):
    """Wraps a saved mlwright model."""

    def load_context(self, context) -> None:
        import mlwright

        self.model = mlwright.load(context.artifacts["mlwright_model"])

    def predict(self, context, model_input, params: dict[str, Any] | None = None):
        return self.model.predict(model_input)


mlflow.models.set_model(MlwrightPyfunc())
