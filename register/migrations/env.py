"""Alembic environment of the register: runs on the connection the register hands over."""

from __future__ import annotations

from alembic import context

from register.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the register always passes its connection
    raise RuntimeError("register migrations run through register.store.Register.migrate()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
