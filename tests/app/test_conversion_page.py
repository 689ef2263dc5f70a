"""Conversion page: auto-sync, metric cards, charts, filters, re-sync counting a new intent, CSV."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.usecases import collect_customers, collection_requests, conversion_report
from tests.app.conftest import (
    PAGE_WIDTH,
    column_config,
    filter_box,
    jobs_settled,
    no_exceptions,
    open_page,
    refused,
    shown_cells,
    shown_widths,
    texts,
    webhooks_settled,
)
from tests.app.conftest import shared_app as app

PAGE = "pages/conversion.py"
OPS = Actor(username="ops", role="ops", name="Ops")


pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def charts(at: AppTest) -> list[Any]:
    return [*at.get("arrow_vega_lite_chart"), *at.get("vega_lite_chart")]


def conversion_label(at: AppTest, method: str) -> str | None:
    for m in at.metric:
        if m.label == f"Conversion · {method}":
            return str(m.value)
    return None


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_the_page_syncs_an_empty_store_and_shows_cards_charts_and_table(role: str) -> None:
    at = open_page(PAGE, role)
    no_exceptions(at)
    jobs_settled(at)  # the first visit's sync runs as a background job
    no_exceptions(at)
    assert conversion_report.store_info(app().engine).intents > 0
    assert conversion_label(at, "automatic") is not None
    assert len(charts(at)) >= 3  # funnels, conversion over time, fallback share
    assert at.dataframe and "Linked" in at.dataframe[0].value.columns
    assert len(at.get("download_button")) == 3
    # A download click must not rerun the page: the rerun dropped the other buttons' files, so a
    # second quick download failed (tests/browser/test_quick_downloads.py clicks two).
    assert all(button.proto.ignore_rerun for button in at.get("download_button"))


@pytest.mark.parametrize("role", ["ops", "finance"])
def test_other_roles_cannot_reach_the_page_or_its_data(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.metric and not direct.dataframe


def test_filtering_by_method_shows_only_that_method() -> None:
    at = open_page(PAGE, "manager")
    filter_box(at, "multiselect", "conv_methods").set_value(["microdeposits"]).run()
    no_exceptions(at)
    assert conversion_label(at, "microdeposits") is not None
    assert conversion_label(at, "automatic") is None
    assert list(at.dataframe[0].value["Method"]) == ["microdeposits"]


def test_a_date_range_without_intents_says_so() -> None:
    at = open_page(PAGE, "manager")
    today = datetime.now(UTC).date()
    filter_box(at, "date_input", "conv_dates").set_value(
        (today + timedelta(days=1), today + timedelta(days=1))
    )
    at.run()
    no_exceptions(at)
    assert any("no intents match" in i.value for i in at.info)


def test_sync_counts_a_setup_intent_that_succeeded_since() -> None:
    at = open_page(PAGE, "manager")
    services = app().services
    email = f"conv-{secrets.token_hex(4)}@example.com"
    customer = collect_customers.create_customer(
        services, OPS, email=email, idempotency_key=email
    ).id
    intent = collection_requests.create_setup_intent(
        services, OPS, customer_id=customer, idempotency_key=f"si-{email}"
    )
    app().simulator.link_bank(intent.id, institution="Test Institution")
    before = conversion_report.conversion(app().engine, now=services.now(), flows=["setup_intent"])
    succeeded_before = int(before["succeeded"].sum())

    at.button(key="conv_sync").click().run()
    no_exceptions(at)
    assert any(s.value.startswith("Read ") for s in at.success), "the sync says what it read"
    stored = conversion_report.store_info(app().engine).intents
    assert f"{stored} intents stored" in texts(at), "the counts are drawn after the sync"

    after = conversion_report.conversion(app().engine, now=services.now(), flows=["setup_intent"])
    assert int(after["succeeded"].sum()) == succeeded_before + 1
    filter_box(at, "multiselect", "conv_flows").set_value(["setup_intent"]).run()
    table = at.dataframe[0].value.set_index("Method")
    assert int(table["Usable"].sum()) == succeeded_before + 1
    assert pd.api.types.is_float_dtype(table["To usable"])  # hours, sorts as numbers


def test_cached_figures_follow_an_intent_a_webhook_stored_without_a_sync() -> None:
    """The figures are cached on the intents' data version: a rerun with nothing changed reuses
    them, and an intent stored by any writer (here the webhook path) shows on the next rerun."""
    from services.usecases.sync_intents import store_intent

    at = open_page(PAGE, "manager")
    filter_box(at, "multiselect", "conv_flows").set_value(["setup_intent"]).run()
    started = int(at.dataframe[0].value["Started"].sum())
    at.run()
    assert int(at.dataframe[0].value["Started"].sum()) == started

    now = app().services.now()
    store_intent(
        app().engine,
        {
            "id": f"seti_hook{secrets.token_hex(6)}",
            "object": "setup_intent",
            "created": now - 60,
            "customer": "cus_hook",
            "status": "requires_payment_method",
            "payment_method_types": ["us_bank_account"],
            "payment_method_options": {"us_bank_account": {"verification_method": "automatic"}},
            "metadata": {"fcops_flow": "setup_intent"},
        },
    )
    at.run()
    no_exceptions(at)
    assert int(at.dataframe[0].value["Started"].sum()) == started + 1


def test_the_route_chart_on_the_page_has_a_labelled_bar_for_every_started_method() -> None:
    import json

    at = open_page(PAGE, "manager")
    no_exceptions(at)
    started = at.dataframe[0].value.set_index("Method")["Started"]
    specs = [json.loads(c.proto.spec) for c in charts(at)]
    titles = [s.get("title") for s in specs]
    texts_ = [t.get("text") if isinstance(t, dict) else t for t in titles]
    route = specs[texts_.index("How customers gave their bank account")]
    expected = [m for m in ("automatic", "instant", "microdeposits") if started.get(m, 0) > 0]
    assert route["encoding"]["y"]["sort"] == expected
    assert route["encoding"]["y"]["axis"]["labelOverlap"] is False


def test_intents_paid_by_card_or_link_are_shown_apart_from_the_bank_routes() -> None:
    """Dynamic payment methods (B2): the demo world has offers paid by card or Link."""
    at = open_page(PAGE, "manager")
    at.button(key="conv_sync").click().run()
    no_exceptions(at)
    table = at.dataframe[0].value
    assert "Card/Link" in table.columns
    outcomes = conversion_report.outcomes(app().engine, now=app().services.now())
    paid_other = outcomes[outcomes["stage"] == "other_method"]
    assert len(paid_other) > 0
    assert int(table["Card/Link"].sum()) == len(paid_other)
    assert not paid_other["verified"].any() and set(paid_other["path"]) == {"other"}
    assert "Card/Link (paid by another method): the intent also offered card or Link" in texts(at)
    assert any("paid by another method (card or Link, not counted)" in c.value for c in at.caption)


def test_card_and_link_payers_are_out_of_the_rate_as_the_footnote_says() -> None:
    """The card, the table, the CSV and the footnote agree: an intent paid by card or Link did
    not fail bank verification, so it is neither usable nor ended (it used to be in "ended",
    which pulled the Automatic card down while the footnote said "only as started")."""
    import csv
    import io

    at = open_page(PAGE, "manager")
    at.button(key="conv_sync").click().run()
    no_exceptions(at)
    # The page and the CSV below read the same store and the same days: the sync just started
    # and earlier tests' webhook events end first, and the CSV is asked for the page's "Created
    # between" range (Payment lookup's tests leave a debit made 200 days ago, outside the page's
    # default range: 51 ended in an unfiltered CSV against 50 on the page).
    webhooks_settled()
    jobs_settled(at)
    no_exceptions(at)
    start, end = at.date_input[0].value
    table = at.dataframe[0].value.set_index("Method")
    paid = table.loc[table["Card/Link"] > 0]
    assert len(paid) > 0  # the demo world has card and Link payers
    csv_rows = {
        r["verification_method"]: r
        for r in csv.DictReader(
            io.StringIO(
                conversion_report.figures_csv(
                    app().services, Actor("manager", "manager", "M"), "funnel",
                    now=app().services.now(), start=start, end=end,
                )
            )
        )
    }
    captions = [c.value for c in at.caption]
    for method, row in paid.iterrows():
        usable, other = int(row["Usable"]), int(row["Card/Link"])
        ended = int(row["Started"]) - int(row["Pending"]) - other
        assert int(row["Ended"]) == ended, method
        assert float(row["Conversion"]) == pytest.approx(100 * usable / ended)
        assert conversion_label(at, str(method)) == f"{100 * usable / ended:.0f} %"
        assert any(
            f"{usable:,} usable of {ended:,} ended" in c
            and f"{other:,} paid by another method (card or Link, not counted)" in c
            for c in captions
        ), method
        assert int(csv_rows[str(method)]["ended"]) == ended
        assert float(csv_rows[str(method)]["conversion_rate"]) == pytest.approx(usable / ended)
    assert "neither as usable nor as ended (it is out of the rate)" in texts(at)


def test_the_table_says_the_median_time_to_usable_as_the_cards_do_and_sorts_by_length() -> None:
    """The card said "median time to usable 2 min" and the table "0.0 h" (read as instant)."""
    import re

    at = open_page(PAGE, "manager")
    jobs_settled(at)
    at.run()
    no_exceptions(at)
    table = at.dataframe[0].value
    cells = shown_cells(at.dataframe[0])
    seconds = table["To usable"]
    assert pd.api.types.is_float_dtype(seconds)  # a number: a header click sorts by length
    said = dict(zip(table["Method"], cells["To usable"], strict=True))
    cards = {}
    for caption in (c.value for c in at.caption):
        found = re.search(r"started with (\w+) · .*median time to usable ([^·]+?)(?: ·|$)", caption)
        if found is None:
            continue
        cards[found[1]] = found[2]
    checked = 0
    for method, card in cards.items():
        if method in said:
            assert said[method] == card, (method, said[method], card)
            checked += 1
    assert checked, (cards, said)
    assert not any(str(v).endswith(" h") and "." in str(v) for v in said.values())


def test_the_figures_table_fits_the_page_at_1400_px_and_writes_counts_as_the_cards_do() -> None:
    """Seen in Chromium at 2,000 customers: the table ran past the page's right edge (the Usable
    column read "215" for 2,155) and wrote 3032 where the cards wrote 3,032. Every shown column
    has a width, they add up to no more than the page at 1,400 px (measured after: the grid's
    scroll width = its width), and every count is written with thousands separators."""
    at = open_page(PAGE, "manager")
    jobs_settled(at)
    at.run()
    no_exceptions(at)
    widths = shown_widths(at.dataframe[0])
    assert all(isinstance(w, int) for w in widths.values()), widths
    assert sum(widths.values()) <= PAGE_WIDTH, widths
    config = column_config(at.dataframe[0])
    counts = [name for name in widths if name not in ("Method", "Conversion", "Fallback", "To usable")]
    assert len(counts) == 11
    assert all(config[name]["type_config"]["format"] == "localized" for name in counts), config


def test_microdeposits_only_is_not_said_to_fall_back_to_manual_entry() -> None:
    """Microdeposits only offers nothing but manual entry: its card said "manual fallback 82 %",
    as if the rest had linked through Financial Connections; it says "manual entry" instead."""
    at = open_page(PAGE, "manager")
    jobs_settled(at)
    no_exceptions(at)
    cards = {method: next(c.value for c in at.caption if f"started with {method} ·" in c.value)
             for method in ("automatic", "microdeposits")}  # fmt: skip
    assert "manual entry" in cards["microdeposits"] and "fallback" not in cards["microdeposits"]
    assert "manual fallback" in cards["automatic"]  # there manual entry is the fallback
