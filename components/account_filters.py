"""The Accounts page's filters: widgets whose values travel in the URL (data in, widgets out).

``?status=``, ``?institution=``, ``?permission=``, ``?balance=stale|never``, ``?stale_hours=``,
``?refresh=failed`` and ``?relink=needed`` set the widgets when a link is opened, and the URL follows the widgets, so
a filtered list can be shared and the home page can link straight to it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.literal import literal
from services.rules import bank_account

ANY = "Any"


# Filters travel in the URL (?status=inactive&refresh=failed…), so a filtered list can be
# shared and the home page can link straight to it. URL name -> the start of the widget's key.
URL_FILTERS = {
    "status": "acc_status",
    "institution": "acc_institution",
    "permission": "acc_perm",
    "balance": "acc_balance",
    "stale_hours": "acc_stale",
    "refresh": "acc_refresh",
    "relink": "acc_relink",
}
MAX_STALE_HOURS = 24 * 365
BALANCE_LABELS = {  # ?balance=: what Home's finance cards count (and link to)
    ANY: ANY,
    "stale": "Stale, refreshable",
    "never": "Never fetched, refreshable",
}


def _url_filters() -> dict[str, str]:
    return {k: str(st.query_params[k]) for k in URL_FILTERS if st.query_params.get(k)}


def widget_key(name: str, url_value: str | None) -> str:
    """A filter box's key: its base and the URL's value ("acc_status:inactive"). Keyed by the URL
    (as the sort box is), a box starts from the link's value whenever the URL changes, and a
    browser that resets its widgets late after a sign-in resets it to the link's value, never to
    "Any" (which would drop ``?status=`` from the URL)."""
    return f"{URL_FILTERS[name]}:{url_value or ''}"


def wanted_filters(banks: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The URL's filters as the widgets show them (ANY, 0 or False when absent or not
    understood), and what was not understood."""
    wanted = _url_filters()
    problems = []
    status = wanted.get("status")
    if status and status not in bank_account.STATUSES:
        problems.append(f"status {literal(status)}")
        status = None
    institution = wanted.get("institution")
    if institution and institution not in banks:
        problems.append(f"institution {literal(institution, 60)} (none of the stored accounts)")
        institution = None
    permission = wanted.get("permission")
    if permission and permission not in bank_account.PERMISSIONS:
        problems.append(f"permission {literal(permission)}")
        permission = None
    balance = wanted.get("balance")
    if balance and balance not in bank_account.BALANCE_KINDS:
        problems.append(f"balance {literal(balance, 20)} (only 'stale' or 'never')")
        balance = None
    hours = wanted.get("stale_hours", "0")
    if not hours.isdigit() or int(hours) > MAX_STALE_HOURS:
        problems.append(f"stale_hours {literal(hours, 20)} (a whole number of hours)")
        hours = "0"
    refresh = wanted.get("refresh")
    if refresh and refresh != "failed":
        problems.append(f"refresh {literal(refresh, 20)} (only 'failed')")
    relink = wanted.get("relink")
    if relink and relink != "needed":
        problems.append(f"relink {literal(relink, 20)} (only 'needed')")
    values = {
        "status": status or ANY,
        "institution": institution or ANY,
        "permission": permission or ANY,
        "balance": balance or ANY,
        "stale_hours": int(hours),
        "refresh": refresh == "failed",
        "relink": relink == "needed",
    }
    return values, problems


def filters_to_url(chosen: dict[str, Any]) -> None:
    """Keep the URL in step with the widgets, so copying it shares this filtered list."""
    values = {
        "status": chosen["status"],
        "institution": chosen["institution"],
        "permission": chosen["permission"],
        "balance": chosen["balance"],
        "stale_hours": str(chosen["stale_after_seconds"] // 3600)
        if chosen["stale_after_seconds"]
        else None,
        "refresh": "failed" if chosen["refresh_failed"] else None,
        "relink": "needed" if chosen["relink_needed"] else None,
    }
    for name, value in values.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


def filter_widgets(banks: list[str]) -> dict[str, Any]:
    """The filter widgets, each starting from the URL and keyed by it; the chosen filters.

    The URL is the one source of truth: a person's change goes into the URL and the page reruns
    at once, drawing the boxes keyed by the new values (as ``sort_control`` does for the sort)."""
    wanted, problems = wanted_filters(banks)
    if problems:
        st.warning(
            "The link's filter was not understood, so it is ignored: " + "; ".join(problems) + ".",
            icon=":material/link_off:",
        )
    url = _url_filters()

    def key(name: str) -> str:
        return widget_key(name, url.get(name))

    statuses = [ANY, *bank_account.STATUSES]
    institutions = [ANY, *banks]
    permissions = [ANY, *bank_account.PERMISSIONS]
    active = any(v not in (ANY, 0, False) for v in wanted.values())
    with st.expander("Filters", icon=":material/filter_list:", expanded=active):
        c1, c2, c3, c7 = st.columns(4)
        c4, c5, c6 = st.columns(3)
        status = c1.selectbox(
            "Status", statuses, index=statuses.index(wanted["status"]), key=key("status")
        )
        institution = c2.selectbox(
            "Institution",
            institutions,
            index=institutions.index(wanted["institution"]),
            key=key("institution"),
        )
        permission = c3.selectbox(
            "Permission granted",
            permissions,
            index=permissions.index(wanted["permission"]),
            key=key("permission"),
        )
        balance = c7.selectbox(
            "Balance to refresh",
            list(BALANCE_LABELS),
            index=list(BALANCE_LABELS).index(wanted["balance"]),
            format_func=BALANCE_LABELS.__getitem__,
            key=key("balance"),
            help="Active cash accounts with balance access and no refresh running, whose "
            "balance is older than the debit policy allows (stale) or was never fetched: what "
            "Home's finance cards count. Cards, inactive and disconnected accounts are left out: "
            "no refresh can bring their balance up to date.",
        )
        hours = c4.number_input(
            "Balance older than (hours)",
            min_value=0,
            max_value=MAX_STALE_HOURS,
            value=wanted["stale_hours"],
            step=1,
            key=key("stale_hours"),
            help="0 = off. Also lists accounts with the balances permission but no balance yet.",
        )
        refresh_failed = c5.checkbox(
            "Last refresh failed",
            value=wanted["refresh"],
            key=key("refresh"),
            help="The latest balance, ownership or transaction refresh failed at the bank.",
        )
        relink = c6.checkbox(
            "Relink needed",
            value=wanted["relink"],
            key=key("relink"),
            help="Stripe expects these accounts to become inactive on a date unless the "
            "customer links them again (status_details.active: relink_required).",
        )
    shown = {
        "status": status,
        "institution": institution,
        "permission": permission,
        "balance": balance,
        "stale_hours": int(hours or 0),
        "refresh": bool(refresh_failed),
        "relink": bool(relink),
    }
    chosen = {
        "status": None if status == ANY else status,
        "institution": None if institution == ANY else institution,
        "permission": None if permission == ANY else permission,
        "balance": None if balance == ANY else balance,
        "stale_after_seconds": int(hours) * 3600 if hours else None,
        "refresh_failed": bool(refresh_failed),
        "relink_needed": bool(relink),
    }
    filters_to_url(chosen)
    if shown != wanted:  # a person's change: draw the boxes keyed by it before the next click
        st.rerun()
    return chosen
