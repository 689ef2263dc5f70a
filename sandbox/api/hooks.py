"""Simulation hooks about the sandbox itself (outside ``/v1``): health, the clock, faults and the
rate limit, the request log."""

from __future__ import annotations

from typing import Any

from sandbox.core import Request, State, invalid, route, to_int

Obj = dict[str, Any]


@route("GET", "/_sandbox/health")
def health(req: Request, state: State) -> Obj:
    return {
        "ok": True,
        "seed": state.config.seed,
        "now": state.now(),
        "customers": state.count("customer"),
        "pending_jobs": state.pending_jobs(),
    }


@route("POST", "/_sandbox/clock/advance", params={"seconds"})
def advance_clock(req: Request, state: State) -> Obj:
    seconds = to_int(req.require("seconds"), "seconds")
    state.clock.advance(seconds)
    ran = state.run_due()
    return {"ok": True, "now": state.now(), "jobs_run": ran}


def _number(req: Request, name: str, top: float | None = None) -> float:
    """The parameter ``name`` as a number from 0 to ``top`` (no top: any number, 0 or more)."""
    problem = f"{name} must be a number " + (f"between 0 and {top:g}" if top else "0 or more")
    try:
        value = float(req.str(name) or "0")
    except ValueError as exc:
        raise invalid(problem, param=name) from exc
    if not (value >= 0 and (top is None or value <= top)):
        raise invalid(problem, param=name)
    return value


@route(
    "POST", "/_sandbox/faults", params={"mode", "count", "rate", "seconds", "clear", "rate_limit"}
)
def faults(req: Request, state: State) -> Obj:
    if req.bool("clear"):
        state.clear_faults()
    if req.has("rate"):
        state.config.fault_rate = _number(req, "rate", 1)
    if req.has("rate_limit"):  # req/s, 0 = off; the bucket starts full
        state.faults.set_rate_limit(_number(req, "rate_limit"))
    if req.has("mode"):
        seconds = float(req.str("seconds") or 0) or None
        state.faults.force(req.str("mode") or "", req.int("count", 1) or 1, seconds)
    return {
        "ok": True,
        "fault_rate": state.config.fault_rate,
        "rate_limit": state.config.rate_limit,
        "forced_pending": state.forced_faults_pending(),
    }


def _log_summary(state: State) -> Obj:
    log = state.requests
    return {"recording": log.recording, "count": len(log), "refused": log.refused}


@route("POST", "/_sandbox/requests", params={"record"})
def record_requests(req: Request, state: State) -> Obj:
    """``record=true`` forgets the log and records every /v1 request from now on; ``false`` stops."""
    req.require("record")
    if req.bool("record"):
        state.requests.start()
    else:
        state.requests.stop()
    return {"ok": True, **_log_summary(state)}


@route("GET", "/_sandbox/requests", params=set())
def recorded_requests(req: Request, state: State) -> Obj:
    """The /v1 requests recorded, in the order they arrived."""
    return {"object": "list", **_log_summary(state), "data": state.requests.entries()}
