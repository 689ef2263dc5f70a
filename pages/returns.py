"""Returns (finance, manager, admin): did debits come back, and how close are Nacha's limits?

Reads the debit outcomes mirrored from Stripe's PaymentIntent events (``returns.sync``); every
rate shows its counts; the debits behind each figure are one click away and export as CSV.
Finance can plan and send the retry of an R01/R09 return.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from components.money import format_money
from pages import _runtime as runtime
from services.rules import returns as rules
from services.usecases import check_review, debit_outcomes, retry_debit, returns_report

actor = runtime.guard("returns.view")
runtime.page_header(
    "Returns",
    "ACH debits that came back, by the date they were made, against Nacha's limits: unauthorized "
    "0.5 %, administrative 3 %, all returns 15 % over the last 60 days.",
)
app = runtime.get_app()
svc = app.services

CATEGORY_TITLES = {
    "unauthorized": "Unauthorized (R05, R07, R10, R11, R29, R51)",
    "administrative": "Administrative (R02, R03, R04)",
    "overall": "All returns",
}


def pct(value: float | None) -> str:
    return (
        "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2%}"
    )


# --------------------------------------------------------------------------- controls

left, mid, right = st.columns([2, 2, 1], vertical_alignment="bottom")
window = left.number_input(
    "Window (days)",
    min_value=7,
    max_value=180,
    value=60,
    step=1,
    help="Nacha measures the last 60 days.",
)
level = mid.slider(
    "Warn at this share of a limit",
    min_value=50,
    max_value=100,
    value=80,
    step=5,
    format="%d %%",
    key="returns_warning_level",
)
if right.button("Sync outcomes", icon=":material/sync:"):
    result = runtime.call(debit_outcomes.sync_outcomes, svc, actor)
    if result is not None:
        st.success(result.message)

data = runtime.call(
    returns_report.report, svc, actor, window_days=int(window), warning_level=level / 100
)
if data is None:
    st.stop()
assert data is not None
st.caption(f"Outcomes last synced {data.last_synced or 'never'} (UTC).")

for sentence in data.warnings:
    st.warning(sentence, icon=":material/warning:")

# --------------------------------------------------------------------------- rates

columns = st.columns(3)
for column, rec in zip(columns, data.rates.to_dict("records"), strict=True):
    with column.container(border=True):
        over = not math.isnan(rec["rate"]) and rec["rate"] >= rec["limit"]
        st.metric(CATEGORY_TITLES[rec["category"]], pct(rec["rate"]))
        verdict = " · :red[**over the limit**]" if over else ""
        st.caption(
            f"{rec['returns']:,} returned of {rec['debits']:,} debits · limit {rec['limit']:.1%}{verdict}"
        )
if int(data.rates["debits"].iloc[0]) == 0:
    st.info(
        "No ACH debits were made in this window, so there is no rate yet (not 0 %). "
        "Sync outcomes to read the latest from Stripe.",
        icon=":material/inbox:",
    )

# --------------------------------------------------------------------------- trend

st.subheader("Trend per week", divider="gray")
weekly = data.weekly.copy()
weekly["rate_pct"] = weekly["rate"] * 100
chart = (
    alt.Chart(weekly.dropna(subset=["rate"]))
    .mark_line(point=True)
    .encode(
        x=alt.X("week:T", title="Week debits were made"),
        y=alt.Y("rate_pct:Q", title="Return rate (%)"),
        color=alt.Color("category:N", title="Category"),
        tooltip=[
            "week:T",
            "category:N",
            "debits:Q",
            "returns:Q",
            alt.Tooltip("rate_pct:Q", format=".2f"),
        ],
    )
)
limits = pd.DataFrame(
    {"category": list(rules.LIMITS), "limit_pct": [v * 100 for v in rules.LIMITS.values()]}
)
rules_layer = (
    alt.Chart(limits).mark_rule(strokeDash=[4, 4]).encode(y="limit_pct:Q", color="category:N")
)
st.altair_chart(chart + rules_layer, use_container_width=True)
st.caption(
    "Dashed lines: Nacha's limits. Recent weeks rise as late returns (up to 60 days) arrive."
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
for name in rules.CATEGORIES:
    table[f"{name}_rate"] = table[f"{name}_rate"].map(pct)
st.dataframe(
    table.rename(
        columns={
            by: rules.BREAKDOWNS[by],
            "debits": "Debits",
            **{f"{c}_returns": f"{c.title()} returns" for c in rules.CATEGORIES},
            **{f"{c}_rate": f"{c.title()} rate" for c in rules.CATEGORIES},
        }
    ),
    hide_index=True,
    width="stretch",
)

# --------------------------------------------------------------------------- did our check work?

st.subheader("Did our check work?", divider="gray")
st.caption(
    "Each debit of the window with the last pre-debit check of its bank account in the week "
    "before it (single checks, batch rows and retry checks)."
)
review = runtime.call(check_review.review, svc, actor, window_days=int(window))
if review is not None:
    st.caption(f"{review.checked:,} of {review.debits:,} debits had a check before them.")
    st.dataframe(
        review.table.rename(columns={"verdict": "Verdict before the debit", "debits": "Debits"}),
        hide_index=True,
        width="stretch",
    )
    st.markdown(f"**R01/R09 returns an ok verdict let through: {len(review.misses):,}**")
    if len(review.misses):
        st.dataframe(review.misses, hide_index=True, width="stretch")
    kept = ", ".join(format_money(v, c) for c, v in sorted(review.kept_amounts.items()))
    st.markdown(
        f"**Kept from bouncing:** {review.kept_count:,} planned debit"
        f"{'s' if review.kept_count != 1 else ''} an insufficient verdict stopped "
        f"({kept or 'nothing'}): no debit on that account followed within a week."
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
        if review.suggestion is None and len(review.misses):
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
frame = returns_report.debits_frame(
    data.debits, category=category, by=by if group != "(any)" else None, value=group
)
st.caption(f"{len(frame):,} debit{'s' if len(frame) != 1 else ''}")
st.dataframe(frame, hide_index=True, width="stretch")
st.download_button(
    "Download CSV",
    # built (and audited as returns.export) on the click, not on every rerun
    lambda: (
        runtime.call(
            returns_report.export_csv, svc, actor, window_days=int(window), category=category
        )
        or ""
    ),
    file_name=f"returns-{(show or 'all').replace(' ', '-')}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)

# --------------------------------------------------------------------------- retry

st.subheader("Retry an R01/R09 return", divider="gray")
retryable = [d for d in data.debits if d.ret is not None and d.ret.retryable and d.id == d.original]
if not retryable:
    st.caption("No insufficient-funds returns in this window.")
else:
    choice = st.selectbox(
        "Returned debit",
        [d.id for d in retryable],
        key="returns_retry_pick",
        format_func=lambda i: next(
            f"{d.id} · {d.customer} · {d.return_code}" for d in retryable if d.id == i
        ),
    )
    view = runtime.call(retry_debit.plan, svc, actor, choice) if choice else None
    if choice and view is not None:
        p = view.plan
        if p.allowed:
            st.info(
                f"Attempt {p.attempt} of {p.of} · deadline {p.deadline} · suggested "
                f"{p.suggested} ({p.suggestion_reason}).",
                icon=":material/event:",
            )
        else:
            st.warning(p.reason, icon=":material/block:")
        if actor.can("debits.retry") and p.allowed:
            anyway = st.checkbox(
                "Send even if the fresh balance check is not ok", key="returns_anyway"
            )
            if st.button(
                "Check the balance and send the retry", type="primary", icon=":material/replay:"
            ):
                made = runtime.call(
                    retry_debit.create_retry, svc, actor, choice, proceed_without_ok=anyway
                )
                if made is not None:
                    st.success(made.message, icon=":material/check_circle:")
