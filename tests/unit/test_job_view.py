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
