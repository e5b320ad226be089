"""Learning without a label: segments (:class:`Cluster`) and anomalies (:class:`Anomaly`), each a predictor
served, logged and watched like the supervised models."""

from mlwright.unsupervised.anomaly import Anomaly
from mlwright.unsupervised.cluster import Cluster

__all__ = ["Anomaly", "Cluster"]
