"""The full account walk in chunks of k customers (k from the Stripe rate): a SIGKILL mid-walk
resumes at the first unfinished chunk, the finished chunks are not run again, and the queue's
limiter (``rate // k`` chunk starts a second) keeps the Stripe requests within the rate."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlmodel import func, select

from services.adapters import jobs as engine
from services.adapters.models import CustomerRecord
from services.adapters.store import make_engine, session_scope
from tests.background.test_jobs import ROOT, audit_rows, kill_mid_walk, resume_walk

RATE, CUSTOMERS = 40, 200  # k = 40 // 5 = 8 customers a chunk; 5 chunks may start a second
K, LIMIT = 8, 5
CHUNKS = 2 * -(-100 // K)  # two customer pages of 100, each cut in chunks of 8 (the last of 4)


def children(data: Path, job_id: str) -> dict[str, tuple[str, int | None, int | None]]:
    """The job's chunk workflows: ID -> (status, started, updated) in DBOS's SQLite."""
    return {i: row[:3] for i, row in chunk_rows(data, job_id).items()}


def chunk_rows(data: Path, job_id: str) -> dict[str, tuple[str, int | None, int | None, int]]:
    """The job's chunk workflows: ID -> (status, started, updated, queue priority)."""
    with sqlite3.connect(data / "fcops-dbos-sandbox.sqlite", timeout=10) as conn:
        rows = conn.execute(
            "SELECT workflow_uuid, status, started_at_epoch_ms, updated_at, priority "
            "FROM workflow_status WHERE workflow_uuid LIKE ?",
            (f"{job_id}:%",),
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def test_the_rate_sets_the_chunk_size_and_the_limiter_never_allows_more_than_the_rate() -> None:
    for rate in (1, 6, 19, 20, 25, 40, 90, 100, 1000, 5000):
        k = engine.requests_per_start(rate)
        limiter = engine.stripe_limiter(rate)
        assert 1 <= k <= 100
        assert limiter["limit"] * k <= rate, rate  # chunk starts × requests each, per second
        assert limiter["limit"] * k > rate - k - 1, rate  # and not much below it
    assert engine.requests_per_start(6) == 1  # a low rate keeps one request per workflow
    assert engine.requests_per_start(100) == 20
    assert engine.requests_per_start(RATE) == K and engine.stripe_limiter(RATE)["limit"] == LIMIT
    assert engine.requests_per_start(5000) == 100  # never more than a customer page


def test_a_killed_chunked_walk_resumes_at_the_first_unfinished_chunk(tmp_path: Path) -> None:
    env = {**os.environ, "FCOPS_STRIPE_RATE_LIMIT": str(RATE),
           "FCOPS_SANDBOX_CUSTOMERS": str(CUSTOMERS), "PYTHONPATH": str(ROOT)}
    job_id = kill_mid_walk(tmp_path, env, children=CHUNKS)
    queued = {i: row[3] for i, row in chunk_rows(tmp_path, job_id).items()}
    before = {i: row for i, row in children(tmp_path, job_id).items() if row[0] == "SUCCESS"}
    assert 3 <= len(before) < CHUNKS
    # Resumed by a process launched with another rate (k = 100 // 5 = 20): the walk keeps the k
    # it recorded, so its chunks are the ones it started with, not a second cut of the same pages.
    outcome = resume_walk(tmp_path, env | {"FCOPS_STRIPE_RATE_LIMIT": "100"}, job_id)
    assert outcome["result"]["customers"] == CUSTOMERS
    store = make_engine(f"sqlite:///{tmp_path / 'fcops-sandbox.db'}")
    assert audit_rows(store, "jobs.start", job_id) == 1
    assert audit_rows(store, "jobs.end", job_id) == 1
    with session_scope(store) as session:
        assert session.exec(select(func.count()).select_from(CustomerRecord)).one() == CUSTOMERS
    after = children(tmp_path, job_id)
    assert len(after) == CHUNKS  # chunks of k customers within each page
    assert all(status == "SUCCESS" for status, _, _ in after.values())
    # The chunks finished before the kill were not run again: their rows are as they were.
    assert {i: after[i] for i in before} == before
    # Each chunk is queued at its turn in the walk (background jobs share the rate turn for
    # turn), counted from the walk's checkpointed pages: the replay after the kill numbered the
    # chunks it had queued as before and the rest on from them, none twice.
    turns = {i: row[3] for i, row in chunk_rows(tmp_path, job_id).items()}
    assert {i: turns[i] for i in queued} == queued
    first = engine.background_priority(0)
    assert sorted(turns.values()) == list(range(first, first + CHUNKS))
    # The limiter held across the kill and the resume: at most 40 // 8 = 5 chunk starts (of at
    # most 8 requests each) within any second, so at most 40 Stripe requests a second.
    starts = sorted(s / 1000 for _, s, _ in after.values() if s is not None)
    worst = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert worst <= LIMIT, f"{worst} chunks started within one second"
