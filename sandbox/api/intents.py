"""SetupIntents and PaymentIntents share one state machine (reference §2.5-2.6, §6.1-6.3).

    requires_payment_method ─ payment method ─▶ requires_confirmation ─ confirm ─▶
        a verified bank account  → the kind's success (SetupIntent ``succeeded``,
                                   PaymentIntent ``processing`` until the debit settles)
        a manually entered one   → ``requires_action`` (verify_with_microdeposits)
                                   ─ verify_microdeposits ─▶ the kind's success
        a failure                → back to ``requires_payment_method`` with ``last_*_error``
    any open state ─ cancel ─▶ ``canceled``

What differs between the two is their :class:`Kind` (names, cancellation rules, the steps
only one of them takes), which ``setup_intents.py`` and ``payment_intents.py`` register. The
routes both resources share (confirm, cancel, verify_microdeposits) are here, on both paths.
Jobs scheduled for one attempt (microdeposit timeouts, settlements) carry its *generation*
and do nothing once the intent has moved on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.api import microdeposits
from sandbox.api.ach_outcomes import outcome_for_account_number
from sandbox.api.mandates import acceptance_from, accepted, remember_acceptance
from sandbox.api.microdeposits import MICRODEPOSIT_ERRORS, MICRODEPOSIT_TIMEOUT
from sandbox.api.params import one_of
from sandbox.api.payment_method_options import update_options, verification_method
from sandbox.api.payment_methods import (
    account_number,
    mark_verified,
    pm_is_verified,
    resolve_payment_method,
)
from sandbox.core import Request, State, StripeError, clone, invalid, route
from sandbox.core.errors import doc_url

Obj = dict[str, Any]
CONFIRMABLE = ("requires_payment_method", "requires_confirmation")
# `/v1/<resource>/…` and `/_sandbox/<resource>/…`: the path's resource names the kind.
RESOURCE_OBJECTS = {"setup_intents": "setup_intent", "payment_intents": "payment_intent"}


@dataclass(frozen=True)
class Kind:
    """What differs between a SetupIntent and a PaymentIntent around the shared machine."""

    object: str  # "setup_intent" | "payment_intent"
    title: str  # "SetupIntent"
    error_field: str  # last_setup_error | last_payment_error
    failed_event: str  # setup_intent.setup_failed | payment_intent.payment_failed
    payment: bool  # takes the payment-only options (setup_future_usage, target_date, …)
    cancel_reasons: tuple[str, ...]
    uncancelable: tuple[str, ...]  # statuses a cancel is refused in
    cancelable: str  # the statuses the refusal names
    # after the payment method is known, before the outcome: (state, intent, pm, req)
    before_confirm: Callable[[State, Obj, Obj, Request | None], None]
    # the bank account is verified: (state, intent, pm, confirm params, req)
    when_verified: Callable[[State, Obj, Obj, Obj, Request | None], None]
    # what a cancel does besides the common steps: (state, intent)
    on_cancel: Callable[[State, Obj], None]


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.object] = kind
    return kind


def checkout_made(state: State) -> dict[str, str]:
    """Intent id → the Checkout Session that created it (private: no public field says so)."""
    return state.private("checkout_sessions", dict)


def kind_of(intent: Obj) -> Kind:
    return KINDS[intent["object"]]


def intent_for_path(state: State, req: Request) -> Obj:
    """The intent a ``…/<setup|payment>_intents/{id}/…`` route is about."""
    return state.get(RESOURCE_OBJECTS[req.path.split("/")[2]], req.path_args["id"])


# --------------------------------------------------------------------------- generations


def _generations(state: State) -> dict[str, int]:
    return state.private("intent_generations", dict)  # intent id → attempt counter


def next_generation(state: State, intent: Obj) -> int:
    """Bump the intent's generation so jobs scheduled for an earlier attempt do nothing."""
    generations = _generations(state)
    generations[intent["id"]] = generations.get(intent["id"], 0) + 1
    return generations[intent["id"]]


def generation(state: State, intent_id: str) -> int:
    return _generations(state)[intent_id]


def is_current(state: State, intent: Obj, generation: int) -> bool:
    return _generations(state).get(intent["id"]) == generation


# --------------------------------------------------------------------------- errors


def error_object(
    code: str, message: str, *, type: str = "invalid_request_error", **extra: Any
) -> Obj:
    """The §1.5 error shape used for ``last_setup_error`` / ``last_payment_error``."""
    body: Obj = {"code": code, "doc_url": doc_url(code), "message": message, "type": type}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def unexpected_with(intent: Obj, message: str) -> StripeError:
    """400 ``<object>_unexpected_state`` carrying the intent, as Stripe answers."""
    return StripeError(
        400,
        message,
        code=f"{intent['object']}_unexpected_state",
        extra={intent["object"]: clone(intent)},
    )


# --------------------------------------------------------------------------- create, confirm


def take_payment_method(state: State, intent: Obj, params: Obj) -> None:
    """``payment_method`` or ``payment_method_data`` given at create or update."""
    pm = resolve_payment_method(state, params, customer=intent["customer"])
    if pm is not None:
        intent["payment_method"] = pm["id"]
        if intent["status"] == "requires_payment_method":
            intent["status"] = "requires_confirmation"


def add_created(
    state: State, intent: Obj, req: Request, *, confirm_now: bool, confirm_params: tuple[str, ...]
) -> None:
    """Store a new intent (``<kind>.created``) and, with ``confirm=true``, confirm it at once
    with the ``confirm_params`` given at creation."""
    take_payment_method(state, intent, req.params)
    state.add(intent)
    state.emit(f"{intent['object']}.created", intent, request=req)
    if confirm_now:
        confirm(state, intent, req, {k: req.params[k] for k in confirm_params if k in req.params})


def cannot_update(intent: Obj) -> StripeError:
    return unexpected_with(
        intent,
        f"You cannot update this {kind_of(intent).title} because it has a status of "
        f"{intent['status']}.",
    )


def confirm(
    state: State,
    intent: Obj,
    req: Request | None,
    params: Obj,
    *,
    microdeposit_type: str = "descriptor_code",
) -> None:
    """``requires_payment_method|requires_confirmation`` → the kind's success or
    ``requires_action`` (a manually entered account waits for its microdeposits)."""
    kind = kind_of(intent)
    if intent["status"] not in CONFIRMABLE:
        raise unexpected_with(
            intent,
            f"You cannot confirm this {kind.title} because it has a status of {intent['status']}.",
        )
    apply_confirm_params(state, intent, params, payment=kind.payment)
    pm = require_payment_method(state, intent)
    kind.before_confirm(state, intent, pm, req)
    intent[kind.error_field] = None
    if pm_is_verified(state, pm):
        kind.when_verified(state, intent, pm, params, req)
    else:
        require_acceptance(state, intent)
        start_microdeposits(state, intent, pm, req, microdeposit_type=microdeposit_type)


def apply_confirm_params(state: State, intent: Obj, params: Obj, *, payment: bool) -> None:
    """Confirm accepts options, mandate data and a payment method; store them."""
    if payment and params.get("setup_future_usage") not in (None, ""):
        intent["setup_future_usage"] = one_of(
            params["setup_future_usage"], ("off_session", "on_session"), param="setup_future_usage"
        )
    if "payment_method_options" in params:
        update_options(intent, params["payment_method_options"], payment=payment)
    if params.get("mandate_data") not in (None, ""):
        remember_acceptance(
            state,
            intent["id"],
            acceptance_from(params["mandate_data"], param="mandate_data", now=state.now()),
        )
    pm = resolve_payment_method(state, params, customer=intent["customer"])
    if pm is not None:
        intent["payment_method"] = pm["id"]


def require_payment_method(state: State, intent: Obj) -> Obj:
    if not intent["payment_method"]:
        raise StripeError(
            400,
            f"You cannot confirm this {kind_of(intent).title} because it's missing a payment "
            "method. Provide payment_method or payment_method_data.",
            code="parameter_missing",
            param="payment_method",
        )
    return state.get("payment_method", intent["payment_method"], param="payment_method")


def require_acceptance(state: State, intent: Obj) -> Obj:
    acceptance = accepted(state, intent["id"])
    if acceptance is None:
        # ACH needs an authorization (NACHA, §6.4); Stripe refuses to confirm without one.
        raise StripeError(
            400,
            f"This {kind_of(intent).title} requires a mandate, but no existing mandate was "
            "found. Collect mandate acceptance from the customer and try again, providing "
            "acceptance data in the mandate_data parameter.",
            code="parameter_missing",
            param="mandate_data",
        )
    return acceptance


def set_attempt_status(state: State, intent: Obj, status: str, *, error: Obj | None = None) -> None:
    """The status of the intent's latest setup attempt (PaymentIntents have none)."""
    attempt_id = intent.get("latest_attempt")
    attempt = state.lookup(attempt_id) if attempt_id else None
    if attempt is not None:
        attempt["status"] = status
        attempt["setup_error"] = error


def fail_intent(state: State, intent: Obj, error: Obj, req: Request | None) -> None:
    """Back to ``requires_payment_method`` with the error (and the PM it was about) recorded."""
    kind = kind_of(intent)
    next_generation(state, intent)
    previous = {"status": intent["status"]}
    pm_id = intent["payment_method"]
    pm = state.lookup(pm_id) if pm_id else None
    full = dict(error)
    if pm is not None:
        full["payment_method"] = clone(pm)
    intent[kind.error_field] = full
    intent["status"] = "requires_payment_method"
    intent["next_action"] = None
    intent["payment_method"] = None
    set_attempt_status(state, intent, "failed", error=full)
    microdeposits.forget(state, intent["id"])
    state.emit(kind.failed_event, intent, previous_attributes=previous, request=req)


def fail_if_current(state: State, intent_id: str, kind: str, generation: int, error: Obj) -> None:
    """A scheduled failure (microdeposits timed out or never sent), unless the intent moved on."""
    intent = state.get(kind, intent_id)
    if is_current(state, intent, generation) and intent["status"] == "requires_action":
        fail_intent(state, intent, error, None)


# --------------------------------------------------------------------------- microdeposits


def start_microdeposits(
    state: State,
    intent: Obj,
    pm: Obj,
    req: Request | None,
    *,
    microdeposit_type: str = "descriptor_code",
) -> None:
    """Manual entry: wait in ``requires_action`` until the deposits are verified (§6.2)."""
    if verification_method(intent) == "instant":
        raise invalid(
            f"This {kind_of(intent).title} requires instant verification (verification_method="
            "instant), but the bank account was entered manually. Link the account with "
            "Financial Connections instead.",
            param="payment_method",
        )
    now = state.now()
    deposits = microdeposits.send(state, intent["id"], microdeposit_type=microdeposit_type, at=now)
    current = next_generation(state, intent)
    intent["status"] = "requires_action"
    intent["next_action"] = microdeposits.next_action(
        state, microdeposit_type, deposits.arrival_date
    )
    set_attempt_status(state, intent, "requires_action")
    state.emit(
        f"{intent['object']}.requires_action",
        intent,
        previous_attributes={"status": "requires_payment_method"},
        request=req,
    )
    outcome = outcome_for_account_number(account_number(state, pm["id"]))
    if outcome.kind == "no_microdeposits":
        error = error_object(str(outcome.code), str(outcome.message))
        state.schedule(
            state.config.refresh_delay,
            lambda: fail_if_current(state, intent["id"], intent["object"], current, error),
        )
    timeout_at = deposits.arrival_date + microdeposits.MICRODEPOSIT_TIMEOUT_SECONDS
    schedule_timeout(state, intent, current, delay=timeout_at - now)


def schedule_timeout(state: State, intent: Obj, current: int, *, delay: float) -> None:
    """Deposits not verified ten days after they arrived fail the intent (§6.2)."""
    error = error_object(*MICRODEPOSIT_ERRORS[MICRODEPOSIT_TIMEOUT])
    kind, intent_id = intent["object"], intent["id"]
    state.schedule(delay, lambda: fail_if_current(state, intent_id, kind, current, error))


def require_microdeposits(state: State, intent: Obj) -> microdeposits.Microdeposits:
    deposits = microdeposits.deposits_of(state, intent["id"])
    if intent["status"] != "requires_action" or deposits is None:
        raise unexpected_with(
            intent,
            f"This {kind_of(intent).title} has a status of {intent['status']} and no "
            "microdeposits to verify. Only an intent in requires_action with next_action "
            "verify_with_microdeposits can be verified.",
        )
    return deposits


def verify_microdeposits(state: State, intent: Obj, req: Request) -> None:
    """Check ``amounts[]`` or ``descriptor_code`` (§6.2-6.3, §7.2); return if they match."""
    deposits = require_microdeposits(state, intent)
    amounts, code = req.params.get("amounts"), req.params.get("descriptor_code")
    microdeposits.check_answer(deposits, amounts, code)
    if not deposits.arrived and state.now() < deposits.arrival_date:
        raise unexpected_with(
            intent,
            "The microdeposits have not arrived in the customer's bank account yet (expected "
            f"arrival_date {deposits.arrival_date}). Simulate arrival with POST "
            f"/_sandbox/{intent['object']}s/{intent['id']}/microdeposits_arrive.",
        )
    verdict, limit = microdeposits.judge(deposits, amounts, code)
    if verdict == microdeposits.MICRODEPOSIT_VERIFIED:
        return
    if verdict is None:
        deposits.attempts += 1
        remaining = limit - deposits.attempts
        if remaining > 0:
            raise microdeposits.mismatch_error(
                deposits, remaining, extra={intent["object"]: clone(intent)}
            )
        verdict = microdeposits.MICRODEPOSIT_EXCEEDED
    error_code, message = MICRODEPOSIT_ERRORS[verdict]
    fail_intent(state, intent, error_object(error_code, message), req)
    raise StripeError(400, message, code=error_code, extra={intent["object"]: clone(intent)})


def mark_arrived(state: State, intent: Obj) -> Obj:
    """The deposits land in the customer's account now (``arrival_date`` = now)."""
    deposits = require_microdeposits(state, intent)
    deposits.arrived = True
    deposits.arrival_date = min(deposits.arrival_date, state.now())
    intent["next_action"]["verify_with_microdeposits"]["arrival_date"] = deposits.arrival_date
    return intent


# --------------------------------------------------------------------------- cancel


def cancel(state: State, intent: Obj, reason: str | None, req: Request | None) -> None:
    kind = kind_of(intent)
    previous = {"status": intent["status"], "cancellation_reason": intent["cancellation_reason"]}
    next_generation(state, intent)
    kind.on_cancel(state, intent)
    intent.update(status="canceled", cancellation_reason=reason, next_action=None)
    set_attempt_status(state, intent, "abandoned")
    microdeposits.forget(state, intent["id"])
    state.emit(f"{kind.object}.canceled", intent, previous_attributes=previous, request=req)


# --------------------------------------------------------------------------- shared routes


@route("GET", "/v1/setup_intents/{id}")
@route("GET", "/v1/payment_intents/{id}")
def retrieve_route(req: Request, state: State) -> Obj:
    return intent_for_path(state, req)


@route("POST", "/v1/setup_intents/{id}/confirm")
@route("POST", "/v1/payment_intents/{id}/confirm")
def confirm_route(req: Request, state: State) -> Obj:
    intent = intent_for_path(state, req)
    refuse_checkout_intent(state, intent, "confirm")
    confirm(state, intent, req, req.params)
    return intent


def refuse_checkout_intent(state: State, intent: Obj, action: str) -> None:
    """Stripe (the pinned SDK's ``checkout.Session.setup_intent`` / ``.payment_intent``): "You
    can't confirm or cancel the SetupIntent for a Checkout Session. To cancel, expire the
    Checkout Session instead." The customer confirms it on the Checkout page (the sandbox's
    ``/_sandbox`` hooks, which call :func:`confirm` directly); the API refuses both."""
    if intent["id"] not in checkout_made(state):
        return
    kind = kind_of(intent)
    tail = (
        "Expire the Checkout Session instead."
        if action == "cancel"
        else "The customer confirms it on the Checkout Session's page."
    )
    raise StripeError(
        400,
        f"You cannot {action} this {kind.title} because it was created by a Checkout "
        f"Session. {tail}",
    )


@route("POST", "/v1/setup_intents/{id}/cancel")
@route("POST", "/v1/payment_intents/{id}/cancel")
def cancel_route(req: Request, state: State) -> Obj:
    intent = intent_for_path(state, req)
    kind = kind_of(intent)
    refuse_checkout_intent(state, intent, "cancel")
    if intent["status"] in kind.uncancelable:
        raise unexpected_with(
            intent,
            f"You cannot cancel this {kind.title} because it has a status of {intent['status']}. "
            f"Only a {kind.title} with one of the following statuses may be canceled: "
            f"{kind.cancelable}.",
        )
    reason = req.params.get("cancellation_reason")
    if reason not in (None, ""):
        reason = one_of(reason, kind.cancel_reasons, param="cancellation_reason")
    cancel(state, intent, reason or None, req)
    return intent


@route("POST", "/v1/setup_intents/{id}/verify_microdeposits")
@route("POST", "/v1/payment_intents/{id}/verify_microdeposits")
def verify_route(req: Request, state: State) -> Obj:
    intent = intent_for_path(state, req)
    verify_microdeposits(state, intent, req)
    pm = state.get("payment_method", intent["payment_method"])
    mark_verified(state, pm["id"])
    kind_of(intent).when_verified(state, intent, pm, {}, req)
    return intent
