"""Ingest a source drop (data-contract v1) into canonical tables.

Stages (each a pure function of DataFrames; only :mod:`etl.reader` touches files):

* :mod:`etl.reader` — find ``NAME.csv``/``NAME.xlsx``, detect UTF-8/GB18030, map English or
  Chinese headers, keep each row's number and raw text.
* :mod:`etl.contract` + :mod:`etl.validate` — types, enums, keys, references, duplicates; bad
  rows go to the quarantine with a reason.
* :mod:`etl.normalise` — phones, resident ids (ISO 7064 check), names, addresses and grids.
* :mod:`etl.resolve` — Fellegi–Sunter person resolution with explainable match weights:
  :mod:`etl.blocking` (candidate pairs), :mod:`etl.match_weights` (comparison levels, m/u,
  weights), :mod:`etl.clusters` (union–find into persons), :mod:`etl.context` (joins by the
  people named alongside).
* :mod:`etl.link` — calls, reports, mediations and visits to disputes; the disputes table:
  :mod:`etl.link_features` (candidate disputes, link features), :mod:`etl.link_model` (the
  logistic link score and its summary), :mod:`etl.link_increment` (a day's new calls).
* :mod:`etl.outcomes` — the 民转刑 rule.
* :mod:`etl.constraints` — person record keys across exports; analysts' merges and splits.
* :mod:`etl.pipeline` — ``ingest_drop(sources) -> IngestResult`` (persisted by :mod:`jobs.catalog`).
* :mod:`etl.quality` — precision/recall of resolution and linking against ground truth.
"""
