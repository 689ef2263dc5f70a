"""Conversion keeps its filters in the URL (?flow=, ?method=, ?from=, ?to=): a link, a reload or
Back shows the same view; a manager's change writes the URL, a plain rerun never does; a link's
value not understood is warned about as typed and ignored. (Back and reload in a real browser:
tests/browser/test_conversion_back.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from components.conversion_filters import flow_label
from services.rules.flow_config import FLOW_TITLES, FLOWS
from tests.app.conftest import filter_box, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

PAGE = "pages/conversion.py"
NOT_FCOPS = "not made by fcops"

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def params(at: Any) -> dict[str, list[str]]:
    return {k: list(v) if isinstance(v, list) else [str(v)] for k, v in at.query_params.items()}


def opened_with(**link: str | list[str]) -> Any:
    at = open_page(PAGE, "manager")
    for name, value in link.items():
        at.query_params[name] = value
    at.run()
    no_exceptions(at)
    return at


def cards(at: Any) -> set[str]:
    return {str(m.label).removeprefix("Conversion · ") for m in at.metric}


def first_flow(at: Any) -> str:
    """The Flow box's first choice, as the URL says it (the box names each flow by its label:
    "unknown" "not made by fcops", "setup_intent" "SetupIntent")."""
    label = str(filter_box(at, "multiselect", "conv_flows").options[0])
    by_label = {flow_label(flow): flow for flow in [*FLOWS, "unknown"]}
    return by_label.get(label, label)


def today() -> date:
    return datetime.fromtimestamp(app().services.now(), UTC).date()


def test_filters_from_the_link_are_applied() -> None:
    start, end = today() - timedelta(days=200), today()
    at = opened_with(method="microdeposits", **{"from": start.isoformat(), "to": end.isoformat()})
    assert filter_box(at, "multiselect", "conv_methods").value == ["microdeposits"]
    assert filter_box(at, "date_input", "conv_dates").value == (start, end)
    assert cards(at) == {"microdeposits"}
    assert list(at.dataframe[0].value["Method"]) == ["microdeposits"]
    assert not at.warning
    at.run()  # a plain rerun: the same view, the URL untouched
    assert filter_box(at, "multiselect", "conv_methods").value == ["microdeposits"]
    assert params(at)["method"] == ["microdeposits"] and params(at)["from"] == [str(start)]


def test_repeated_or_comma_separated_methods_both_choose_several() -> None:
    at = opened_with(method=["microdeposits", "instant"])
    assert filter_box(at, "multiselect", "conv_methods").value == ["microdeposits", "instant"]
    at = opened_with(method="instant,automatic", flow="setup_intent")
    assert filter_box(at, "multiselect", "conv_methods").value == ["instant", "automatic"]
    assert filter_box(at, "multiselect", "conv_flows").value == ["setup_intent"]


def test_changing_a_filter_writes_it_to_the_url_and_clearing_it_removes_it() -> None:
    at = open_page(PAGE, "manager")
    assert not {"method", "flow", "from", "to"} & set(params(at))  # defaults: nothing written
    filter_box(at, "multiselect", "conv_methods").set_value(["microdeposits"]).run()
    no_exceptions(at)
    assert params(at)["method"] == ["microdeposits"]
    assert cards(at) == {"microdeposits"}
    flow = first_flow(at)  # one the store holds
    filter_box(at, "multiselect", "conv_flows").set_value([flow]).run()
    assert params(at)["flow"] == [flow] and params(at)["method"] == ["microdeposits"]
    start, end = today() - timedelta(days=30), today() - timedelta(days=1)
    filter_box(at, "date_input", "conv_dates").set_value((start, end)).run()
    assert params(at)["from"] == [str(start)] and params(at)["to"] == [str(end)]
    # Back to the defaults: a URL without the parameter means the default.
    filter_box(at, "multiselect", "conv_methods").set_value([]).run()
    filter_box(at, "date_input", "conv_dates").set_value(
        (today() - timedelta(days=90), today())
    ).run()
    no_exceptions(at)
    assert not {"method", "from", "to"} & set(params(at))
    assert params(at)["flow"] == [flow]


def test_a_url_losing_its_parameter_shows_the_default_again() -> None:
    """Back from ?method=microdeposits to /conversion: every method again."""
    at = opened_with(method="microdeposits")
    assert cards(at) == {"microdeposits"}
    del at.query_params["method"]
    at.run()
    no_exceptions(at)
    assert filter_box(at, "multiselect", "conv_methods").value == []
    assert len(cards(at)) > 1


def test_a_bad_value_is_warned_about_as_typed_and_ignored() -> None:
    at = opened_with(method=["microdeposits", "carrier_pigeon"], **{"from": "2026-13-45"})
    warning = " ".join(w.value for w in at.warning)
    assert "`carrier_pigeon`" in warning and "`2026-13-45`" in warning, warning
    assert "YYYY-MM-DD" in warning
    # The understood part is kept; the rest falls back to its default.
    assert filter_box(at, "multiselect", "conv_methods").value == ["microdeposits"]
    assert filter_box(at, "date_input", "conv_dates").value == (
        today() - timedelta(days=90),
        today(),
    )
    # Not written on arrival nor on a plain rerun: the link stays as given (and warned about).
    at.run()
    assert params(at)["method"] == ["microdeposits", "carrier_pigeon"]
    assert "carrier_pigeon" in " ".join(w.value for w in at.warning)
    # The manager's next change writes the view on screen, and the warning goes.
    flow = first_flow(at)
    filter_box(at, "multiselect", "conv_flows").set_value([flow]).run()
    assert params(at)["flow"] == [flow]
    assert params(at)["method"] == ["microdeposits"] and "from" not in params(at)
    assert not at.warning


def test_a_garbage_value_is_quoted_printable_escaped_and_cut() -> None:
    """The notice quoted the link's value raw: "flow ��" (bytes that did not decode), a NUL or
    a terminal colour code drawn as they came, a long value cut without a word of it."""
    at = opened_with(flow="\ufffd\ufffd", method=["x\x00\x1b[31m", "y" * 100])
    warning = " ".join(w.value for w in at.warning)
    assert "flow `\\ufffd\\ufffd`" in warning, warning
    assert "method `x\\x00\\x1b[31m`" in warning, warning
    assert f"method `{'y' * 40}…`" in warning, warning
    assert not any(c in warning for c in "\ufffd\x00\x1b"), warning


def test_a_link_cannot_draw_markdown_or_choose_impossible_days() -> None:
    at = opened_with(
        method="[Sign in again](https://evil.example)",
        **{"from": "2001-01-01", "to": "2099-01-01"},
    )
    warning = " ".join(w.value for w in at.warning)
    assert "`[Sign in again](https://evil.example)`" in warning  # a code span, not a link
    assert "a day from" in warning
    assert filter_box(at, "multiselect", "conv_methods").value == []
    at = opened_with(**{"from": str(today()), "to": str(today() - timedelta(days=5))})
    assert "the first day is after the last" in texts(at)
    assert filter_box(at, "date_input", "conv_dates").value == (
        today() - timedelta(days=90),
        today(),
    )


def test_intents_made_outside_fcops_are_named_so_in_the_flow_box() -> None:
    at = opened_with(flow="unknown")
    box = filter_box(at, "multiselect", "conv_flows")
    assert box.value == ["unknown"]  # the link's value, kept in the URL
    assert NOT_FCOPS in box.options and "unknown" not in box.options
    assert params(at)["flow"] == ["unknown"]


@pytest.mark.parametrize("flow", ["payment_element", "setup_intent"])
def test_a_flow_from_the_link_reads_by_its_label_in_the_chip_as_in_the_list(flow: str) -> None:
    """?flow=payment_element showed the code name in the chip while the list named flows by
    label ("not made by fcops"); a configured flow with no intents reads by its label too."""
    at = opened_with(flow=flow)
    box = filter_box(at, "multiselect", "conv_flows")
    assert box.value == [flow]  # the URL keeps the code
    assert FLOW_TITLES[flow] in box.options and flow not in box.options
    assert not at.warning
    assert params(at)["flow"] == [flow]
