"""Errors that stop an ingest before anything is written."""

from __future__ import annotations


class DropError(ValueError):
    """A source drop cannot be ingested: the message names the file and what is wrong."""
