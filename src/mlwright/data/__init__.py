"""Data in: reading sources, inferring the schema.

Sources (files, SQL, larger-than-memory scans) and the Schema sit at the bottom; the data checks, profile,
leakage and cleaning sit above the search and the report (see ``tests/test_layers.py``).
"""
