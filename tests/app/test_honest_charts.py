"""Honest conversion figures on the page: counts with every rate, pending apart, weeks under the
minimum count flagged, and "No data yet" instead of 0 % (issue 9)."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.rules.chart_data import MIN_COUNT, NO_DATA
from services.usecases import collect_customers, collection_requests, conversion_report
from tests.app.conftest import filter_box, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app

PAGE = "pages/conversion.py"
OPS = Actor(username="ops", role="ops", name="Ops")

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def specs(at: AppTest) -> dict[str, dict[str, Any]]:
    """The page's charts by title, each spec with ``_rows``: its datasets (sent as Arrow) by name."""
    import pyarrow as pa

    out: dict[str, dict[str, Any]] = {}
    for chart in [*at.get("arrow_vega_lite_chart"), *at.get("vega_lite_chart")]:
        spec = json.loads(chart.proto.spec)
        spec["_rows"] = {
            d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas().to_dict("records")
            for d in chart.proto.datasets
        }
        title = spec.get("title")
        out[str(title.get("text") if isinstance(title, dict) else title)] = spec
    return out


def rows_of(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a chart or one of its layers draws."""
    name = (layer.get("data") or spec.get("data") or {}).get("name")
    return list(spec["_rows"][name])


def a_pending_intent() -> str:
    """A collection request the customer has not opened: pending, neither won nor lost."""
    services = app().services
    email = f"honest-{secrets.token_hex(4)}@example.com"
    customer = collect_customers.create_customer(
        services, OPS, email=email, idempotency_key=email
    ).id
    return collection_requests.create_setup_intent(
        services, OPS, customer_id=customer, idempotency_key=f"si-{email}"
    ).id


def test_an_empty_selection_says_no_data_yet_and_shows_no_rate() -> None:
    at = open_page(PAGE, "manager")
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    filter_box(at, "date_input", "conv_dates").set_value((tomorrow, tomorrow)).run()
    no_exceptions(at)
    assert any(i.value.startswith(NO_DATA) for i in at.info)
    assert not at.metric and not specs(at)
    assert "0.0 %" not in texts(at) and "0 %" not in texts(at)


def test_pending_intents_are_shown_apart_and_left_out_of_the_rate() -> None:
    a_pending_intent()
    at = open_page(PAGE, "manager")
    at.button(key="conv_sync").click().run()
    filter_box(at, "multiselect", "conv_flows").set_value(["setup_intent"]).run()
    no_exceptions(at)
    frame = conversion_report.conversion(
        app().engine, now=app().services.now(), flows=["setup_intent"]
    ).set_index("verification_method")
    auto = frame.loc["automatic"]
    assert int(auto["pending"]) >= 1
    table = at.dataframe[0].value.set_index("Method")
    # card and Link payers are out of "ended" too (they did not fail bank verification)
    ended = int(auto["started"]) - int(auto["pending"]) - int(auto["other_method"])
    assert int(table.loc["automatic", "Ended"]) == ended
    if ended:
        assert table.loc["automatic", "Conversion"] == pytest.approx(
            100 * int(auto["succeeded"]) / ended
        )
    [card] = [c.value for c in at.caption if "started with automatic" in c.value]
    assert f"{int(auto['pending']):,} pending (not counted yet)" in card
    assert f"of {ended:,} ended" in card
    # the weekly outcomes chart counts pending intents in a group of their own
    outcomes = specs(at)["Intents per week, pending apart"]
    values = rows_of(outcomes, outcomes)
    pending = sum(r["count"] for r in values if r["outcome"] == "Pending")
    assert pending == int(frame["pending"].sum())


def test_weeks_under_the_minimum_count_are_flagged_and_kept_off_the_line() -> None:
    at = open_page(PAGE, "manager")
    no_exceptions(at)
    weekly = conversion_report.report(
        app().services,
        Actor(username="manager", role="manager", name="M"),
        now=app().services.now(),
        start=datetime.now(UTC).date() - timedelta(days=90),
        end=datetime.now(UTC).date(),
    ).weekly
    ended = weekly["started"] - weekly["pending"] - weekly["other_method"]
    small = weekly[(ended > 0) & (ended < MIN_COUNT)]
    assert len(small) > 0, "the small AppTest world has weeks with few intents"
    spec = specs(at)["Conversion by week"]
    assert f"fewer than {MIN_COUNT}" in spec["title"]["subtitle"]
    layers = {
        ("line" if lay["mark"]["type"] == "line" else
         "judged" if lay["mark"].get("filled") else "small"): lay
        for lay in spec["layer"]
    }  # fmt: skip
    hollow = [r for r in rows_of(spec, layers["small"]) if not r["enough"]]
    # Hollow: a week with too few ended, or a week the date range cuts (the window's first on
    # six days of seven, and this week, which earlier tests may have filled past the minimum).
    too_few = f"n < {MIN_COUNT}: too few to judge"
    assert len([r for r in hollow if r["ended"] < MIN_COUNT]) == len(small)
    whole = [r for r in hollow if not r["partial"]]
    cut = [r for r in hollow if r["partial"]]
    assert all(r["ended"] < MIN_COUNT and r["note"] == too_few for r in whole), whole
    assert all(r["note"].startswith("partial week: ") for r in cut), cut
    assert all(r["note"].endswith(f" only · {too_few}") == (r["ended"] < MIN_COUNT) for r in cut), cut
    line = rows_of(spec, layers["line"])
    assert all(math.isnan(r["line_rate"]) for r in line if r["ended"] < MIN_COUNT)
    assert layers["small"]["mark"]["filled"] is False


@pytest.fixture
def no_intents() -> Iterator[None]:
    """The store as before the first intents sync (then synced again for later tests)."""
    from sqlmodel import delete

    from services.adapters import data_version
    from services.adapters.models import IntentDay, IntentRecord, SyncState
    from services.adapters.store import session_scope
    from services.usecases.sync_intents import SYNC_NAME, sync_intents

    open_page(None, None)
    with session_scope(app().engine) as session:
        session.execute(delete(IntentRecord))
        session.execute(delete(IntentDay))  # and the day counts its writers keep
        session.execute(delete(SyncState).where(SyncState.name == SYNC_NAME))  # type: ignore[arg-type]
        data_version.bump(session, "intents")
    yield
    sync_intents(app().services, Actor(username="admin", role="admin", name="A"))


def test_the_managers_home_says_no_data_yet_before_any_sync(no_intents: None) -> None:
    at = open_page(None, "manager")
    no_exceptions(at)
    # never synced: no rate cards at all (not even "No data yet", which would read as "Stripe
    # has none"), a sentence saying why, and never a fake 0 %
    assert not [m for m in at.metric if m.label.endswith(" verification")]
    assert "0.0 %" not in texts(at) and " 0 %" not in texts(at)
    assert "The intents have not been synced from Stripe yet" in texts(at)
