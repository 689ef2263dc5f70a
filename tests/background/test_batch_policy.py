"""A batch check job judges every row by the one debit policy in force when it started: a
policy an admin saves between its chunks applies to the next batch, not to the rest of this
one (it used to: 972 rows of 2,400 without the new buffer, 1,428 with it, one version named)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlmodel import select

from services.adapters import jobs as engine_rows
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.auth import Actor
from services.rules.debit import DebitPolicy
from services.rules.debit_csv import parse_debits_csv
from services.usecases import browse_accounts, debit_policy, jobs, sync_accounts
from tests.background.test_jobs import wait_done

ADMIN = Actor("admin", "admin")
FINANCE = Actor("finance", "finance")
START_BUFFER = 1_234  # $12.34: the policy in force when the job starts
LATER_BUFFER = 5_000_000  # $50,000.00: saved by an admin after the job's first chunk


def save(engine: Any, buffer_amount: int) -> int:
    in_force = debit_policy.load_policy(engine)
    saved = debit_policy.save_policy(
        engine, ADMIN, DebitPolicy(buffer_amount=buffer_amount), expected_version=in_force.version
    )
    return saved.version


def test_a_policy_saved_between_chunks_applies_to_the_next_batch_not_this_one(
    fcops: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = fcops
    # Run alone, or after a file that left only its own few accounts in the store
    # (test_nightly_refresh_after_500): sync the sandbox's first.
    if len(browse_accounts.list_accounts(app.services, ADMIN).rows) < 4:
        sync_accounts.sync_accounts(app.services, ADMIN, full=True)
    ids = [a.id for a in browse_accounts.list_accounts(app.services, ADMIN).rows[:4]]
    assert len(ids) == 4
    tag = secrets.token_hex(4)  # a job of its own (the ID comes from the rows and the minute)
    text = "account,amount,currency,reference\n" + "".join(
        f"{i},10.00,usd,{tag}-{n}\n" for n, i in enumerate(ids)
    )
    planned, bad = parse_debits_csv(text)
    started_with = save(app.engine, START_BUFFER)
    monkeypatch.setattr(jobs, "BATCH_CHUNK_ROWS", 1)  # four chunks, one account each
    chunk = jobs._batch_chunk
    calls: list[int] = []

    def chunk_then_admin_saves(*args: Any) -> Any:
        part = chunk(*args)
        calls.append(len(part.rows))
        if len(calls) == 1:
            save(app.engine, LATER_BUFFER)  # the admin saves while the batch runs
        return part

    monkeypatch.setattr(jobs, "_batch_chunk", chunk_then_admin_saves)
    try:
        job_id = jobs.start_batch_check(FINANCE, planned, bad, refresh_stale=False)
        view = wait_done(job_id)
        assert view.status == "succeeded", view.error
        assert calls == [1, 1, 1, 1]  # the admin saved with three chunks still to run
        assert debit_policy.load_policy(app.engine).version == started_with + 1
        result = jobs.batch_result(FINANCE, job_id)
        assert result is not None
        judged = [r for r in result.rows if r.required is not None]
        assert len(judged) == 4
        # Every row by the starting version: $10.00 + the $12.34 buffer, none with $50,000.
        assert {r.required for r in judged} == {1_000 + START_BUFFER}
        assert (result.policy_version, result.policy.buffer_amount) == (started_with, START_BUFFER)
        named = f"Policy version {started_with} (buffer $12.34 + 0 % of the debit, max age 24 h)"
        assert result.policy_text == named
        assert named in (view.message or "")  # the finished job's line names it too
        row = engine_rows.get_job(app.engine, job_id)
        assert row is not None and row.params["policy_version"] == started_with
        with session_scope(app.engine) as session:
            audited = session.exec(
                select(AuditEntry).where(AuditEntry.action == "balances.batch_check")
                .order_by(AuditEntry.id.desc()).limit(4)  # type: ignore[union-attr]
            ).all()
        assert [a.params["policy_version"] for a in audited] == [started_with] * 4
        assert result.to_csv().splitlines()[0].endswith(",policy_version")
        assert all(line.endswith(f",{started_with}") for line in result.to_csv().splitlines()[1:])
    finally:
        save(app.engine, 0)  # the defaults again for the tests after this one


def test_a_pinned_version_is_read_from_the_history_and_a_missing_one_is_explained(
    fcops: Any,
) -> None:
    from services.errors import ValidationError

    app, _ = fcops
    old = save(app.engine, 777)
    try:
        save(app.engine, 888)
        assert debit_policy.load_policy_version(app.engine, old).policy.buffer_amount == 777
        assert debit_policy.load_policy_version(app.engine, 0).policy == DebitPolicy()
        with pytest.raises(ValidationError, match="not in the policy history"):
            debit_policy.load_policy_version(app.engine, 10_000)
    finally:
        save(app.engine, 0)
