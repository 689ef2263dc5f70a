"""Log out ends one sign-in (its id) for every tab that shares it, audited; other sign-ins stay.

Runs on SQLite and on PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from services.adapters import ended_sign_ins
from services.adapters.ended_sign_ins import EndedSignIn
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.context import Services
from services.errors import Forbidden
from services.usecases import sign_out
from tests.conftest import actor_for

T0 = 1_790_000_000.0


def svc_on(engine: Engine) -> Services:
    return Services(gateway=None, engine=engine, mode="sandbox")  # type: ignore[arg-type]


def audit_rows(engine: Engine, action: str) -> list[Any]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_log_out_ends_that_sign_in_only_and_writes_a_signout_row(engine: Engine) -> None:
    svc = svc_on(engine)
    finance = actor_for("finance")
    this_browser, other_browser = sign_out.new_sign_in_id(), sign_out.new_sign_in_id()
    assert this_browser != other_browser
    assert not sign_out.has_ended(svc, this_browser)

    sign_out.sign_out(svc, finance, this_browser, expires_at=T0 + 3_600, now=lambda: T0)

    assert sign_out.has_ended(svc, this_browser)  # every tab sharing the id
    assert not sign_out.has_ended(svc, other_browser)  # another browser of the same user
    assert not sign_out.has_ended(svc, "")  # a session without an id is not "ended"
    rows = audit_rows(engine, "signout")
    assert [(r.actor, r.role, r.target, r.outcome) for r in rows] == [
        ("test-finance", "finance", "test-finance", "ok")
    ]
    assert this_browser not in str(rows[0].params)  # the id is not put in the log


def test_nobody_signed_in_cannot_sign_out_and_nothing_ends(engine: Engine) -> None:
    svc = svc_on(engine)
    with pytest.raises(Forbidden):
        sign_out.sign_out(svc, None, "sid-x", expires_at=T0 + 60, now=lambda: T0)
    assert not sign_out.has_ended(svc, "sid-x")
    assert [r.outcome for r in audit_rows(engine, "signout")] == ["refused"]


def test_an_end_recorded_by_another_replica_is_seen_within_a_second(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = svc_on(engine)
    sid = sign_out.new_sign_in_id()
    assert not sign_out.has_ended(svc, sid)  # read, and remembered for RECHECK_SECONDS
    ended_sign_ins.end(engine, sid, username="finance", t=T0, expires_at=T0 + 60)  # elsewhere
    monkeypatch.setattr(sign_out, "RECHECK_SECONDS", 0.0)
    assert sign_out.has_ended(svc, sid)


def test_ended_sign_ins_are_dropped_once_their_cookie_has_expired(engine: Engine) -> None:
    ended_sign_ins.end(engine, "old", username="ops", t=T0, expires_at=T0 + 10)
    ended_sign_ins.end(engine, "old", username="ops", t=T0 + 1, expires_at=T0 + 10)  # again: fine
    ended_sign_ins.end(engine, "new", username="ops", t=T0 + 20, expires_at=T0 + 100)
    with session_scope(engine) as session:
        kept = sorted(r.sign_in_id for r in session.exec(select(EndedSignIn)).all())
    assert kept == ["new"]


def test_a_cookie_without_an_id_gets_one_derived_from_it() -> None:
    assert sign_out.sign_in_id_of_token("tok-a") == sign_out.sign_in_id_of_token("tok-a")
    assert sign_out.sign_in_id_of_token("tok-a") != sign_out.sign_in_id_of_token("tok-b")
