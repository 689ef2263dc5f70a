"""Returns (finance, manager, admin): did debits come back, and how close are Nacha's limits?

Reads the debit outcomes mirrored from Stripe's PaymentIntent events (``returns.sync``); every
rate shows its counts; the debits behind each figure are one click away and export as CSV.
Finance can plan and send the retry of an R01/R09 return.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from components.literal import literal
from components.money import format_money
from components.returns_charts import return_trend_chart
from components.table_columns import display_frame, duration_column, worded_durations
from pages import _follow as follow
from pages import _person as person
from pages import _returns_retry as retry_section
from pages import _runtime as runtime
from services.auth import Actor
from services.rules import returns as rules
from services.rules.chart_data import MIN_COUNT, NO_DATA
from services.rules.people import first_of
from services.usecases import (
    check_review,
    retry_picker,
    returns_report,
)

actor = runtime.guard("returns.view")
runtime.page_header(
    "Returns",
    "ACH debits that came back, by the date they were made, against Nacha's limits: unauthorized "
    "0.5 %, administrative 3 %, all returns 15 % over the last 60 days.",
)
app = runtime.get_app()
svc = app.services
follow.outcomes_first_sync(svc, actor)  # never synced: the outcome sync is a job it follows
follow.accounts_first_sync(svc, actor)  # a fresh store: the debits' customers (names) too

CATEGORY_TITLES = {
    "unauthorized": "Unauthorized (R05, R07, R10, R11, R29, R51)",
    "administrative": "Administrative (R02, R03, R04)",
    "overall": "All returns",
}


DEBIT_LABELS = {
    "name": "Name",
    "email": "Email",
    "status": "Status",
    "return_code": "Return code",
    "category": "Category",
    "verification_method": "Method",  # "Verification m…" was cut at the page's edge
    "institution": "Institution",
    "last4": "Last 4",
    "flow": "Flow",
    "customer": "Customer ID",
    "debit": "Debit",
    "original": "Original debit",
    "account": "FC account",
}
# At 1,400 px the people, the outcome and the verification method fit the page (its header was
# cut to "Verification m…"); the IDs after them scroll into view, as the CSV lists them.
DEBIT_WIDTHS = {
    "name": 180,
    "email": 216,
    "created": 115,
    "amount": 80,
    "status": 66,
    "return_code": 86,
    "category": 92,
    "verification_method": 96,
}
DEBIT_HELP = {"verification_method": "Verification method: how the bank account was verified."}


def pct(value: float | None, limit: float | None = None) -> str:
    """A share as this page writes every one (rules.rate_text: "5 %", "0.4 %"), or "No data yet"."""
    return (
        NO_DATA
        if value is None or (isinstance(value, float) and math.isnan(value))
        else rules.rate_text(value, limit)
    )


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def counted_once(debits: int, payments: int) -> str:
    """What the rates count, so they reconcile with the per-payment figures below."""
    retries = payments - debits
    return (
        "In these rates a debit and its retries count once, dated by the first attempt: "
        f"{plural(debits, 'debit')}, {plural(payments, 'payment')} sent"
        + (f" ({plural(retries, 'retry', 'retries')})" if retries > 0 else "")
        + "."
    )


# --------------------------------------------------------------------------- controls

left, mid, right = st.columns([2, 2, 1], vertical_alignment="bottom")
DAYS_SEEN, DEFAULT_DAYS = "returns_days_seen", 60  # the ?days= last read or written
RETRY_SEEN = "returns_retry_seen"  # the ?retry= last read (or taken out)


def days_from_address() -> None:
    """The address's ?days= into the box when it changed since this session last read or wrote
    it (a link, a reload, Back or Forward); none is the default 60. One it cannot take is said,
    as Accounts says a sort it does not know, and taken out of the address."""
    st.session_state.setdefault(retry_section.WINDOW, DEFAULT_DAYS)  # a retry link widens it
    moved, said = runtime.address_change(DAYS_SEEN, "days", limit=20)
    days = (said or "").strip()
    if not moved:
        return
    taken = days.isdigit() and 7 <= int(days) <= 180
    st.session_state[retry_section.WINDOW] = int(days) if taken else DEFAULT_DAYS
    if said is not None and not taken:
        runtime.keep_in_address(DAYS_SEEN, None, "days")
        runtime.linger(
            "returns_days_link",
            f"The link's window {literal(days)} was not understood (a whole number of days "
            f"from 7 to 180), so the window is {DEFAULT_DAYS} days.",
        )


def days_to_address(window: int) -> None:
    """The window the person set (the box, or a retry's "widen") into the address, one browser
    history entry, so a reload or a copied link shows it; the default 60 stays out. A plain
    rerun writes nothing (the box then says what the address says)."""
    seen = runtime.seen_values(DAYS_SEEN, 1)[0].strip()
    if window != (int(seen) if seen.isdigit() else DEFAULT_DAYS):
        runtime.keep_in_address(DAYS_SEEN, None if window == DEFAULT_DAYS else str(window), "days")


days_from_address()
runtime.lingering("returns_days_link")
window = left.number_input(
    "Window (days)",
    min_value=7,
    max_value=180,
    step=1,
    help="Nacha measures the last 60 days.",
    key=retry_section.WINDOW,
)
days_to_address(int(window))
level = mid.slider(
    "Warn at this share of a limit",
    min_value=50,
    max_value=100,
    value=80,
    step=5,
    format="%d %%",
    key="returns_warning_level",
)
syncing = follow.following(follow.OUTCOMES) is not None
if right.button("Sync outcomes", icon=":material/sync:", key="outcomes_sync", disabled=syncing):
    follow.start_outcomes_sync(actor)

# The figures and the check review compute again when a sync, webhook or check changed what
# they count (the data versions in returns_report.CacheKeys) or the minute turned (the window
# moves); the role is in each key, so a hit is only served to a role that passed the check.


@st.cache_data(max_entries=16, show_spinner=False)
def figures(outcomes: tuple[str, int], minute: int, days: int, share: float, who: Actor) -> Any:
    return returns_report.report(svc, who, window_days=days, warning_level=share)


@st.cache_data(max_entries=16, show_spinner=False)
def checked(keys: returns_report.CacheKeys, minute: int, days: int, who: Actor) -> Any:
    return check_review.review(svc, who, window_days=days)


keys = runtime.call(returns_report.cache_keys, svc, actor)
if keys is None:
    st.stop()
assert keys is not None
minute = svc.now() // 60
data = runtime.call(
    figures, (keys.store, keys.outcomes), minute, int(window), level / 100, actor
)
if data is None:
    st.stop()
assert data is not None
if data.last_synced:
    st.caption(f"Outcomes last synced {data.last_synced}.")
elif not syncing:
    st.caption("Outcomes not synced from Stripe yet: “Sync outcomes” reads them.")
if data.synced_at is not None:
    follow.sync_failed(
        "returns.sync", data.synced_at, what="debit outcome sync", key=follow.OUTCOMES,
        retry="Try “Sync outcomes” again.",
    )

for sentence in data.warnings:
    st.warning(sentence, icon=":material/warning:")

# --------------------------------------------------------------------------- rates

columns = st.columns(3)
for column, rec in zip(columns, data.rates.to_dict("records"), strict=True):
    with column.container(border=True):
        over = not math.isnan(rec["rate"]) and rec["rate"] >= rec["limit"]
        st.metric(CATEGORY_TITLES[rec["category"]], pct(rec["rate"], rec["limit"]))
        verdict = " · :red[**over the limit**]" if over else ""
        st.caption(
            f"{rec['returns']:,} returned of {rec['debits']:,} debits · limit {rules.rate_text(rec['limit'])}{verdict}"
        )
if data.debits:
    st.caption(counted_once(data.debits, data.payments))
if int(data.rates["debits"].iloc[0]) == 0:
    st.info(
        "No ACH debits were made in this window, so there is no rate yet (not 0 %). "
        + (
            "The outcomes are being read from Stripe; the figures fill in when that ends."
            if syncing
            else "Sync outcomes to read the latest from Stripe."
        ),
        icon=":material/inbox:",
    )

# --------------------------------------------------------------------------- trend

st.subheader("Trend per week", divider="gray")
st.altair_chart(return_trend_chart(data.weekly, rules.LIMITS), width="stretch")
opens = pd.Timestamp(data.weekly["week"].min()) if len(data.weekly) else None
st.caption(
    f"Dashed lines: Nacha's limits. Hollow points: weeks with fewer than {MIN_COUNT} debits, too "
    "few to judge. Recent weeks rise as late returns (up to 60 days) arrive."
    + (
        f" The first week is the window's: from {opens:%a %b %-d} to Sunday, a part week."
        if opens is not None and opens.weekday() != 0
        else ""
    )
)

# --------------------------------------------------------------------------- breakdowns

st.subheader("Breakdown", divider="gray")
by = (
    st.segmented_control(
        "By",
        list(rules.BREAKDOWNS),
        default="verification_method",
        format_func=lambda k: rules.BREAKDOWNS[k],
        key="returns_by",
    )
    or "verification_method"
)
table = data.breakdowns[by].copy()
for name in rules.CATEGORIES:  # fractions, shown as percentages by the column (sorted as numbers)
    table[f"{name}_rate"] = pd.to_numeric(table[f"{name}_rate"], errors="coerce")
RATES = [f"{c.title()} rate" for c in rules.CATEGORIES]
st.dataframe(  # the rates worded as the cards word them ("33 %", "0.4 %"), sorted as numbers
    table.rename(
        columns={
            by: rules.BREAKDOWNS[by],
            "debits": "Debits",
            **{f"{c}_returns": f"{c.title()} returns" for c in rules.CATEGORIES},
            **{f"{c}_rate": f"{c.title()} rate" for c in rules.CATEGORIES},
        }
    ).style.format(
        {f"{c.title()} rate": (lambda v, c=c: rules.rate_text(v, rules.LIMITS[c])) for c in rules.CATEGORIES}
    ),
    hide_index=True,
    placeholder="—",
    width="stretch",
    column_config={name: st.column_config.NumberColumn(name) for name in RATES},
)

# --------------------------------------------------------------------------- did our check work?

st.subheader("Did our check work?", divider="gray")
st.caption(
    "Each debit of the window with the last pre-debit check of its bank account in the week "
    "before it (single checks, batch rows and retry checks)."
)
review = runtime.call(checked, keys, minute, int(window), actor)
if review is not None:
    st.caption(
        f"{review.checked:,} of {plural(review.debits, 'payment')} sent had a check before them "
        "(each retry is a payment of its own, with its own check)."
    )
    st.dataframe(
        review.table.rename(columns={"verdict": "Verdict before the debit", "debits": "Debits"}),
        hide_index=True,
        placeholder="—",
        width="stretch",
    )
    st.markdown(f"**R01/R09 returns an ok verdict let through: {review.misses_total:,}**")
    if review.misses_total > len(review.misses):
        st.caption(f"The {len(review.misses):,} newest are listed.")
    if len(review.misses):
        misses, shown = display_frame(
            review.misses,
            money=check_review.MISS_MONEY,
            currency="Currency",
            times=check_review.MISS_TIMES,
            labels={"Made": "Made (UTC)", "Checked": "Checked (UTC)"},
        )
        shown["Balance age"] = duration_column("Balance age")
        st.dataframe(
            worded_durations(misses, ["Balance age"]), hide_index=True, placeholder="—",
            width="stretch", column_config=shown,
        )  # fmt: skip
    kept = ", ".join(format_money(v, c) for c, v in sorted(review.kept_amounts.items()))
    st.markdown(
        f"**Kept from bouncing:** {review.kept_count:,} planned debit"
        f"{'s' if review.kept_count != 1 else ''} an insufficient verdict stopped "
        f"({kept or 'nothing'}): no debit on that account followed within a week. Each planned "
        "debit counts once however often it was checked, and a verdict counts once its week has "
        "passed."
    )
    if actor.can("policy.edit"):
        if review.sentence and review.suggestion is not None:
            st.info(f"Policy suggestion: {review.sentence}", icon=":material/lightbulb:")
            suggested = review.suggestion.policy
            st.page_link(
                "pages/policy.py",
                label="Open Debit policy with this change",
                icon=":material/policy:",
                query_params={
                    "buffer_percent": f"{suggested.buffer_percent:g}",
                    "max_age_hours": f"{suggested.max_age_seconds / 3600:g}",
                },
            )
        if review.options:
            with st.expander(f"Every change that would have caught one ({len(review.options)})"):
                for option in review.options:
                    st.markdown(f"- {check_review.describe(option)}")
        if review.suggestion is None and review.misses_total:
            st.caption(
                "No buffer or maximum age would have held back more of these returns than of "
                "the debits that settled, so no policy change is suggested."
            )

# --------------------------------------------------------------------------- debits behind

st.subheader("The debits behind the figures", divider="gray")
f1, f2 = st.columns(2)
show = f1.selectbox(
    "Show",
    ["overall", "unauthorized", "administrative", "all debits"],
    format_func=lambda k: {"overall": "All returns"}.get(k, k.capitalize()),
    key="returns_show",
)
group_values = ["(any)"] + [str(v) for v in data.breakdowns[by][by]]
group = f2.selectbox(f"{rules.BREAKDOWNS[by]}", group_values, key="returns_group")
category: str | None = None if show == "all debits" else show
behind = runtime.call(
    returns_report.debits_behind,
    svc,
    actor,
    window_days=int(window),
    category=category,
    by=by if group != "(any)" else None,
    value=group,
)
if behind is None:
    st.stop()
assert behind is not None
frame = returns_report.debits_frame(behind.debits, people=behind.people)  # people: None, no names
st.caption(
    plural(behind.total, "payment")
    + (
        f", of {plural(behind.originals, 'debit')} as the rates count them (each retry is "
        "listed apart)"
        if behind.originals != behind.total
        else ""
    )
    + (f"; the {len(frame):,} newest shown (the CSV has them all)" if len(frame) < behind.total else "")
)
debits, debit_columns = display_frame(
    frame,
    money=("amount",),
    times=("created",),
    labels={"created": "Created (UTC)", "amount": "Amount"},
)
debit_columns |= {
    name: st.column_config.TextColumn(label, help=DEBIT_HELP.get(name))
    for name, label in DEBIT_LABELS.items()
}
for name, width in DEBIT_WIDTHS.items():  # the columns up to the method fit the page
    if isinstance(debit_columns.get(name), dict):
        debit_columns[name]["width"] = width
st.dataframe(
    debits,
    hide_index=True,
    placeholder="—",
    width="stretch",
    column_order=[
        *(c for c in returns_report.SHOWN_ORDER if c in debits.columns),
        *(c for c in debits.columns if c not in returns_report.SHOWN_ORDER and c != "currency"),
    ],
    column_config=debit_columns,
)
st.download_button(
    "Download CSV",
    # built (and audited as returns.export) on the click, not on every rerun
    person.on_click(returns_report.export_csv, svc, actor, window_days=int(window), category=category),
    file_name=f"returns-{(show or 'all').replace(' ', '-')}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)

st.subheader("Retry an R01/R09 return", divider="gray")
# A bounded search in SQL (issue 9): the picker holds at most retry_picker.PICKER_LIMIT.
# Home's and Payment lookup's "Plan a retry for pi_…" link: ?retry= fills the search when it
# changed since this session last read it (a link, a reload, Back or Forward).
runtime.drop_overlong_id("retry", "returns_retry_long", "find the returned debit below.")
moved, wanted = runtime.address_change(RETRY_SEEN, "retry")
if moved and wanted:
    st.session_state["returns_retry_search"] = wanted
wanted = st.query_params.get("retry")
names = actor.can("accounts.view")  # the people behind the debits: searched by name too
retry_search = st.text_input(
    "Find a returned debit",
    placeholder=("Customer name or email, bank" if names else "Bank")
    + ", last 4 digits, R01/R09, pi_… or cus_…",
    help=None if names else "Names and emails are not shown to your role, so not searched.",
    max_chars=retry_picker.SEARCH_MAX,  # what ?retry= takes: a Stripe ID, whole
    key="returns_retry_search",
)
if wanted and retry_search.strip() != wanted:  # searched for another: no longer the address's
    runtime.keep_in_address(RETRY_SEEN, None, "retry")
found = runtime.call(
    retry_picker.retry_choices, svc, actor, window_days=int(window), search=retry_search
)
if found is None:
    pass
elif not found.labels and retry_section.explain_target(svc, actor, retry_search, int(window)):
    pass  # a pi_ ID the list leaves out: why, and its plan when the rules may allow one
elif not found.labels:
    st.caption(
        "No insufficient-funds return matches the search."
        + ("" if names else " Names and emails are not searched for your role: try a bank, "
           "the last 4 digits, pi_… or cus_….")
        if retry_search.strip()
        else "No insufficient-funds returns in this window."
    )
else:
    labels = found.labels
    choice = st.selectbox(
        "Returned debit",
        list(labels),
        key="returns_retry_pick",
        index=list(labels).index(wanted) if wanted in labels else None,
        placeholder=f"Choose one of the {first_of(len(labels), found.total, 'return')}",
        format_func=lambda i: labels.get(i, i),
    )
    if choice:
        retry_section.show_plan(svc, actor, choice)
