"""The jobs use cases split by job: the account sync lives in ``jobs_accounts``, and a move
changes no DBOS name (a restart recovers a workflow by its name, and an account walk in flight
during an upgrade must find its steps and chunks again)."""

from __future__ import annotations

from pathlib import Path

from services.usecases import jobs, jobs_accounts, jobs_retry

JOBS = Path(jobs.__file__)
LIMIT = 500  # tests/unit/test_architecture.py's module limit


def test_the_account_sync_keeps_its_dbos_names_in_its_own_module() -> None:
    names = {
        jobs_accounts.accounts_sync_workflow: "fcops.jobs.accounts_sync",
        jobs_accounts.customer_chunk_workflow: "fcops.accounts.chunk",
        jobs_accounts._mirror_chunk: "fcops.accounts.chunk",
        jobs_accounts._newest_event: "fcops.accounts.newest_event",
        jobs_accounts._customer_page: "fcops.accounts.customer_page",
        jobs_accounts._finish_walk: "fcops.accounts.finish_walk",
        jobs_accounts._incremental: "fcops.accounts.incremental",
    }
    for fn, name in names.items():
        assert fn.__module__ == "services.usecases.jobs_accounts"
        assert getattr(fn, "dbos_function_name", None) == name


def test_starts_retries_and_the_safety_net_run_the_moved_account_sync() -> None:
    assert jobs.accounts_sync_workflow is jobs_accounts.accounts_sync_workflow
    assert jobs._incremental is jobs_accounts._incremental  # the scheduled safety net's step
    assert jobs_retry.accounts_sync_workflow is jobs_accounts.accounts_sync_workflow


def test_jobs_has_room_for_new_work() -> None:
    """jobs.py sat at the 500-line limit: a fifth of it is left for what comes next."""
    assert JOBS.read_text().count("\n") <= LIMIT * 4 // 5, "move a part of jobs.py to its own module"
