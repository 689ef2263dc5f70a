"""``settle``: an unknown outcome is read back, never guessed (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest

from services.adapters.backoff import ReadBack, settle
from services.errors import (
    ChangeNotMade,
    Conflict,
    OutcomeStillUnknown,
    OutcomeUnknown,
    RateLimited,
    ReadBackFailed,
    StripeRequestError,
    StripeUnavailable,
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


def _server_error() -> Any:
    raise StripeUnavailable("Stripe had a temporary problem (HTTP 500).", request_id="req_5")


def test_a_5xx_is_read_back_once_at_once_and_the_read_decides() -> None:
    slept: list[float] = []
    reads: list[int] = []

    def read(state: str) -> Any:
        return lambda: reads.append(1) or state

    made = settle(_server_error, read("changed"), lambda s: s == "changed", what="it",
                  policy=_policy(slept))  # fmt: skip
    assert (made.value, made.read_back, made.reads) == ("changed", True, 1)
    assert made.server_error is not None and made.server_error.request_id == "req_5"
    with pytest.raises(ChangeNotMade) as caught:  # the 5xx is Stripe's last word: one read
        settle(_server_error, read("before"), lambda s: s == "changed", what="it",
               policy=_policy(slept))  # fmt: skip
    assert caught.value.current == "before" and caught.value.request_id == "req_5"
    assert str(caught.value) == (
        "Stripe did not confirm it (a server error, Stripe request req_5), so it may have "
        "happened; reading it back shows it did not: trying again is safe (a new request)."
    )
    assert (reads, slept) == ([1, 1], [])


def test_a_5xx_whose_read_fails_too_says_both_and_a_replay_is_not_sent() -> None:
    def failing() -> Any:
        raise StripeUnavailable("Stripe had a temporary problem (HTTP 502).")

    with pytest.raises(ReadBackFailed) as caught:
        settle(_server_error, failing, lambda _: True, what="it", policy=_policy([]))
    assert "so it may have happened, and reading it back failed too: Stripe had a " in str(
        caught.value
    )
    replays: list[int] = []
    with pytest.raises(StripeUnavailable) as raised:  # same_key: a replay only answers the 5xx
        settle(_server_error, lambda: replays.append(1), lambda _: True, what="it",
               policy=_policy([]), same_key=True)  # fmt: skip
    assert type(raised.value) is StripeUnavailable and replays == []
