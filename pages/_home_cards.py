"""Home's cards: a figure with what it means and links to the page that acts on it, and the
sections of store figures built from them (operations, finance, returns). ``openable``: the
pages the signed-in role may open (a link to any other would fail), from home.py's run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import streamlit as st

from components.feedback import format_age
from components.money import format_money
from components.navigation import PageSpec
from services.rules import wording
from services.rules.chart_data import NO_DATA
from services.rules.returns import rate_text
from services.usecases import overview as ov

Openable = Mapping[str, PageSpec]


def link(openable: Openable, file: str, label: str | None = None) -> None:
    """A link to ``file`` if this role may open it (a page outside the navigation would fail)."""
    spec = openable.get(file)
    if spec is not None:
        st.page_link(spec.file, label=label or spec.title, icon=spec.icon)


def filtered_link(openable: Openable, query: str, label: str) -> None:
    """A link to the Accounts list already filtered, opened in this tab (a new tab would be a
    new session: signed in again from the cookie, but with nothing of this one)."""
    if "pages/accounts.py" in openable:
        st.page_link(
            "pages/accounts.py",
            label=label,
            icon=":material/filter_list:",
            query_params=dict(parse_qsl(query)),
        )


def card(
    openable: Openable,
    column: Any,
    label: str,
    value: str | int,
    caption: str,
    file: str | None,
    link_label: str,
    *,
    filters: Sequence[tuple[str, str]] = (),
    query: dict[str, str] | None = None,
) -> None:
    """A figure with what it means and a link to ``file`` (with ``query``: that page's address
    parameters); ``filters`` (query, label) link to the matching accounts."""
    with column.container(border=True, height="stretch"):
        st.metric(label, f"{value:,}" if isinstance(value, int) else value)
        st.caption(caption)
        if file is not None and query is not None and file in openable:
            st.page_link(file, label=link_label, icon=openable[file].icon, query_params=query)
        elif file is not None:
            link(openable, file, link_label)
        for query_text, text in filters:
            filtered_link(openable, query_text, text)


def ops_cards(openable: Openable, data: ov.OpsOverview) -> None:
    st.subheader("Operations", divider="gray")
    c1, c5, c2 = st.columns(3)
    c3, c4, _ = st.columns(3)
    card(
        openable,
        c1,
        "Inactive or disconnected",
        data.inactive + data.disconnected,
        f"{data.inactive:,} inactive · {data.disconnected:,} disconnected. Stripe can no longer "
        "refresh their data; what was read stays readable and their payment methods stay "
        "usable. Ask the customers to link them again.",
        "pages/accounts.py",
        "Open accounts",
        filters=[("status=inactive", "Inactive accounts"), ("status=disconnected", "Disconnected")],
    )
    soonest = (
        f" The first is due by {wording.day(data.relink_soonest)}." if data.relink_soonest else ""
    )
    card(
        openable,
        c5,
        "Relink needed",
        data.relink_needed,
        "Active accounts Stripe expects to become inactive on a date unless the customer links "
        f"them again.{soonest}",
        "pages/accounts.py",
        "Open accounts",
        filters=[("relink=needed", "Accounts to relink")],
    )
    card(
        openable,
        c2,
        "Last refresh failed",
        data.refresh_failed,
        "Accounts whose latest balance, ownership or transaction refresh failed at the bank.",
        "pages/accounts.py",
        "Open accounts",
        filters=[("refresh=failed", "Accounts whose refresh failed")],
    )
    card(
        openable,
        c3,
        "Ownership to review",
        *_review_figure(data),
        "pages/ownership.py",
        "Review ownership",
    )
    card(
        openable,
        c4,
        "Open collection requests",
        data.open_requests if data.requests_read else "—",
        "Requests of the last 30 days the customer has not finished yet (a link to complete, "
        "microdeposits to verify) or that are still processing: Collect's Open requests."
        if data.requests_read
        else "Not read from Stripe yet: Collect reads the requests on its first visit.",
        "pages/collect.py",
        "Open requests on Collect",
        query={"tab": "open"},  # Collect opens on that tab
    )


def _review_figure(data: ov.OpsOverview) -> tuple[str | int, str]:
    """The card's figure and caption: "not checked yet" is no 0, and a 0 of a few accounts
    checked says so (the coverage comes first, then the verdicts)."""
    coverage, to_review = data.ownership_coverage, data.mismatches + data.partials
    split = f" {data.mismatches:,} mismatch · {data.partials:,} partial match."
    if coverage.none_checked and not to_review:
        return "Not checked", coverage.line(to_review)
    if coverage.complete:
        return to_review, coverage.line(to_review) + split
    return f"{to_review:,} so far", coverage.line(to_review) + split


def _policy_words(data: ov.FinanceOverview) -> str:
    policy = data.policy
    parts = []
    if policy.buffer_amount:
        parts.append(format_money(policy.buffer_amount, data.policy_currency))
    if policy.buffer_percent:
        parts.append(wording.percent(policy.buffer_percent / 100, 4))
    buffer = f"Buffer {' + '.join(parts)}" if parts else "No safety buffer"
    version = f"version {data.policy_version}" if data.policy_version else "defaults, never saved"
    return f"{buffer} · {version}"


REFRESH_BOX = "Refresh stale balances"  # the checkbox on Balance check and Batch check


def _failed_words(failed: int) -> str:
    if not failed:
        return ""
    return f" The bank failed the last refresh of {failed:,} of them; a new one may fail too."


def finance_cards(openable: Openable, data: ov.FinanceOverview) -> None:
    st.subheader("Finance", divider="gray")
    max_age = format_age(data.policy.max_age_seconds)
    st.caption(
        "Balances a refresh can bring up to date: active cash accounts with balance access and "
        "no refresh running. Cards, inactive and disconnected accounts are not counted (no "
        "refresh can reach their bank until the customer links them again)."
    )
    c1, c2, c3 = st.columns(3)
    card(
        openable,
        c1,
        "Stale balances",
        data.stale_balances,
        f"Older than {max_age} (the debit policy's limit). A check marks them STALE unless "
        f"“{REFRESH_BOX}” is ticked on Balance check or Batch check (it starts unticked)."
        + _failed_words(data.stale_failed),
        "pages/balance_check.py",
        "Check a debit",
        filters=[("balance=stale", "These accounts")],
    )
    card(
        openable,
        c2,
        "Balances never fetched",
        data.never_refreshed,
        "No balance yet, so a check says UNAVAILABLE: fetch one from the account, or tick "
        f"“{REFRESH_BOX}” on Balance check or Batch check." + _failed_words(data.never_failed),
        None,
        "",
        filters=[("balance=never", "These accounts")],
    )
    card(
        openable,
        c3,
        "Debit policy",
        f"max age {max_age}",
        _policy_words(data) + ("" if "pages/policy.py" in openable else " · set by an admin"),
        "pages/policy.py",
        "Edit the policy",
    )


def returns_cards(openable: Openable, data: ov.ReturnsGlance) -> None:
    """Nacha's return rates at a glance for ops and finance; a warning when one nears its limit."""
    st.subheader("Returns, last 60 days", divider="gray")
    elsewhere = f" {data.who_acts}" if data.who_acts else ""  # ops: who can act, and where
    for sentence in data.warnings:
        st.warning(sentence + elsewhere, icon=":material/warning:")
    columns = st.columns(3)
    for column, rec in zip(columns, data.rates, strict=True):
        rate = NO_DATA if rec["rate"] is None else rate_text(rec["rate"], rec["limit"])
        card(
            openable,
            column,
            f"{rec['category'].capitalize()} return rate",
            rate,
            f"{rec['returns']:,} returned of {rec['debits']:,} debits · limit {rate_text(rec['limit'])}"
            + (
                f" · {data.recent_returns:,} came back this week"
                if rec["category"] == "overall"
                else ""
            ),
            "pages/returns.py",
            "Open returns",
        )
    if data.who_acts and not data.warnings:
        st.caption(data.who_acts)
    if data.latest_retryable and "pages/returns.py" in openable:
        st.page_link(
            "pages/returns.py",
            label=f"Plan a retry for {data.latest_retryable} (insufficient funds)",
            icon=":material/replay:",
            query_params={"retry": data.latest_retryable},
        )
