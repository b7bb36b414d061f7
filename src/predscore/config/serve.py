"""Serving section (``configs/serve.yaml``): ``predscore serve`` and ``predscore report``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from predscore.config._base import _Section


class ServeConfig(_Section):
    """The web app for reps (queue and lead pages), the scoring API and the report.

    The access token is a secret: it is never in YAML. ``token_env`` names the
    environment variable that holds it; with no token there, or one shorter than
    ``min_token_length``, the server refuses to start.
    """

    host: str = Field("127.0.0.1", min_length=1, description="address to listen on")
    port: int = Field(8000, ge=1, le=65535)
    token_env: str = Field(
        "PREDSCORE_API_TOKEN",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding the access token",
    )
    min_token_length: int = Field(
        16, ge=8, description="shorter tokens are refused (guessable)"
    )
    scores: Path | None = Field(
        None,
        description="folder written by `predscore score --out` (the queue shows it), or "
        "a folder of such folders (the queue shows the one with the latest as-of)",
    )
    data: Path | None = Field(
        None,
        description="validated data folder for the activity timeline and qualification "
        "fields of lead pages; default: the data folder named in the batch's manifest",
    )
    model: str | None = Field(
        None, description="model URI scoring POST /score; default: the champion"
    )
    rules_only: bool = Field(False, description="POST /score with the rules alone")
    score_api: bool = Field(
        True, description="offer POST /score (loads the model at start)"
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="server processes, each with its own model (about one per core "
        "for POST /score under load; each holds the model in memory)",
    )
    max_batch_leads: int = Field(
        100, ge=1, le=10_000, description="leads per POST /score request"
    )
    coalesce_leads: int = Field(
        64,
        ge=1,
        le=10_000,
        description="POST /score requests arriving while another is scored are scored "
        "together in the next pass, up to this many leads (each request still gets "
        "its own answer); 1 scores every request alone",
    )
    coalesce_wait_ms: float = Field(
        20.0,
        ge=0,
        le=1_000,
        description="under load (passes took half of the last second or more, and "
        "one of them held several requests) a pass waits until as many requests are "
        "queued as the largest of them held, this long at most: fewer, fuller "
        "passes, and a cohort split by a late request joins up again; a scorer with "
        "time to spare never waits, nor one whose recent waits did not fill their "
        "pass (requests arriving apart); 0: never",
    )
    keepalive_requests: int | None = Field(
        None,
        ge=1,
        description="a connection is closed after answering this many requests (the "
        "client reconnects; requests through a proxy, with X-Forwarded-For, are never "
        "rotated); null: never (balance_connections spreads the clients)",
    )
    balance_connections: bool = Field(
        True,
        description="with several workers, a worker holding more than its share of "
        "the active keep-alive connections closes the connections it answers until "
        "it holds its share (the clients reconnect): each worker keeps the "
        "connections it accepted, and clients crowded on one worker queue behind "
        "each other",
    )
    max_events_per_lead: int = Field(
        2_000,
        ge=1,
        description="activities, and qualifications, per lead in a POST /score request",
    )
    max_body_bytes: int = Field(
        2_000_000, ge=1_024, description="larger request bodies are refused (413)"
    )
    page_size: int = Field(50, ge=1, le=1_000, description="leads per queue page")
    timeline_events: int = Field(
        25, ge=1, description="most recent activities shown on a lead page"
    )
    session_hours: float = Field(
        12.0, gt=0, le=24 * 30, description="a page login lasts this long"
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        min_length=1,
        description="proxies trusted for X-Forwarded-For (uvicorn's "
        "forwarded_allow_ips, comma-separated): the client address the token "
        "throttle counts; list the reverse proxy's address when it runs elsewhere",
    )
    max_token_failures: int = Field(
        10,
        ge=1,
        description="wrong tokens from one client address within "
        "`token_failure_window_seconds`; beyond, its token attempts get 429",
    )
    token_failure_window_seconds: float = Field(
        300.0, gt=0, description="how long a wrong token counts against its address"
    )
    cookie_secure: bool = Field(
        False,
        description="send the session cookie over HTTPS only (set it behind a TLS proxy)",
    )
    report_max_leads: int | None = Field(
        None, ge=1, description="predscore report: cards for the top N leads only"
    )

    @field_validator("host")
    @classmethod
    def _no_scheme(cls, value: str) -> str:
        if "://" in value or "/" in value:
            raise ValueError(f"a host name or address, not a URL: {value!r}")
        return value
