"""Audit log's filters in the address: ``/audit?actor=…&target=…`` showed the unfiltered log.
A link, a reload or a new tab opens the filtered log; a change of a filter goes into the
address (and a plain rerun writes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamlit.testing.v1 import AppTest

from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.test_audit_page import PAGE, seed, table


def opened_at(**params: str) -> AppTest:
    """A new session (a reload, a new tab or a shared link) at the audit log's ``?params``."""
    at = open_page(PAGE, "admin")
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    no_exceptions(at)
    return at


def test_a_link_with_filters_opens_the_filtered_log() -> None:
    tag = seed(2, action="collect.create", username="ops", outcome="error")
    seed(1, action="collect.create", username="finance", outcome="error")  # another actor
    at = opened_at(actor="ops", action="collect.create", outcome="error", target=tag)
    assert at.text_input(key="audit_actor").value == "ops"
    assert at.text_input(key="audit_target").value == tag
    assert at.multiselect(key="audit_actions").value == ["collect.create"]
    assert at.selectbox(key="audit_outcome").value == "error"
    rows = table(at)
    assert len(rows) == 2 and all(str(t).startswith(tag) for t in rows["target"])
    assert "2 matching entries" in texts(at)


def test_a_link_with_days_sets_the_dates_and_a_wrong_filter_is_warned_about() -> None:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=3)
    at = opened_at(**{"from": str(start), "to": str(today), "outcome": "maybe", "action": "nope"})
    assert tuple(at.date_input(key="audit_dates").value) == (start, today)
    assert at.selectbox(key="audit_outcome").value == ""
    assert at.multiselect(key="audit_actions").value == []
    said = " ".join(str(w.value) for w in at.warning)
    assert "not understood" in said and "maybe" in said and "nope" in said, said
    # What was not understood leaves the address; the days stay in it.
    assert "outcome" not in at.query_params and "action" not in at.query_params
    assert at.query_params["from"] == str(start) and at.query_params["to"] == str(today)


def test_a_changed_filter_goes_into_the_address_and_a_rerun_keeps_it() -> None:
    tag = seed(1, action="collect.create", username="ops")
    at = open_page(PAGE, "admin")
    assert not {"actor", "target", "from", "to"} & set(at.query_params)  # the defaults stay out
    at.text_input(key="audit_target").set_value(tag).run()
    at.text_input(key="audit_actor").set_value("ops").run()
    assert at.query_params["target"] == tag and at.query_params["actor"] == "ops"
    at.run()  # a plain rerun
    assert at.query_params["target"] == tag and len(table(at)) == 1
    at.text_input(key="audit_actor").set_value("").run()  # cleared: out of the address
    assert "actor" not in at.query_params and at.query_params["target"] == tag


def test_a_new_session_at_the_written_address_shows_the_same_log() -> None:
    """What a reload does: a new session at the address the last one wrote."""
    tag = seed(2, action="account.refresh", username="ops")
    first = open_page(PAGE, "admin")
    first.text_input(key="audit_target").set_value(tag).run()
    address = {name: first.query_params[name] for name in first.query_params}
    again = opened_at(**address)
    assert again.text_input(key="audit_target").value == tag and len(table(again)) == 2


def test_a_link_s_filter_text_is_shown_as_typed_and_cut_in_the_no_match_sentence() -> None:
    """``/audit?target=[Sign in again](https://…)`` drew a link inside fcops' own sentence, and
    a 200-character actor filled it: the filters read as typed, cut."""
    bait = "[Sign in again](https://example.invalid/login)"
    seed(1, action="collect.create", username="ops", outcome="ok")  # the log is not empty
    at = opened_at(target=bait, actor="z" * 200)
    [said] = [str(i.value) for i in at.info if "No audit entries match" in str(i.value)]
    assert "](https://" not in said.replace(f"`{bait}`", ""), said  # only inside a code span
    assert f"`{bait}`" in said and "z" * 61 not in said, said


def entry_id(target: str) -> int:
    from sqlmodel import select

    from services.adapters.models import AuditEntry
    from services.adapters.store import session_scope
    from tests.app.test_audit_page import engine

    with session_scope(engine()) as session:
        found = session.exec(select(AuditEntry).where(AuditEntry.target == target)).one()
    assert found.id is not None
    return found.id


def tick(at: AppTest, key: str, place: int) -> None:
    at.session_state[key] = {"selection": {"rows": [place], "columns": [], "cells": []}}
    at.run()
    no_exceptions(at)


def test_the_picked_entry_is_kept_in_the_address_for_a_reload_or_a_link() -> None:
    """``?entry=<id>`` was ignored: a reload or a copied link opened the log with nothing
    picked. The ticked entry goes into the address, and the address opens it picked."""
    tag = seed(3)
    at = opened_at(target=tag)
    tick(at, "audit_table", 1)  # newest first: the row of _001
    picked = entry_id(f"{tag}_001")
    assert at.query_params["entry"] in (str(picked), [str(picked)])
    assert at.query_params["target"] in (tag, [tag])  # the filters stay
    again = opened_at(entry=str(picked))  # a reload, without the filters too
    shown = texts(again)
    assert f"Target: `{tag}_001`" in shown, shown
    assert f"Entry {picked}, which the address names" in shown
    tick(again, "audit_table_1", 0)  # another row ticked: it is the one shown, and in the address
    newest = str(table(again).iloc[0]["target"])
    assert f"Target: `{newest}`" in texts(again)
    assert again.query_params["entry"] in (str(entry_id(newest)), [str(entry_id(newest))])


def test_a_link_to_an_entry_the_log_does_not_hold_says_so_and_changes_nothing() -> None:
    tag = seed(1)
    for wanted in ("999999999999", "abc", "[x](https://example.invalid)", "1" * 30):
        at = opened_at(entry=wanted, target=tag)
        said = [str(w.value) for w in at.warning]
        assert any(s.startswith("No audit entry `") for s in said), (wanted, said)
        assert at.text_input(key="audit_target").value == tag  # the filters as linked
        assert "Select a row to read the whole entry" in texts(at)
        assert len(at.json) == 0  # nothing picked
