"""Audit log (admin): every state-changing action, filterable, paged, exportable as CSV."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from components.audit_params import readable
from components.literal import literal
from components.table_columns import time_column
from components.url_sort import url_sort
from pages import _audit_entry as entry_link
from pages import _person as person
from pages import _runtime as runtime
from services.rules import wording
from services.rules.table_values import utc_time
from services.usecases import export_audit
from services.usecases.export_audit import (
    AUDIT_SORTS,
    DEFAULT_AUDIT_SORT,
    OUTCOMES,
    AuditFilters,
    as_row,
)

actor = runtime.guard("audit.view")
runtime.page_header(
    "Audit log",
    "Every state-changing action: refreshes, collection requests, cancellations, configuration and "
    "user changes, syncs. Who did it, as which role, when, on what, and how it ended.",
)
svc = runtime.get_app().services
PAGE_SIZES = (25, 50, 100, 250)
OUTCOME_CHOICES = {"": "Any outcome", **{name: name for name in OUTCOMES}}
OUTCOME_HELP = (
    "unknown: Stripe did not confirm a change (a server error or no answer), so it may have "
    "happened; its message says where to see whether it did (for a new request, the "
    "collect.lookup entry after it says what fcops found at Stripe)."
)


def day_bounds(picked: object) -> tuple[datetime | None, datetime | None]:
    """A date or (start, end) range from ``st.date_input`` → inclusive UTC datetimes."""
    days = [
        d
        for d in (picked if isinstance(picked, tuple | list) else (picked,))
        if isinstance(d, date)
    ]
    if not days:
        return None, None
    start, end = days[0], days[-1]
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = (
        datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1) - timedelta(microseconds=1)
    )
    return since, until


FILTER_KEYS = ("audit_actions", "audit_actor", "audit_outcome", "audit_target", "audit_dates")
# The filters travel in the address (?actor=ops&action=collect.create,collect.cancel&outcome=error
# &target=cus_…&from=2026-11-01&to=2026-11-30), so a link, a reload or Back shows the same log.
ADDRESS = ("actor", "action", "outcome", "target", "from", "to")
SEEN = "audit_address"  # the filters last read from or written to the address


def default_days(today: date) -> tuple[date, date]:
    return today - timedelta(days=30), today


def a_day(typed: str, name: str, problems: list[str]) -> date | None:
    try:
        day = date.fromisoformat(typed) if len(typed) == 10 else None
    except ValueError:
        day = None
    if day is None:
        problems.append(f"{name} {literal(typed, 20)} (a day as YYYY-MM-DD)")
    return day


def from_address(known: list[str], today: date) -> None:
    """The address's filters into the boxes when it changed since this session last read or
    wrote it (a link, a reload, Back or Forward); what is not understood is warned about and
    left out (the address then follows the boxes)."""
    changed, _ = runtime.address_choice(SEEN, ADDRESS)
    if not changed:
        return
    said = {name: str(st.query_params.get(name) or "")[:200] for name in ADDRESS}
    problems: list[str] = []
    actions = [a.strip() for a in said["action"].split(",") if a.strip()]
    problems += [f"action {literal(a)}" for a in actions if a not in known]
    if said["outcome"] and said["outcome"] not in OUTCOME_CHOICES:
        known_outcomes = f"{', '.join(OUTCOMES[:-1])} or {OUTCOMES[-1]}"
        problems.append(f"outcome {literal(said['outcome'])} ({known_outcomes})")
    start, end = default_days(today)
    first = a_day(said["from"], "from", problems) if said["from"] else None
    last = a_day(said["to"], "to", problems) if said["to"] else None
    st.session_state.update(
        audit_actor=said["actor"].strip(),
        audit_target=said["target"].strip(),
        audit_actions=[a for a in dict.fromkeys(actions) if a in known],
        audit_outcome=said["outcome"] if said["outcome"] in OUTCOME_CHOICES else "",
        audit_dates=(first or start, last or max(first or end, end)),
    )
    st.session_state.pop("audit_page", None)
    if problems:
        runtime.linger("audit_link", "The link's filter was not understood, so it is ignored: "
                       + "; ".join(problems) + ".")  # fmt: skip


def to_address(filters: AuditFilters, picked: object, today: date) -> None:
    """Keep the address in step with the boxes when the person changed one (one browser history
    entry); a plain rerun writes nothing. The last 30 days, the default, stay out of it."""
    days = [d for d in (picked if isinstance(picked, tuple | list) else (picked,)) if d]
    shown = tuple(str(d) for d in (days[0], days[-1])) if days else ("", "")
    values = (
        filters.actor_name or "",
        ",".join(filters.actions),
        filters.outcome or "",
        filters.target or "",
        *(("", "") if shown == tuple(map(str, default_days(today))) else shown),
    )
    if values != runtime.seen_values(SEEN, len(ADDRESS)):
        runtime.keep_choice_in_address(SEEN, ADDRESS, values)


def clear_filters() -> None:
    """Back to every entry of the last 30 days (a callback, so widgets can still be reset)."""
    for key in (*FILTER_KEYS, "audit_page"):
        st.session_state.pop(key, None)


def active_filters(filters: AuditFilters) -> str:
    parts = []
    if filters.actions:
        parts.append("action " + " or ".join(filters.actions))
    if filters.actor_name:
        parts.append(f"actor {literal(filters.actor_name, 60)}")  # a link's text: shown as typed
    if filters.outcome:
        parts.append(f"outcome {filters.outcome}")
    if filters.target:
        parts.append(f"target containing {literal(filters.target, 60)}")
    if filters.since and filters.until:
        parts.append(f"{filters.since:%Y-%m-%d} to {filters.until:%Y-%m-%d}")
    return ", ".join(parts)


def sort_control(column: object) -> str:
    """The log's order, in the URL (?sort=actor); the service sorts every match in SQL."""
    sort = url_sort(
        column, sorts=AUDIT_SORTS, default=DEFAULT_AUDIT_SORT, key="audit_sort", noun="log"
    )
    if st.session_state.get("audit_page_sort") != sort:  # a new order starts at page 1
        st.session_state["audit_page_sort"] = sort
        st.session_state.pop("audit_page", None)
    return sort


def entry_detail(row: dict[str, str]) -> None:
    """A picked entry in full below the table (as Stripe's request log shows one): every field
    the columns cut (target, message, Stripe's request ID, parameters), the parameters in words
    and as JSON, and the idempotency key the table does not show."""
    with st.container(border=True, key="audit_entry"):
        st.markdown(f"**{row['action']}** · {row['outcome']} · {row['time']}")
        facts = [
            f"{name}: {literal(row[key], 300)}"
            for name, key in (("Target", "target"), ("Stripe request ID", "stripe_request_id"),
                              ("Idempotency key", "idempotency_key"))
            if row[key]
        ]  # fmt: skip
        st.markdown("  \n".join([*facts, f"By: {literal(row['actor'])} as {row['role']}"]))
        if row["message"]:
            st.text(row["message"])  # text: two $ would be read as math, an email as a link
        params = json.loads(row["params"])
        if words := readable(params):
            st.text("In words: " + " · ".join(words))
        st.json(params)


PICKED = "audit_picked"  # the row last picked: (its place in the table, the entry)


def kept_pick(place: int, rows: list[dict[str, str]]) -> dict[str, str]:
    """The entry picked: the table picks by place, so when new entries came in above it (another
    admin's action) the tick's place holds another entry, and the detail showed that one. The
    entry picked stays while the table still lists it elsewhere, and the page says so."""
    kept = st.session_state.get(PICKED)
    if kept is not None and kept[0] == place and kept[1] != rows[place] and kept[1] in rows:
        moved = rows.index(kept[1]) + 1
        st.caption(f"New entries came in above the entry you picked: it is now row {moved}, "
                   "below the row ticked. Pick a row to read another entry.")  # fmt: skip
        return dict(kept[1])
    st.session_state[PICKED] = (place, rows[place])
    return rows[place]


known_actions = runtime.call(export_audit.actions, svc, actor) or []
today = datetime.now(UTC).date()
from_address(known_actions, today)
runtime.lingering("audit_link")
entry_link.follow_address(svc, actor)
with st.container(border=True):
    first, second, third = st.columns(3)
    actions = first.multiselect(
        "Action",
        known_actions,
        key="audit_actions",
        placeholder="Any action",
    )
    actor_name = second.text_input(
        "Actor (username)", key="audit_actor", help="Any part of the username, in any case."
    ).strip()
    outcome = third.selectbox(
        "Outcome", list(OUTCOME_CHOICES), format_func=OUTCOME_CHOICES.__getitem__,
        key="audit_outcome", help=OUTCOME_HELP,
    )
    fourth, fifth, sixth = st.columns(3)
    target = fourth.text_input(
        "Target contains", key="audit_target", placeholder="cus_…, fca_…, flow:…"
    ).strip()
    picked = fifth.date_input("Dates (UTC)", value=default_days(today), key="audit_dates")
    page_size = sixth.selectbox("Rows per page", PAGE_SIZES, index=1, key="audit_page_size")

since, until = day_bounds(picked)
filters = AuditFilters(
    actions=tuple(actions),
    actor_name=actor_name or None,
    target=target or None,
    outcome=outcome or None,
    since=since,
    until=until,
)
to_address(filters, picked, today)
size = int(page_size or 50)
counted = runtime.call(export_audit.browse, svc, actor, filters, limit=1)
if counted is None:
    st.stop()
total = counted.total
pages = max(1, -(-total // size))
if total == 0:
    unfiltered = runtime.call(export_audit.browse, svc, actor, AuditFilters(), limit=1)
    everything = unfiltered.total if unfiltered is not None else 0
    if everything == 0:
        st.info(
            "Nothing has been recorded yet. Refreshes, collection requests, configuration "
            "changes and syncs appear here as soon as someone makes one.",
            icon=":material/history:",
        )
        st.stop()
    st.info(
        f"No audit entries match these filters ({active_filters(filters)}). The log holds "
        f"{wording.counted(everything, 'entry', 'entries')} in all: widen the dates or clear a filter.",
        icon=":material/filter_alt_off:",
    )
    st.button("Clear filters", icon=":material/filter_alt_off:", on_click=clear_filters)
    st.stop()

# The row's right end stays empty: the table's toolbar, shown on hover, covers it (it covered the
# end of "Export CSV (all matching rows)").
ordering, left, right, middle, _ = st.columns([1.8, 1.2, 2.2, 2, 0.8], vertical_alignment="bottom")
sort = sort_control(ordering)
page_no = left.number_input("Page", min_value=1, max_value=pages, value=1, step=1, key="audit_page")
middle.caption(f"{wording.counted(total, 'matching entry', 'matching entries')} · page {int(page_no)} of {pages}")
right.download_button(
    "Export CSV (all matching rows)",
    data=person.on_click(export_audit.export, svc, actor, filters),
    file_name=f"fcops-audit-{today.isoformat()}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="audit_export",
)

result = runtime.call(
    export_audit.browse,
    svc,
    actor,
    filters,
    limit=size,
    offset=(int(page_no) - 1) * size,
    sort=sort,
)
if result is None:
    st.stop()
rows = [as_row(entry) for entry in result.rows]
shown = [{**row, "time": utc_time(entry.at)} for row, entry in zip(rows, result.rows, strict=True)]
picked_rows = st.dataframe(
    shown,
    hide_index=True,
    placeholder="—",
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key=entry_link.table_key(),
    column_order=[c for c in export_audit.COLUMNS if c != "idempotency_key"],
    # Widths that fit the page at 1,400 px with the row picker (it scrolled sideways by 44 px and
    # cut the target to "intents.s"); a picked row shows the whole entry below (entry_detail).
    column_config={
        "time": time_column("Time (UTC)", width=125),
        "actor": st.column_config.TextColumn("Actor", width=60),
        "role": st.column_config.TextColumn("Role", width=55),
        "action": st.column_config.TextColumn("Action", width=100),
        "target": st.column_config.TextColumn("Target", width=110),
        "outcome": st.column_config.TextColumn("Outcome", width=65),
        "message": st.column_config.TextColumn("Message", width=200),
        "stripe_request_id": st.column_config.TextColumn(
            "Stripe request", width=90, help="Stripe's request ID (req_…), for Stripe's support"
        ),
        "params": st.column_config.TextColumn(
            "Parameters", width=90, help="What the action was given; select the row to read them "
            "in full, in words and as JSON.",
        ),
    },
)
selected = list(picked_rows.selection.rows) if picked_rows else []
if selected and selected[0] < len(rows):
    row = kept_pick(selected[0], rows)
    entry_link.ticked(result.rows[rows.index(row)].id)
    entry_detail(row)
elif linked := entry_link.linked():
    st.session_state.pop(PICKED, None)
    st.caption(f"Entry {linked['id']}, which the address names (the table may not list it: "
               "its filters and pages are the table's own). Pick a row to read another.")
    entry_detail(linked)
else:
    st.session_state.pop(PICKED, None)
    st.caption("Select a row to read the whole entry: its target, message and parameters.")
st.caption(
    "Parameters never contain secrets: keys, passwords and client secrets are redacted when written."
)
