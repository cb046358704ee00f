"""Ingest a source drop (data-contract v1) into canonical tables."""
