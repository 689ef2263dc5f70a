"""The Accounts page's filters: widgets whose values travel in the URL (data in, widgets out).

``?status=``, ``?institution=``, ``?permission=``, ``?stale_hours=``, ``?refresh=failed`` and
``?relink=needed`` set the widgets when a link is opened, and the URL follows the widgets, so
a filtered list can be shared and the home page can link straight to it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from services.rules import bank_account

ANY = "Any"


# Filters travel in the URL (?status=inactive&refresh=failed…), so a filtered list can be
# shared and the home page can link straight to it. URL name -> widget key.
URL_FILTERS = {
    "status": "acc_status",
    "institution": "acc_institution",
    "permission": "acc_perm",
    "stale_hours": "acc_stale",
    "refresh": "acc_refresh",
    "relink": "acc_relink",
}
URL_SIG = "acc_url_sig"  # the filter params last read from or written to the URL


def _url_filters() -> dict[str, str]:
    return {k: str(st.query_params[k]) for k in URL_FILTERS if st.query_params.get(k)}


def filters_from_url(banks: list[str]) -> None:
    """Set the filter widgets from the URL when it changed (a link was opened), not on every run."""
    wanted = _url_filters()
    if st.session_state.get(URL_SIG) == wanted:
        return
    st.session_state[URL_SIG] = wanted
    problems = []
    status = wanted.get("status")
    if status and status not in bank_account.STATUSES:
        problems.append(f"status '{status[:40]}'")
        status = None
    st.session_state["acc_status"] = status or ANY
    institution = wanted.get("institution")
    st.session_state["acc_institution"] = institution if institution in banks else ANY
    if institution and institution not in banks:
        problems.append(f"institution '{institution[:60]}' (none of the stored accounts)")
    permission = wanted.get("permission")
    if permission and permission not in bank_account.PERMISSIONS:
        problems.append(f"permission '{permission[:40]}'")
        permission = None
    st.session_state["acc_perm"] = permission or ANY
    hours = wanted.get("stale_hours", "0")
    if not hours.isdigit() or int(hours) > MAX_STALE_HOURS:
        problems.append(f"stale_hours '{hours[:20]}' (a whole number of hours)")
        hours = "0"
    st.session_state["acc_stale"] = int(hours)
    refresh = wanted.get("refresh")
    if refresh and refresh != "failed":
        problems.append(f"refresh '{refresh[:20]}' (only 'failed')")
    st.session_state["acc_refresh"] = refresh == "failed"
    relink = wanted.get("relink")
    if relink and relink != "needed":
        problems.append(f"relink '{relink[:20]}' (only 'needed')")
    st.session_state["acc_relink"] = relink == "needed"
    if problems:
        st.warning(
            "The link's filter was not understood, so it is ignored: " + "; ".join(problems) + ".",
            icon=":material/link_off:",
        )


def filters_to_url(chosen: dict[str, Any]) -> None:
    """Keep the URL in step with the widgets, so copying it shares this filtered list."""
    values = {
        "status": chosen["status"],
        "institution": chosen["institution"],
        "permission": chosen["permission"],
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
    st.session_state[URL_SIG] = _url_filters()


MAX_STALE_HOURS = 24 * 365


def filter_widgets(banks: list[str]) -> dict[str, Any]:
    """The filter widgets (set from the URL when it changed); the chosen filters, URL kept in step."""
    filters_from_url(banks)
    active = any(st.session_state.get(k) not in (None, ANY, 0, False) for k in URL_FILTERS.values())
    with st.expander("Filters", icon=":material/filter_list:", expanded=active):
        c1, c2, c3, c4, c5, c6 = st.columns(6)
        status = c1.selectbox("Status", [ANY, *bank_account.STATUSES], key="acc_status")
        institution = c2.selectbox("Institution", [ANY, *banks], key="acc_institution")
        permission = c3.selectbox(
            "Permission granted", [ANY, *bank_account.PERMISSIONS], key="acc_perm"
        )
        hours = c4.number_input(
            "Balance older than (hours)",
            min_value=0,
            max_value=MAX_STALE_HOURS,
            step=1,
            key="acc_stale",
            help="0 = off. Also lists accounts with the balances permission but no balance yet.",
        )
        refresh_failed = c5.checkbox(
            "Last refresh failed",
            key="acc_refresh",
            help="The latest balance, ownership or transaction refresh failed at the bank.",
        )
        relink = c6.checkbox(
            "Relink needed",
            key="acc_relink",
            help="Stripe expects these accounts to become inactive on a date unless the "
            "customer links them again (status_details.active: relink_required).",
        )
    chosen = {
        "status": None if status == ANY else status,
        "institution": None if institution == ANY else institution,
        "permission": None if permission == ANY else permission,
        "stale_after_seconds": int(hours) * 3600 if hours else None,
        "refresh_failed": bool(refresh_failed),
        "relink_needed": bool(relink),
    }
    filters_to_url(chosen)
    return chosen
