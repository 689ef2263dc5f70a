"""ACH payments in the sandbox: SetupIntents, PaymentIntents, PaymentMethods, Mandates, Checkout.

The state machines follow the Stripe docs summarised in ``docs/stripe-fc-reference.md`` §2.5-2.10,
§3.2-3.3 and §6-7: an FC-linked bank account confirms straight to ``succeeded`` (SetupIntent) or
``processing`` (PaymentIntent); a manually entered one waits in ``requires_action`` with
``verify_with_microdeposits`` until the test values of §7.2 are sent to ``verify_microdeposits``.
PaymentIntents settle after the sandbox's refresh delay, with the outcome chosen by the test
account number (§7.1). The ``/_sandbox/...`` hooks stand in for what Stripe.js and the bank do.

Private facts Stripe never returns (the full account number, microdeposit codes, attempt counters)
live in a side table (:class:`_Private`) so they can never leak into a response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from sandbox import objects
from sandbox.api import search
from sandbox.api.financial_connections.sessions import link_account
from sandbox.api.institutions import institution
from sandbox.core import (
    Request,
    State,
    StripeError,
    clone,
    invalid,
    missing,
    range_bounds,
    register_index,
    route,
    to_int,
)
from services.calendar import next_business_day

Obj = dict[str, Any]

PERMISSIONS = ("balances", "ownership", "payment_method", "transactions")
PREFETCH = ("balances", "ownership", "transactions")
VERIFICATION_METHODS = ("automatic", "instant", "microdeposits")
PAYMENT_METHOD_TYPES = ("us_bank_account", "card", "link")
TEST_ROUTING_NUMBER = "110000000"
DEFAULT_ACCOUNT_NUMBER = "000123456789"
DESCRIPTOR_CODE_ATTEMPTS = 10
AMOUNTS_ATTEMPTS = 3
MICRODEPOSIT_TIMEOUT_SECONDS = 10 * 86400
SI_CANCEL_REASONS = ("abandoned", "duplicate", "requested_by_customer")
PI_CANCEL_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")
HOSTED_VERIFICATION_URL = "https://payments.stripe.com/microdeposit/"
CHECKOUT_URL = "https://checkout.stripe.com/c/pay/"
# Lists filtered by these fields read an index instead of scanning every object (core.View).
register_index("payment_method", "customer")
register_index("setup_intent", "customer")
register_index("setup_intent", "payment_method")
register_index("payment_intent", "customer")
register_index("mandate", "payment_method")
register_index("setup_attempt", "setup_intent")
register_index("checkout.session", "customer")
register_index("checkout.session", "payment_intent")
register_index("checkout.session", "setup_intent")

DEFAULT_ACCEPTANCE: Obj = {
    "type": "online",
    "online": {"ip_address": "127.0.0.1", "user_agent": "Mozilla/5.0 (fcops sandbox)"},
}


# --------------------------------------------------------------------------------------------
# Test-mode outcomes (§7.1) and microdeposit test values (§7.2)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happens to a debit from one bank account."""

    kind: (
        str  # succeed | fail | processing_forever | dispute | blocked_at_confirm | no_microdeposits
    )
    code: str | None = None
    message: str | None = None
    network_code: str | None = None  # the NACHA return code when the account gets blocked
    block_reason: str | None = None  # sets us_bank_account.status_details.blocked
    decline_code: str | None = None
    charge_code: str | None = None  # the charge's failure_code when it differs from `code`

    @property
    def failure_code(self) -> str | None:
        """``charge.failure_code`` (a free string; Stripe's legacy ACH codes, §6.5)."""
        return self.charge_code or self.code


SUCCESS = Outcome("succeed")
ACCOUNT_OUTCOMES: dict[str, Outcome] = {
    "000123456789": SUCCESS,
    # `code` is last_payment_error.code and must be in the pinned SDK's error-code enum, which
    # has account_closed / no_account (not the bank_account_* names of the reference's §6.5 table).
    "000111111113": Outcome(
        "fail",
        "account_closed",
        "The customer's bank account has been closed.",
        "R02",
        "bank_account_closed",
    ),
    "000111111116": Outcome(
        "fail",
        "no_account",
        "The customer's bank account could not be located.",
        "R03",
        "bank_account_invalid_details",
    ),
    "000222222227": Outcome(
        "fail",
        "insufficient_funds",
        "The customer's account has insufficient funds to cover this payment.",
    ),
    "000333333335": Outcome(
        "fail",
        "debit_not_authorized",
        "The customer has notified their bank that this payment was unauthorized.",
        "R10",
        "debit_not_authorized",
    ),
    "000444444440": Outcome(
        "fail",
        "payment_intent_payment_attempt_failed",
        "The bank was unable to process this payment because of its currency.",
        decline_code="invalid_currency",
        charge_code="invalid_currency",
    ),
    "000666666661": Outcome(
        "no_microdeposits",
        "payment_method_microdeposit_failed",
        "Microdeposits failed to deposit into the customer's bank account. "
        "Please check the account, institution and transit numbers.",
    ),
    "000555555559": Outcome("dispute"),
    "000000000009": Outcome("processing_forever"),
    "000000004954": Outcome(
        "blocked_at_confirm",
        "payment_intent_payment_attempt_failed",
        "The payment was blocked by Stripe Radar (highest risk level).",
        decline_code="highest_risk_level",
    ),
    "000777777771": Outcome(
        "fail",
        "payment_intent_payment_attempt_failed",
        "The payment exceeds the weekly ACH volume limit for this account.",
    ),
    "000888888885": Outcome(
        "fail",
        "bank_account_unusable",
        "The tokenized account number has been deactivated.",
        "R04",
        "tokenized_account_number_deactivated",
    ),
}
MICRODEPOSIT_VERIFIED = "verified"
MICRODEPOSIT_EXCEEDED = "attempts_exceeded"
MICRODEPOSIT_TIMEOUT = "timeout"
MICRODEPOSIT_AMOUNTS: dict[tuple[int, int], str] = {
    (32, 45): MICRODEPOSIT_VERIFIED,
    (10, 11): MICRODEPOSIT_EXCEEDED,
    (40, 41): MICRODEPOSIT_TIMEOUT,
}
MICRODEPOSIT_CODES: dict[str, str] = {
    "SM11AA": MICRODEPOSIT_VERIFIED,
    "SM33CC": MICRODEPOSIT_EXCEEDED,
    "SM44DD": MICRODEPOSIT_TIMEOUT,
}
MICRODEPOSIT_ERRORS: dict[str, tuple[str, str]] = {
    MICRODEPOSIT_EXCEEDED: (
        "payment_method_microdeposit_verification_attempts_exceeded",
        "You have exceeded the number of allowed verification attempts.",
    ),
    MICRODEPOSIT_TIMEOUT: (
        "payment_method_microdeposit_verification_timeout",
        "Payment method should be verified with microdeposits within the required period.",
    ),
}


def outcome_for_account_number(account_number: str | None) -> Outcome:
    """The §7.1 behaviour of a manually entered test account (anything else succeeds)."""
    return ACCOUNT_OUTCOMES.get(account_number or "", SUCCESS)


# --------------------------------------------------------------------------------------------
# Private side table
# --------------------------------------------------------------------------------------------


@dataclass
class Microdeposits:
    """The deposits Stripe sent for one intent; the codes never appear in a response."""

    microdeposit_type: str
    arrival_date: int
    arrived: bool = False
    attempts: int = 0


@dataclass
class _Private:
    account_numbers: dict[str, str] = field(default_factory=dict)  # pm id -> account number
    microdeposits: dict[str, Microdeposits] = field(default_factory=dict)  # intent id -> deposits
    mandate_data: dict[str, Obj] = field(default_factory=dict)  # intent id -> acceptance
    generations: dict[str, int] = field(default_factory=dict)  # intent id -> confirm counter
    verified: set[str] = field(default_factory=set)  # manual PMs whose microdeposits matched
    checkout: dict[str, str] = field(default_factory=dict)  # intent id -> checkout session id


def private(state: State) -> _Private:
    """Per-State private data, kept in ``state.extras`` so two sandboxes never share it."""
    found = state.extras.get("payments")
    if not isinstance(found, _Private):
        found = state.extras["payments"] = _Private()
    return found


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def dig(params: Any, *keys: str) -> Any:
    """``params[a][b][c]`` or None when any level is missing or not a dict."""
    current = params
    for key in keys:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def as_list(value: Any, *, param: str) -> list[str]:
    """A form array (indexed or ``[]``) as a list of strings; a scalar counts as one item."""
    if value is None or value == "":
        return []
    if isinstance(value, dict):  # a[0]=x parsed as a dict by a lenient parser
        value = [value[k] for k in sorted(value, key=lambda k: int(k) if k.isdigit() else 0)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise invalid(f"Invalid array: {param}", param=param)


def as_bool(value: Any, *, param: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise invalid(f"Invalid boolean: {value}", param=param)


def as_int(value: Any, *, param: str) -> int:
    return to_int(value, param)


def one_of(value: Any, allowed: Iterable[str], *, param: str) -> str:
    options = tuple(allowed)
    if value not in options:
        raise invalid(f"Invalid {param}: must be one of {', '.join(options)}", param=param)
    return str(value)


def metadata_update(current: Obj, given: Any) -> Obj:
    """Stripe merges metadata; ``""`` for a key (or the whole hash) unsets it."""
    if given is None:
        return current
    if given == "":
        return {}
    if not isinstance(given, dict):
        raise invalid("Invalid metadata: must be a hash", param="metadata")
    merged = dict(current)
    for key, value in given.items():
        if len(key) > 40 or "[" in key or "]" in key:
            raise invalid(f"Invalid metadata key: {key}", param=f"metadata[{key}]")
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)[:500]
    if len(merged) > 50:
        raise invalid("Metadata can have at most 50 keys", param="metadata")
    return merged


def doc_url(code: str) -> str:
    return "https://docs.stripe.com/error-codes/" + code.replace("_", "-")


def error_object(
    code: str, message: str, *, type: str = "invalid_request_error", **extra: Any
) -> Obj:
    """The §1.5 error shape used for ``last_setup_error`` / ``last_payment_error``."""
    body: Obj = {"code": code, "doc_url": doc_url(code), "message": message, "type": type}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def snapshot(obj: Obj) -> Obj:
    return clone(obj)


def emit(state: State, type: str, obj: Obj, req: Request | None = None, **previous: Any) -> None:
    state.emit(type, obj, previous_attributes=previous or None, request=req)


def get_or_404(state: State, object_name: str, id: str | None, *, param: str = "id") -> Obj:
    if not id:
        raise missing(param)
    return state.get(object_name, id, param=param)


def created_bounds(value: Any, *, param: str = "created") -> tuple[int | None, int | None]:
    """``created=123`` or ``created[gte]=...`` as ``[low, high)`` (open when absent)."""
    if value is None or value == "":
        return None, None
    return range_bounds(value, param)


def where(**values: Any) -> dict[str, Any] | None:
    """Index filters for ``state.view`` from optional params (None = not filtered)."""
    found = {k: v for k, v in values.items() if v is not None}
    return found or None


def arrival_estimate(now: int) -> int:
    """Two business days out, at midnight Pacific (07:00 UTC), like Stripe's examples."""
    day = datetime.fromtimestamp(now, UTC).date()
    day = next_business_day(next_business_day(day))
    return int(datetime.combine(day, time(7, 0), tzinfo=UTC).timestamp())


def bank_name_for(routing_number: str) -> str:
    if routing_number == TEST_ROUTING_NUMBER:
        return "STRIPE TEST BANK"
    return "TEST BANK"


def acceptance_from(value: Any, *, param: str, now: int) -> Obj:
    """Validate ``mandate_data`` and return a mandate's ``customer_acceptance``."""
    acceptance = dig(value, "customer_acceptance")
    if not isinstance(acceptance, dict):
        raise missing(f"{param}[customer_acceptance]")
    kind = acceptance.get("type")
    if not kind:
        raise missing(f"{param}[customer_acceptance][type]")
    one_of(kind, ("online", "offline"), param=f"{param}[customer_acceptance][type]")
    accepted_at = acceptance.get("accepted_at")
    result: Obj = {
        "accepted_at": as_int(accepted_at, param=f"{param}[customer_acceptance][accepted_at]")
        if accepted_at not in (None, "")
        else now,
        "type": kind,
    }
    if kind == "online":
        online = acceptance.get("online")
        for name in ("ip_address", "user_agent"):
            if not dig(online, name):
                raise missing(f"{param}[customer_acceptance][online][{name}]")
        result["online"] = {
            "ip_address": dig(online, "ip_address"),
            "user_agent": dig(online, "user_agent"),
        }
    else:
        result["offline"] = {}
    return result


# --------------------------------------------------------------------------------------------
# Builders Stripe's fixtures don't cover (setup attempts, charges, disputes)
# --------------------------------------------------------------------------------------------


def build_setup_attempt(state: State, si: Obj, pm: Obj, *, status: str) -> Obj:
    return {
        "id": state.new_id("setatt_"),
        "object": "setup_attempt",
        "application": None,
        "attach_to_self": False,
        "created": state.now(),
        "customer": si["customer"],
        "customer_account": None,
        "flow_directions": None,
        "livemode": False,
        "on_behalf_of": None,
        "payment_method": pm["id"],
        "payment_method_details": {"type": "us_bank_account", "us_bank_account": {}},
        "setup_error": None,
        "setup_intent": si["id"],
        "status": status,
        "usage": si["usage"],
    }


def build_charge(state: State, pi: Obj, pm: Obj, *, mandate: str | None) -> Obj:
    uba = pm["us_bank_account"]
    return {
        "id": state.new_id("py_"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": pi["amount"],
        "amount_refunded": 0,
        "balance_transaction": None,
        "billing_details": clone(pm["billing_details"]),
        "captured": True,
        "created": state.now(),
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "outcome": None,
        "paid": False,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {
            "type": "us_bank_account",
            "us_bank_account": {
                "account_holder_type": uba["account_holder_type"],
                "account_type": uba["account_type"],
                "bank_name": uba["bank_name"],
                "fingerprint": uba["fingerprint"],
                "last4": uba["last4"],
                "mandate": mandate,
                "payment_reference": None,
                "routing_number": uba["routing_number"],
            },
        },
        "refunded": False,
        "statement_descriptor": pi["statement_descriptor"],
        "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
        "status": "pending",
    }


# --------------------------------------------------------------------------------------------
# Parameter parsing shared by intents and checkout
# --------------------------------------------------------------------------------------------

# Reference §9 (Stripe changelog endive 2026-09-30): the allowed list filters the dynamically
# eligible methods and is mutually exclusive with the other two ways to choose them.
EXCLUSIVE_TYPE_PARAMS = (
    "allowed_payment_method_types",
    "automatic_payment_methods",
    "excluded_payment_method_types",
)


def parse_types(params: Obj) -> list[str]:
    """``allowed_payment_method_types`` (§9; `payment_method_types` never gets this far: the
    request check refuses it as ``payment_method_types_no_longer_supported``)."""
    given = [n for n in EXCLUSIVE_TYPE_PARAMS if params.get(n) not in (None, "", [], {})]
    if "allowed_payment_method_types" in given and len(given) > 1:
        raise invalid(
            f"You may only specify one of these parameters: {', '.join(given)}.",
            param=given[-1],
            code="parameters_exclusive",
        )
    for name in ("allowed_payment_method_types",):
        if params.get(name) not in (None, "", []):
            types = as_list(params[name], param=name)
            for i, value in enumerate(types):
                one_of(value, PAYMENT_METHOD_TYPES, param=f"{name}[{i}]")
            return list(dict.fromkeys(types))
    return ["us_bank_account"]


def parse_us_bank_options(
    given: Any,
    *,
    types: list[str],
    param: str = "payment_method_options",
    methods: tuple[str, ...] = VERIFICATION_METHODS,
    current: Obj | None = None,
    payment: bool = False,
) -> Obj:
    """``payment_method_options`` with Stripe's FC validation (permissions, prefetch, filters)."""
    result: Obj = clone(current or {})
    uba_param = f"{param}[us_bank_account]"
    given_uba = dig(given, "us_bank_account")
    if given_uba not in (None, "") and "us_bank_account" not in types:
        raise invalid(
            f"{uba_param} was provided, but us_bank_account is not in payment_method_types.",
            param=uba_param,
        )
    if "us_bank_account" not in types:
        return result
    uba: Obj = result.get("us_bank_account") or {
        "financial_connections": {"permissions": ["payment_method"], "prefetch": []},
        "mandate_options": {},
        "verification_method": "automatic",
    }
    given_uba = given_uba if isinstance(given_uba, dict) else {}
    if given_uba.get("verification_method") not in (None, ""):
        uba["verification_method"] = one_of(
            given_uba["verification_method"], methods, param=f"{uba_param}[verification_method]"
        )
    fc = uba["financial_connections"]
    given_fc = given_uba.get("financial_connections")
    given_fc = given_fc if isinstance(given_fc, dict) else {}
    fc_param = f"{uba_param}[financial_connections]"
    if "permissions" in given_fc:
        fc["permissions"] = check_permissions(
            given_fc["permissions"], param=f"{fc_param}[permissions]"
        )
    if "prefetch" in given_fc:
        fc["prefetch"] = as_list(given_fc["prefetch"], param=f"{fc_param}[prefetch]")
    check_prefetch(fc["prefetch"], fc["permissions"], param=f"{fc_param}[prefetch]")
    if "filters" in given_fc:
        subcategories = as_list(
            dig(given_fc, "filters", "account_subcategories"),
            param=f"{fc_param}[filters][account_subcategories]",
        )
        for i, sub in enumerate(subcategories):
            one_of(
                sub,
                ("checking", "savings"),
                param=f"{fc_param}[filters][account_subcategories][{i}]",
            )
        fc["filters"] = {"account_subcategories": subcategories}
    if given_fc.get("return_url"):
        fc["return_url"] = str(given_fc["return_url"])
    collection = dig(given_uba, "mandate_options", "collection_method")
    if collection not in (None, ""):
        uba["mandate_options"] = {
            "collection_method": one_of(
                collection, ("paper",), param=f"{uba_param}[mandate_options][collection_method]"
            )
        }
    if payment:
        read_payment_only_options(uba, given_uba, param=uba_param)
    result["us_bank_account"] = uba
    return result


def check_permissions(value: Any, *, param: str) -> list[str]:
    permissions = as_list(value, param=param)
    for i, permission in enumerate(permissions):
        one_of(permission, PERMISSIONS, param=f"{param}[{i}]")
    if "payment_method" not in permissions:
        # §6.1: an ACH payment always needs the account and routing numbers.
        raise invalid(
            "The payment_method permission is required for us_bank_account payments: "
            f"{param} must include payment_method.",
            param=param,
        )
    return list(dict.fromkeys(permissions))


def check_prefetch(prefetch: list[str], permissions: list[str], *, param: str) -> None:
    for i, feature in enumerate(prefetch):
        one_of(feature, PREFETCH, param=f"{param}[{i}]")
        if feature not in permissions:
            raise invalid(
                f"Cannot prefetch {feature} without the {feature} permission; add it to "
                "financial_connections[permissions].",
                param=param,
            )


def read_payment_only_options(uba: Obj, given: Obj, *, param: str) -> None:
    if given.get("setup_future_usage") not in (None, ""):
        uba["setup_future_usage"] = one_of(
            given["setup_future_usage"],
            ("none", "off_session", "on_session"),
            param=f"{param}[setup_future_usage]",
        )
    if given.get("target_date") not in (None, ""):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(given["target_date"])):
            raise invalid("target_date must be YYYY-MM-DD", param=f"{param}[target_date]")
        uba["target_date"] = given["target_date"]
    if given.get("transaction_purpose") not in (None, ""):
        uba["transaction_purpose"] = one_of(
            given["transaction_purpose"],
            ("goods", "services", "other", "unspecified"),
            param=f"{param}[transaction_purpose]",
        )


def verification_method(intent: Obj) -> str:
    return str(
        dig(intent, "payment_method_options", "us_bank_account", "verification_method")
        or "automatic"
    )


def fc_options(intent: Obj) -> Obj:
    found = dig(intent, "payment_method_options", "us_bank_account", "financial_connections")
    return found if isinstance(found, dict) else {"permissions": ["payment_method"], "prefetch": []}


# --------------------------------------------------------------------------------------------
# Payment methods and mandates
# --------------------------------------------------------------------------------------------


def billing_details_from(given: Any, *, param: str) -> Obj:
    given = given if isinstance(given, dict) else {}
    address = given.get("address") if isinstance(given.get("address"), dict) else {}
    return {
        "address": objects.address(**{k: address.get(k) for k in objects.address()}),
        "email": given.get("email") or None,
        "name": given.get("name") or None,
        "phone": given.get("phone") or None,
        "tax_id": given.get("tax_id") or None,
    }


def create_payment_method(state: State, data: Any, *, param: str) -> Obj:
    """A ``us_bank_account`` PM from ``payment_method_data`` (FC account or routing+account)."""
    if not isinstance(data, dict):
        raise invalid(f"Invalid hash: {param}", param=param)
    kind = data.get("type")
    if not kind:
        raise missing(f"{param}[type]")
    one_of(kind, ("us_bank_account",), param=f"{param}[type]")
    billing = billing_details_from(data.get("billing_details"), param=f"{param}[billing_details]")
    if not billing["name"]:
        # §2.7: billing_details.name is required to create an ACH payment method.
        raise missing(f"{param}[billing_details][name]")
    uba = data.get("us_bank_account")
    if not isinstance(uba, dict):
        raise missing(f"{param}[us_bank_account]")
    uba_param = f"{param}[us_bank_account]"
    holder_type = uba.get("account_holder_type") or "individual"
    one_of(holder_type, ("individual", "company"), param=f"{uba_param}[account_holder_type]")
    account_type = uba.get("account_type") or "checking"
    one_of(account_type, ("checking", "savings"), param=f"{uba_param}[account_type]")
    if uba.get("financial_connections_account"):
        fca = state.get(
            "financial_connections.account",
            uba["financial_connections_account"],
            param=f"{uba_param}[financial_connections_account]",
        )
        details = details_from_fc_account(state, fca, holder_type=holder_type)
    else:
        details = details_from_numbers(
            uba, param=uba_param, holder_type=holder_type, account_type=account_type
        )
    pm = objects.payment_method(
        state,
        billing_details=billing,
        metadata=metadata_update({}, data.get("metadata")),
        us_bank_account=details,
    )
    if not details["financial_connections_account"]:
        private(state).account_numbers[pm["id"]] = str(uba["account_number"])
    return state.add(pm)


def details_from_numbers(uba: Obj, *, param: str, holder_type: str, account_type: str) -> Obj:
    routing, number = uba.get("routing_number"), uba.get("account_number")
    if not routing:
        raise missing(f"{param}[routing_number]")
    if not number:
        raise missing(f"{param}[account_number]")
    if not re.fullmatch(r"\d{9}", str(routing)):
        raise invalid("Routing number must have 9 digits.", param=f"{param}[routing_number]")
    if not re.fullmatch(r"\d{4,17}", str(number)):
        raise invalid("Account number must have 4 to 17 digits.", param=f"{param}[account_number]")
    return objects.us_bank_account_details(
        last4=str(number)[-4:],
        routing_number=str(routing),
        bank_name=bank_name_for(str(routing)),
        account_holder_type=holder_type,
        account_type=account_type,
        fingerprint_value=objects.fingerprint(str(routing), str(number)),
    )


def details_from_fc_account(state: State, fca: Obj, *, holder_type: str = "individual") -> Obj:
    """The PM's bank details from an FC account, after the checks Stripe makes (§6.1)."""
    param = "payment_method_data[us_bank_account][financial_connections_account]"
    if "payment_method" not in (fca.get("permissions") or []):
        raise invalid(
            f"The Financial Connections account {fca['id']} was not granted the payment_method "
            "permission, so it cannot be used to create a payment method.",
            param=param,
        )
    if fca.get("status") != "active":
        raise StripeError(
            400,
            f"The Financial Connections account {fca['id']} is {fca.get('status')}.",
            code="financial_connections_account_inactive",
            param=param,
        )
    if "us_bank_account" not in (fca.get("supported_payment_method_types") or []):
        raise invalid(
            f"The Financial Connections account {fca['id']} does not support us_bank_account payments.",
            param=param,
        )
    routing = institution_routing(state, fca.get("institution_name") or "")
    holder = dig(fca, "account_holder", "customer") or ""
    subcategory = fca.get("subcategory")
    return objects.us_bank_account_details(
        last4=fca.get("last4") or "6789",
        routing_number=routing,
        bank_name=str(fca.get("institution_name") or "TEST BANK").upper(),
        financial_connections_account=fca["id"],
        account_holder_type=holder_type,
        account_type=subcategory if subcategory in ("checking", "savings") else "checking",
        fingerprint_value=objects.fingerprint(
            routing, str(fca.get("institution_name")), str(fca.get("last4")), str(holder)
        ),
    )


def institution_routing(state: State, name: str) -> str:
    """The routing number of a known bank (unknown banks use the test routing number)."""
    return institution(state, name).routing_number or TEST_ROUTING_NUMBER


def resolve_payment_method(state: State, params: Obj, *, customer: str | None) -> Obj | None:
    """The PM named by ``payment_method`` or created from ``payment_method_data``."""
    if params.get("payment_method") and params.get("payment_method_data"):
        raise StripeError(
            400,
            "You may only specify one of these parameters: payment_method, payment_method_data.",
            code="parameters_exclusive",
            param="payment_method_data",
        )
    if params.get("payment_method"):
        pm = state.get("payment_method", str(params["payment_method"]), param="payment_method")
        check_pm_customer(pm, customer)
        return pm
    if params.get("payment_method_data"):
        return create_payment_method(
            state, params["payment_method_data"], param="payment_method_data"
        )
    return None


def check_pm_customer(pm: Obj, customer: str | None) -> None:
    if pm["customer"] and pm["customer"] != customer:
        if customer is None:
            message = (
                f"The provided PaymentMethod {pm['id']} belongs to a Customer; please include the "
                "Customer in the customer parameter."
            )
        else:
            message = (
                f"The provided PaymentMethod {pm['id']} does not belong to Customer {customer}."
            )
        raise invalid(message, param="payment_method")


def attach(state: State, pm: Obj, customer: str, req: Request | None) -> None:
    if pm["customer"] == customer:
        return
    pm["customer"] = customer
    emit(state, "payment_method.attached", pm, req)


def create_mandate(state: State, pm: Obj, acceptance: Obj, *, single_use: Obj | None = None) -> Obj:
    fields: Obj = {"customer_acceptance": clone(acceptance)}
    if single_use is not None:
        fields.update(type="single_use", single_use=single_use)
        mandate = objects.mandate(state, payment_method=pm["id"], **fields)
        mandate.pop("multi_use", None)
    else:
        mandate = objects.mandate(state, payment_method=pm["id"], **fields)
    collection = "paper" if acceptance.get("type") == "offline" else None
    mandate["payment_method_details"]["us_bank_account"]["collection_method"] = collection
    return state.add(mandate)


def deactivate_mandates(state: State, pm_id: str) -> None:
    """§2.8: a return, block or detach makes the PM's mandates inactive (``mandate.updated``)."""
    for mandate in mandates_of(state, pm_id):
        if mandate["status"] == "active":
            mandate["status"] = "inactive"
            emit(state, "mandate.updated", mandate, None, status="active")


def mandates_of(state: State, pm_id: str) -> list[Obj]:
    """The payment method's mandates, oldest stored first (from the index, not a scan)."""
    return state.insertion_order(state.view("mandate", where={"payment_method": pm_id}).all())


def active_mandate(state: State, pm_id: str) -> Obj | None:
    """The newest active multi-use mandate of the payment method, if any."""
    for m in state.view("mandate", where={"payment_method": pm_id}).all():
        if m["status"] == "active" and m["type"] == "multi_use":
            return m
    return None


def pm_is_verified(state: State, pm: Obj) -> bool:
    """FC-linked PMs are verified instantly; manual ones once their microdeposits matched."""
    return (
        bool(pm["us_bank_account"]["financial_connections_account"])
        or pm["id"] in private(state).verified
    )


# --------------------------------------------------------------------------------------------
# Shared intent machinery (SetupIntent and PaymentIntent behave alike around microdeposits)
# --------------------------------------------------------------------------------------------


def kind_of(intent: Obj) -> str:
    return str(intent["object"])  # "setup_intent" | "payment_intent"


def error_field(intent: Obj) -> str:
    return "last_setup_error" if kind_of(intent) == "setup_intent" else "last_payment_error"


def failed_event(intent: Obj) -> str:
    return (
        "setup_intent.setup_failed"
        if kind_of(intent) == "setup_intent"
        else "payment_intent.payment_failed"
    )


def title(intent: Obj) -> str:
    return "SetupIntent" if kind_of(intent) == "setup_intent" else "PaymentIntent"


def next_generation(state: State, intent: Obj) -> int:
    """Bump the intent's generation so jobs scheduled for an earlier attempt do nothing."""
    generations = private(state).generations
    generations[intent["id"]] = generations.get(intent["id"], 0) + 1
    return generations[intent["id"]]


def is_current(state: State, intent: Obj, generation: int) -> bool:
    return private(state).generations.get(intent["id"]) == generation


def apply_confirm_params(state: State, intent: Obj, params: Obj, *, payment: bool) -> None:
    """Confirm (and create/update) accept a PM, mandate data and options; store them."""
    if "payment_method_options" in params:
        intent["payment_method_options"] = parse_us_bank_options(
            params["payment_method_options"],
            types=intent["payment_method_types"],
            current=intent["payment_method_options"],
            payment=payment,
        )
    if params.get("mandate_data") not in (None, ""):
        private(state).mandate_data[intent["id"]] = acceptance_from(
            params["mandate_data"], param="mandate_data", now=state.now()
        )
    pm = resolve_payment_method(state, params, customer=intent["customer"])
    if pm is not None:
        intent["payment_method"] = pm["id"]


def require_payment_method(state: State, intent: Obj) -> Obj:
    if not intent["payment_method"]:
        raise StripeError(
            400,
            f"You cannot confirm this {title(intent)} because it's missing a payment method. "
            "Provide payment_method or payment_method_data.",
            code="parameter_missing",
            param="payment_method",
        )
    return state.get("payment_method", intent["payment_method"], param="payment_method")


def require_acceptance(state: State, intent: Obj) -> Obj:
    acceptance = private(state).mandate_data.get(intent["id"])
    if acceptance is None:
        # ACH needs an authorization (NACHA, §6.4); Stripe refuses to confirm without one.
        raise StripeError(
            400,
            f"This {title(intent)} requires a mandate, but no existing mandate was found. Collect "
            "mandate acceptance from the customer and try again, providing acceptance data in "
            "the mandate_data parameter.",
            code="parameter_missing",
            param="mandate_data",
        )
    return acceptance


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
            f"This {title(intent)} requires instant verification (verification_method=instant), "
            "but the bank account was entered manually. Link the account with Financial "
            "Connections instead.",
            param="payment_method",
        )
    now = state.now()
    deposits = Microdeposits(
        microdeposit_type=microdeposit_type, arrival_date=arrival_estimate(now)
    )
    private(state).microdeposits[intent["id"]] = deposits
    generation = next_generation(state, intent)
    intent["status"] = "requires_action"
    intent["next_action"] = {
        "type": "verify_with_microdeposits",
        "verify_with_microdeposits": {
            "arrival_date": deposits.arrival_date,
            "hosted_verification_url": HOSTED_VERIFICATION_URL + state.new_id("sacs_test_"),
            "microdeposit_type": microdeposit_type,
        },
    }
    set_attempt_status(state, intent, "requires_action")
    emit(state, f"{kind_of(intent)}.requires_action", intent, req, status="requires_payment_method")
    outcome = outcome_for_account_number(private(state).account_numbers.get(pm["id"]))
    if outcome.kind == "no_microdeposits":
        error = error_object(str(outcome.code), str(outcome.message))
        state.schedule(
            state.config.refresh_delay,
            lambda: fail_if_current(state, intent["id"], kind_of(intent), generation, error),
        )
    timeout = error_object(*MICRODEPOSIT_ERRORS[MICRODEPOSIT_TIMEOUT])
    state.schedule(
        deposits.arrival_date + MICRODEPOSIT_TIMEOUT_SECONDS - now,
        lambda: fail_if_current(state, intent["id"], kind_of(intent), generation, timeout),
    )


def fail_if_current(state: State, intent_id: str, kind: str, generation: int, error: Obj) -> None:
    intent = state.get(kind, intent_id)
    if is_current(state, intent, generation) and intent["status"] == "requires_action":
        fail_intent(state, intent, error, None)


def fail_intent(state: State, intent: Obj, error: Obj, req: Request | None) -> None:
    """Back to ``requires_payment_method`` with the error (and the PM it was about) recorded."""
    next_generation(state, intent)
    previous = {"status": intent["status"]}
    pm_id = intent["payment_method"]
    pm = state.lookup(pm_id) if pm_id else None
    full = dict(error)
    if pm is not None:
        full["payment_method"] = snapshot(pm)
    intent[error_field(intent)] = full
    intent["status"] = "requires_payment_method"
    intent["next_action"] = None
    intent["payment_method"] = None
    set_attempt_status(state, intent, "failed", error=full)
    private(state).microdeposits.pop(intent["id"], None)
    emit(state, failed_event(intent), intent, req, **previous)


def set_attempt_status(state: State, intent: Obj, status: str, *, error: Obj | None = None) -> None:
    attempt_id = intent.get("latest_attempt")
    attempt = state.lookup(attempt_id) if attempt_id else None
    if attempt is not None:
        attempt["status"] = status
        attempt["setup_error"] = error


def require_microdeposits(state: State, intent: Obj) -> Microdeposits:
    deposits = private(state).microdeposits.get(intent["id"])
    if intent["status"] != "requires_action" or deposits is None:
        raise StripeError(
            400,
            f"This {title(intent)} has a status of {intent['status']} and no microdeposits to "
            "verify. Only an intent in requires_action with next_action verify_with_microdeposits "
            "can be verified.",
            code=f"{kind_of(intent)}_unexpected_state",
            extra={kind_of(intent): snapshot(intent)},
        )
    return deposits


def verify_microdeposits(state: State, intent: Obj, req: Request) -> str:
    """Check ``amounts[]`` or ``descriptor_code`` (§6.2-6.3, §7.2); return the verdict or raise."""
    deposits = require_microdeposits(state, intent)
    amounts, code = req.params.get("amounts"), req.params.get("descriptor_code")
    if amounts not in (None, "", []) and code not in (None, ""):
        raise StripeError(
            400,
            "You may only specify one of these parameters: amounts, descriptor_code.",
            code="parameters_exclusive",
            param="descriptor_code",
        )
    if amounts in (None, "", []) and code in (None, ""):
        raise StripeError(
            400,
            "You must provide either amounts or descriptor_code.",
            code="parameter_missing",
            param="amounts" if deposits.microdeposit_type == "amounts" else "descriptor_code",
        )
    if not deposits.arrived and state.now() < deposits.arrival_date:
        raise unexpected_with(
            intent,
            "The microdeposits have not arrived in the customer's bank account yet (expected "
            f"arrival_date {deposits.arrival_date}). Simulate arrival with POST "
            f"/_sandbox/{kind_of(intent)}s/{intent['id']}/microdeposits_arrive.",
        )
    if amounts not in (None, "", []):
        verdict = check_amounts(deposits, amounts)
        limit = AMOUNTS_ATTEMPTS
    else:
        verdict = check_descriptor_code(deposits, str(code))
        limit = DESCRIPTOR_CODE_ATTEMPTS
    if verdict == MICRODEPOSIT_VERIFIED:
        return verdict
    if verdict is None:
        deposits.attempts += 1
        remaining = limit - deposits.attempts
        if remaining > 0:
            raise mismatch_error(intent, deposits, remaining)
        verdict = MICRODEPOSIT_EXCEEDED
    error_code, message = MICRODEPOSIT_ERRORS[verdict]
    fail_intent(state, intent, error_object(error_code, message), req)
    raise StripeError(400, message, code=error_code, extra={kind_of(intent): snapshot(intent)})


def unexpected_with(intent: Obj, message: str) -> StripeError:
    return StripeError(
        400,
        message,
        code=f"{kind_of(intent)}_unexpected_state",
        extra={kind_of(intent): snapshot(intent)},
    )


def check_amounts(deposits: Microdeposits, amounts: Any) -> str | None:
    if deposits.microdeposit_type != "amounts":
        raise invalid(
            "These microdeposits were sent as a descriptor code (microdeposit_type "
            "descriptor_code); verify with descriptor_code instead of amounts.",
            param="amounts",
        )
    values = amounts if isinstance(amounts, list) else [amounts]
    if len(values) != 2 or not all(
        isinstance(v, str) and v.isdigit() and 0 < int(v) < 100 for v in values
    ):
        raise StripeError(
            400,
            "Please provide exactly two microdeposit amounts, each between 1 and 99 cents.",
            code="payment_method_microdeposit_verification_amounts_invalid",
            param="amounts",
        )
    pair = (int(values[0]), int(values[1]))
    return MICRODEPOSIT_AMOUNTS.get(pair)


def check_descriptor_code(deposits: Microdeposits, code: str) -> str | None:
    if deposits.microdeposit_type != "descriptor_code":
        raise invalid(
            "These microdeposits were sent as two amounts (microdeposit_type amounts); verify "
            "with amounts instead of descriptor_code.",
            param="descriptor_code",
        )
    return MICRODEPOSIT_CODES.get(code.strip().upper())


def mismatch_error(intent: Obj, deposits: Microdeposits, remaining: int) -> StripeError:
    if deposits.microdeposit_type == "amounts":
        code = "payment_method_microdeposit_verification_amounts_mismatch"
        message = (
            "The amounts provided do not match the amounts that were sent to the bank account."
        )
        param = "amounts"
    else:
        code = "payment_method_microdeposit_verification_descriptor_code_mismatch"
        message = "The verification code provided does not match the one sent to the bank account."
        param = "descriptor_code"
    plural = "attempt" if remaining == 1 else "attempts"
    return StripeError(
        400,
        f"{message} You have {remaining} verification {plural} remaining.",
        code=code,
        param=param,
        extra={kind_of(intent): snapshot(intent)},
    )


def mark_arrived(state: State, intent: Obj) -> Obj:
    deposits = require_microdeposits(state, intent)
    deposits.arrived = True
    deposits.arrival_date = min(deposits.arrival_date, state.now())
    intent["next_action"]["verify_with_microdeposits"]["arrival_date"] = deposits.arrival_date
    return intent


def check_cancel_reason(req: Request, allowed: tuple[str, ...]) -> str | None:
    reason = req.params.get("cancellation_reason")
    if reason in (None, ""):
        return None
    return one_of(reason, allowed, param="cancellation_reason")


# --------------------------------------------------------------------------------------------
# SetupIntents
# --------------------------------------------------------------------------------------------



def customer_param(state: State, value: Any) -> str | None:
    if value in (None, ""):
        return None
    return str(state.get("customer", str(value), param="customer")["id"])


@route("POST", "/v1/setup_intents")
def create_setup_intent(req: Request, state: State) -> Obj:
    p = req.params
    types = parse_types(p)
    confirm = as_bool(p.get("confirm"), param="confirm")
    if not confirm and p.get("mandate_data") not in (None, ""):
        raise invalid(
            "mandate_data can only be passed together with confirm=true.", param="mandate_data"
        )
    si = objects.setup_intent(
        state,
        customer=customer_param(state, p.get("customer")),
        description=p.get("description") or None,
        metadata=metadata_update({}, p.get("metadata")),
        payment_method_types=types,
        payment_method_options=parse_us_bank_options(p.get("payment_method_options"), types=types),
        usage=one_of(p.get("usage") or "off_session", ("off_session", "on_session"), param="usage"),
    )
    pm = resolve_payment_method(state, p, customer=si["customer"])
    if pm is not None:
        si["payment_method"] = pm["id"]
        si["status"] = "requires_confirmation"
    state.add(si)
    emit(state, "setup_intent.created", si, req)
    if confirm:
        confirm_setup_intent(state, si, req, {k: p[k] for k in ("mandate_data",) if k in p})
    return si


@route("GET", "/v1/setup_intents/{id}")
def retrieve_setup_intent(req: Request, state: State) -> Obj:
    return state.get("setup_intent", req.path_args["id"])


@route("POST", "/v1/setup_intents/{id}")
def update_setup_intent(req: Request, state: State) -> Obj:
    si = state.get("setup_intent", req.path_args["id"])
    p = req.params
    changes_pm = any(
        k in p
        for k in (
            "payment_method",
            "payment_method_data",
            "payment_method_options",
            "payment_method_types",
            "allowed_payment_method_types",
        )
    )
    if changes_pm and si["status"] in ("succeeded", "canceled", "processing"):
        raise unexpected_with(
            si, f"You cannot update this SetupIntent because it has a status of {si['status']}."
        )
    previous: Obj = {}
    if "customer" in p:
        if si["customer"] and p["customer"] != si["customer"]:
            raise invalid("A SetupIntent's customer cannot be changed once set.", param="customer")
        previous["customer"] = si["customer"]
        si["customer"] = customer_param(state, p["customer"])
    if "description" in p:
        previous["description"] = si["description"]
        si["description"] = p["description"] or None
    if "metadata" in p:
        previous["metadata"] = dict(si["metadata"])
        si["metadata"] = metadata_update(si["metadata"], p["metadata"])
    if "payment_method_types" in p or "allowed_payment_method_types" in p:
        previous["payment_method_types"] = si["payment_method_types"]
        si["payment_method_types"] = parse_types(p)
    if "payment_method_options" in p or "payment_method_types" in previous:
        previous["payment_method_options"] = clone(si["payment_method_options"])
        si["payment_method_options"] = parse_us_bank_options(
            p.get("payment_method_options"),
            types=si["payment_method_types"],
            current=si["payment_method_options"],
        )
    pm = resolve_payment_method(state, p, customer=si["customer"])
    if pm is not None:
        previous["payment_method"] = si["payment_method"]
        si["payment_method"] = pm["id"]
        if si["status"] == "requires_payment_method":
            previous["status"] = si["status"]
            si["status"] = "requires_confirmation"
    return si


@route("GET", "/v1/setup_intents")
def list_setup_intents(req: Request, state: State) -> Obj:
    customer, pm = req.str("customer"), req.str("payment_method")
    created = created_bounds(req.params.get("created"))
    view = state.view(
        "setup_intent", where=where(customer=customer, payment_method=pm), created=created
    )
    return state.list_response(view, req, "/v1/setup_intents")


@route("POST", "/v1/setup_intents/{id}/confirm")
def confirm_setup_intent_route(req: Request, state: State) -> Obj:
    si = state.get("setup_intent", req.path_args["id"])
    confirm_setup_intent(state, si, req, req.params)
    return si


def confirm_setup_intent(
    state: State,
    si: Obj,
    req: Request | None,
    params: Obj,
    *,
    microdeposit_type: str = "descriptor_code",
) -> None:
    """``requires_payment_method|requires_confirmation`` → ``succeeded`` or ``requires_action``."""
    if si["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise unexpected_with(
            si, f"You cannot confirm this SetupIntent because it has a status of {si['status']}."
        )
    apply_confirm_params(state, si, params, payment=False)
    pm = require_payment_method(state, si)
    acceptance = require_acceptance(state, si)
    attempt = state.add(build_setup_attempt(state, si, pm, status="requires_confirmation"))
    si["latest_attempt"] = attempt["id"]
    si["last_setup_error"] = None
    if pm_is_verified(state, pm):
        succeed_setup_intent(state, si, pm, acceptance, req)
    else:
        start_microdeposits(state, si, pm, req, microdeposit_type=microdeposit_type)


def succeed_setup_intent(
    state: State, si: Obj, pm: Obj, acceptance: Obj, req: Request | None
) -> None:
    previous = {"status": si["status"]}
    next_generation(state, si)
    if si["customer"]:
        attach(state, pm, si["customer"], req)
    mandate = create_mandate(state, pm, acceptance)
    si.update(
        status="succeeded",
        mandate=mandate["id"],
        next_action=None,
        last_setup_error=None,
        payment_method=pm["id"],
    )
    set_attempt_status(state, si, "succeeded")
    private(state).microdeposits.pop(si["id"], None)
    emit(state, "setup_intent.succeeded", si, req, **previous)


@route("POST", "/v1/setup_intents/{id}/cancel")
def cancel_setup_intent(req: Request, state: State) -> Obj:
    si = state.get("setup_intent", req.path_args["id"])
    if si["status"] in ("succeeded", "canceled", "processing"):
        raise unexpected_with(
            si,
            f"You cannot cancel this SetupIntent because it has a status of {si['status']}. Only "
            "a SetupIntent with one of the following statuses may be canceled: "
            "requires_payment_method, requires_confirmation, requires_action.",
        )
    reason = check_cancel_reason(req, SI_CANCEL_REASONS)
    previous = {"status": si["status"], "cancellation_reason": si["cancellation_reason"]}
    next_generation(state, si)
    si.update(status="canceled", cancellation_reason=reason, next_action=None)
    set_attempt_status(state, si, "abandoned")
    private(state).microdeposits.pop(si["id"], None)
    emit(state, "setup_intent.canceled", si, req, **previous)
    return si


@route("POST", "/v1/setup_intents/{id}/verify_microdeposits")
def verify_setup_intent(req: Request, state: State) -> Obj:
    si = state.get("setup_intent", req.path_args["id"])
    verify_microdeposits(state, si, req)
    pm = state.get("payment_method", si["payment_method"])
    private(state).verified.add(pm["id"])
    acceptance = private(state).mandate_data.get(si["id"]) or acceptance_now(state)
    succeed_setup_intent(state, si, pm, acceptance, req)
    return si


def acceptance_now(state: State) -> Obj:
    return {**clone(DEFAULT_ACCEPTANCE), "accepted_at": state.now()}


@route("GET", "/v1/setup_attempts")
def list_setup_attempts(req: Request, state: State) -> Obj:
    si = req.str("setup_intent")
    if not si:
        raise missing("setup_intent")
    created = created_bounds(req.params.get("created"))
    view = state.view("setup_attempt", where={"setup_intent": si}, created=created)
    return state.list_response(view, req, "/v1/setup_attempts")


# --------------------------------------------------------------------------------------------
# PaymentIntents
# --------------------------------------------------------------------------------------------

MIN_AMOUNT = 50  # Stripe's minimum charge amount in USD cents


def parse_amount(value: Any) -> int:
    if value in (None, ""):
        raise missing("amount")
    amount = as_int(value, param="amount")
    if amount < MIN_AMOUNT:
        raise StripeError(
            400, "Amount must be at least $0.50 usd", code="amount_too_small", param="amount"
        )
    if amount > 99_999_999:
        raise StripeError(
            400, "Amount must be no more than $999,999.99", code="amount_too_large", param="amount"
        )
    return amount


def parse_currency(value: Any, types: list[str]) -> str:
    if value in (None, ""):
        raise missing("currency")
    currency = str(value).lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid(f"Invalid currency: {value}", param="currency")
    if "us_bank_account" in types and currency != "usd":
        raise invalid(
            f"The currency provided ({currency}) is invalid for one or more payment method types "
            "(us_bank_account). ACH Direct Debit only supports usd.",
            param="currency",
        )
    return currency


def parse_statement_descriptor(value: Any, *, param: str, max_length: int = 22) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) > max_length or re.search(r"[<>'\"*\\]", text) or not re.search(r"[A-Za-z]", text):
        raise invalid(
            f"The {param} must be at most {max_length} characters, contain at least one letter "
            "and none of < > \\ ' \" *.",
            param=param,
        )
    return text


@route("POST", "/v1/payment_intents")
def create_payment_intent(req: Request, state: State) -> Obj:
    p = req.params
    types = parse_types(p)
    confirm = as_bool(p.get("confirm"), param="confirm")
    for name in ("off_session", "mandate", "mandate_data"):
        if p.get(name) not in (None, "") and not confirm:
            raise invalid(f"{name} can only be passed together with confirm=true.", param=name)
    sfu = p.get("setup_future_usage")
    pi = objects.payment_intent(
        state,
        amount=parse_amount(p.get("amount")),
        currency=parse_currency(p.get("currency"), types),
        customer=customer_param(state, p.get("customer")),
        description=p.get("description") or None,
        metadata=metadata_update({}, p.get("metadata")),
        payment_method_types=types,
        payment_method_options=parse_us_bank_options(
            p.get("payment_method_options"), types=types, payment=True
        ),
        setup_future_usage=one_of(sfu, ("off_session", "on_session"), param="setup_future_usage")
        if sfu
        else None,
        statement_descriptor=parse_statement_descriptor(
            p.get("statement_descriptor"), param="statement_descriptor"
        ),
        statement_descriptor_suffix=parse_statement_descriptor(
            p.get("statement_descriptor_suffix"), param="statement_descriptor_suffix"
        ),
        receipt_email=p.get("receipt_email") or None,
    )
    if pi["setup_future_usage"] and not pi["customer"]:
        raise invalid("setup_future_usage requires a customer.", param="customer")
    pm = resolve_payment_method(state, p, customer=pi["customer"])
    if pm is not None:
        pi["payment_method"] = pm["id"]
        pi["status"] = "requires_confirmation"
    state.add(pi)
    emit(state, "payment_intent.created", pi, req)
    if confirm:
        confirm_payment_intent(
            state, pi, req, {k: p[k] for k in ("mandate", "mandate_data", "off_session") if k in p}
        )
    return pi


@route("GET", "/v1/payment_intents/{id}")
def retrieve_payment_intent(req: Request, state: State) -> Obj:
    return state.get("payment_intent", req.path_args["id"])


@route("POST", "/v1/payment_intents/{id}")
def update_payment_intent(req: Request, state: State) -> Obj:
    pi = state.get("payment_intent", req.path_args["id"])
    p = req.params
    structural = set(p) - {"metadata", "description", "receipt_email"}
    if structural and pi["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise unexpected_with(
            pi, f"You cannot update this PaymentIntent because it has a status of {pi['status']}."
        )
    if "metadata" in p:
        pi["metadata"] = metadata_update(pi["metadata"], p["metadata"])
    for name in ("description", "receipt_email"):
        if name in p:
            pi[name] = p[name] or None
    if "payment_method_types" in p or "allowed_payment_method_types" in p:
        pi["payment_method_types"] = parse_types(p)
    if "amount" in p:
        pi["amount"] = parse_amount(p["amount"])
    if "currency" in p:
        pi["currency"] = parse_currency(p["currency"], pi["payment_method_types"])
    if "customer" in p:
        pi["customer"] = customer_param(state, p["customer"])
    if "setup_future_usage" in p:
        sfu = p["setup_future_usage"]
        pi["setup_future_usage"] = (
            one_of(sfu, ("off_session", "on_session"), param="setup_future_usage") if sfu else None
        )
    for name in ("statement_descriptor", "statement_descriptor_suffix"):
        if name in p:
            pi[name] = parse_statement_descriptor(p[name], param=name)
    if "payment_method_options" in p:
        pi["payment_method_options"] = parse_us_bank_options(
            p["payment_method_options"],
            types=pi["payment_method_types"],
            current=pi["payment_method_options"],
            payment=True,
        )
    pm = resolve_payment_method(state, p, customer=pi["customer"])
    if pm is not None:
        pi["payment_method"] = pm["id"]
        pi["status"] = "requires_confirmation"
    return pi


@route("GET", "/v1/payment_intents")
def list_payment_intents(req: Request, state: State) -> Obj:
    customer = req.str("customer")
    created = created_bounds(req.params.get("created"))
    view = state.view("payment_intent", where=where(customer=customer), created=created)
    return state.list_response(view, req, "/v1/payment_intents")


@route("GET", "/v1/payment_intents/search")
def search_payment_intents(req: Request, state: State) -> Obj:
    return search.search(
        state, req, "payment_intent", search.PAYMENT_INTENT_FIELDS, "/v1/payment_intents/search"
    )


@route("POST", "/v1/payment_intents/{id}/confirm")
def confirm_payment_intent_route(req: Request, state: State) -> Obj:
    pi = state.get("payment_intent", req.path_args["id"])
    confirm_payment_intent(state, pi, req, req.params)
    return pi


def confirm_payment_intent(
    state: State,
    pi: Obj,
    req: Request | None,
    params: Obj,
    *,
    microdeposit_type: str = "descriptor_code",
) -> None:
    """→ ``processing`` (verified bank account) or ``requires_action`` (microdeposits)."""
    if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise unexpected_with(
            pi, f"You cannot confirm this PaymentIntent because it has a status of {pi['status']}."
        )
    if params.get("setup_future_usage") not in (None, ""):
        pi["setup_future_usage"] = one_of(
            params["setup_future_usage"], ("off_session", "on_session"), param="setup_future_usage"
        )
    apply_confirm_params(state, pi, params, payment=True)
    pm = require_payment_method(state, pi)
    check_pm_customer(pm, pi["customer"])
    blocked = dig(pm, "us_bank_account", "status_details", "blocked")
    if blocked:
        error = error_object(
            "payment_method_bank_account_blocked",
            f"This bank account has been blocked from further debits after an ACH return "
            f"({blocked['network_code']}). Collect a new payment method.",
            type="invalid_request_error",
        )
        fail_intent(state, pi, error, req)
        raise StripeError(
            400,
            error["message"],
            code=error["code"],
            param="payment_method",
            extra={"payment_intent": snapshot(pi)},
        )
    pi["last_payment_error"] = None
    if pm_is_verified(state, pm):
        mandate = mandate_for_payment(state, pi, pm, params)
        start_processing(state, pi, pm, mandate, req)
    else:
        require_acceptance(state, pi)
        start_microdeposits(state, pi, pm, req, microdeposit_type=microdeposit_type)


def mandate_for_payment(state: State, pi: Obj, pm: Obj, params: Obj) -> Obj:
    """The mandate a debit runs under: given, newly accepted, or the PM's active one (§3.3)."""
    if params.get("mandate") not in (None, ""):
        mandate = state.get("mandate", str(params["mandate"]), param="mandate")
        if mandate["payment_method"] != pm["id"]:
            raise invalid(
                f"Mandate {mandate['id']} is not for payment method {pm['id']}.", param="mandate"
            )
        if mandate["status"] != "active":
            raise invalid(
                f"Mandate {mandate['id']} is {mandate['status']} and cannot be used.",
                param="mandate",
            )
        return mandate
    acceptance = private(state).mandate_data.get(pi["id"])
    if acceptance is not None:
        single_use = (
            None
            if pi["setup_future_usage"]
            else {"amount": pi["amount"], "currency": pi["currency"]}
        )
        return create_mandate(state, pm, acceptance, single_use=single_use)
    existing = active_mandate(state, pm["id"])
    if existing is None:
        require_acceptance(state, pi)  # raises: nothing authorises this debit
    assert existing is not None
    return existing


def start_processing(state: State, pi: Obj, pm: Obj, mandate: Obj, req: Request | None) -> None:
    previous = {"status": pi["status"]}
    generation = next_generation(state, pi)
    if pi["customer"] and pi["setup_future_usage"]:
        attach(state, pm, pi["customer"], req)
    charge = state.add(build_charge(state, pi, pm, mandate=mandate["id"]))
    pi.update(
        status="processing", next_action=None, payment_method=pm["id"], latest_charge=charge["id"]
    )
    private(state).microdeposits.pop(pi["id"], None)
    emit(state, "payment_intent.processing", pi, req, **previous)
    emit(state, "charge.pending", charge, req)
    outcome = outcome_for_payment(state, pi, pm)
    if outcome.kind == "processing_forever":
        return
    if outcome.kind == "blocked_at_confirm":
        error = error_object(
            str(outcome.code),
            str(outcome.message),
            type="card_error",
            decline_code=outcome.decline_code,
        )
        settle_failure(state, pi, charge, pm, outcome, error)
        raise StripeError(
            402,
            str(outcome.message),
            type="card_error",
            code=outcome.code,
            extra={"decline_code": outcome.decline_code, "payment_intent": snapshot(pi)},
        )
    state.schedule(state.config.refresh_delay, lambda: settle(state, pi["id"], generation, outcome))


def outcome_for_payment(state: State, pi: Obj, pm: Obj) -> Outcome:
    """Manual accounts: the §7.1 account number. FC accounts: the test bank and the balance."""
    fca_id = pm["us_bank_account"]["financial_connections_account"]
    if not fca_id:
        return outcome_for_account_number(private(state).account_numbers.get(pm["id"]))
    fca = state.lookup(fca_id) or {}
    label = f"{fca.get('institution_name', '')} {fca.get('display_name', '')}".lower()
    if "insufficient" in label:
        return ACCOUNT_OUTCOMES["000222222227"]
    if "disputed" in label:
        return ACCOUNT_OUTCOMES["000555555559"]
    if "blocked" in label:
        return ACCOUNT_OUTCOMES["000000004954"]
    if "closed" in label:
        return ACCOUNT_OUTCOMES["000111111113"]
    available = available_balance(fca, pi["currency"])
    if available is not None and available < pi["amount"]:
        return ACCOUNT_OUTCOMES["000222222227"]
    return SUCCESS


def available_balance(fca: Obj, currency: str) -> int | None:
    """§2.1 NSF pre-check: ``cash.available``, falling back to ``current``; None when unknown."""
    balance = fca.get("balance")
    if not isinstance(balance, dict) or balance.get("type") != "cash":
        return None
    available = dig(balance, "cash", "available")
    source = (
        available
        if isinstance(available, dict) and currency in available
        else balance.get("current")
    )
    value = source.get(currency) if isinstance(source, dict) else None
    return value if isinstance(value, int) else None


def settle(state: State, pi_id: str, generation: int, outcome: Outcome) -> None:
    """The bank's answer: ``succeeded``, or back to ``requires_payment_method`` (§6.4-6.5)."""
    pi = state.get("payment_intent", pi_id)
    if not is_current(state, pi, generation) or pi["status"] != "processing":
        return
    charge = state.get("charge", pi["latest_charge"])
    pm = state.get("payment_method", pi["payment_method"])
    if outcome.kind in ("succeed", "dispute"):
        pi.update(status="succeeded", amount_received=pi["amount"])
        charge.update(status="succeeded", paid=True)
        emit(state, "charge.succeeded", charge)
        emit(state, "payment_intent.succeeded", pi, None, status="processing", amount_received=0)
        checkout_async(state, pi, succeeded=True)
        if outcome.kind == "dispute":
            state.schedule(state.config.refresh_delay, lambda: open_dispute(state, charge["id"]))
        return
    error = error_object(
        str(outcome.code), str(outcome.message), type="card_error", decline_code=outcome.decline_code
    )
    settle_failure(state, pi, charge, pm, outcome, error)


def settle_failure(
    state: State, pi: Obj, charge: Obj, pm: Obj, outcome: Outcome, error: Obj
) -> None:
    charge.update(
        status="failed", failure_code=outcome.failure_code, failure_message=outcome.message
    )
    emit(state, "charge.failed", charge)
    if outcome.block_reason:
        # §6.5: after a non-NSF return Stripe blocks the account from further debits.
        pm["us_bank_account"]["status_details"] = {
            "blocked": {"network_code": outcome.network_code, "reason": outcome.block_reason}
        }
        emit(state, "payment_method.updated", pm, None, us_bank_account={"status_details": None})
        deactivate_mandates(state, pm["id"])
    fail_intent(state, pi, error, None)
    checkout_async(state, pi, succeeded=False)


# Dispute.Evidence's fields (all nullable) other than `enhanced_evidence`.
DISPUTE_EVIDENCE_FIELDS = (
    "access_activity_log",
    "appeal",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


def open_dispute(state: State, charge_id: str) -> None:
    """``pm_usBankAccount_dispute``: the debit succeeds, then the customer disputes it (§6.4)."""
    charge = state.get("charge", charge_id)
    charge["disputed"] = True
    dispute = state.add(
        {
            "id": state.new_id("du_"),
            "object": "dispute",
            "amount": charge["amount"],
            "balance_transactions": [],
            "charge": charge["id"],
            "created": state.now(),
            "currency": charge["currency"],
            "enhanced_eligibility_types": [],
            "evidence": {**dict.fromkeys(DISPUTE_EVIDENCE_FIELDS), "enhanced_evidence": {}},
            "evidence_details": {
                "due_by": None,
                "enhanced_eligibility": {},
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
                "submission_method": "not_submitted",
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": charge["payment_intent"],
            # The pinned Dispute type has payment method details for amazon_pay, card, klarna
            # and paypal only; for an ACH debit it is null.
            "payment_method_details": None,
            "reason": "debit_not_authorized",
            "status": "lost",
        }
    )
    emit(state, "charge.dispute.created", dispute)
    deactivate_mandates(state, charge["payment_method"])


@route("POST", "/v1/payment_intents/{id}/cancel")
def cancel_payment_intent(req: Request, state: State) -> Obj:
    pi = state.get("payment_intent", req.path_args["id"])
    if pi["status"] in ("succeeded", "canceled"):
        raise unexpected_with(
            pi,
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only "
            "a PaymentIntent with one of the following statuses may be canceled: "
            "requires_payment_method, requires_capture, requires_confirmation, requires_action, "
            "processing.",
        )
    reason = check_cancel_reason(req, PI_CANCEL_REASONS)
    cancel_pi(state, pi, reason, req)
    return pi


def cancel_pi(state: State, pi: Obj, reason: str | None, req: Request | None) -> None:
    previous = {"status": pi["status"], "cancellation_reason": pi["cancellation_reason"]}
    next_generation(state, pi)
    if pi["latest_charge"]:
        charge = state.get("charge", pi["latest_charge"])
        if charge["status"] == "pending":
            charge.update(
                status="failed", failure_code=None, failure_message="The payment was canceled."
            )
    pi.update(
        status="canceled", cancellation_reason=reason, canceled_at=state.now(), next_action=None
    )
    private(state).microdeposits.pop(pi["id"], None)
    emit(state, "payment_intent.canceled", pi, req, **previous)


@route("POST", "/v1/payment_intents/{id}/verify_microdeposits")
def verify_payment_intent(req: Request, state: State) -> Obj:
    pi = state.get("payment_intent", req.path_args["id"])
    verify_microdeposits(state, pi, req)
    pm = state.get("payment_method", pi["payment_method"])
    private(state).verified.add(pm["id"])
    mandate = mandate_for_payment(state, pi, pm, {})
    start_processing(state, pi, pm, mandate, req)
    return pi


@route("GET", "/v1/charges/{id}")
def retrieve_charge(req: Request, state: State) -> Obj:
    return state.get("charge", req.path_args["id"])


# --------------------------------------------------------------------------------------------
# PaymentMethods and Mandates
# --------------------------------------------------------------------------------------------


@route("POST", "/v1/payment_methods")
def create_payment_method_route(req: Request, state: State) -> Obj:
    if req.params.get("customer"):
        raise invalid(
            "Create the PaymentMethod first, then attach it with /v1/payment_methods/{id}/attach.",
            param="customer",
        )
    pm = create_payment_method(state, req.params, param="payment_method")
    if req.params.get("allow_redisplay"):
        pm["allow_redisplay"] = one_of(
            req.params["allow_redisplay"],
            ("always", "limited", "unspecified"),
            param="allow_redisplay",
        )
    return pm


@route("GET", "/v1/payment_methods/{id}")
def retrieve_payment_method(req: Request, state: State) -> Obj:
    return state.get("payment_method", req.path_args["id"])


@route("POST", "/v1/payment_methods/{id}")
def update_payment_method(req: Request, state: State) -> Obj:
    pm = state.get("payment_method", req.path_args["id"])
    previous: Obj = {}
    if "metadata" in req.params:
        previous["metadata"] = dict(pm["metadata"])
        pm["metadata"] = metadata_update(pm["metadata"], req.params["metadata"])
    if "billing_details" in req.params:
        previous["billing_details"] = clone(pm["billing_details"])
        merged = {
            **pm["billing_details"],
            **{k: v for k, v in req.dict("billing_details").items() if k != "address"},
        }
        address = req.dict("billing_details").get("address")
        if isinstance(address, dict):
            merged["address"] = {**pm["billing_details"]["address"], **address}
        pm["billing_details"] = merged
    if "allow_redisplay" in req.params:
        previous["allow_redisplay"] = pm["allow_redisplay"]
        pm["allow_redisplay"] = one_of(
            req.params["allow_redisplay"],
            ("always", "limited", "unspecified"),
            param="allow_redisplay",
        )
    if previous:
        emit(state, "payment_method.updated", pm, req, **previous)
    return pm


@route("GET", "/v1/payment_methods")
def list_payment_methods(req: Request, state: State) -> Obj:
    customer, kind = req.str("customer"), req.str("type")
    if customer:
        state.get("customer", customer, param="customer")
    keep = None if kind is None else (lambda pm: pm["type"] == kind)
    view = state.view("payment_method", where=where(customer=customer), keep=keep)
    return state.list_response(view, req, "/v1/payment_methods")


@route("GET", "/v1/customers/{id}/payment_methods")
def list_customer_payment_methods(req: Request, state: State) -> Obj:
    customer = state.get("customer", req.path_args["id"])
    kind = req.str("type")
    keep = None if kind is None else (lambda pm: pm["type"] == kind)
    view = state.view("payment_method", where={"customer": customer["id"]}, keep=keep)
    return state.list_response(view, req, f"/v1/customers/{customer['id']}/payment_methods")


@route("GET", "/v1/customers/{id}/payment_methods/{pm}")
def retrieve_customer_payment_method(req: Request, state: State) -> Obj:
    customer = state.get("customer", req.path_args["id"])
    pm = state.get("payment_method", req.path_args["pm"], param="payment_method")
    if pm["customer"] != customer["id"]:
        raise StripeError(
            404,
            f"No such PaymentMethod: '{pm['id']}' for customer '{customer['id']}'",
            code="resource_missing",
            param="payment_method",
        )
    return pm


@route("POST", "/v1/payment_methods/{id}/attach")
def attach_payment_method(req: Request, state: State) -> Obj:
    pm = state.get("payment_method", req.path_args["id"])
    customer = req.str("customer")
    if not customer:
        raise missing("customer")
    state.get("customer", customer, param="customer")
    if pm["customer"] and pm["customer"] != customer:
        raise invalid(
            f"The payment method you provided has already been attached to a customer ({pm['customer']}).",
            param="customer",
        )
    if (
        pm["us_bank_account"]["financial_connections_account"] is None
        and pm["id"] not in private(state).verified
    ):
        # Stripe only lets a verified bank account be saved; unverified ones go through an intent.
        raise invalid(
            "This us_bank_account PaymentMethod must be verified before it can be attached. "
            "Use a SetupIntent to verify it (instantly or with microdeposits).",
            param="payment_method",
        )
    attach(state, pm, customer, req)
    return pm


@route("POST", "/v1/payment_methods/{id}/detach")
def detach_payment_method(req: Request, state: State) -> Obj:
    pm = state.get("payment_method", req.path_args["id"])
    if not pm["customer"]:
        raise invalid(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            param="payment_method",
        )
    previous = {"customer": pm["customer"]}
    pm["customer"] = None
    emit(state, "payment_method.detached", pm, req, **previous)
    # §6.4: revoking authorization = detach; later debits on the old mandate fail.
    deactivate_mandates(state, pm["id"])
    return pm


@route("GET", "/v1/mandates/{id}")
def retrieve_mandate(req: Request, state: State) -> Obj:
    return state.get("mandate", req.path_args["id"])


# --------------------------------------------------------------------------------------------
# Checkout Sessions
# --------------------------------------------------------------------------------------------



def checkout_line_items(value: Any) -> tuple[int, str]:
    """``line_items[i][price_data][unit_amount|currency|product_data][name]`` → (total, currency)."""
    if not isinstance(value, list) or not value:
        raise missing("line_items")
    total, currencies = 0, set()
    for i, item in enumerate(value):
        param = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise invalid(f"Invalid hash: {param}", param=param)
        if item.get("price"):
            raise invalid(
                "The sandbox has no Prices; use price_data instead.", param=f"{param}[price]"
            )
        price = item.get("price_data")
        if not isinstance(price, dict):
            raise missing(f"{param}[price_data]")
        for name in ("currency", "unit_amount"):
            if price.get(name) in (None, ""):
                raise missing(f"{param}[price_data][{name}]")
        if not dig(price, "product_data", "name"):
            raise missing(f"{param}[price_data][product_data][name]")
        quantity = as_int(item.get("quantity") or "1", param=f"{param}[quantity]")
        total += as_int(price["unit_amount"], param=f"{param}[price_data][unit_amount]") * quantity
        currencies.add(str(price["currency"]).lower())
    if len(currencies) > 1:
        raise invalid("All line items must use the same currency.", param="line_items")
    return total, currencies.pop()


@route("POST", "/v1/checkout/sessions")
def create_checkout_session(req: Request, state: State) -> Obj:
    p = req.params
    mode = p.get("mode")
    if not mode:
        raise missing("mode")
    one_of(mode, ("payment", "setup"), param="mode")
    ui_mode = p.get("ui_mode") or "hosted_page"
    one_of(
        ui_mode,
        ("hosted_page", "embedded_page", "elements", "form", "hosted", "embedded", "custom"),
        param="ui_mode",
    )
    if ui_mode in ("hosted_page", "hosted") and not p.get("success_url"):
        raise missing("success_url")
    types = parse_types(p)
    options = parse_us_bank_options(
        p.get("payment_method_options"), types=types, methods=("automatic", "instant")
    )
    for opts in options.values():
        opts.pop("mandate_options", None)
    customer = customer_param(state, p.get("customer"))
    amount, currency = (None, None)
    if mode == "payment":
        amount, currency = checkout_line_items(p.get("line_items"))
        parse_currency(currency, types)
    elif p.get("currency"):
        currency = parse_currency(p["currency"], types)
    now = state.now()
    expires_at = (
        as_int(p["expires_at"], param="expires_at") if p.get("expires_at") else now + 24 * 3600
    )
    if not now + 1800 <= expires_at <= now + 24 * 3600:
        raise invalid(
            "expires_at must be between 30 minutes and 24 hours from now.", param="expires_at"
        )
    session = objects.checkout_session(
        state,
        mode=mode,
        success_url=p.get("success_url"),
        cancel_url=p.get("cancel_url"),
        customer=customer,
        customer_email=p.get("customer_email") or None,
        currency=currency,
        amount_subtotal=amount,
        amount_total=amount,
        payment_method_types=types,
        payment_method_options=options,
        metadata=metadata_update({}, p.get("metadata")),
        client_reference_id=p.get("client_reference_id") or None,
        expires_at=expires_at,
        ui_mode=ui_mode,
    )
    intent_options = clone(options)
    if mode == "payment":
        intent = objects.payment_intent(
            state,
            amount=amount or 0,
            currency=currency or "usd",
            customer=customer,
            payment_method_types=types,
            payment_method_options=intent_options,
            setup_future_usage=dig(p, "payment_intent_data", "setup_future_usage") or None,
        )
        session["payment_intent"] = intent["id"]
    else:
        intent = objects.setup_intent(
            state,
            customer=customer,
            payment_method_types=types,
            payment_method_options=intent_options,
        )
        session["setup_intent"] = intent["id"]
    for opts in intent_options.values():
        opts.setdefault("mandate_options", {})
    state.add(intent)
    emit(state, f"{kind_of(intent)}.created", intent, req)
    private(state).checkout[intent["id"]] = session["id"]
    return state.add(session)


@route("GET", "/v1/checkout/sessions/{id}")
def retrieve_checkout_session(req: Request, state: State) -> Obj:
    return state.get("checkout.session", req.path_args["id"])


@route("GET", "/v1/checkout/sessions")
def list_checkout_sessions(req: Request, state: State) -> Obj:
    filters = {k: req.str(k) for k in ("customer", "payment_intent", "setup_intent", "status")}
    created = created_bounds(req.params.get("created"))
    status = filters.pop("status")
    keep = None if status is None else (lambda s: s.get("status") == status)
    view = state.view("checkout.session", where=where(**filters), created=created, keep=keep)
    return state.list_response(view, req, "/v1/checkout/sessions")


@route("POST", "/v1/checkout/sessions/{id}/expire")
def expire_checkout_session(req: Request, state: State) -> Obj:
    session = state.get("checkout.session", req.path_args["id"])
    if session["status"] != "open":
        raise invalid(
            f"Only Checkout Sessions with a status of open can be expired; this one is {session['status']}.",
            param="session",
        )
    session.update(status="expired", url=None)
    for field_name in ("payment_intent", "setup_intent"):
        intent = state.lookup(session[field_name]) if session[field_name] else None
        if intent and intent["status"] in (
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        ):
            if field_name == "payment_intent":
                cancel_pi(state, intent, "abandoned", req)
            else:
                intent.update(status="canceled", cancellation_reason="abandoned", next_action=None)
                emit(state, "setup_intent.canceled", intent, req, status="requires_payment_method")
    emit(state, "checkout.session.expired", session, req, status="open")
    return session


def checkout_async(state: State, pi: Obj, *, succeeded: bool) -> None:
    """ACH is delayed-notification: Checkout reports the outcome with ``async_payment_*`` (§5.1)."""
    session_id = private(state).checkout.get(pi["id"])
    session = state.lookup(session_id) if session_id else None
    if session is None or session["status"] != "complete":
        return
    if succeeded:
        session["payment_status"] = "paid"
        emit(
            state,
            "checkout.session.async_payment_succeeded",
            session,
            None,
            payment_status="unpaid",
        )
    else:
        emit(state, "checkout.session.async_payment_failed", session)


def complete_checkout(state: State, intent: Obj) -> None:
    """Called by the hooks once the customer finished the Checkout page for ``intent``."""
    session_id = private(state).checkout.get(intent["id"])
    session = state.lookup(session_id) if session_id else None
    if session is None or session["status"] != "open":
        return
    customer = state.lookup(intent["customer"]) if intent["customer"] else None
    session.update(status="complete", url=None)
    if customer is not None:
        session["customer_details"] = {
            "address": clone(customer.get("address")) or objects.address(),
            "business_name": None,
            "email": customer.get("email"),
            "individual_name": None,
            "name": customer.get("name"),
            "phone": customer.get("phone"),
            "tax_exempt": "none",
            "tax_ids": [],
        }
    if kind_of(intent) == "payment_intent" and intent["status"] == "succeeded":
        session["payment_status"] = "paid"
    emit(state, "checkout.session.completed", session, None, status="open")


# --------------------------------------------------------------------------------------------
# Simulation hooks: what Stripe.js and the customer's bank do (outside /v1)
# --------------------------------------------------------------------------------------------

LINK_FAILED_CODE = "payment_method_not_available"  # codes from the pinned SDK's error enum
LINK_UNSUPPORTED_CODE = "bank_account_unusable"
INTENT_OBJECTS = {"setup_intents": "setup_intent", "payment_intents": "payment_intent"}


def hook_intent(state: State, req: Request) -> Obj:
    return state.get(INTENT_OBJECTS[req.path.split("/")[2]], req.path_args["id"])


def require_collectable(intent: Obj) -> None:
    if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise unexpected_with(
            intent,
            f"This {title(intent)} has a status of {intent['status']}; a bank account can only be "
            "collected while it is requires_payment_method or requires_confirmation.",
        )


def holder_name(state: State, intent: Obj) -> str:
    customer = state.lookup(intent["customer"]) if intent["customer"] else None
    return str((customer or {}).get("name") or "Jenny Rosen")


def billing_for(state: State, intent: Obj) -> Obj:
    customer = state.lookup(intent["customer"]) if intent["customer"] else None
    customer = customer or {}
    return {
        "name": holder_name(state, intent),
        "email": customer.get("email"),
        "phone": customer.get("phone"),
        "address": {k: v for k, v in (customer.get("address") or {}).items() if v is not None},
    }


def confirm_collected(
    state: State, intent: Obj, pm: Obj, *, microdeposit_type: str = "descriptor_code"
) -> None:
    """The customer accepted the mandate on the page and the client confirmed."""
    intent["payment_method"] = pm["id"]
    intent["status"] = "requires_confirmation"
    private(state).mandate_data.setdefault(intent["id"], acceptance_now(state))
    if kind_of(intent) == "setup_intent":
        confirm_setup_intent(state, intent, None, {}, microdeposit_type=microdeposit_type)
    else:
        confirm_payment_intent(state, intent, None, {}, microdeposit_type=microdeposit_type)
    complete_checkout(state, intent)


def link_failure(state: State, intent: Obj, code: str, message: str) -> Obj:
    previous = {"status": intent["status"]}
    intent[error_field(intent)] = error_object(code, message)
    intent["status"] = "requires_payment_method"
    intent["payment_method"] = None
    emit(state, failed_event(intent), intent, None, **previous)
    return intent


@route("POST", "/_sandbox/setup_intents/{id}/link", params=("institution", "subcategory"))
@route("POST", "/_sandbox/payment_intents/{id}/link", params=("institution", "subcategory"))
def link_hook(req: Request, state: State) -> Obj:
    """FC instant verification: a new ``fca_`` (with the intent's permissions), a PM, confirm."""
    intent = hook_intent(state, req)
    require_collectable(intent)
    if verification_method(intent) == "microdeposits":
        raise invalid(
            "This intent uses verification_method=microdeposits, which never links through "
            "Financial Connections; use manual_entry.",
            param="institution",
        )
    name = req.str("institution") or "StripeBank"
    bank = institution(state, name)
    if bank.link_fails:
        return link_failure(
            state,
            intent,
            LINK_FAILED_CODE,
            f"{name} is unavailable right now, so the bank account could not be linked.",
        )
    options = fc_options(intent)
    account = link_account(
        state,
        customer=intent["customer"],
        institution_name=name,
        permissions=list(options.get("permissions") or ["payment_method"]),
        prefetch=list(options.get("prefetch") or []),
        subcategory=req.str("subcategory") or "checking",
        account_holder={"customer": intent["customer"], "type": "customer"}
        if intent["customer"]
        else None,
    )
    if not bank.supports_payments:
        return link_failure(
            state,
            intent,
            LINK_UNSUPPORTED_CODE,
            f"The account linked at {name} does not support ACH Direct Debit; choose another account.",
        )
    pm = create_payment_method(
        state,
        {
            "type": "us_bank_account",
            "us_bank_account": {"financial_connections_account": account["id"]},
            "billing_details": billing_for(state, intent),
        },
        param="payment_method_data",
    )
    confirm_collected(state, intent, pm)
    return intent


@route(
    "POST",
    "/_sandbox/setup_intents/{id}/manual_entry",
    params=(
        "account_number",
        "routing_number",
        "microdeposit_type",
        "account_holder_type",
        "account_type",
    ),
)
@route(
    "POST",
    "/_sandbox/payment_intents/{id}/manual_entry",
    params=(
        "account_number",
        "routing_number",
        "microdeposit_type",
        "account_holder_type",
        "account_type",
    ),
)
def manual_entry_hook(req: Request, state: State) -> Obj:
    """The customer types account and routing numbers: a PM without FC account, microdeposits."""
    intent = hook_intent(state, req)
    require_collectable(intent)
    if verification_method(intent) == "instant":
        raise invalid(
            "This intent uses verification_method=instant: manual entry is not offered, the "
            "customer must link the account with Financial Connections.",
            param="account_number",
        )
    kind = one_of(
        req.str("microdeposit_type") or "descriptor_code",
        ("descriptor_code", "amounts"),
        param="microdeposit_type",
    )
    pm = create_payment_method(
        state,
        {
            "type": "us_bank_account",
            "us_bank_account": {
                "account_number": req.str("account_number") or DEFAULT_ACCOUNT_NUMBER,
                "routing_number": req.str("routing_number") or TEST_ROUTING_NUMBER,
                "account_holder_type": req.str("account_holder_type") or "individual",
                "account_type": req.str("account_type") or "checking",
            },
            "billing_details": billing_for(state, intent),
        },
        param="payment_method_data",
    )
    confirm_collected(state, intent, pm, microdeposit_type=kind)
    return intent


@route("POST", "/_sandbox/setup_intents/{id}/microdeposits_arrive", params=())
@route("POST", "/_sandbox/payment_intents/{id}/microdeposits_arrive", params=())
def microdeposits_arrive_hook(req: Request, state: State) -> Obj:
    """The deposits land in the customer's account now (``arrival_date`` = now)."""
    return mark_arrived(state, hook_intent(state, req))
