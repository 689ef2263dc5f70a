"""``settle``: an unknown outcome is read back, never guessed (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest

from services.adapters.backoff import ReadBack, settle
from services.errors import (
    Conflict,
    OutcomeStillUnknown,
    OutcomeUnknown,
    RateLimited,
    StripeRequestError,
)


def _policy(slept: list[float], tries: int = 3) -> ReadBack:
    return ReadBack(tries=tries, pause_seconds=0.5, sleep=slept.append)


def _timeout() -> Any:
    raise OutcomeUnknown("no answer", request_id="req_1")


def test_an_answered_change_is_returned_without_reading_back() -> None:
    slept: list[float] = []
    reads: list[int] = []
    result = settle(
        lambda: "made",
        lambda: reads.append(1) or "x",
        lambda _: True,
        what="it",
        policy=_policy(slept),
    )
    assert (result.value, result.read_back, slept, reads) == ("made", False, [], [])


def test_an_unknown_outcome_is_read_back_until_the_change_shows() -> None:
    slept: list[float] = []
    states = iter(["pending-before", "still-before", "changed"])
    result = settle(
        _timeout,
        lambda: next(states),
        lambda s: s == "changed",
        what="it",
        policy=_policy(slept, tries=5),
    )
    assert (result.value, result.read_back, result.reads) == ("changed", True, 3)
    assert slept == [0.5, 1.0, 1.5]  # growing pauses, no more reads than needed


def test_reads_that_meet_the_running_request_are_retried() -> None:
    slept: list[float] = []
    answers: list[Any] = [OutcomeUnknown("409"), RateLimited("429"), "done"]

    def read() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert settle(_timeout, read, lambda _: True, what="it", policy=_policy(slept)).value == "done"


def test_a_definite_answer_on_reading_back_is_the_real_outcome() -> None:
    def read() -> Any:
        raise StripeRequestError(
            "The amounts do not match.",
            code="payment_method_microdeposit_verification_amounts_mismatch",
        )

    with pytest.raises(StripeRequestError, match="do not match"):
        settle(_timeout, read, lambda _: True, what="it", policy=_policy([]))

    def never(_: Any) -> bool:
        raise Conflict("It succeeded first; it cannot be canceled.")

    with pytest.raises(Conflict, match="cannot be canceled"):
        settle(_timeout, lambda: "succeeded", never, what="it", policy=_policy([]))


def test_when_no_read_shows_the_change_the_sentence_says_so() -> None:
    slept: list[float] = []
    with pytest.raises(OutcomeStillUnknown) as caught:
        settle(
            _timeout,
            lambda: "before",
            lambda _: False,
            what="the refresh",
            policy=_policy(slept, tries=2),
        )
    assert "did not confirm the refresh" in str(caught.value)
    assert "reading it back 2 times" in str(caught.value)
    assert caught.value.request_id == "req_1" and len(slept) == 2


def test_a_rate_limited_change_is_not_read_back() -> None:
    def limited() -> Any:
        raise RateLimited("slow down")

    with pytest.raises(RateLimited):
        settle(limited, lambda: "x", lambda _: True, what="it", policy=_policy([]))


class _LateGateway:
    """refresh_account gets no answer; the account read back shows what Stripe did."""

    def __init__(self, read_back: list[dict[str, Any]]) -> None:
        self.reads = read_back

    def refresh_account(self, *_: Any, **__: Any) -> Any:
        raise OutcomeUnknown("no answer")

    def retrieve_account(self, _: str) -> dict[str, Any]:
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]


def _account(attempted: int | None, status: str = "succeeded") -> dict[str, Any]:
    refresh = (
        None
        if attempted is None
        else {"status": status, "last_attempted_at": attempted, "next_refresh_available_at": None}
    )
    return {
        "id": "fca_late",
        "object": "financial_connections.account",
        "status": "active",
        "balance_refresh": refresh,
    }


def test_a_batch_refresh_with_no_answer_is_judged_by_the_account_read_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.adapters import backoff
    from services.usecases.check_debit import start_refresh

    monkeypatch.setattr(
        backoff, "READ_BACK", ReadBack(tries=3, pause_seconds=0, sleep=lambda _: None)
    )
    before = _account(100)
    gateway = _LateGateway([_account(100), _account(200, "pending")])
    started = start_refresh(gateway, before, "key-1", now=300)
    assert started["balance_refresh"]["last_attempted_at"] == 200

    with pytest.raises(OutcomeStillUnknown):  # the account never shows a new attempt
        start_refresh(_LateGateway([_account(100)]), before, "key-2", now=300)
