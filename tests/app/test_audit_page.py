"""Audit log page: filters, paging, secrets never shown, only admins."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from services import audit
from services.auth import Actor
from tests.app.conftest import (
    PAGE_WIDTH,
    ROW_PICKER,
    column_config,
    no_exceptions,
    open_page,
    refused,
    shown_widths,
    texts,
)

PAGE = "pages/audit.py"


def engine():  # type: ignore[no-untyped-def]
    from pages._runtime import get_app

    open_page(None, "admin")  # makes sure the app (and its store) exists in this process
    return get_app().engine


def seed(
    count: int,
    *,
    action: str = "account.refresh",
    outcome: str = "ok",
    username: str = "ops",
    params: dict[str, object] | None = None,
) -> str:
    """``count`` audit rows on a target unique to this test; returns that target."""
    tag = f"fca_test{secrets.token_hex(5)}"
    eng = engine()
    who = Actor(username=username, role="ops")
    for i in range(count):
        audit.record(
            eng,
            actor=who,
            action=action,
            target=f"{tag}_{i:03d}",
            outcome=outcome,
            params=params or {"features": ["balance"]},
            message=f"row {i}",
            stripe_request_id=f"req_{tag}_{i}",
        )
    return tag


def table(at: AppTest):  # type: ignore[no-untyped-def]
    return at.dataframe[0].value


def test_admin_sees_entries_with_actor_role_target_outcome_and_request_id() -> None:
    tag = seed(3, action="collect.create", username="ops")
    at = open_page(PAGE, "admin")
    at.text_input(key="audit_target").set_value(tag).run()
    no_exceptions(at)
    rows = table(at)
    assert len(rows) == 3
    first = rows.iloc[0]
    assert (first["actor"], first["role"], first["action"], first["outcome"]) == (
        "ops",
        "ops",
        "collect.create",
        "ok",
    )
    assert first["target"].startswith(tag) and first["stripe_request_id"].startswith("req_")
    assert "3 matching entries" in texts(at)


def test_filters_by_action_actor_and_outcome_narrow_the_rows() -> None:
    tag = seed(2, action="flow.save", outcome="ok", username="ann")
    seed(1, action="flow.save", outcome="refused", username="ann")
    at = open_page(PAGE, "admin")
    at.multiselect(key="audit_actions").set_value(["flow.save"]).run()
    at.text_input(key="audit_actor").set_value("ann").run()
    at.selectbox(key="audit_outcome").set_value("refused").run()
    no_exceptions(at)
    rows = table(at)
    assert len(rows) >= 1
    assert set(rows["outcome"]) == {"refused"} and set(rows["actor"]) == {"ann"}
    at.selectbox(key="audit_outcome").set_value("ok").run()
    at.text_input(key="audit_target").set_value(tag).run()
    assert len(table(at)) == 2


def test_a_date_range_without_entries_says_so() -> None:
    seed(1)
    at = open_page(PAGE, "admin")
    old = datetime.now(UTC).date() - timedelta(days=400)
    at.date_input(key="audit_dates").set_value((old, old + timedelta(days=2))).run()
    no_exceptions(at)
    info = " ".join(i.value for i in at.info)
    assert "No audit entries match these filters" in info and "widen the dates" in info
    assert not at.dataframe
    at.button[0].click().run()  # Clear filters
    no_exceptions(at)
    assert at.dataframe, "clearing the filters brings the entries back"
    picked = at.date_input(key="audit_dates").value
    assert isinstance(picked, tuple) and len(picked) == 2 and picked[0] > old


def test_narrowing_the_filters_from_a_late_page_lands_on_the_last_page() -> None:
    tag = seed(30)
    at = open_page(PAGE, "admin")
    at.selectbox(key="audit_page_size").set_value(25).run()
    at.text_input(key="audit_target").set_value(tag).run()
    at.number_input(key="audit_page").set_value(2).run()
    at.text_input(key="audit_target").set_value(f"{tag}_001").run()
    no_exceptions(at)
    assert "1 matching entry · page 1 of 1" in texts(at)  # not "1 matching entries"
    assert len(table(at)) == 1


def test_long_results_are_paged() -> None:
    tag = seed(60)
    at = open_page(PAGE, "admin")
    at.text_input(key="audit_target").set_value(tag).run()
    at.selectbox(key="audit_page_size").set_value(25).run()
    assert "60 matching entries · page 1 of 3" in texts(at)
    assert len(table(at)) == 25
    at.number_input(key="audit_page").set_value(3).run()
    no_exceptions(at)
    last = table(at)
    assert len(last) == 10
    assert last.iloc[-1]["message"] == "row 0"  # newest first, so the oldest is last


def test_secret_parameters_are_never_shown() -> None:
    secret = "seti_1abc_secret_xyz987"
    tag = seed(1, params={"client_secret": secret, "password": "hunter2", "customer": "cus_1"})
    at = open_page(PAGE, "admin")
    at.text_input(key="audit_target").set_value(tag).run()
    shown = table(at).iloc[0]["params"]
    assert "[redacted]" in shown and "cus_1" in shown
    assert secret not in shown and "hunter2" not in shown


def test_the_export_button_is_offered_when_rows_match() -> None:
    tag = seed(1)
    at = open_page(PAGE, "admin")
    at.text_input(key="audit_target").set_value(tag).run()
    buttons = at.get("download_button")
    assert buttons and "Export CSV" in str(buttons[0].proto.label)


@pytest.mark.parametrize("role", ["ops", "finance", "manager"])
def test_other_roles_cannot_reach_the_audit_log(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.dataframe


def param(at: AppTest, name: str) -> object:
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_sorting_orders_every_matching_entry_across_pages_and_goes_in_the_url() -> None:
    tag = seed(30)
    at = open_page(PAGE, "admin")
    at.text_input(key="audit_target").set_value(tag).run()
    at.selectbox(key="audit_page_size").set_value(25).run()
    first = list(table(at)["target"])
    assert first[0] == f"{tag}_029"  # newest first by default
    at.selectbox(key="audit_sort").set_value("target").run()
    no_exceptions(at)
    assert param(at, "sort") == "target"
    assert list(table(at)["target"]) == [f"{tag}_{i:03d}" for i in range(25)]
    at.number_input(key="audit_page").set_value(2).run()
    assert list(table(at)["target"]) == [f"{tag}_{i:03d}" for i in range(25, 30)]  # continues
    at.selectbox(key="audit_sort").set_value("oldest").run()
    assert at.number_input(key="audit_page").value == 1  # a new order starts at page 1
    assert list(table(at)["target"])[:3] == [f"{tag}_000", f"{tag}_001", f"{tag}_002"]
    at.selectbox(key="audit_sort").set_value("newest").run()
    assert "sort" not in at.query_params


def test_a_sort_link_applies_and_a_bad_one_falls_back_to_newest_first() -> None:
    tag = seed(3)
    at = open_page(PAGE, "admin")
    at.query_params["sort"] = "oldest"
    at.text_input(key="audit_target").set_value(tag).run()
    assert at.selectbox(key="audit_sort").value == "oldest"
    assert list(table(at)["target"]) == [f"{tag}_000", f"{tag}_001", f"{tag}_002"]
    bad = open_page(PAGE, "admin")
    bad.query_params["sort"] = "at; DROP TABLE auditentry"
    bad.text_input(key="audit_target").set_value(tag).run()
    no_exceptions(bad)
    assert "was not understood" in texts(bad)
    assert bad.selectbox(key="audit_sort").value == "newest"
    assert list(table(bad)["target"]) == [f"{tag}_002", f"{tag}_001", f"{tag}_000"]
    assert "sort" not in bad.query_params


def test_time_is_a_datetime_column() -> None:
    tag = seed(2)
    at = open_page(PAGE, "admin")
    at.text_input(key="audit_target").set_value(tag).run()
    frame = table(at)
    assert pd.api.types.is_datetime64_any_dtype(frame["time"])
    assert column_config(at.dataframe[0])["time"]["type_config"]["type"] == "datetime"


def test_the_table_fits_the_page_at_1400_px_without_a_sideways_scroll() -> None:
    """Seen in Chromium: the table scrolled sideways by 44 px and cut the target to "intents.s".
    Every shown column has a width, and with the row picker they fit the page at 1,400 px."""
    seed(2, action="collect.create", username="ops")
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    widths = shown_widths(at.dataframe[0])
    assert all(isinstance(w, int) for w in widths.values()), widths
    assert sum(widths.values()) + ROW_PICKER <= PAGE_WIDTH, widths
    assert widths["target"] >= 100  # a job's target ("intents.sync-…") is read, not guessed


def test_a_picked_entry_reads_in_full_below_the_table() -> None:
    """The table cuts the target, the message, Stripe's request ID and the parameters at
    1,400 px; a picked row shows every one of them whole, the parameters in words and as JSON."""
    tag = f"balances.batch_check-{secrets.token_hex(16)}-29943122"  # a job's long target
    message = "Checked 4 of 6 rows; 2 errors; $3,704.31 at risk of $12,345.67 planned in all."
    params = {"amount": 370431, "currency": "usd", "file": "debits.csv", "rows": 6}
    audit.record(
        engine(), actor=Actor(username="finance", role="finance"), action="jobs.end",
        target=tag, outcome="error", params=params, message=message,
        stripe_request_id=f"req_{secrets.token_hex(12)}", idempotency_key=f"idem-{tag}",
    )  # fmt: skip
    at = open_page(PAGE, "admin")
    at.text_input(key="audit_target").set_value(tag).run()
    assert "Select a row to read the whole entry" in texts(at)
    assert len(at.json) == 0  # nothing picked: no parameters drawn
    at.session_state["audit_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    no_exceptions(at)
    row = table(at).iloc[0]
    shown = texts(at)
    assert f"Target: `{tag}`" in shown  # whole: the column cut it to "balances.batch_c"
    assert f"Stripe request ID: `{row['stripe_request_id']}`" in shown
    assert f"Idempotency key: `idem-{tag}`" in shown and "By: `finance` as finance" in shown
    assert "**jobs.end** · error · " in shown
    assert message in [t.value for t in at.text]  # as written: its two $ are not math
    assert "In words: Amount: $3,704.31" in [t.value for t in at.text]
    assert json.loads(at.json[0].value) == params
    assert "Select a row to read the whole entry" not in texts(at)


def test_a_picked_entry_stays_the_one_shown_when_new_entries_come_in_above_it() -> None:
    """The table picks a row by its place: an entry another admin's action added on top moved
    the tick's row down, and the detail below silently showed another entry than the one
    picked. The picked entry stays, and the page says the table moved."""
    tag = seed(2)
    at = open_page(PAGE, "admin")
    at.text_input(key="audit_target").set_value(tag).run()
    at.session_state["audit_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert f"Target: `{tag}_001`" in texts(at)
    audit.record(engine(), actor=Actor(username="ops", role="ops"), action="account.refresh",
                 target=f"{tag}_new", outcome="ok", params={}, message="meanwhile")
    at.run()
    no_exceptions(at)
    shown = texts(at)
    assert f"Target: `{tag}_001`" in shown and f"Target: `{tag}_new`" not in shown, shown
    assert "came in above" in shown, shown
