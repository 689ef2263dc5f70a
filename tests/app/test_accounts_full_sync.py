"""Accounts page: 'Re-read everything' walks every customer, bringing back what events missed."""

from __future__ import annotations

from typing import Any

from sqlmodel import delete, select

from services.adapters import account_mirror
from services.adapters.models import AccountRecord, AuditEntry
from services.adapters.store import read_sync_cursor, session_scope
from services.auth import SYSTEM
from services.usecases import sync_accounts
from tests.app.conftest import jobs_settled, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

PAGE = "pages/accounts.py"
FULL_POPOVER = "acc_full_popover"


def stored(a: Any, account_id: str) -> bool:
    with session_scope(a.engine) as session:
        return session.get(AccountRecord, account_id) is not None


def quiet_account(a: Any) -> str:
    """A mirrored account no event since the sync cursor names (a replay cannot restore it)."""
    cursor = read_sync_cursor(a.engine, sync_accounts.SYNC_NAME)
    assert cursor is not None
    named = {
        str(((e.get("data") or {}).get("object") or {}).get("id"))
        for e in a.gateway.iter_events(types=account_mirror.SYNC_EVENTS, created_gte=cursor)
    }
    with session_scope(a.engine) as session:
        ids = session.exec(select(AccountRecord.id).order_by(AccountRecord.id)).all()
    return next(i for i in ids if i not in named)


def full_syncs(a: Any) -> list[AuditEntry]:
    with session_scope(a.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "accounts.sync")).all()
    return [r for r in rows if r.params.get("full") is True]


def test_re_read_everything_is_explained_next_to_the_incremental_sync() -> None:
    at = open_page(PAGE, "ops")

    no_exceptions(at)
    assert any(p.proto.popover.label == "Re-read everything" for p in at.get("popover"))
    shown = texts(at)
    assert "missed a change" in shown and "restoring a backup" in shown
    assert at.button(key="acc_full_sync").label == "Re-read everything"


def test_a_missed_account_comes_back_with_re_read_everything_but_not_with_sync() -> None:
    a = app()
    jobs_settled()  # a first-visit sync of an earlier test must not land mid-test
    sync_accounts.sync_accounts(a.services, SYSTEM)
    missing = quiet_account(a)
    with session_scope(a.engine) as session:
        session.execute(delete(AccountRecord).where(AccountRecord.id == missing))  # type: ignore[arg-type]
    at = open_page(PAGE, "finance")

    next(b for b in at.button if b.label == "Sync from Stripe").click().run()
    no_exceptions(at)
    assert not stored(a, missing)  # the incremental sync only replays events

    before = len(full_syncs(a))
    at.session_state[FULL_POPOVER] = True  # the person opened the popover to confirm
    at.button(key="acc_full_sync").click().run()
    no_exceptions(at)
    # Confirmed, the popover closes: open, it covered the progress line of the walk it started.
    assert at.session_state[FULL_POPOVER] is False
    # The full walk is a background job the page follows; the page fills in when it ends.
    jobs_settled(at)
    no_exceptions(at)
    assert stored(a, missing)
    after = full_syncs(a)
    assert len(after) == before + 1
    newest = max(after, key=lambda r: r.at)
    assert (newest.actor, newest.outcome) == ("finance", "ok")
    assert newest.params["accounts"] == account_mirror.mirrored_account_count(a.engine)
