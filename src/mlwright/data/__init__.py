"""Data in: reading sources, inferring the schema."""
