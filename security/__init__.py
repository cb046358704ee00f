"""Access control, personal-data masking and the audit trail.

The dashboard reads case data only through :class:`security.scoped.ScopedRun`, which scopes,
masks and audits every call; users and sessions live in :mod:`security.users`; the
hash-chained audit log in :mod:`security.audit`; the rules themselves in
:mod:`security.policy`. See ``security/README.md``.
"""
