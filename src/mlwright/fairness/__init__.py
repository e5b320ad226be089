"""Fairness across groups: metrics per group and their disparities (:mod:`mlwright.fairness.groups`)."""

from mlwright.fairness.groups import group_metrics

__all__ = ["group_metrics"]
