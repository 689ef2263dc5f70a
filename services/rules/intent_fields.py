"""Reading Stripe's SetupIntent and PaymentIntent dicts: the fields fcops uses, whether a part
is expanded, missing or null, and the columns an intent is stored with. No I/O.

The typed views built from them live in :mod:`services.rules.intents`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.rules.returns import attempt_error

UNKNOWN_FLOW = "unknown"


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def us_bank_options(intent: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(mapping(intent.get("payment_method_options")).get("us_bank_account"))


def verification_method(intent: Mapping[str, Any]) -> str:
    return str(us_bank_options(intent).get("verification_method") or "automatic")


def kind_of(intent: Mapping[str, Any]) -> str:
    obj = intent.get("object")
    if obj in ("setup_intent", "payment_intent"):
        return str(obj)
    return "payment_intent" if str(intent.get("id", "")).startswith("pi_") else "setup_intent"


def customer_id(intent: Mapping[str, Any]) -> str | None:
    customer = intent.get("customer")
    if isinstance(customer, Mapping):
        return str(customer.get("id")) if customer.get("id") else None
    return str(customer) if customer else None


def is_bank_intent(intent: Mapping[str, Any]) -> bool:
    types = intent.get("payment_method_types")
    return not types or "us_bank_account" in types


def without_secrets(intent: Mapping[str, Any]) -> dict[str, Any]:
    """The intent as stored: the client secret lets anyone confirm it, so it never reaches disk;
    an expanded latest charge is kept as :func:`kept_charge` keeps it."""
    kept = {k: v for k, v in intent.items() if k != "client_secret"}
    if isinstance(kept.get("latest_charge"), Mapping):
        kept["latest_charge"] = kept_charge(kept["latest_charge"])
    return kept


# What attempt_error reads of a failed charge (and its payment method's type).
_FAILED_CHARGE_FIELDS = ("id", "object", "status", "failure_code", "failure_message", "payment_method")


def kept_charge(charge: Mapping[str, Any]) -> Mapping[str, Any] | str | None:
    """An expanded latest charge as a stored intent keeps it: its ID, as Stripe lists it
    unexpanded; but a charge that failed with a code keeps what :func:`attempt_error` reads
    (its failure code and message, the payment method it used and that method's type), since
    once Stripe has cleared the intent's ``last_payment_error`` only the charge says the
    attempt failed and by which route (the funnel's failed stage and path)."""
    if not attempt_error({"latest_charge": charge}):
        return charge.get("id")
    kept = {k: charge.get(k) for k in _FAILED_CHARGE_FIELDS if k in charge}
    method_type = mapping(charge.get("payment_method_details")).get("type")
    if method_type:
        kept["payment_method_details"] = {"type": method_type}
    return kept


def intent_values(intent: Mapping[str, Any], *, succeeded_at: int | None = None) -> dict[str, Any]:
    """The ``IntentRecord`` columns for one Stripe intent dict."""
    metadata = intent.get("metadata") or {}
    return {
        "id": str(intent["id"]),
        "kind": kind_of(intent),
        "customer_id": customer_id(intent),
        "status": str(intent.get("status") or ""),
        "verification_method": verification_method(intent),
        "flow": str(metadata.get("fcops_flow") or UNKNOWN_FLOW),
        "created": int(intent["created"]),
        "succeeded_at": succeeded_at,
        "raw": without_secrets(intent),
    }


def microdeposits(intent: Mapping[str, Any]) -> Mapping[str, Any]:
    action = mapping(intent.get("next_action"))
    if action.get("type") != "verify_with_microdeposits":
        return {}
    return mapping(action.get("verify_with_microdeposits"))


def waiting_for_microdeposits(intent: Mapping[str, Any]) -> bool:
    return intent.get("status") == "requires_action" and bool(microdeposits(intent))


def last_error(intent: Mapping[str, Any]) -> str | None:
    """Why the intent's last attempt failed, in Stripe's words: a SetupIntent's
    ``last_setup_error`` (it makes no charge); a PaymentIntent's ``last_payment_error``, else,
    once Stripe cleared that (the intent was updated since) and while the intent is still back
    from the attempt, its failed latest charge's when expanded (:func:`attempt_error`)."""
    if kind_of(intent) == "setup_intent":
        error = mapping(intent.get("last_setup_error"))
    elif intent.get("status") in ("requires_payment_method", "canceled"):
        error = attempt_error(intent)
    else:  # a new attempt is under way or done: a cleared error is history
        error = mapping(intent.get("last_payment_error"))
    if not error:
        return None
    return str(error.get("message") or error.get("code") or "failed")


def linked_accounts(session: Mapping[str, Any]) -> tuple[str, ...]:
    """The accounts an FC session's customer linked (a session has no status of its own)."""
    return tuple(str(a["id"]) for a in mapping(session.get("accounts")).get("data") or [])
