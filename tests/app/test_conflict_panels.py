"""The conflict panel of Flow configuration and Debit policy, with two admins (and a third).

A tester, admin A with a kept draft on PaymentIntent, saw "adm9531 saved version 2 at 23:18 UTC
while you were editing version 1."; admin B then saved version 3, which put the method back,
and after A's next click the red line still named version 2 while the same panel read "What
adm9531 changed (version 1 → version 3): Nothing." and offered "Keep my edits on top of version
3". The panel now names every version saved since, up to the newest, and who saved them, and
a net change of nothing is said as such. Debit policy left "Save policy" on while its panel was
open (Flows turns Save off), and the two pages worded their buttons and version 0 apiece.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.rules import flow_config, three_way, wording
from services.rules.debit import DebitPolicy
from services.usecases import debit_policy, flow_drafts, policy_draft
from services.usecases import edit_flows as flows
from tests.app.conftest import (
    clear_flow_drafts,
    no_exceptions,
    open_page,
    save_policy,
    shared_app,
    signed_in,
    texts,
)

FLOWS_PAGE, POLICY_PAGE = "pages/flows.py", "pages/policy.py"
ADMIN = Actor(username="admin", role="admin")  # the session's admin (A)
OTHER = Actor(username="other-admin", role="admin")  # B
THIRD = Actor(username="third-admin", role="admin")
SAVE_OFF = "Save is off until you choose above: keep your edits or load theirs."
LOAD_THEIRS = "Load theirs (discard my edits)"


@pytest.fixture(autouse=True)
def no_drafts() -> Iterator[None]:
    clear_flow_drafts()
    yield
    clear_flow_drafts()


def k(flow: str, name: str) -> str:
    return f"flows_{flow}_{name}"


def red_lines(at: AppTest) -> list[str]:
    return [e.value for e in at.error if "while you were editing" in e.value]


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def save_flow(by: Actor, flow: str, **value: object) -> flow_config.FlowConfig:
    engine = shared_app().engine
    current = flows.load_flow(engine, flow)
    fields = {**current.value(), **value}
    return flows.save_flow(engine, by, flow, expected_version=current.version, **fields)  # type: ignore[arg-type]


def flows_editing(flow: str) -> tuple[AppTest, int]:
    """Admin A on ``flow`` at a known version (instant, payment_method), adding balances."""
    open_page(None, "admin")  # builds the app, so its store can be used below
    base = save_flow(OTHER, flow, permissions=["payment_method"], prefetch=[],
                     verification_method="instant").version
    at = open_page(FLOWS_PAGE, "admin")
    at.radio(key="flows_selected").set_value(flow).run()
    at.multiselect(key=k(flow, "perms")).set_value(["balances", "payment_method"]).run()
    no_exceptions(at)
    assert not red_lines(at)
    return at, base


def test_flows_panel_names_the_newest_save_and_a_net_change_of_nothing() -> None:
    flow = "payment_intent"
    at, base = flows_editing(flow)
    two = save_flow(OTHER, flow, verification_method="microdeposits")
    at.run()  # any click
    assert red_lines(at) == [
        f"other-admin saved version {two.version} at {wording.moment(two.updated_at)} while you "
        f"were editing version {base}. Your edits are still here, unsaved."
    ]
    three = save_flow(OTHER, flow, verification_method="instant")  # back as version base was
    at.radio(key=k(flow, "method")).set_value("instant").run()  # A clicks a radio
    no_exceptions(at)
    assert red_lines(at) == [
        f"other-admin saved versions {two.version} and {three.version} (the latest at "
        f"{wording.moment(three.updated_at)}) while you were editing version {base}. Your edits "
        "are still here, unsaved."
    ]
    shown = texts(at)
    assert f"What other-admin changed (version {base} → version {three.version})" in shown
    assert (
        f"Nothing, taken together: versions {two.version} and {three.version} changed nothing "
        f"between them, so version {three.version} is the same as version {base}."
    ) in captions(at)
    assert "Nothing." not in captions(at)
    assert at.button(key=k(flow, "keep")).label == f"Keep my edits on top of version {three.version}"
    assert at.button(key=k(flow, "theirs")).label == LOAD_THEIRS
    assert at.button(key=k(flow, "save")).disabled and SAVE_OFF in captions(at)

    at.button(key=k(flow, "keep")).click().run()
    at.button(key=k(flow, "save")).click().run()
    no_exceptions(at)
    now = flows.load_flow(shared_app().engine, flow)
    assert now.version == three.version + 1
    assert (now.permissions, now.verification_method) == (("balances", "payment_method"), "instant")


def test_flows_panel_after_a_refused_save_follows_a_third_admins_save() -> None:
    flow = "setup_intent"
    at, base = flows_editing(flow)
    two = save_flow(OTHER, flow, verification_method="microdeposits")
    at.button(key=k(flow, "save")).click().run()  # drawn before their save: refused
    (line,) = red_lines(at)
    assert line.startswith(f"other-admin saved version {two.version} at ")
    three = save_flow(THIRD, flow, prefetch=["balances"], permissions=["balances", "payment_method"])
    at.run()
    no_exceptions(at)
    assert red_lines(at) == [
        f"other-admin and third-admin saved versions {two.version} and {three.version} (the "
        f"latest, version {three.version}, by third-admin at {wording.moment(three.updated_at)}) "
        f"while you were editing version {base}; your changes were not saved. See what they "
        "changed, then apply yours on top of their version. Your edits are kept for you "
        "meanwhile (a reload shows them again)."
    ]
    shown = texts(at)
    assert (
        f"What other-admin and third-admin changed (version {base} → version {three.version})"
    ) in shown
    # the net change, named as the editor names the field (it read `verification_method`)
    assert "**Verification method**: `instant` → `microdeposits`" in shown
    assert "**Your unsaved edits (on version" in shown
    assert "**Permissions**: :green[+ `balances`]" in shown  # my edit
    assert "verification_method" not in shown and "**permissions**" not in shown
    assert at.button(key=k(flow, "keep")).label == f"Keep my edits on top of version {three.version}"


def second_admin(monkeypatch: pytest.MonkeyPatch) -> Actor:
    """admin2 in the users file, to sign a second session in as (created once)."""
    from services import users

    path = shared_app().settings.users_file
    if users.get_user(path, "admin2") is None:
        monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
        users.add_user(path, username="admin2", password="plum-orbit-canvas-42", role="admin")
    return Actor(username="admin2", role="admin")


def test_policy_panel_turns_save_off_and_names_the_newest_save(
    monkeypatch: pytest.MonkeyPatch, defaults_after: None
) -> None:
    open_page(None, "admin")  # builds the app, so its store can be used below
    base = save_policy(DebitPolicy(buffer_amount=1_000, buffer_percent=1.0), OTHER)
    admin2 = second_admin(monkeypatch)
    them = open_page(None, None)
    signed_in(them, admin2.username).run()
    them.switch_page(POLICY_PAGE).run()
    me = open_page(POLICY_PAGE, "admin")
    me.text_input(key="policy_buffer_amount").set_value("12.00").run()  # my edit
    assert not me.button(key="policy_save").disabled

    them.number_input(key="policy_buffer_percent").set_value(2.0)
    them.button(key="policy_save").click().run()  # version base + 1, through their session
    no_exceptions(them)
    two = debit_policy.load_policy(shared_app().engine)
    assert (two.version, two.updated_by) == (base + 1, "admin2")
    me.run()
    assert red_lines(me) == [
        f"admin2 saved version {two.version} at {wording.moment(two.updated_at)} while you were "
        f"editing version {base}. Your edits are still here, unsaved."
    ]
    assert me.button(key="policy_save").disabled and SAVE_OFF in captions(me)
    assert me.button(key="policy_load_theirs").label == LOAD_THEIRS
    me.text_input(key="policy_buffer_amount").set_value("twelve").run()  # not an amount
    # Save is off: the panel asked to "press Save to compare"
    assert "Your values are not valid yet; mend them to see them beside theirs." in captions(me)
    assert me.button(key="policy_keep_mine").disabled
    me.text_input(key="policy_buffer_amount").set_value("12.00").run()

    three = save_policy(DebitPolicy(buffer_amount=1_000, buffer_percent=1.0), admin2)  # put back
    me.run()
    no_exceptions(me)
    updated = debit_policy.load_policy(shared_app().engine).updated_at
    assert red_lines(me) == [
        f"admin2 saved versions {two.version} and {three} (the latest at "
        f"{wording.moment(updated)}) while you were editing version {base}. Your edits are "
        "still here, unsaved."
    ]
    assert f"What admin2 changed (version {base} → version {three})" in texts(me)
    assert (
        f"Nothing, taken together: versions {two.version} and {three} changed nothing between "
        f"them, so version {three} is the same as version {base}."
    ) in captions(me)
    assert "Nothing." not in captions(me)
    assert me.button(key="policy_keep_mine").label == f"Keep my edits on top of version {three}"
    assert me.button(key="policy_save").disabled

    me.button(key="policy_keep_mine").click().run()  # chosen: Save is on again
    assert not me.button(key="policy_save").disabled and SAVE_OFF not in captions(me)
    me.button(key="policy_save").click().run()
    no_exceptions(me)
    now = debit_policy.load_policy(shared_app().engine)
    assert (now.version, now.policy.buffer_amount) == (three + 1, 1_200)


@pytest.mark.parametrize("page", [FLOWS_PAGE, POLICY_PAGE])
def test_both_pages_name_a_draft_of_the_defaults_alike(page: str, defaults_after: None) -> None:
    """A draft kept before anyone saved, then someone saved: Debit policy said "while you were
    editing the defaults (never saved)", Flow configuration "fcops' built-in defaults"."""
    open_page(None, "admin")
    svc = shared_app().services
    if page == FLOWS_PAGE:
        flow = "invoice"
        start = flow_config.default_config(flow).value()
        flow_drafts.keep_draft(svc, ADMIN, flow, base_version=0, start=start,
                               value={**start, "verification_method": "instant"})
        theirs = save_flow(OTHER, flow, prefetch=["balances"],
                           permissions=["balances", "payment_method"]).version
    else:
        policy_draft.keep_policy_draft(
            svc, ADMIN, base_version=0, start=asdict(DebitPolicy()),
            value={"buffer_amount": "12.00", "buffer_percent": 0.0, "max_age_hours": 24.0},
        )
        theirs = save_policy(DebitPolicy(buffer_percent=3.0), OTHER)
    at = open_page(page, "admin")
    if page == FLOWS_PAGE:
        at.radio(key="flows_selected").set_value("invoice").run()
    no_exceptions(at)
    (line,) = red_lines(at)  # earlier tests may have saved versions too: all are named
    assert line.endswith(f"while you were editing {three_way.NEVER_SAVED}. Your edits are still "
                         "here, unsaved.")
    assert "other-admin" in line and f"version {theirs} " in line or f"and {theirs} " in line
    assert f"changed (fcops' built-in defaults → version {theirs})" in texts(at)
    assert "never saved)" not in texts(at)


def test_policy_with_no_edits_follows_another_admins_save_without_a_panel(
    monkeypatch: pytest.MonkeyPatch, defaults_after: None
) -> None:
    """An admin with nothing unsaved who stayed on Debit policy while admin2 saved got the
    conflict panel with "Your unsaved edits: None."; Flow configuration follows the new version
    quietly. Debit policy now does too, and says what the form shows."""
    open_page(None, "admin")
    base = save_policy(DebitPolicy(buffer_amount=1_000, buffer_percent=1.0), OTHER)
    admin2 = second_admin(monkeypatch)
    me = open_page(POLICY_PAGE, "admin")  # looking, not editing
    assert me.text_input(key="policy_buffer_amount").value == "10.00"

    two = save_policy(DebitPolicy(buffer_amount=2_500, buffer_percent=1.0), admin2)
    me.run()  # any click, staying on the page
    no_exceptions(me)
    assert not red_lines(me)
    assert "Your unsaved edits" not in texts(me)
    assert not me.button(key="policy_save").disabled and SAVE_OFF not in captions(me)
    assert me.text_input(key="policy_buffer_amount").value == "25.00"  # theirs, in the form
    updated = debit_policy.load_policy(shared_app().engine).updated_at
    assert [i.value for i in me.info if "the form shows it" in i.value] == [
        f"admin2 saved version {two} at {wording.moment(updated)}; the form shows it."
    ]
    me.run()
    assert not [i.value for i in me.info if "the form shows it" in i.value]  # said once
    assert two == base + 1

    me.text_input(key="policy_buffer_amount").set_value("30.00").run()  # an edit on theirs
    me.button(key="policy_save").click().run()
    no_exceptions(me)
    now = debit_policy.load_policy(shared_app().engine)
    assert (now.version, now.policy.buffer_amount) == (two + 1, 3_000)
