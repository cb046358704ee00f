"""Access control, personal-data masking and the audit trail.

The dashboard reads case data only through :class:`security.scoped.ScopedRun`, which scopes,
masks and audits every call (what is in scope in :mod:`security.scope`, the frames it returns
in :mod:`security.read_model`); principals and sessions live in :mod:`security.principals`, the
users file in :mod:`security.user_store`, sign-in and its throttle in :mod:`security.signin`; the
hash-chained audit log in :mod:`security.audit`; the rules themselves in
:mod:`security.policy`. See ``security/README.md``.
"""
