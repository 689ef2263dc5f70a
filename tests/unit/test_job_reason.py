"""The sentence a failed job shows (services.usecases.job_runs._reason)."""

from __future__ import annotations

from dbos._error import DBOSMaxStepRetriesExceeded

from services.errors import StripeUnavailable
from services.usecases.job_runs import _reason


def test_a_step_dbos_gave_up_on_shows_its_last_attempts_sentence() -> None:
    first, last = StripeUnavailable("first try failed"), StripeUnavailable("Stripe had a temporary problem.")
    err = DBOSMaxStepRetriesExceeded("sync_page", 5, [first, last])
    assert _reason(err) == "Stripe had a temporary problem."


def test_a_domain_error_behind_a_wrapper_is_the_sentence() -> None:
    try:
        try:
            raise StripeUnavailable("Stripe had a temporary problem.")
        except StripeUnavailable as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as err:
        assert _reason(err) == "Stripe had a temporary problem."


def test_anything_else_is_named_without_its_details() -> None:
    reason = _reason(DBOSMaxStepRetriesExceeded("sync_page", 5, [KeyError("secret-ish detail")]))
    assert reason == "Unexpected error (KeyError); the details are in the server log."
    assert "secret" not in reason
