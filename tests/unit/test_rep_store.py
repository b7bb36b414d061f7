"""The store of what reps write, on an SQLite file and on a real PostgreSQL server.

Every test takes ``db_url`` (tests/conftest.py): it runs once on SQLite and once on
the PostgreSQL server the suite starts (skipped with the reason when it cannot).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from predscore.config import RepsConfig
from predscore.errors import StoreError
from predscore.store import (
    Store,
    add_entries,
    add_feedback,
    add_user,
    append_run,
    authenticate,
    count_entries,
    lead_entries,
    lead_history,
    list_users,
    previous_scores,
    qualification_rows,
    read_audit,
    read_feedback,
    remove_user,
    summarise_feedback,
)
from predscore.store.models import Base

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
REPS = RepsConfig()


@pytest.fixture
def store(db_url: str) -> Store:
    store = Store(db_url, password_cost=10)
    store.upgrade()
    yield store
    store.dispose()


def test_migrations_reach_head_and_match_the_models(store: Store) -> None:
    assert store.revision() == store.head() == "0001"
    store.upgrade()  # idempotent
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_users_roles_and_hashed_passwords(store: Store) -> None:
    add_user(store, "Ana", "a long secret 1", "rep", T0, "test", owner="Ana Díaz")
    add_user(store, "root", "a long secret 2", "admin", T0, "test")
    assert [(u.username, u.role, u.owner) for u in list_users(store)] == [
        ("ana", "rep", "Ana Díaz"),
        ("root", "admin", "root"),
    ]
    assert authenticate(store, "ANA", "a long secret 1").username == "ana"
    assert authenticate(store, "ana", "a long secret 2") is None
    assert authenticate(store, "nobody", "a long secret 1") is None
    with pytest.raises(StoreError, match="exists already"):
        add_user(store, "ana", "another secret", "rep", T0, "test")
    with pytest.raises(StoreError, match="fewer than"):
        add_user(store, "bo", "short", "rep", T0, "test")
    with pytest.raises(StoreError, match="role 'boss'"):
        add_user(store, "bo", "a long secret 3", "boss", T0, "test")
    remove_user(store, "ana", T0, "test")
    assert authenticate(store, "ana", "a long secret 1") is None
    with pytest.raises(StoreError, match="no user 'ana'"):
        remove_user(store, "ana", T0, "test")
    audit = read_audit(store)
    assert audit["action"].tolist() == ["users.add", "users.add", "users.remove"]
    assert not audit["detail"].fillna("").str.contains("secret").any()
    with store.read() as session:
        from predscore.store.models import User

        hashes = [u.password_hash for u in session.query(User)]
    assert all(h.startswith("scrypt$10$") and "secret" not in h for h in hashes)


def test_entries_are_appended_checked_and_audited(store: Store) -> None:
    assert add_entries(store, "L1", {"budget": "no", "need": ""}, REPS, "ana", T0) == 1
    later = T0 + timedelta(minutes=5)
    add_entries(
        store, "L1", {"budget": "yes", "timeline_months": "02"}, REPS, "bo", later
    )
    entries = lead_entries(store, "L1")
    assert entries[["field", "value", "recorded_by"]].values.tolist() == [
        ["budget", "no", "ana"],
        ["budget", "yes", "bo"],
        ["timeline_months", "2", "bo"],
    ]
    assert (
        entries["recorded_at"].tolist()
        == [pd.Timestamp(T0)] + [pd.Timestamp(later)] * 2
    )
    for bad, match in (
        ({"budget": "maybe"}, "not an answer"),
        ({"timeline_months": "99"}, "whole months"),
        ({"colour": "red"}, "not a question"),
    ):
        with pytest.raises(StoreError, match=match):
            add_entries(store, "L1", bad, REPS, "ana", T0)
    rows = qualification_rows(store)
    assert list(rows.columns) == ["lead_id", "recorded_at", "field", "value"]
    assert len(rows) == count_entries(store) == 3
    assert read_audit(store)["action"].tolist() == ["qualification.add"] * 2


@pytest.mark.parametrize("rounds", [5])
def test_two_reps_answering_at_once_both_keep_their_rows(
    store: Store, rounds: int
) -> None:
    errors: list[BaseException] = []

    def answer(rep: str, value: str, barrier: threading.Barrier) -> None:
        try:
            barrier.wait(timeout=30)
            add_entries(store, "L9", {"budget": value}, REPS, rep, T0)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    for _ in range(rounds):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=answer, args=("ana", "yes", barrier)),
            threading.Thread(target=answer, args=("bo", "no", barrier)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    entries = lead_entries(store, "L9")
    assert sorted(entries["recorded_by"].value_counts().items()) == [
        ("ana", rounds),
        ("bo", rounds),
    ]
    assert (read_audit(store)["action"] == "qualification.add").sum() == 2 * rounds


def test_feedback_is_checked_and_summarised(store: Store) -> None:
    for who, verdict, reason, p in (
        ("ana", "agree", "other", 0.05),
        ("ana", "too_high", "wrong_contact", 0.62),
        ("bo", "too_low", "knows_account", 0.2),
    ):
        add_feedback(
            store,
            REPS,
            lead_id="L1",
            verdict=verdict,
            reason=reason,
            text="  note  ",
            who=who,
            at=T0,
            run_id="r1",
            probability=p,
        )
    with pytest.raises(StoreError, match="verdict 'meh'"):
        add_feedback(
            store,
            REPS,
            lead_id="L1",
            verdict="meh",
            reason="other",
            text=None,
            who="ana",
            at=T0,
        )
    with pytest.raises(StoreError, match="reason 'mood'"):
        add_feedback(
            store,
            REPS,
            lead_id="L1",
            verdict="agree",
            reason="mood",
            text=None,
            who="ana",
            at=T0,
        )
    feedback = read_feedback(store)
    assert feedback["text"].tolist() == ["note"] * 3
    summary = summarise_feedback(feedback, REPS).set_index(["by", "group"])
    assert summary.loc[("all", "all"), "n"] == 3
    assert summary.loc[("rep", "ana"), ["agree", "too_high", "too_low"]].tolist() == [
        1,
        1,
        0,
    ]
    assert summary.loc[("band", "0.50-1.00"), "too_high"] == 1
    assert summary.loc[("band", "0.00-0.10"), "agree"] == 1
    assert summary.loc[("reason", "knows_account"), "too_low"] == 1
    assert (read_audit(store)["action"] == "feedback.add").sum() == 3


def test_score_history_runs_and_changes(store: Store) -> None:
    def run(name: str, day: int, scores: dict[str, float]) -> None:
        frame = pd.DataFrame(
            {
                "lead_id": list(scores),
                "probability": [s / 100 for s in scores.values()],
                "score": list(scores.values()),
                "route": "nurture",
                "model_version": "m1",
            }
        )
        at = T0 + timedelta(days=day)
        append_run(store, name, frame, at, at)

    run("d1", 1, {"L1": 20.0, "L2": 50.0})
    run("d2", 2, {"L1": 30.0})
    run("d2", 2, {"L1": 35.0})  # a run recorded again replaces its rows
    history = lead_history(store, "L1")
    assert history["run_id"].tolist() == ["d1", "d2"]
    assert history["score"].tolist() == [20.0, 35.0]
    assert previous_scores(store, T0 + timedelta(days=2)).to_dict() == {
        "L1": 20.0,
        "L2": 50.0,
    }
    assert previous_scores(store, T0).empty
    assert (read_audit(store)["action"] == "history.append").sum() == 3
