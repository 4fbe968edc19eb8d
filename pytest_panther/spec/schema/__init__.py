"""The spec schemas (``analysis.schema.json``, package data) and a fast validity pre-check."""
