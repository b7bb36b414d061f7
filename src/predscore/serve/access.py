"""Who is asking: the principal of a request, what it may see, and its forms' CSRF token.

Stage: serve. A page request comes from a user of the store (a rep, or an admin)
signed in with a password, or from the holder of the access token (an admin: the
token is the operator's secret). :class:`Principal` says who, which leads they may
see (a rep: the leads whose ``owner`` is theirs; an admin: all) and the CSRF token
every form of their session carries. :func:`read_form` parses a URL-encoded form
body (no multipart: the pages post nothing else).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request

__all__ = ["TOKEN_HOLDER", "Principal", "csrf_ok", "read_form"]

#: the name the audit log gives the holder of the access token
TOKEN_HOLDER = "token"
_MAX_FIELD = 10_000


@dataclass(frozen=True)
class Principal:
    """Who a request comes from."""

    name: str
    role: str
    owner: str | None
    csrf: str

    @property
    def is_admin(self) -> bool:
        """Every lead, every owner's queue and the feedback page."""
        return self.role == "admin"

    def may_see(self, owner: Any) -> bool:
        """Whether this principal may see a lead of ``owner``."""
        return self.is_admin or (self.owner is not None and str(owner) == self.owner)

    def view(self) -> dict[str, Any]:
        """What the pages show and need of the viewer (the CSRF token of forms)."""
        return {
            "name": self.name,
            "role": self.role,
            "is_admin": self.is_admin,
            "csrf": self.csrf,
        }


async def read_form(request: Request) -> dict[str, str]:
    """The first value of each field of a URL-encoded body (fields cut at 10,000)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0][:_MAX_FIELD] for k, v in parse_qs(body).items() if v}


def csrf_ok(principal: Principal, form: dict[str, str]) -> bool:
    """Whether a posted form carries its session's CSRF token (constant-time)."""
    presented = form.get("csrf", "").encode("utf-8", "replace")
    return bool(principal.csrf) and hmac.compare_digest(
        presented, principal.csrf.encode()
    )
