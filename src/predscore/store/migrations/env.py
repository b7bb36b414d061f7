"""Alembic environment of the store: runs on the connection ``Store.upgrade`` passes.

There is no ``alembic.ini``: the configuration is built in code
(:func:`predscore.store.database.alembic_config`) and the connection arrives in
``config.attributes["connection"]``, so migrations run wherever the package is
installed, on the same engine the application uses.
"""

from __future__ import annotations

from alembic import context

from predscore.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
