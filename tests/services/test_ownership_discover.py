"""'Check all accounts' on an empty mirror fills it through the one account sync."""

from __future__ import annotations

from sqlmodel import delete, select

from services.adapters import account_mirror
from services.adapters.models import AccountRecord, AuditEntry, SyncState
from services.adapters.store import session_scope
from services.auth import Actor
from services.context import Services
from services.usecases import review_ownership as orv
from services.usecases import sync_accounts


def _syncs(svc: Services) -> list[AuditEntry]:
    with session_scope(svc.engine) as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.action == "accounts.sync")).all()
        )


def test_check_all_on_an_empty_store_mirrors_through_the_account_sync(
    services_ctx: Services, ops: Actor
) -> None:
    result = orv.check_all(services_ctx, ops, limit=2)

    mirrored = account_mirror.mirrored_account_count(services_ctx.engine)
    assert result.discovered == mirrored > 0
    [sync] = _syncs(services_ctx)
    assert (sync.actor, sync.outcome, sync.params["full"]) == (ops.username, "ok", True)
    with session_scope(services_ctx.engine) as session:
        state = session.get(SyncState, sync_accounts.SYNC_NAME)
        assert state is not None and state.cursor  # the next sync is incremental
    assert result.checked + len(result.errors) == 2


def test_a_cleared_mirror_with_a_leftover_cursor_is_walked_again(
    services_ctx: Services, ops: Actor
) -> None:
    first = sync_accounts.sync_accounts(services_ctx, ops)
    sync_accounts.sync_accounts(services_ctx, ops)  # a cursor exists: this one is incremental
    with session_scope(services_ctx.engine) as session:
        session.execute(delete(AccountRecord))

    result = orv.check_all(services_ctx, ops, limit=1)

    assert (
        result.discovered
        == first.accounts
        == account_mirror.mirrored_account_count(services_ctx.engine)
    )
    assert [s.params["full"] for s in _syncs(services_ctx)] == [True, False, True]
