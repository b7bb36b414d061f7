"""What reps write, in a real database: users, qualification entries, feedback, score
history and the audit log (SQLAlchemy models, Alembic migrations shipped here).

Stage: an I/O edge beside ``io`` (below ``schema``, so that validation can merge rep
entries with the CRM export). An SQLite file by default (``store.path``); PostgreSQL
or any SQLAlchemy URL through the environment variable ``store.url_env``
(``PREDSCORE_DB_URL``). Every write is audited in its own transaction.

Public API
----------
``open_store(store_config, environ) -> Store``
    Connect and migrate to the newest schema; ``Store(url)`` for a URL.
``add_user / remove_user / list_users / authenticate / find_user``
    Users with roles (rep, admin) and scrypt-hashed passwords.
``add_entries / lead_entries / qualification_rows / count_entries``
    Append-only qualification answers; as ``qualifications`` rows for the pipeline.
``add_feedback / read_feedback / summarise_feedback / export_feedback``
    Feedback on scores and its summary per reason, rep and score band.
``append_run / lead_history / previous_scores``
    The score history of batch runs.
``read_audit``
    Every write, who and when.
"""

from predscore.store.audit import read_audit, record
from predscore.store.database import Store, alembic_config, database_url, open_store
from predscore.store.entries import (
    ENTRY_COLUMNS,
    add_entries,
    check_answers,
    count_entries,
    lead_entries,
    qualification_rows,
)
from predscore.store.feedback import (
    FEEDBACK_COLUMNS,
    SUMMARY_COLUMNS,
    add_feedback,
    export_feedback,
    read_feedback,
    summarise_feedback,
)
from predscore.store.history import (
    HISTORY_COLUMNS,
    append_run,
    lead_history,
    previous_scores,
)
from predscore.store.models import ROLES, VERDICTS
from predscore.store.users import (
    UserInfo,
    add_user,
    authenticate,
    find_user,
    hash_password,
    list_users,
    remove_user,
    verify_password,
)

__all__ = [
    "ENTRY_COLUMNS",
    "FEEDBACK_COLUMNS",
    "HISTORY_COLUMNS",
    "ROLES",
    "SUMMARY_COLUMNS",
    "VERDICTS",
    "Store",
    "UserInfo",
    "add_entries",
    "add_feedback",
    "add_user",
    "alembic_config",
    "append_run",
    "authenticate",
    "check_answers",
    "count_entries",
    "database_url",
    "export_feedback",
    "find_user",
    "hash_password",
    "lead_entries",
    "lead_history",
    "list_users",
    "open_store",
    "previous_scores",
    "qualification_rows",
    "read_audit",
    "read_feedback",
    "record",
    "remove_user",
    "summarise_feedback",
    "verify_password",
]
