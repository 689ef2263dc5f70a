"""Ownership review: one account's report as the page draws it (verdict, per-field scores,
owners), from Stripe or, when Stripe could not be read, from the check fcops stored."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.accounts_view import STORED_OWNERS, stored_copy_notice
from components.table_columns import time_column
from services.rules.owners.views import OwnershipReport
from services.rules.table_values import utc_time

VERDICT_STYLE: dict[str, tuple[str, str, str]] = {
    "match": ("Match", "green", ":material/verified:"),
    "partial": ("Partial match", "orange", ":material/help:"),
    "mismatch": ("Mismatch", "red", ":material/gpp_bad:"),
    "no_data": ("No data", "gray", ":material/block:"),
}
FIELD_LABELS = {"name": "Name", "email": "Email", "phone": "Phone", "address": "Address"}
SCORE_COLUMN = st.column_config.ProgressColumn(
    "Score", min_value=0, max_value=100, format="%d", help="0-100; empty when a side has no data"
)


def stored_notice(report: OwnershipReport, *, now: int) -> bool:
    """Above a report drawn from the store (Stripe could not be read): the failed read's
    sentence, that this is the stored check and how old it is, and Try again (True when
    clicked). Nothing for a report read from Stripe."""
    if report.stored is None:
        return False
    return stored_copy_notice(report.stored, now=now, key="own_read_again")


def verdict_block(report: OwnershipReport) -> None:
    label, colour, icon = VERDICT_STYLE.get(report.verdict, VERDICT_STYLE["no_data"])
    left, mid, right = st.columns([2, 1, 1], vertical_alignment="center")
    with left:
        st.badge(label, color=colour, icon=icon)  # type: ignore[arg-type]
    mid.metric("Overall score", f"{report.score}/100" if report.verdict != "no_data" else "—")
    right.metric("Owners", report.owner_count, help="Joint account" if report.joint else None)
    show = {"match": st.success, "partial": st.warning, "mismatch": st.error}.get(
        report.verdict, st.info
    )
    show(report.reason, icon=icon)


def fields_frame(report: OwnershipReport) -> pd.DataFrame:
    values = report.pii_visible and report.stored is None  # the values are never stored
    rows: dict[str, list[Any]] = {"Field": [], "Score": [], "Why": []}
    if values:
        rows["Customer record"] = []
        rows["Bank"] = []
    for f in report.fields:
        rows["Field"].append(FIELD_LABELS.get(f.field, f.field))
        rows["Score"].append(f.score)
        rows["Why"].append(f.detail)
        if values:
            rows["Customer record"].append(f.customer_value or "—")
            rows["Bank"].append(f.owner_value or "—")
    return pd.DataFrame(rows)


def owners_frame(report: OwnershipReport) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Name": [o.name or "—" for o in report.owners],
            "Email": [o.email or "—" for o in report.owners],
            "Phone": [o.phone or "—" for o in report.owners],
            "Address": [o.raw_address or "—" for o in report.owners],
            "Score": [o.score for o in report.owners],
            "Refreshed": [utc_time(o.refreshed_at) for o in report.owners],
        }
    )


def scores_and_owners(report: OwnershipReport) -> None:
    """The per-field scores, then the owners the bank reports (not in a stored check: owners'
    personal data is never stored, and the page says so)."""
    if report.fields:
        st.markdown("**Per-field scores**")
        table(fields_frame(report), {"Score": SCORE_COLUMN})
    st.markdown("**Owners reported by the bank**")
    if report.stored is not None and report.owner_count:  # the stored check counted some
        st.caption(STORED_OWNERS)
        return
    if not report.owners:
        st.caption("The bank has reported no owners for this account.")
        return
    if not report.pii_visible:
        st.caption("Owners' names and contact details are personal data, shown to ops and admin.")
    table(owners_frame(report), {"Score": SCORE_COLUMN, "Refreshed": time_column("Refreshed (UTC)")})


def table(frame: pd.DataFrame, columns: dict[str, Any]) -> None:
    """One of the report's tables: the whole width, no index, "—" for what is missing."""
    st.dataframe(frame, hide_index=True, placeholder="—", width="stretch", column_config=columns)
