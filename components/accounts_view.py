"""Tables and small widgets of the Accounts page: data in, widgets out (no service calls).

The builders (``accounts_frame``, ``account_fields``, ``owners_frame``, ``snapshots_frame``)
are pure so they can be unit-tested apart from rendering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from components.feedback import format_age, format_timestamp
from components.money import MISSING, format_money
from components.table_columns import (
    count_column,
    duration_column,
    money_column,
    time_column,
    worded_durations,
)
from services.rules import wording
from services.rules.bank_account import AccountRow, CustomerHit, OwnerView, StoredCopy
from services.rules.table_values import age_seconds, major_units, one_currency, utc_time

STATUS_COLORS = {"active": "green", "inactive": "orange", "disconnected": "red"}
REFRESH_ICONS = {"pending": "pending…", "succeeded": "succeeded", "failed": "failed"}
FEATURE_LABELS = {"balance": "Balance", "ownership": "Ownership", "transactions": "Transactions"}


def refresh_text(status: str | None) -> str:
    return REFRESH_ICONS.get(status or "", "never")


# What ops scan for first comes first and fits the page; the rest scrolls sideways.
ACCOUNT_COLUMNS: dict[str, Any] = {
    "Institution": 140,
    "Account": 150,
    "Last 4": 60,
    "Status": 190,
    "Balance": 95,
    "Available": 95,
    "Balance age": 90,
    "Customer": 190,
    "Permissions": 260,
    "Subscriptions": 110,
    "Balance refresh": 115,
    "Ownership refresh": 125,
    "Transactions refresh": 145,
    "Type": 120,
    "ID": 230,
}


def _status_text(row: AccountRow) -> str:
    """The status, plus the date Stripe expects a relink by when it announced one."""
    if row.relink_required_by is None:
        return row.status
    return f"{row.status} · relink by {wording.day(row.relink_required_by)}"


def accounts_frame(rows: Sequence[AccountRow], *, now: int) -> pd.DataFrame:
    """One display row per account. Balances are numbers in major units and the balance age a
    number of seconds (drawn in words by :func:`worded_durations`), so the grid sorts them
    numerically."""
    frame = pd.DataFrame(
        [
            {
                "Institution": r.institution_name,
                "Account": r.display_name or MISSING,
                "Last 4": f"••{r.last4}" if r.last4 else MISSING,
                "Type": f"{r.category} / {r.subcategory}",
                "Status": _status_text(r),
                "Permissions": ", ".join(r.permissions) or MISSING,
                "Subscriptions": ", ".join(r.subscriptions) or MISSING,
                "Balance": major_units(r.balance_current, r.balance_currency),
                "Available": major_units(r.balance_available, r.balance_currency),
                "Balance age": age_seconds(now, r.balance_as_of),
                "Balance refresh": refresh_text(r.balance_refresh_status),
                "Ownership refresh": refresh_text(r.ownership_refresh_status),
                "Transactions refresh": refresh_text(r.transaction_refresh_status),
                "Customer": r.customer_email or r.customer_name or r.customer_id or MISSING,
                "ID": r.id,
            }
            for r in rows
        ],
        columns=list(ACCOUNT_COLUMNS),
    )
    if one_currency(r.balance_currency for r in rows) is None and any(
        r.balance_currency for r in rows
    ):  # several currencies: the figures need their code beside them
        frame.insert(
            list(frame.columns).index("Balance age"),
            "Currency",
            [(r.balance_currency or MISSING).upper() for r in rows],
        )
    return frame


def accounts_columns(rows: Sequence[AccountRow]) -> dict[str, Any]:
    """Column configs: money and ages as formatted numbers, the rest as text."""
    currency = one_currency(r.balance_currency for r in rows)
    config: dict[str, Any] = {
        name: st.column_config.TextColumn(width=width, help=COLUMN_HELP.get(name))
        for name, width in ACCOUNT_COLUMNS.items()
    }
    for name in ("Balance", "Available"):
        config[name] = money_column(
            name, currency, help=COLUMN_HELP.get(name), width=ACCOUNT_COLUMNS[name]
        )
    config["Balance age"] = duration_column(
        "Balance age", help=COLUMN_HELP["Balance age"], width=ACCOUNT_COLUMNS["Balance age"]
    )
    return config


COLUMN_HELP = {
    "Balance": "Current (posted) balance",
    "Available": "Available cash balance (not every bank reports it)",
    "Balance age": "How long ago the bank computed the balance; sorts by age",
    "Customer": "The Stripe customer the account is linked to",
    "Balance refresh": "Status of the last balance refresh",
}


def render_accounts_table(rows: Sequence[AccountRow], *, now: int, key: str) -> str | None:
    """The accounts table with single-row selection; returns the selected account ID."""
    frame = accounts_frame(rows, now=now)
    event: Any = st.dataframe(
        worded_durations(frame, ["Balance age"]),
        hide_index=True,
        placeholder="—",
        width="stretch",
        key=key,
        on_select="rerun",
        selection_mode="single-row",
        column_config=accounts_columns(rows),
    )
    selected = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if selected and selected[0] < len(rows):
        return rows[selected[0]].id
    return None


CUSTOMER_COLUMNS: dict[str, Any] = {
    "Accounts": count_column("Accounts"),
    "Since": time_column("Since (UTC)"),
}


def customers_frame(hits: Sequence[CustomerHit]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Name": h.name or MISSING,
                "Email": h.email or MISSING,
                "Accounts": h.accounts,
                "Since": utc_time(h.created),
                "ID": h.id,
            }
            for h in hits
        ],
        columns=["Name", "Email", "Accounts", "Since", "ID"],
    )


STORED_OWNERS = (
    "Owners could not be read from Stripe just now; fcops does not store owners' names and "
    "contact details, so they show again when Stripe answers."
)


def stored_copy_notice(stored: StoredCopy, *, now: int, key: str) -> bool:
    """Above an account drawn from the store: the failed read's sentence, that this is the
    stored copy and how old it is, and a button that reads Stripe again (True when clicked)."""
    st.error(stored.reason, icon=":material/cloud_off:")
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.warning(stored.sentence(now=now), icon=":material/inventory_2:")
    return right.button(
        "Try again", icon=":material/refresh:", key=key, width="stretch",
        help="Read the account from Stripe again.",
    )  # fmt: skip


def status_badge(status: str) -> None:
    st.badge(status, color=STATUS_COLORS.get(status, "gray"))  # type: ignore[arg-type]


def _refresh_value(refresh: Mapping[str, Any] | None, now: int) -> str:
    if not refresh:
        return "never refreshed"
    parts = [refresh_text(refresh.get("status"))]
    if refresh.get("last_attempted_at"):
        parts.append(f"last attempt {format_timestamp(refresh['last_attempted_at'])}")
    next_at = refresh.get("next_refresh_available_at")
    if next_at:
        parts.append(
            f"next from {format_timestamp(next_at)}"
            + (f" (in {format_age(next_at - now)})" if next_at > now else "")
        )
    if refresh.get("id"):
        parts.append(str(refresh["id"]))
    return " · ".join(parts)


def _balance_value(balance: Mapping[str, Any] | None) -> str:
    if not balance:
        return "none yet"
    current = balance.get("current") or {}
    parts = [f"current {format_money(v, c)}" for c, v in current.items()]
    available = (balance.get("cash") or {}).get("available") or {}
    parts += [f"available {format_money(v, c)}" for c, v in available.items()]
    used = (balance.get("credit") or {}).get("used") or {}
    parts += [f"credit used {format_money(v, c)}" for c, v in used.items()]
    parts.append(f"as of {format_timestamp(balance.get('as_of'))}")
    return f"{balance.get('type', '')}: " + ", ".join(parts)


def account_fields(account: Mapping[str, Any], *, now: int) -> pd.DataFrame:
    """Every field of a Stripe FC account as readable key/value rows: nested values as words,
    times as dates, never a Python dict or a Unix timestamp."""
    special = {
        "balance": lambda v: _balance_value(v),
        "balance_refresh": lambda v: _refresh_value(v, now),
        "ownership_refresh": lambda v: _refresh_value(v, now),
        "transaction_refresh": lambda v: _refresh_value(v, now),
        "created": lambda v: format_timestamp(v),
        "status_details": lambda v: _status_details_value(v, now),
    }
    rows = []
    for key in sorted(account):
        value = account[key]
        text = special[key](value) if key in special else _plain(key, value, top=True)
        rows.append({"Field": key, "Value": text})
    return pd.DataFrame(rows, columns=["Field", "Value"])


def _status_details_value(details: Any, now: int) -> str:
    """``status_details`` ("active": {action, cause, expected_deactivation_date}) as
    "relink required · access expired · deactivates 2026-12-18 (in 30 days)"; the status it
    belongs to is named only when there are several."""
    if not isinstance(details, Mapping):
        return _plain("status_details", details, top=True)
    said = [
        (f"{status}: " if len(details) > 1 else "") + _status_detail(detail, now)
        for status, detail in details.items()
        if detail is not None
    ]
    return "; ".join(said) or "(none)"


def _status_detail(detail: Any, now: int) -> str:
    if not isinstance(detail, Mapping):
        return _plain("", detail)
    said = []
    for key, value in detail.items():
        if value is None:
            continue
        if key == "action":
            said.append("no action" if value == "none" else _words(value))
        elif key == "cause":
            said.append("no reason given" if value == "unspecified" else _words(value))
        elif key == "expected_deactivation_date" and _is_time(key, value):
            said.append(f"deactivates {_day_ahead(value, now)}")
        else:
            said.append(f"{_words(key)} {_plain(key, value)}")
    return " · ".join(said) or "(none)"


def _day_ahead(ts: int, now: int) -> str:
    ahead = ts - now
    when = f"in {wording.duration(ahead, long=True)}" if ahead > 0 else "that date has passed"
    return f"{wording.day(ts)} ({when})"


def _words(value: Any) -> str:
    return str(value).replace("_", " ")


def _is_time(key: str, value: Any) -> bool:
    """A Unix timestamp by Stripe's naming (``created``, ``…_at``, ``…_date``)."""
    named = key == "created" or key.endswith(("_at", "_date"))
    return named and isinstance(value, int) and not isinstance(value, bool)


def _plain(key: str, value: Any, *, top: bool = False) -> str:
    """Any value as text: a mapping as "key: value" pairs (a nested one in parentheses), a list
    joined, a timestamp as a date and time."""
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {_plain(k, v)}" for k, v in value.items() if v is not None)
        inner = inner or "(none)"
        return inner if top or inner == "(none)" else f"({inner})"
    if isinstance(value, list):
        return ", ".join(_plain(key, v) for v in value) or "(none)"
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format_timestamp(value) if _is_time(key, value) else str(value)


def owners_frame(owners: Sequence[OwnerView]) -> pd.DataFrame:
    hidden = "hidden for your role"
    return pd.DataFrame(
        [
            {
                "Name": hidden if o.pii_hidden else (o.name or MISSING),
                "Email": hidden if o.pii_hidden else (o.email or MISSING),
                "Phone": hidden if o.pii_hidden else (o.phone or MISSING),
                "Address": hidden if o.pii_hidden else (o.raw_address or MISSING),
                "Refreshed": utc_time(o.refreshed_at),
                "ID": o.id,
            }
            for o in owners
        ],
        columns=["Name", "Email", "Phone", "Address", "Refreshed", "ID"],
    )


OWNER_COLUMNS: dict[str, Any] = {"Refreshed": time_column("Refreshed (UTC)")}


def snapshots_frame(snapshots: Sequence[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "As of": utc_time(s.as_of),
                "Current": major_units(s.current, s.currency),
                "Available": major_units(s.available, s.currency),
            }
            for s in snapshots
        ],
        columns=["As of", "Current", "Available"],
    )


def snapshots_columns(snapshots: Sequence[Any]) -> dict[str, Any]:
    currency = one_currency(s.currency for s in snapshots)
    return {
        "As of": time_column("As of (UTC)"),
        "Current": money_column("Current", currency),
        "Available": money_column("Available", currency),
    }
