"""Which payment methods an intent or Checkout Session offers, and its ``us_bank_account``
options: verification method and the Financial Connections permissions, prefetch and filters
it asks for (reference §6.1, §9)."""

from __future__ import annotations

import re
from typing import Any

from sandbox.api.params import as_list, dig, one_of
from sandbox.core import clone, invalid, missing

Obj = dict[str, Any]
PERMISSIONS = ("balances", "ownership", "payment_method", "transactions")
PREFETCH = ("balances", "ownership", "transactions")
VERIFICATION_METHODS = ("automatic", "instant", "microdeposits")
PAYMENT_METHOD_TYPES = ("us_bank_account", "card", "link")

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


def update_options(intent: Obj, given: Any, *, payment: bool) -> None:
    """Apply ``payment_method_options`` given at update or confirm to the intent's options."""
    intent["payment_method_options"] = parse_us_bank_options(
        given,
        types=intent["payment_method_types"],
        current=intent["payment_method_options"],
        payment=payment,
    )


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
