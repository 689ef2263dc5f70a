"""Bank-account facts: Stripe's FC account flattened, and the typed views pages show.

Pure: no I/O. The mirror (:mod:`services.adapters.account_mirror`) stores what
:func:`flatten_account` returns; use cases hand pages and components the frozen views below,
so nothing past the service boundary reads Stripe's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.errors import ValidationError
from services.rules import input_limits, refresh_rule, wording
from services.rules.ids import parse_id
from services.rules.paging import Page
from services.rules.people import fold
from services.rules.relink import Relink, relink_needed

FEATURES = refresh_rule.FEATURES
FEATURE_PERMISSION = refresh_rule.FEATURE_PERMISSION
FEATURE_FIELD = refresh_rule.FEATURE_FIELD
STATUSES: tuple[str, ...] = ("active", "inactive", "disconnected")
PERMISSIONS: tuple[str, ...] = ("balances", "ownership", "payment_method", "transactions")
# Kept in an account row's ``raw`` (not a Stripe field): the ``created`` of the event whose copy
# the row holds, so a replay never puts an older copy over a newer one.
EVENT_STAMP = "_fcops_event_created"


# --------------------------------------------------------------------------- typed views


@dataclass(frozen=True)
class SyncResult:
    customers: int
    accounts: int
    snapshots: int
    seconds: float
    full: bool = True  # False: only what the events since the cursor named was re-read
    events: int = 0
    removed: int = 0  # customers a full walk no longer found in Stripe (deleted there)


@dataclass(frozen=True)
class SyncInfo:
    """What the page needs to decide whether to sync: when it last ran and how much is stored."""

    accounts: int
    customers: int
    last_finished_at: datetime | None
    details: dict[str, Any]


@dataclass(frozen=True)
class CustomerHit:
    id: str
    email: str | None
    name: str | None
    created: int
    accounts: int


@dataclass(frozen=True)
class AccountRow:
    """One line of the accounts table (a flattened mirrored account plus its customer)."""

    id: str
    customer_id: str | None
    customer_email: str | None
    customer_name: str | None
    institution_name: str
    display_name: str | None
    last4: str | None
    category: str
    subcategory: str
    status: str
    permissions: list[str]
    subscriptions: list[str]
    balance_currency: str | None
    balance_current: int | None
    balance_available: int | None
    balance_as_of: int | None
    balance_refresh_status: str | None
    ownership_refresh_status: str | None
    transaction_refresh_status: str | None
    created: int
    relink_required_by: int | None = None  # Stripe expects it inactive then unless relinked


@dataclass(frozen=True)
class AccountPage(Page[AccountRow]):
    """One page of a customer's accounts."""


@dataclass(frozen=True)
class OwnerView:
    """An account owner; ``pii_hidden`` means name and contact details were removed for this role."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    raw_address: str | None
    refreshed_at: int | None
    pii_hidden: bool = False


@dataclass(frozen=True)
class BalancePoint:
    """One balance the mirror recorded (one currency at one ``as_of``)."""

    as_of: int
    currency: str
    current: int | None
    available: int | None


@dataclass(frozen=True)
class RefreshView:
    """One feature's refresh as Stripe last reported it (None fields: Stripe gave none)."""

    feature: str
    status: str | None  # pending | succeeded | failed | None (never refreshed)
    last_attempted_at: int | None
    next_refresh_available_at: int | None
    id: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == "pending"


@dataclass(frozen=True)
class CustomerView:
    id: str
    email: str | None
    name: str | None


@dataclass(frozen=True)
class AccountDetail:
    account: dict[str, Any]  # Stripe's object for the "every field" and JSON tabs only
    row: AccountRow
    customer: CustomerView | None
    owners: list[OwnerView]
    owners_hidden: bool
    snapshots: list[BalancePoint]
    blockers: dict[str, str | None]  # feature -> why its refresh button is disabled, or None
    refreshes: dict[str, RefreshView]  # feature -> its last refresh
    relink: Relink | None = None  # Stripe announced a deactivation unless the customer relinks
    stored: StoredCopy | None = None  # set when Stripe could not be read: this is the store's copy
    read_at: int | None = None  # Unix seconds when ``account`` was read from Stripe (None: stored)


@dataclass(frozen=True)
class StoredCopy:
    """Why an account is shown as the store holds it (Stripe could not be read), and how old
    that copy is. ``stored_at`` is when fcops last wrote it (the copy changed then)."""

    reason: str  # the failed read's own sentence
    stored_at: int  # Unix seconds

    def sentence(self, *, now: int) -> str:
        """What the page says above the stored copy. The failed read's sentence is shown beside
        it: when that already says when to try again ("… nothing was changed. Try again in a
        minute."), this one does not say it a second time with another time."""
        said = "" if "try again" in self.reason.lower() else " Try again in a minute."
        return (
            f"Stripe could not be read just now; showing what fcops stored at "
            f"{wording.timestamp(self.stored_at)} ({wording.ago(now - self.stored_at)}).{said}"
        )

    @property
    def refresh_off(self) -> str:
        """Why the refresh buttons are off beside the stored copy: whether a refresh may start is
        judged on Stripe's own copy, and a click would only wait on Stripe once more."""
        return (
            "Refreshes are off while Stripe cannot be read (this is the stored copy); "
            "use Try again above to read the account again."
        )

    def refresh_sentence(self, feature: str) -> str:
        """A refresh the stored copy says is pending: it started; how it ended is not known."""
        return (
            f"{feature.capitalize()} refresh started; its outcome is not known yet because "
            "Stripe could not be read. Use Try again above to see it."
        )


@dataclass(frozen=True)
class RefreshState(RefreshView):
    """A refresh as a poll read it, with the account it read (for the mirror and the page)."""

    account: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountFilters:
    customer_id: str | None = None
    status: str | None = None
    institution: str | None = None
    permission: str | None = None
    stale_after_seconds: int | None = None
    refresh_failed: bool = False  # the latest balance, ownership or transaction refresh failed
    relink_needed: bool = False  # Stripe announced a deactivation unless the customer relinks
    # "stale" or "never": balances finance can bring up to date (adapters.balance_attention)
    balance: str | None = None
    # set by the use case from the debit policy (what "stale" means), never by a person
    balance_max_age_seconds: int | None = None


BALANCE_KINDS = ("stale", "never")  # the ``balance`` filter's values
STALE_AFTER_MAX_SECONDS = 10 * 365 * 86_400  # a filter beyond ten years means "any balance"


def validate_filters(filters: AccountFilters) -> None:
    """Every filter value checked before it reaches SQL: known words, a well-formed customer ID,
    a bank name without control characters, an age within bounds."""
    if filters.customer_id:
        parse_id(filters.customer_id, allowed=("customer",))
    if filters.institution:
        input_limits.clean_text(filters.institution, field="The bank filter", max_length=200)
    if filters.stale_after_seconds is not None:
        input_limits.bounded_int(
            filters.stale_after_seconds,
            field="The stale-balance age",
            minimum=0,
            maximum=STALE_AFTER_MAX_SECONDS,
            unit="s",
        )
    if filters.status and filters.status not in STATUSES:
        raise ValidationError(
            f"Unknown status {str(filters.status)[:40]!r}. Use one of: {', '.join(STATUSES)}."
        )
    if filters.permission and filters.permission not in PERMISSIONS:
        raise ValidationError(
            f"Unknown permission {str(filters.permission)[:40]!r}. Use one of: {', '.join(PERMISSIONS)}."
        )
    if filters.balance and filters.balance not in BALANCE_KINDS:
        raise ValidationError(
            f"Unknown balance filter {str(filters.balance)[:40]!r}. Use one of: "
            f"{', '.join(BALANCE_KINDS)}."
        )
    if filters.stale_after_seconds is not None and filters.stale_after_seconds < 0:
        raise ValidationError("The stale-balance age must be zero or more hours.")


def filters_from(wanted: Mapping[str, Any]) -> AccountFilters:
    """Checked filters from keyword arguments; an unknown name or value is a sentence."""
    known = [f for f in AccountFilters.__dataclass_fields__ if f != "balance_max_age_seconds"]
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise ValidationError(
            f"Unknown account filter {', '.join(unknown)}; use: {', '.join(known)}."
        )
    filters = AccountFilters(**wanted)
    validate_filters(filters)
    return filters


def check_feature(feature: str) -> None:
    if not isinstance(feature, str) or feature not in FEATURES:
        raise ValidationError(
            f"{str(feature)[:40]!r} is not a refresh Stripe offers; use one of: "
            f"{', '.join(FEATURES)}."
        )


def parse_account_id(account_id: str | None, *, what: str | None = None) -> str:
    value, _ = parse_id(account_id, allowed=("financial_connections.account",), what=what)
    return value


# --------------------------------------------------------------------------- flattening


def csv_set(values: Any) -> str:
    """Sorted values wrapped in commas (",a,b,"), so ``LIKE '%,a,%'`` matches whole values."""
    items = sorted({str(v) for v in (values or [])})
    return f",{','.join(items)}," if items else ""


def split_set(text: str | None) -> list[str]:
    return [v for v in (text or "").split(",") if v]


def balance_amounts(balance: Mapping[str, Any] | None) -> list[tuple[str, int | None, int | None]]:
    """(currency, current, available) for each currency in a Stripe balance object."""
    if not balance:
        return []
    current = balance.get("current") or {}
    cash = balance.get("cash") or {}
    available = (cash.get("available") or {}) if balance.get("type") == "cash" else {}
    currencies = list(dict.fromkeys([*current.keys(), *available.keys()]))
    return [
        (cur.lower(), current.get(cur), available.get(cur))
        for cur in currencies
        if cur != "undefined"
    ]


def normalise_account(account: Mapping[str, Any]) -> dict[str, Any]:
    """Stripe's account with ``ownership`` collapsed to its ID, so no owner PII is ever mirrored."""
    data = dict(account)
    ownership = data.get("ownership")
    if isinstance(ownership, Mapping):
        data["ownership"] = ownership.get("id")
    holder = data.get("account_holder")
    if isinstance(holder, Mapping) and isinstance(holder.get("customer"), Mapping):
        data["account_holder"] = {**holder, "customer": holder["customer"].get("id")}
    return data


def refresh_of(account: Mapping[str, Any], feature: str) -> Mapping[str, Any]:
    """The account's ``*_refresh`` object for ``feature`` ({} when Stripe gave none)."""
    return account.get(FEATURE_FIELD[feature]) or {}


def refresh_view(account: Mapping[str, Any], feature: str) -> RefreshView:
    current = refresh_of(account, feature)
    return RefreshView(
        feature=feature,
        status=current.get("status"),
        last_attempted_at=current.get("last_attempted_at"),
        next_refresh_available_at=current.get("next_refresh_available_at"),
        id=current.get("id"),
    )


def refresh_state_of(account: Mapping[str, Any], feature: str) -> RefreshState:
    view = refresh_view(account, feature)
    return RefreshState(**view.__dict__, account=normalise_account(account))


def customer_view(customer: Mapping[str, Any] | None) -> CustomerView | None:
    if not customer:
        return None
    return CustomerView(
        id=str(customer["id"]), email=customer.get("email"), name=customer.get("name")
    )


def flatten_account(account: Mapping[str, Any]) -> dict[str, Any]:
    """The filterable columns of a mirrored account row from Stripe's object."""
    data = normalise_account(account)
    holder = data.get("account_holder") or {}
    amounts = balance_amounts(data.get("balance"))
    currency, current, available = amounts[0] if amounts else (None, None, None)
    balance = data.get("balance") or {}
    return {
        "id": data["id"],
        "customer_id": holder.get("customer"),
        "institution_name": data.get("institution_name") or "",
        "display_name": data.get("display_name"),
        "last4": data.get("last4"),
        "category": data.get("category") or "other",
        "subcategory": data.get("subcategory") or "other",
        "status": data.get("status") or "active",
        "permissions": csv_set(data.get("permissions")),
        "subscriptions": csv_set(data.get("subscriptions")),
        "balance_currency": currency,
        "balance_current": current,
        "balance_available": available,
        "balance_as_of": balance.get("as_of") if amounts else None,
        "balance_refresh_status": refresh_of(data, "balance").get("status"),
        "balance_next_refresh_at": refresh_of(data, "balance").get("next_refresh_available_at"),
        "ownership_refresh_status": refresh_of(data, "ownership").get("status"),
        "transaction_refresh_status": refresh_of(data, "transactions").get("status"),
        "relink_required_by": relink.by if (relink := relink_needed(data)) else None,
        "created": int(data.get("created") or 0),
        "raw": data,
    }


def flatten_customer(customer: Mapping[str, Any]) -> dict[str, Any]:
    email = customer.get("email")
    name = customer.get("name")
    return {
        "id": customer["id"],
        "email": email,
        "email_lower": email.lower() if email else None,
        "name": name,
        "name_lower": fold(name) if name else None,  # searched without accents
        "phone": customer.get("phone"),
        "created": int(customer.get("created") or 0),
        "raw": dict(customer),
    }


# --------------------------------------------------------------------------- event stamps


def applied_event_created(raw: Mapping[str, Any] | None) -> int | None:
    """When the event whose copy a stored account row holds was created (None: not from an event)."""
    value = (raw or {}).get(EVENT_STAMP)
    return int(value) if isinstance(value, int) else None


def read_earlier(stored: Mapping[str, Any] | None, incoming: Mapping[str, Any] | None) -> bool:
    """Whether Stripe's own clocks show ``incoming`` was read before ``stored`` was: a refresh the
    stored copy shows began later (``last_attempted_at``), or its balance is newer (``as_of``), or
    it has a balance where the incoming copy has none yet (Stripe never takes one away).

    A sync's read is current when it is made, not when it is written: a walk that listed an
    account just before its first balance refresh ended wrote "pending" and no balance over the
    ``refreshed_balance`` event applied meanwhile (CI48 saw the blank "Balance age"). Equal
    clocks prove nothing (a refresh may start again within the second one ended), and a copy
    one refresh clock shows read later is never judged older by its balance: the SDK types
    ``balance`` as optional, and Stripe does not say it stays set while a refresh runs."""
    old, new = incoming or {}, stored or {}
    clocks = [
        (refresh_of(old, feature).get("last_attempted_at"),
         refresh_of(new, feature).get("last_attempted_at"))
        for feature in FEATURE_FIELD
    ]  # fmt: skip
    known = [(then, later) for then, later in clocks if isinstance(then, int) and isinstance(later, int)]
    if any(then > later for then, later in known):
        return False  # a refresh the stored copy has not seen: read later, whatever its balance
    if any(then < later for then, later in known):
        return True
    then, later = ((x.get("balance") or {}).get("as_of") for x in (old, new))
    return isinstance(later, int) and (then is None or (isinstance(then, int) and then < later))


def newer_copy_wins(stored: Mapping[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """The upsert ``merge`` hook: never replace a row stored from a newer event with an older copy.

    A copy from an event (stamped) older than the stored stamp leaves the row as it is; an
    unstamped copy (a full walk or a direct read, current when read) is written but keeps the
    stored stamp, so an old event replayed later still cannot win over the event the row last
    applied, unless Stripe's refresh clocks show it was read before the stored copy
    (:func:`read_earlier`): then it leaves the row as it is. Events are ordered by their own
    ``created`` alone. Checked inside the write transaction, so two
    replicas replaying at once agree.
    """
    before = applied_event_created(stored.get("raw"))
    after = applied_event_created(incoming.get("raw"))
    if after is None and read_earlier(stored.get("raw"), incoming.get("raw")):
        return {column: stored[column] for column in incoming}
    if before is None:
        return incoming
    if after is None:
        return {**incoming, "raw": {**incoming["raw"], EVENT_STAMP: before}}
    if after < before:
        return {column: stored[column] for column in incoming}
    return incoming
