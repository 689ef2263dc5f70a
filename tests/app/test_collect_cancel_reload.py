"""Collect page: a reload during a slow Cancel says the cancel is still running at Stripe on that
request, offers no second Cancel meanwhile, then shows how it ended (the page forgot it: the
request was listed as open with its Cancel button, and ops pressed it again)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from services.auth import Actor
from services.usecases.collect_cancel import cancel_request
from services.usecases.collect_cancel_runs import cancels_running
from tests.app.conftest import force_faults, no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_collect_page import PAGE, create_setup_intent, new_customer, queued_request

OPS = Actor(username="ops", role="ops")  # the demo user the AppTest signs in as

pytestmark = pytest.mark.usefixtures("automatic_setup_intent_flow")


def options(at: Any, key: str) -> list[str]:
    try:
        return list(at.selectbox(key=key).options)
    except KeyError:  # no picker at all: nothing left to cancel
        return []


@contextmanager
def slow_cancel_by_ops(intent_id: str, reason: str) -> Iterator[list[Any]]:
    """ops's Cancel of ``intent_id`` (a click still waiting on Stripe, slowed 4 s) runs in a thread;
    the block starts once the cancel is under way (at most 3 s on) and the thread is joined when it
    ends. Yields the list the cancel's view is put in."""
    done: list[Any] = []

    def slow_cancel() -> None:
        done.append(cancel_request(
            app().services, OPS, intent_id, reason=reason,
            idempotency_key=f"slow-cancel-{secrets.token_hex(4)}",
        ))  # fmt: skip

    force_faults("slow", 1, seconds=4)
    clicked = threading.Thread(target=slow_cancel)
    clicked.start()
    try:
        deadline = time.monotonic() + 3
        while not cancels_running(app().services, OPS, [intent_id]) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield done
    finally:
        clicked.join(timeout=30)


def test_a_reload_during_a_slow_cancel_says_it_runs_then_shows_how_it_ended() -> None:
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.button(key="collect_open_reload").click().run()  # listed under Open requests
    assert any(o.endswith(intent_id) for o in options(at, "collect_cancel_open"))
    # The click of the tab that was reloaded, still waiting on Stripe.
    with slow_cancel_by_ops(intent_id, "abandoned") as done:
        reloaded = open_page(PAGE, "ops")
        no_exceptions(reloaded)
        running = [i.value for i in reloaded.info if f"Cancel of {intent_id} asked at" in i.value]
        assert running, texts(reloaded)
        assert "s ago) is still running at Stripe" in running[0]
        # No second Cancel for it while it runs.
        assert not any(o.endswith(intent_id) for o in options(reloaded, "collect_cancel_open"))
        assert not any(o.endswith(intent_id) for o in options(reloaded, "collect_cancel_queue"))
    [view] = done
    assert view.status == "canceled"
    reloaded.run()  # what the page's follow-up does once Stripe has answered
    no_exceptions(reloaded)
    said = " ".join(s.value for s in reloaded.success)
    assert f"The cancel of {intent_id} asked at" in said and f"Canceled {intent_id}" in said, texts(reloaded)
    assert "still running at Stripe" not in texts(reloaded)
    assert not any(o.endswith(intent_id) for o in options(reloaded, "collect_cancel_open"))
    reloaded.run()  # said once
    assert f"The cancel of {intent_id}" not in texts(reloaded)


# A cancel whose 500s left it unconfirmed (the read back failed too: ``stale``), on its request.
NEVER_CONFIRMED = (
    "was never confirmed by Stripe: press Sync from Stripe to see whether the request is still "
    "open; if it is, you can cancel it again."
)


def failed_notes(at: Any, intent_id: str) -> list[str]:
    return [w.value for w in at.warning if f"Cancel of {intent_id} asked at" in w.value]


def failed_cancel() -> tuple[Any, str, str]:
    """Ops makes a request and cancels it while every Stripe request fails: (page, seti_…, the
    request's line in the Cancel box)."""
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    at.button(key="collect_open_reload").click().run()
    [option] = [o for o in options(at, "collect_cancel_open") if o.endswith(intent_id)]
    at.selectbox(key="collect_cancel_open").set_value(intent_id).run()
    app().simulator.force_faults("500", 10_000)  # every try and every read-back fails
    try:
        at.button(key="collect_cancel_open_button").click().run()
    finally:
        app().simulator.clear_faults()
    no_exceptions(at)
    return at, intent_id, option


def test_a_failed_cancel_stays_said_on_its_request_reload_after_reload() -> None:
    """A cancel Stripe failed was said after the first reload, and the second listed the
    request as open again with no word of it."""
    at, intent_id, option = failed_cancel()
    assert at.error, texts(at)  # said at once, where it was asked
    assert not failed_notes(at, intent_id), texts(at)  # and only there: said once
    at.run()  # the next run: the note on the request says it instead
    assert not at.error, texts(at)
    [note] = failed_notes(at, intent_id)

    for _reload in range(2):  # F5, and F5 again
        reloaded = open_page(PAGE, "ops")
        no_exceptions(reloaded)
        [note] = failed_notes(reloaded, intent_id)
        assert NEVER_CONFIRMED in note, note  # no read said whether it canceled: look first
        assert option in options(reloaded, "collect_cancel_open")  # and it can be
    reloaded.selectbox(key="collect_cancel_open").set_value(intent_id).run()
    reloaded.button(key="collect_cancel_open_button").click().run()
    no_exceptions(reloaded)
    assert not failed_notes(reloaded, intent_id), texts(reloaded)
    assert not failed_notes(open_page(PAGE, "ops"), intent_id)  # the newer cancel replaced it


def test_a_colleagues_running_cancel_is_a_notice_followed_to_its_outcome() -> None:
    """ops cancels while Stripe is slow; admin, on the same request, presses Cancel a moment
    later. It was a red error box ("(2 s ago)" for as long as it stayed); it is a notice, the
    admin's page follows ops's cancel on the request, then says how it ended and lists the
    request no longer."""
    at = new_customer(open_page(PAGE, "ops"))
    intent_id = create_setup_intent(at)
    admin = open_page(PAGE, "admin")
    admin.button(key="collect_open_reload").click().run()
    admin.selectbox(key="collect_cancel_open").set_value(intent_id).run()
    with slow_cancel_by_ops(intent_id, "requested_by_customer") as done:  # ops's click
        admin.button(key="collect_cancel_open_button").click().run()
        no_exceptions(admin)
        assert not [e.value for e in admin.error], texts(admin)
        [notice] = [i.value for i in admin.info if i.value.startswith("Nothing was sent")]
        assert f"the cancel of {intent_id} that ops asked for at" in notice, notice
        assert "s ago)" not in notice  # an age that would stay frozen on screen
        followed = [i.value for i in admin.info if f"Cancel of {intent_id} asked at" in i.value]
        assert followed and "by ops is still running at Stripe" in followed[0], texts(admin)
    [view] = done
    assert view.status == "canceled"
    admin.run()  # what the follow-up fragment does once Stripe has answered
    no_exceptions(admin)
    said = " ".join(s.value for s in admin.success)
    assert f"The cancel of {intent_id} asked at" in said and "by ops is done" in said, texts(admin)
    # The reason in words, not Stripe's "(requested_by_customer)".
    assert f"Canceled {intent_id} (reason: requested by the customer)." in said, said
    assert "Nothing was sent" not in texts(admin)
    assert not any(o.endswith(intent_id) for o in options(admin, "collect_cancel_open"))


def test_a_failed_cancel_of_a_request_the_list_hides_is_said_above_it_with_a_way_to_find_it() -> None:
    """The note of a failed cancel was drawn on its request only: a search (or the list's first
    50) that hid the request hid the note, and the person never learnt the cancel failed."""
    at, intent_id, _ = failed_cancel()

    hidden = open_page(PAGE, "ops")  # a reload, searching for someone else
    hidden.text_input(key="collect_open_search").set_value("nobody-matches-this").run()
    no_exceptions(hidden)
    assert "No open request matches the search." in texts(hidden)
    [note] = failed_notes(hidden, intent_id)
    assert NEVER_CONFIRMED in note, note
    assert "not in the list below (the search hides it): Find it shows it" in note, note
    hidden.button(key=f"collect_open_search_find_{intent_id}").click().run()
    no_exceptions(hidden)
    assert hidden.text_input(key="collect_open_search").value == intent_id
    [note] = failed_notes(hidden, intent_id)  # now on its request, listed again
    assert NEVER_CONFIRMED in note, note
    assert any(o.endswith(intent_id) for o in options(hidden, "collect_cancel_open"))

    hidden.selectbox(key="collect_cancel_open").set_value(intent_id).run()  # the shared app's
    hidden.button(key="collect_cancel_open_button").click().run()  # later tests see no note
    no_exceptions(hidden)
    assert not failed_notes(open_page(PAGE, "ops"), intent_id)


def test_a_failed_cancel_of_a_request_the_queue_hides_is_said_above_it_with_a_way_to_find_it() -> None:
    """The microdeposit queue said a failed cancel on its request only, as Open requests did
    before: a search (or the queue's oldest 50) that hid the request hid the note too."""
    at, intent_id = queued_request(arrived=False)
    at.selectbox(key="collect_cancel_queue").set_value(intent_id).run()
    app().simulator.force_faults("500", 10_000)  # every try and every read-back fails
    try:
        at.button(key="collect_cancel_queue_button").click().run()
    finally:
        app().simulator.clear_faults()
    no_exceptions(at)

    hidden = open_page(PAGE, "ops")  # a reload, searching the queue for someone else
    hidden.text_input(key="collect_queue_search").set_value("nobody-matches-this").run()
    no_exceptions(hidden)
    assert "No request matches the search." in texts(hidden)
    notes = failed_notes(hidden, intent_id)
    assert len(notes) == 2, notes  # above Open requests (its search is empty) and the queue
    [note] = [n for n in notes if "the search hides it" in n]
    assert NEVER_CONFIRMED in note, note
    assert "not in the list below (the search hides it): Find it shows it" in note, note
    hidden.button(key=f"collect_queue_search_find_{intent_id}").click().run()
    no_exceptions(hidden)
    assert hidden.text_input(key="collect_queue_search").value == intent_id
    assert any(o.endswith(intent_id) for o in options(hidden, "collect_cancel_queue"))
    assert not [n for n in failed_notes(hidden, intent_id) if "not in the list below" in n]

    hidden.selectbox(key="collect_cancel_queue").set_value(intent_id).run()  # the shared app's
    hidden.button(key="collect_cancel_queue_button").click().run()  # later tests see no note
    no_exceptions(hidden)
    assert not failed_notes(open_page(PAGE, "ops"), intent_id)
