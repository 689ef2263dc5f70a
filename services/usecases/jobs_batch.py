"""The batch check job's own steps (its workflow is in :mod:`services.usecases.jobs`).

One debit policy per run: :func:`_pin_policy` reads the version in force once, when the job
starts, and records it in the job's params; as a DBOS step its answer is checkpointed, so a job
resumed after a crash or restart judges its remaining chunks by the same version (loaded from
the policy history) even if an admin saved a newer one meanwhile. That one applies to the next
batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from dbos import DBOS

from services.adapters import jobs as engine
from services.adapters.stripe_permits import QueueBucket
from services.rules.batch_result import BatchResult
from services.rules.debit import DebitPolicy
from services.rules.debit_csv import PlannedDebit, RowError
from services.usecases import check_batch
from services.usecases.debit_policy import load_policy
from services.usecases.job_runs import _actor, _progress, _retry_unless_refused, _tells_retries

__all__ = ["merge_results"]


@DBOS.step(name="fcops.batch.policy")
def _pin_policy(job_id: str) -> int:
    """The policy version this run applies to every row (0: the defaults), kept in its params."""
    svc = engine.bound()
    version = load_policy(svc.engine).version
    row = engine.get_job(svc.engine, job_id)
    if row is not None:
        engine.update_job(svc.engine, job_id, params={**row.params, "policy_version": version})
    return version


@DBOS.step(name="fcops.batch.chunk", retries_allowed=True, max_attempts=5,
           should_retry=_retry_unless_refused)
@_tells_retries
def _batch_chunk(
    username: str, role: str, chunk: list[PlannedDebit], errors: list[RowError],
    refresh_stale: bool, rate: float, policy_version: int | None = None,
    done: int = 0, total: int = 0, applied: str = "",
) -> BatchResult:
    svc = engine.bound()
    job_id = DBOS.workflow_id or "batch"
    return check_batch.run_batch(  # its requests counted by the Stripe queue's limiter
        svc, _actor(username, role), chunk, refresh_stale=refresh_stale,
        row_errors=errors, max_requests_per_second=rate,
        limiter=QueueBucket(owner=job_id), policy_version=policy_version,
        progress=_chunk_progress(job_id, done, total, applied) if total else None,
    )


def _chunk_progress(job_id: str, done: int, total: int, applied: str) -> check_batch.Progress:
    """What a chunk is doing, on the job's progress line: a chunk waiting on slow banks said
    only "Checking 4 rows" for as long as the banks took. At most one write a second, except the
    refresh wait's line, which is always written (it is the one a person waits on)."""
    report = _progress(job_id, every=1.0, counts=False)

    def tick(_step: int, _steps: int, message: str) -> None:
        line = f"Checked {done:,} of {total:,} rows · {message} · {applied}"
        report(done, total, line, force=message.startswith("Waiting"))

    return tick


def merge_results(parts: Sequence[BatchResult]) -> BatchResult:
    """The chunks' results as one; they share the run's policy (the first chunk's says which)."""
    rows = sorted((r for p in parts for r in p.rows), key=lambda r: r.row)
    first = parts[0] if parts else None
    return BatchResult(
        rows=rows,
        refreshed=[a for p in parts for a in p.refreshed],
        requests=sum(p.requests for p in parts),
        rate_limited=sum(p.rate_limited for p in parts),
        policy=first.policy if first else DebitPolicy(),
        from_mirror=sum(p.from_mirror for p in parts),
        policy_version=first.policy_version if first else 0,
        policy_currency=first.policy_currency if first else "usd",
        # the last chunk's moment: every row was judged by then
        checked_at=max((p.checked_at for p in parts if p.checked_at), default=None),
        unrefreshed={a: how for p in parts for a, how in getattr(p, "unrefreshed", {}).items()},
    )
