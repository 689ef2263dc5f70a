"""Domain errors: the only exceptions that leave the service layer.

Each carries a sentence a person can act on; pages show ``str(err)`` and never a stack trace.
"""

from __future__ import annotations


class FcopsError(Exception):
    """Base class. ``message`` is written for the person using the dashboard.

    ``outcome_unknown`` is True only when Stripe's answer never arrived (or the same request is
    still running): then a retry must reuse the idempotency key; after any other failure a
    retry is a new request with a new key (``services.adapters.backoff``).
    ``keep_idempotency_key`` marks the one other answer worth replaying under the same key (a
    microdeposit mismatch: the same wrong values again cost no attempt).
    """

    outcome_unknown = False
    keep_idempotency_key = False

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message


class ConfigurationError(FcopsError):
    """Settings are missing, placeholders, or unsafe for the chosen mode."""


class ValidationError(FcopsError):
    """The user's input cannot be used (malformed ID, amount, CSV row…)."""


class Refused(ValidationError):
    """A rule declined the action (a retry the balance check says no to, a fourth attempt):
    nothing was wrong with the input or with Stripe. Audited as ``refused``, not ``error``."""


class StillRunning(Refused):
    """Refused before anything was sent because the same change, asked by a colleague or in
    another tab, is still running: nothing is wrong, and the page follows the running one.
    Pages show it as a notice, not an error box."""


class RefreshStillRunning(StillRunning):
    """Refused because a balance refresh (``account_id``'s) is still running at the bank: the
    page can follow it and let the person try again when it ends (shown as a notice, as every
    :class:`StillRunning`)."""

    def __init__(self, message: str, *, account_id: str) -> None:
        super().__init__(message)
        self.account_id = account_id


class NotFound(FcopsError):
    """The object does not exist in Stripe or in the store."""


class Forbidden(FcopsError):
    """The signed-in role may not do this."""


class Conflict(FcopsError):
    """Somebody else changed it first, or an idempotency key was reused with other data."""


class NothingChanged(Conflict):
    """Refused by the state the object was already in, with nothing changed and nothing wrong:
    a request already canceled or expired (by a colleague, or by Stripe), already succeeded, or
    processing. Pages show it as a notice, not an error box. ``as_asked``: it already is what
    the person asked for (canceled, expired), an info; otherwise (succeeded, processing) a
    warning."""

    def __init__(self, message: str, *, as_asked: bool, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.as_asked = as_asked


class RefreshNotAllowed(FcopsError):
    """Stripe would not start this refresh now (throttled, pending, inactive, no permission)."""


class StripeUnavailable(FcopsError):
    """Stripe (or the sandbox) could not be reached, timed out, or had a server error."""


class RateLimited(StripeUnavailable):
    """Stripe asked us to slow down (HTTP 429)."""


class OutcomeUnknown(StripeUnavailable):
    """No answer from Stripe (timeout, connection error) or the same request is still running:
    it may or may not have happened, and only the same idempotency key makes a retry safe."""

    outcome_unknown = True


class OutcomeStillUnknown(OutcomeUnknown):
    """Stripe did not answer a change, and reading the object back a few times has not shown it
    yet (:func:`services.adapters.backoff.settle`): the message says so; nothing was guessed.
    ``seen``: at least one read answered (without the change); False when every read failed."""

    seen = False


class ChangeNotMade(StripeUnavailable):
    """Stripe answered a change with a server error (5xx), and reading the object back shows
    the change was not made (:func:`services.adapters.backoff.settle`): trying again is safe, as
    a new request (Stripe saved the 5xx under the first key). ``server_error``: Stripe's answer;
    ``current``: what the read showed. Audited as ``unknown`` (Stripe did not confirm it)."""

    def __init__(self, message: str, *, server_error: StripeUnavailable, current: object) -> None:
        super().__init__(message, request_id=server_error.request_id)
        self.server_error = server_error
        self.current = current


def unconfirmed_sentence(what: str, err: StripeUnavailable, maybe: str) -> str:
    """"Stripe did not confirm ``what`` (a server error, Stripe request req_…), so ``maybe``":
    how a page begins the sentence of a change Stripe did not confirm (``err``: its answer, or
    "no answer in time")."""
    how = "no answer in time" if err.outcome_unknown else "a server error"
    rid = f", Stripe request {err.request_id}" if err.request_id else ""
    return f"Stripe did not confirm {what} ({how}{rid}), so {maybe}"


def not_made(err: ChangeNotMade, *, what: str, maybe: str, shown: str, button: str) -> ChangeNotMade:
    """``err`` (settle's general sentence) in the words of the page that asked for the change:
    "Stripe did not confirm ``what`` (a server error, Stripe request …), so ``maybe``; ``shown``
    (what the read back showed): ``button`` again is safe." ``button`` is the label the person
    presses again: Stripe saved the 5xx under the first key, so that press is a new request."""
    said = unconfirmed_sentence(what, err.server_error, maybe)
    return ChangeNotMade(
        f"{said}; {shown}: {button} again is safe.",
        server_error=err.server_error,
        current=err.current,
    )


class ReadBackFailed(StripeUnavailable):
    """Stripe answered a change with a server error (5xx), and reading the object back failed
    too (``read_error``): the change may have happened; the message says both."""

    def __init__(
        self, message: str, *, server_error: StripeUnavailable, read_error: StripeUnavailable
    ) -> None:
        super().__init__(message, request_id=server_error.request_id)
        self.server_error = server_error
        self.read_error = read_error


def read_failed(
    err: ReadBackFailed, *, what: str, maybe: str, read: str, then: str | None = None
) -> ReadBackFailed:
    """``err`` (settle's general sentence) in the words of the page that asked for the change:
    "Stripe did not confirm ``what`` (a server error, Stripe request …), so ``maybe``, and reading
    ``read`` back failed too: ``then``." ``then``: what to look at before pressing the button
    again (the change may be there); without it, the read's own error (a refresh's words)."""
    said = unconfirmed_sentence(what, err.server_error, maybe)
    after = f"{then}." if then else str(err.read_error)
    return ReadBackFailed(
        f"{said}, and reading {read} back failed too: {after}",
        server_error=err.server_error,
        read_error=err.read_error,
    )


class StripeAuthError(FcopsError):
    """Stripe rejected the API key."""


class StripeRequestError(FcopsError):
    """Stripe refused the request (HTTP 400/402/403) for a reason given in its message."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.code = code
        self.param = param


class NoTransactionRefresh(FcopsError):
    """Stripe lists no transactions until a transaction refresh has succeeded (reference §10:
    ``financial_connections_no_successful_transaction_refresh``)."""
