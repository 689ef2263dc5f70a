"""Simulation hooks about the sandbox itself (outside ``/v1``): health, the clock, faults."""

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


@route("POST", "/_sandbox/faults", params={"mode", "count", "rate", "seconds", "clear"})
def faults(req: Request, state: State) -> Obj:
    if req.bool("clear"):
        state.clear_faults()
    if req.has("rate"):
        try:
            rate = float(req.str("rate") or "0")
        except ValueError as exc:
            raise invalid("rate must be a number between 0 and 1", param="rate") from exc
        if not 0 <= rate <= 1:
            raise invalid("rate must be a number between 0 and 1", param="rate")
        state.config.fault_rate = rate
    if req.has("mode"):
        seconds = float(req.str("seconds") or 0) or None
        state.faults.force(req.str("mode") or "", req.int("count", 1) or 1, seconds)
    return {
        "ok": True,
        "fault_rate": state.config.fault_rate,
        "forced_pending": state.forced_faults_pending(),
    }
