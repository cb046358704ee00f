"""Escalation (民转刑) risk: as-of snapshots, features, calibrated model, explanations, tiers, 多包一."""
