"""Financial Connections Sessions (reference §2.4), and linking: what Stripe.js does when the
customer picks a bank and links accounts, through a session or while an intent collects a
payment method (``sandbox.api.collection_hooks``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sandbox import objects
from sandbox.api.financial_connections import (
    ACCOUNT,
    ACCOUNTS_URL,
    FEATURE_PERMISSION,
    PERMISSIONS,
    PREFETCH,
    PREFETCH_FEATURE,
    SUBCATEGORIES,
    SUBCATEGORY_CATEGORY,
    Obj,
)
from sandbox.api.financial_connections.refreshes import start_refresh
from sandbox.api.institutions import institution
from sandbox.api.params import each_one_of
from sandbox.core import Request, State, StripeError, clone, invalid, missing, route, to_int

SESSION = "financial_connections.session"


@dataclass
class _Sessions:
    accounts: dict[str, list[str]] = field(default_factory=dict)  # session id → fca ids linked
    completed: set[str] = field(default_factory=set)


def _private(state: State) -> _Sessions:
    return state.private("fc_sessions", _Sessions)


def linked_accounts(state: State, session_id: str) -> list[Obj]:
    """The accounts the customer linked in the session, in the order they were linked."""
    ids = _private(state).accounts.get(session_id, [])
    return [a for a in (state.lookup(i) for i in dict.fromkeys(ids)) if a is not None]


def link_account(
    state: State,
    *,
    customer: str | None,
    institution_name: str,
    permissions: list[str],
    prefetch: Iterable[str] = (),
    subcategory: str = "checking",
    account_holder: Obj | None = None,
    index: int = 0,
) -> Obj:
    """Create a linked ``fca_`` as Stripe.js would, emit ``…account.created``, start prefetches."""
    bank = institution(state, institution_name)
    rng = state.rng("link", institution_name, customer, state.count(ACCOUNT))
    account = objects.fc_account(
        state,
        account_holder=account_holder or {"customer": customer, "type": "customer"},
        category=SUBCATEGORY_CATEGORY.get(subcategory, "cash"),
        subcategory=subcategory,
        display_name=f"{institution_name} {subcategory.replace('_', ' ').title()}"
        + (f" {index + 1}" if index else ""),
        institution_name=institution_name,
        last4=f"{rng.randint(0, 9999):04d}",
        permissions=list(permissions),
        # Only cash accounts (checking, savings) can be debited by ACH.
        supported_payment_method_types=["us_bank_account"]
        if bank.supports_payments and SUBCATEGORY_CATEGORY.get(subcategory, "cash") == "cash"
        else [],
    )
    state.add(account)
    state.emit("financial_connections.account.created", account)
    for feature in dict.fromkeys(PREFETCH_FEATURE[p] for p in prefetch if p in PREFETCH_FEATURE):
        if FEATURE_PERMISSION[feature] in account["permissions"]:
            start_refresh(state, account, feature)
    return account


@route("POST", "/v1/financial_connections/sessions")
def create_session(req: Request, state: State) -> Obj:
    holder = req.dict("account_holder")
    if not holder.get("type"):
        raise missing("account_holder[type]")
    kind = holder["type"]
    if kind not in ("customer", "account"):
        raise invalid(
            "Invalid account_holder[type]: must be one of customer, account",
            param="account_holder[type]",
        )
    if not holder.get(kind):
        raise missing(f"account_holder[{kind}]")
    if kind == "customer":
        state.get("customer", holder["customer"], param="account_holder[customer]")
    permissions = each_one_of(req.list("permissions"), PERMISSIONS, param="permissions")
    if not permissions:
        raise missing("permissions")
    prefetch = each_one_of(req.list("prefetch"), PREFETCH, param="prefetch")
    session = objects.fc_session(
        state,
        account_holder={"type": kind, kind: holder[kind]},
        permissions=permissions,
        prefetch=prefetch,
        filters=_session_filters(req),
        limits=_session_limits(req),
        manual_entry=_manual_entry(req),
        return_url=req.str("return_url"),
    )
    state.add(session)
    return session


def _session_filters(req: Request) -> Obj | None:
    if not req.has("filters"):
        return None
    raw = req.dict("filters")
    subs = each_one_of(
        list(raw.get("account_subcategories") or []),
        SUBCATEGORIES,
        param="filters[account_subcategories]",
    )
    countries = raw.get("countries")  # 15.x spelling; 16.x sends filters[country]
    country = raw.get("country") or (
        countries[0] if isinstance(countries, list) and countries else None
    )
    support = raw.get("require_payment_method_support")
    if support not in (None, "all", "at_least_one", "none"):
        raise invalid(
            "Invalid filters[require_payment_method_support]",
            param="filters[require_payment_method_support]",
        )
    return {
        "account_subcategories": subs or None,
        "country": country,
        "require_payment_method_support": support,
    }


def _session_limits(req: Request) -> Obj | None:
    if not req.has("limits"):
        return None
    given = req.dict("limits").get("accounts")
    if given == "":
        # The pinned SDK's SessionCreateParamsLimits.accounts (Literal[''] | int): "Pass an
        # empty value to allow any number of accounts."
        return None
    n = to_int(given, "limits[accounts]")
    if not 1 <= n <= 100:
        raise invalid("limits[accounts] must be between 1 and 100", param="limits[accounts]")
    return {"accounts": n}


def _manual_entry(req: Request) -> Obj | None:
    if not req.has("manual_entry"):
        return None
    mode = req.dict("manual_entry").get("mode")
    if mode not in ("automatic", "custom", "disabled", None):
        raise invalid("Invalid manual_entry[mode]", param="manual_entry[mode]")
    return {"mode": mode}


def _session_view(state: State, session: Obj) -> Obj:
    session["accounts"] = {
        "object": "list",
        "data": linked_accounts(state, session["id"]),
        "has_more": False,
        "url": ACCOUNTS_URL,
    }
    return session


@route("GET", "/v1/financial_connections/sessions/{id}")
def retrieve_session(req: Request, state: State) -> Obj:
    return _session_view(state, state.get(SESSION, req.path_args["id"]))


@route(
    "POST",
    "/_sandbox/financial_connections/sessions/{id}/complete",
    params={"institution", "accounts", "cancel", "subcategories"},
)
def complete_session_hook(req: Request, state: State) -> Obj:
    """What Stripe.js does when the user finishes (or cancels) the FC flow (§2.4)."""
    session = state.get(SESSION, req.path_args["id"])
    priv = _private(state)
    if session["id"] in priv.completed:
        raise invalid(f"The session {session['id']} has already been completed.")
    if req.bool("cancel"):
        priv.completed.add(session["id"])
        return _session_view(state, session)
    name = req.str("institution") or "Test Institution"
    bank = institution(state, name)
    if bank.link_fails:
        raise StripeError(
            400,
            f"{name} is not available right now; the account could not be linked.",
            code="institution_down",
            param="institution",
        )
    count = req.int("accounts", 1) or 1
    limit = (session.get("limits") or {}).get("accounts")
    if limit is not None and count > limit:
        raise invalid(f"This session allows at most {limit} accounts.", param="accounts")
    subs = _linkable_subcategories(session, [str(s) for s in req.list("subcategories")])
    payable = bank.supports_payments and all(SUBCATEGORY_CATEGORY[s] == "cash" for s in subs)
    if _payment_support_required(session) and not payable:
        raise invalid(
            f"These accounts at {name} cannot be used for payments, and this session requires "
            "payment method support (filters[require_payment_method_support]).",
            param="institution",
        )
    holder = session["account_holder"] or {}
    for i in range(count):
        account = link_account(
            state,
            customer=holder.get("customer"),
            account_holder=clone(holder),
            institution_name=name,
            permissions=session["permissions"],
            prefetch=session.get("prefetch") or [],
            subcategory=subs[i % len(subs)],
            index=i,
        )
        priv.accounts.setdefault(session["id"], []).append(account["id"])
    priv.completed.add(session["id"])
    return _session_view(state, session)


def _linkable_subcategories(session: Obj, asked: list[str]) -> list[str]:
    """What the customer links: ``asked`` (the hook's ``subcategories[]``) if the session's
    filters allow them, else the filtered subcategories, else checking and savings.

    Endive's defaults apply when the session has no ``filters[account_subcategories]``: every
    subcategory may be linked, credit cards, mortgages and lines of credit included (§9).
    """
    allowed = (session.get("filters") or {}).get("account_subcategories") or list(SUBCATEGORIES)
    for value in asked:
        if value not in SUBCATEGORIES:
            raise invalid(
                f"Invalid subcategories: must be one of {', '.join(SUBCATEGORIES)}",
                param="subcategories",
            )
        if value not in allowed:
            raise invalid(
                f"This session's filters[account_subcategories] ({', '.join(allowed)}) do not "
                f"allow linking a {value.replace('_', ' ')} account.",
                param="subcategories",
            )
    if asked:
        return asked
    chosen = [s for s in ("checking", "savings") if s in allowed]
    return chosen or list(allowed)


def _payment_support_required(session: Obj) -> bool:
    """Endive requires no payment method support unless the session asks for it (§9)."""
    support = (session.get("filters") or {}).get("require_payment_method_support")
    return support in ("all", "at_least_one")
