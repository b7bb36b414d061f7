"""Users of the pages: roles, scrypt-hashed passwords, sign-in.

Stage: the I/O edge of what reps write. A user has a name, a role (``rep``: their
own leads; ``admin``: every lead and the feedback page) and the CRM owner name of
their leads (the ``owner`` column of the scores; by default the user name).
Passwords are hashed with scrypt (:func:`hashlib.scrypt`, memory-hard, in the
standard library: no extra dependency to keep patched) with a random 16-byte salt;
the stored string names its parameters, so a higher ``store.password_cost`` applies
to new passwords without breaking old ones. Checks are constant-time; a password
is never stored, logged or written to the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from predscore.errors import StoreError
from predscore.store.audit import record
from predscore.store.database import Store
from predscore.store.models import ROLES, User

__all__ = [
    "UserInfo",
    "add_user",
    "authenticate",
    "find_user",
    "hash_password",
    "list_users",
    "remove_user",
    "verify_password",
]

_SCHEME = "scrypt"
_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")
# a hash to check against when the user does not exist, so that the time taken does
# not tell which user names exist
_DUMMY = None


@dataclass(frozen=True)
class UserInfo:
    """A user as the pages see it (never the hash)."""

    username: str
    role: str
    owner: str
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        """Whether the user sees every lead and the feedback page."""
        return self.role == "admin"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, cost: int = 14) -> str:
    """``scrypt$<log2 n>$<r>$<p>$<salt>$<hash>`` of ``password`` with a fresh salt."""
    salt = os.urandom(16)
    n, r, p = 2**cost, 8, 1
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=32
    )
    return f"{_SCHEME}${cost}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time; False when malformed)."""
    try:
        scheme, cost, r, p, salt, digest = stored.split("$")
        n, r_, p_ = 2 ** int(cost), int(r), int(p)
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=n,
            r=r_,
            p=p_,
            maxmem=256 * n * r_,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return scheme == _SCHEME and hmac.compare_digest(got, expected)


def _info(user: User) -> UserInfo:
    return UserInfo(user.username, user.role, user.owner, user.created_at)


def _check_name(username: str) -> str:
    name = username.strip().lower()
    if not name or len(name) > 80 or not set(name) <= _USERNAME_CHARS:
        raise StoreError(
            f"user name {username!r}: expected 1 to 80 characters among a-z, 0-9 and "
            "'._-@'"
        )
    return name


def add_user(
    store: Store,
    username: str,
    password: str,
    role: str,
    at: datetime,
    actor: str,
    owner: str | None = None,
) -> UserInfo:
    """Create a user (audited as ``users.add``; the password is not in the audit).

    Raises
    ------
    StoreError
        When the name is taken or malformed, the role unknown or the password short.
    """
    name = _check_name(username)
    if role not in ROLES:
        raise StoreError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if len(password) < store.min_password_length:
        raise StoreError(
            f"the password has {len(password)} characters, fewer than "
            f"store.min_password_length ({store.min_password_length})"
        )
    user = User(
        username=name,
        role=role,
        owner=(owner or name).strip(),
        password_hash=hash_password(password, store.password_cost),
        created_at=at,
    )
    try:
        with store.write() as session:
            session.add(user)
            session.flush()
            record(session, actor, "users.add", "users", at, name, role=role)
    except IntegrityError:
        raise StoreError(
            f"user {name!r} exists already; `predscore users remove {name}` first"
        ) from None
    return _info(user)


def remove_user(store: Store, username: str, at: datetime, actor: str) -> None:
    """Delete a user (their entries and feedback stay, under their name).

    Raises
    ------
    StoreError
        When there is no such user.
    """
    name = username.strip().lower()
    with store.write() as session:
        user = session.scalars(select(User).where(User.username == name)).first()
        if user is None:
            raise StoreError(f"no user {name!r} (see `predscore users list`)")
        session.delete(user)
        record(session, actor, "users.remove", "users", at, name)


def list_users(store: Store) -> list[UserInfo]:
    """Every user, by name."""
    with store.read() as session:
        return [_info(u) for u in session.scalars(select(User).order_by(User.username))]


def find_user(store: Store, username: str) -> UserInfo | None:
    """The user of that name, or None."""
    with store.read() as session:
        user = session.scalars(
            select(User).where(User.username == username.strip().lower())
        ).first()
        return None if user is None else _info(user)


def authenticate(store: Store, username: str, password: str) -> UserInfo | None:
    """The user when the password matches, else None (same cost either way)."""
    global _DUMMY
    with store.read() as session:
        user = session.scalars(
            select(User).where(User.username == username.strip().lower()[:80])
        ).first()
        if user is None:
            if _DUMMY is None:
                _DUMMY = hash_password("not a password", store.password_cost)
            verify_password(password, _DUMMY)
            return None
        return _info(user) if verify_password(password, user.password_hash) else None
