"""The Conversion page's filters: widgets whose values travel in the URL (data in, widgets out).

``?flow=setup_intent&method=microdeposits&from=2026-09-01&to=2026-11-30`` sets the boxes when the
page is opened (a link, a reload, a new tab, Back), and a manager's change goes into the URL, so
Back, a reload or a shared link shows the same view. ``flow`` and ``method`` may repeat (or hold
names separated by commas); ``from`` and ``to`` are days as YYYY-MM-DD. Each absent parameter
means the default: every flow, every method, the last 90 days.

As on Accounts (``components.account_filters``) the URL is the one source of truth: each box is
keyed by the URL's value and starts from it, so a browser that resets its widgets late (after a
sign-in) resets them to the link's view; the URL is written only when the manager changed a box
(each write is one browser history entry), never on a plain rerun, and a link's value that is
not understood stays in the URL, warned about and ignored, until the manager changes a filter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.literal import literal
from services.rules.flow_config import FLOW_TITLES, FLOWS
from services.rules.intent_fields import UNKNOWN_FLOW

PARAMS = ("flow", "method", "from", "to")
DEFAULT_DAYS = 90
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ConversionFilters:
    """What the page shows: flows and methods chosen (none: all) and the creation days."""

    flows: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None

    def key(self) -> str:
        """The boxes' key suffix: a new URL draws boxes that start from it."""
        return f"{','.join(self.flows)}|{','.join(self.methods)}|{self.start}|{self.end}"


def default_range(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_DAYS), today


def _names(values: Sequence[str]) -> list[str]:
    return [n.strip() for v in values for n in str(v).split(",") if n.strip()]


def _known(typed: Sequence[str], known: Sequence[str], what: str, problems: list[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for name in _names(typed):
        if name not in known:
            problems.append(f"{what} {literal(name)}")
        elif name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def _last(values: Sequence[str]) -> str | None:
    return str(values[-1]) if values else None


def _day(typed: str | None, name: str, earliest: date, latest: date, problems: list[str]) -> date | None:
    if not typed:
        return None
    try:
        day = date.fromisoformat(typed) if _DAY.match(typed) else None
    except ValueError:
        day = None
    if day is None:
        problems.append(f"{name} {literal(typed, 20)} (a day as YYYY-MM-DD)")
        return None
    if not earliest <= day <= latest:
        problems.append(f"{name} {literal(typed, 20)} (a day from {earliest} to {latest})")
        return None
    return day


def wanted_filters(
    params: Mapping[str, Sequence[str]],
    *,
    flows: Sequence[str],
    methods: Sequence[str],
    today: date,
    earliest: date,
    latest: date,
) -> tuple[ConversionFilters, list[str]]:
    """The URL's filters (``params``: each name's values as typed) as the boxes show them, the
    defaults where absent or not understood, and what was not understood."""
    problems: list[str] = []
    chosen_flows = _known(params.get("flow", ()), flows, "flow", problems)
    chosen_methods = _known(params.get("method", ()), methods, "method", problems)
    first, last = default_range(today)
    typed_from = _last(params.get("from", ()))
    typed_to = _last(params.get("to", ()))
    start = _day(typed_from, "from", earliest, latest, problems)
    end = _day(typed_to, "to", earliest, latest, problems)
    if (start or first) > (end or last):
        problems.append(
            f"from {literal(typed_from or first, 20)} to {literal(typed_to or last, 20)} "
            "(the first day is after the last)"
        )
        start = end = None
    return ConversionFilters(chosen_flows, chosen_methods, start or first, end or last), problems


def url_values(chosen: ConversionFilters, today: date) -> dict[str, list[str]]:
    """The URL's parameters for ``chosen``: the defaults are left out."""
    values: dict[str, list[str]] = {"flow": list(chosen.flows), "method": list(chosen.methods)}
    if chosen.start and chosen.end and (chosen.start, chosen.end) != default_range(today):
        values["from"], values["to"] = [chosen.start.isoformat()], [chosen.end.isoformat()]
    return values


def _write(values: Mapping[str, list[str]]) -> None:
    """One write (one browser history entry): the page's parameters as ``values``, any other
    parameter kept."""
    kept = {k: st.query_params.get_all(k) for k in st.query_params if k not in PARAMS}
    st.query_params.from_dict({**kept, **{k: v for k, v in values.items() if v}})


def flow_label(flow: str) -> str:
    """A flow as the Flow box names it, in its chips and its list alike: by its title in the
    flow configuration ("Payment Element"), with or without intents; intents fcops did not make
    carry no flow, and say so. A flow the configuration does not know keeps its stored name."""
    if flow == UNKNOWN_FLOW:
        return "not made by fcops"
    return FLOW_TITLES.get(flow, flow)


NO_FLOWS_YET = "No intents made by fcops' flows yet; intents created elsewhere are 'not made by fcops'."


def flows_note(stored_flows: Sequence[str]) -> str | None:
    """Why the Flow box has nothing to compare, when the store holds no intent made by one of
    fcops' flows (only intents made elsewhere, or none); None when there is a flow to pick."""
    return None if any(f != UNKNOWN_FLOW for f in stored_flows) else NO_FLOWS_YET


def filter_widgets(
    where: Sequence[DeltaGenerator],
    *,
    stored_flows: Sequence[str],
    methods: Sequence[str],
    today: date,
    earliest: date,
    latest: date,
    flow_help: str,
) -> ConversionFilters:
    """The Flow, Verification method and Created between boxes, drawn in the three columns of
    ``where``, each starting from the URL and keyed by it; the filters chosen."""
    params = {name: st.query_params.get_all(name) for name in PARAMS}
    wanted, problems = wanted_filters(
        params,
        flows=list(dict.fromkeys([*stored_flows, *FLOWS, UNKNOWN_FLOW])),
        methods=methods,
        today=today,
        earliest=earliest,
        latest=latest,
    )
    if problems:
        st.warning(
            "The link's filter was not understood, so it is ignored: " + "; ".join(problems) + ".",
            icon=":material/link_off:",
        )
    suffix = wanted.key()
    flow_col, method_col, date_col = where
    note = flows_note(stored_flows)
    flows = flow_col.multiselect(
        "Flow",
        list(dict.fromkeys([*stored_flows, *wanted.flows])) or [UNKNOWN_FLOW],
        default=list(wanted.flows),
        key=f"conv_flows:{suffix}",
        placeholder="All flows",
        format_func=flow_label,
        help=f"{flow_help} {note}" if note else flow_help,
    )
    if note:
        flow_col.caption(note)
    chosen_methods = method_col.multiselect(
        "Verification method",
        list(methods),
        default=list(wanted.methods),
        key=f"conv_methods:{suffix}",
        placeholder="All methods",
    )
    picked = date_col.date_input(
        "Created between",
        value=(wanted.start, wanted.end),
        min_value=earliest,
        max_value=latest,
        key=f"conv_dates:{suffix}",
    )
    start: date | None = None
    end: date | None = None
    if isinstance(picked, tuple):
        start = picked[0] if len(picked) > 0 else None
        end = picked[1] if len(picked) > 1 else None
    elif isinstance(picked, date):
        start = picked
    chosen = ConversionFilters(tuple(flows), tuple(chosen_methods), start, end)
    # A range being picked (one day so far) or cleared is not a view to keep: the URL keeps its
    # range until the manager picks a whole one (the figures follow the box meanwhile).
    kept = chosen if start and end else replace(chosen, start=wanted.start, end=wanted.end)
    # A manager's change (never a plain rerun): into the URL, and the boxes drawn again keyed
    # by it before the next click.
    if kept != wanted:
        _write(url_values(kept, today))
        st.rerun()
    return chosen
