"""A job's view (services.usecases.job_runs.JobView): what it shows is read from its params."""

from __future__ import annotations

import dataclasses

from services.usecases.job_runs import JobView


def view(params: dict[str, object] | None) -> JobView:
    return JobView(
        id="job-1", kind="balances.batch_check", label="Batch pre-debit check", actor="finance",
        status="succeeded", done=1, total=1, message=None, error=None, attempts=1, result=None,
        created_at=None, started_at=None, finished_at=None, params=params,
    )


def test_a_batch_checks_source_is_the_one_kept_in_its_params() -> None:
    """``source`` was a second copy of ``params["source"]``: a view built or replaced with other
    params could name another file than the one its params keep."""
    kept = view({"source": "march-debits.csv"})
    assert kept.source == "march-debits.csv"
    assert dataclasses.replace(kept, params={"source": "april.csv"}).source == "april.csv"
    assert "source" not in {f.name for f in dataclasses.fields(JobView)}


def test_no_source_kept_is_none() -> None:
    assert view(None).source is None
    assert view({"source": ""}).source is None


def job(job_id: str, status: str, retry_of: str | None = None) -> JobView:
    return dataclasses.replace(
        view({"retry_of": retry_of} if retry_of else {}), id=job_id, status=status
    )


def test_a_failed_job_tried_again_is_paired_with_the_newest_retry_in_its_line() -> None:
    """A failed job whose retry went through read "Failed" as if it still needed someone: the
    Jobs page reads it through the last retry of its line (a retry of a failed retry, too)."""
    from services.usecases.jobs_retry import tried_again_as

    views = [  # newest first, as the list reads them
        job("x-retry2", "succeeded", retry_of="x-retry1"),
        job("x-retry1", "failed", retry_of="x"),
        job("y-retry1", "running", retry_of="y"),
        job("z", "failed"),
        job("y", "failed"),
        job("x", "failed"),
        job("ok", "succeeded"),
    ]
    found = {failed: retry.id for failed, retry in tried_again_as(views).items()}
    assert found == {"x": "x-retry2", "x-retry1": "x-retry2", "y": "y-retry1"}
