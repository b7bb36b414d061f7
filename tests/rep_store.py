"""Helpers of the tests of what reps write: a store with users, signing in by form.

:func:`seeded_store` opens a store at a URL (SQLite file or the suite's PostgreSQL)
and adds three users: two reps owning the leads of two owners of the served batch,
and an admin. :func:`sign_in` signs a test client in through the login form (its
CSRF token included) and :func:`csrf_of` reads a page's form token.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd

from predscore.store import Store, add_user

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def seeded_store(url: str, owners: list[str]) -> Store:
    """A migrated store with reps ``ana`` (owner ``owners[0]``) and ``bo``
    (``owners[1]``) and the admin ``root``; cheap password hashing for tests."""
    store = Store(url, password_cost=10)
    store.upgrade()
    now = datetime.now(UTC)
    add_user(store, "ana", PASSWORD, "rep", now, "test", owner=owners[0])
    add_user(store, "bo", PASSWORD, "rep", now, "test", owner=owners[1])
    add_user(store, "root", PASSWORD, "admin", now, "test")
    return store


def two_owners(scores: pd.DataFrame) -> list[str]:
    """The two owners with the most open leads in a batch."""
    return scores["owner"].dropna().value_counts().index[:2].tolist()


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: object, user: str, password: str = PASSWORD) -> object:
    """Sign ``client`` in through the form; return the response (303 when right)."""
    form = client.get("/login")
    return client.post(
        "/login",
        data={
            "csrf": csrf_of(form.text),
            "username": user,
            "password": password,
            "next": "/queue",
        },
        follow_redirects=False,
    )
