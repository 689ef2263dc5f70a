"""Flow configuration page: editing, live validation, saving, conflicts, history, revert, preview."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from services.auth import SIGN_IN_ENDED, Actor
from services.rules import flow_config
from services.usecases import edit_flows as flows
from tests.app.conftest import clear_flow_drafts, no_exceptions, open_page, refused, texts

PAGE = "pages/flows.py"
OTHER = Actor(username="other-admin", role="admin", name="Other Admin")


@pytest.fixture(autouse=True)
def no_drafts() -> Iterator[None]:
    """No stored draft of an earlier test opens here (the AppTests share one store)."""
    clear_flow_drafts()
    yield
    clear_flow_drafts()


def opening() -> str:
    """The flow the page opens with no ``?flow=``: with no drafts, the one this admin saved
    last, else the first."""
    mine = [c for c in flows.load_all(engine()).values() if c.version and c.updated_by == "admin"]
    if not mine:
        return flow_config.FLOWS[0]
    return max(mine, key=lambda c: c.updated_at.timestamp() if c.updated_at else 0.0).flow


def engine():  # type: ignore[no-untyped-def]
    from pages._runtime import get_app

    return get_app().engine


def pick_flow(at: AppTest, flow: str) -> AppTest:
    at.radio(key="flows_selected").set_value(flow).run()
    return at


def k(flow: str, name: str) -> str:
    return f"flows_{flow}_{name}"


def test_admin_sees_every_flow_and_the_defaults_with_a_preview() -> None:
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    assert list(at.radio(key="flows_selected").options) == [
        flow_config.FLOW_TITLES[f] for f in flow_config.FLOWS
    ]
    pick_flow(at, "payment_element")
    no_exceptions(at)
    shown = texts(at)
    assert "Payment Element" in shown
    codes = [c.value for c in at.code]
    assert any('"automatic_payment_methods"' in c for c in codes)
    assert any('-u "$STRIPE_SECRET_KEY:"' in c and "/v1/payment_intents" in c for c in codes)


@pytest.mark.parametrize("flow", ["setup_intent", "checkout_session"])
def test_the_preview_shows_the_allowed_types_and_the_pinned_version_it_sends(flow: str) -> None:
    from services.rules.stripe_api import API_VERSION

    at = pick_flow(open_page(PAGE, "admin"), flow)
    no_exceptions(at)
    codes = "\n".join(c.value for c in at.code)
    assert '"allowed_payment_method_types"' in codes
    assert "allowed_payment_method_types[]=us_bank_account" in codes
    assert '"payment_method_types"' not in codes and "-d payment_method_types" not in codes
    assert f"-H 'Stripe-Version: {API_VERSION}'" in codes
    assert f"Stripe-Version: {API_VERSION}" in texts(at)


@pytest.mark.parametrize("role", ["ops", "finance", "manager"])
def test_other_roles_cannot_reach_the_page_or_its_data(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.multiselect and not direct.code


def test_saving_edits_creates_a_version_shown_in_history_and_preview() -> None:
    flow = "setup_intent"
    at = pick_flow(open_page(PAGE, "admin"), flow)
    before = flows.load_flow(engine(), flow).version
    at.multiselect(key=k(flow, "perms")).set_value(
        ["payment_method", "balances", "ownership"]
    ).run()
    at.multiselect(key=k(flow, "prefetch")).set_value(["balances"]).run()
    at.radio(key=k(flow, "method")).set_value("instant").run()
    assert "Unsaved edits" in texts(at)
    at.text_input(key=k(flow, "note")).set_value("underwriting needs balances").run()
    at.button(key=k(flow, "save")).click().run()
    no_exceptions(at)
    assert f"Saved version {before + 1}." in [s.value for s in at.success]
    stored = flows.load_flow(engine(), flow)
    assert stored.version == before + 1
    assert stored.permissions == ("balances", "ownership", "payment_method")
    assert (stored.prefetch, stored.verification_method) == (("balances",), "instant")
    history = at.dataframe[0].value
    assert int(history.iloc[0]["Version"]) == before + 1
    assert history.iloc[0]["Note"] == "underwriting needs balances"
    codes = "\n".join(c.value for c in at.code)
    assert "[prefetch][]=balances" in codes and "[verification_method]=instant" in codes
    from services import audit

    row = audit.query(engine(), actor=Actor("t", "admin"), actions=["flow.save"], limit=1).rows[0]
    assert row.outcome == "ok" and (row.idempotency_key or "").startswith("fcops-flow_save_")


def test_invalid_edits_show_every_reason_and_block_save() -> None:
    flow = "checkout_session"
    at = pick_flow(open_page(PAGE, "admin"), flow)
    version = flows.load_flow(engine(), flow).version
    at.multiselect(key=k(flow, "perms")).set_value(["balances"]).run()
    at.radio(key=k(flow, "method")).set_value("microdeposits").run()
    no_exceptions(at)
    errors = [e.value for e in at.error]
    assert any("payment_method permission is always required" in e for e in errors)
    assert any("Checkout Session does not support microdeposits" in e for e in errors)
    assert at.button(key=k(flow, "save")).disabled
    assert flows.load_flow(engine(), flow).version == version


def test_microdeposits_with_data_permissions_shows_a_warning_but_may_be_saved() -> None:
    flow = "payment_intent"
    at = pick_flow(open_page(PAGE, "admin"), flow)
    at.multiselect(key=k(flow, "perms")).set_value(["payment_method", "transactions"]).run()
    at.radio(key=k(flow, "method")).set_value("microdeposits").run()
    assert any("no Financial Connections account" in w.value for w in at.warning)
    assert not at.button(key=k(flow, "save")).disabled


def flow_saves(outcome: str) -> list[Any]:
    """The ``flow.save`` audit rows with ``outcome``, newest first."""
    from services import audit

    rows = audit.query(engine(), actor=OTHER, actions=["flow.save"], limit=500).rows
    return [r for r in rows if r.outcome == outcome]


def test_a_save_after_someone_else_saved_shows_the_conflict_and_keeps_my_edits() -> None:
    flow = "invoice"
    open_page(None, "admin")  # builds the app, so its store can be used below
    start = flows.load_flow(engine(), flow)
    if start.value() != flow_config.default_config(flow).value():  # a known starting version
        flows.save_flow(
            engine(), OTHER, flow, permissions=["payment_method"], prefetch=[],
            verification_method="automatic", expected_version=start.version,
        )
    at = pick_flow(open_page(PAGE, "admin"), flow)
    base = flows.load_flow(engine(), flow).version
    mine = ["payment_method", "ownership"]
    at.multiselect(key=k(flow, "perms")).set_value(mine).run()
    theirs = flows.save_flow(
        engine(),
        OTHER,
        flow,
        permissions=["payment_method", "transactions"],
        prefetch=["transactions"],
        verification_method="automatic",
        expected_version=base,
        note="theirs",
    )
    refused_before = flow_saves("error")
    at.button(key=k(flow, "save")).click().run()
    no_exceptions(at)
    conflict = [e.value for e in at.error if "while you were editing" in e.value]
    assert len(conflict) == 1, conflict  # said once, in the panel
    assert conflict[0].startswith(f"other-admin saved version {theirs.version}")
    assert "your changes were not saved" in conflict[0]
    assert "a reload shows them again" in conflict[0]  # drafts: it said a reload would lose them
    # The refused save is audited, like every attempt (the page refused it itself, unaudited).
    audited = flow_saves("error")
    assert len(audited) == len(refused_before) + 1
    assert (audited[0].actor, audited[0].target) == ("admin", f"flow:{flow}")
    assert "while you were editing" in (audited[0].message or "")
    assert at.multiselect(key=k(flow, "perms")).value == mine  # nothing lost
    assert flows.load_flow(engine(), flow) == theirs  # theirs kept
    assert at.button(key=k(flow, "save")).disabled  # until the admin chooses mine or theirs

    # The panel tells their changes from mine (theirs were shown as edits of mine, reversed).
    shown = texts(at)
    # version 0 is no version anyone saved: the panel names the built-in defaults instead
    started = f"version {base}" if base else "fcops' built-in defaults"
    assert f"What other-admin changed ({started} → version {theirs.version})" in shown
    assert f"Your unsaved edits (on {started})" in shown
    assert "version 0" not in shown

    at.button(key=k(flow, "keep")).click().run()
    # Mine on top of theirs: their added permission and prefetch stay (keeping mine used to
    # drop both silently).
    assert at.multiselect(key=k(flow, "perms")).value == [
        p for p in flow_config.PERMISSIONS if p in {"ownership", "payment_method", "transactions"}
    ]
    assert at.multiselect(key=k(flow, "prefetch")).value == ["transactions"]
    at.button(key=k(flow, "save")).click().run()
    no_exceptions(at)
    stored = flows.load_flow(engine(), flow)
    assert stored.version == theirs.version + 1
    assert stored.permissions == ("ownership", "payment_method", "transactions")
    assert stored.prefetch == ("transactions",)


def test_load_theirs_discards_my_edits_after_a_conflict() -> None:
    flow = "subscription"
    at = pick_flow(open_page(PAGE, "admin"), flow)
    stored = flows.load_flow(engine(), flow)
    base = stored.version
    # an edit of mine, whatever earlier tests left stored
    mine = "automatic" if stored.verification_method == "instant" else "instant"
    at.radio(key=k(flow, "method")).set_value(mine).run()
    theirs = flows.save_flow(
        engine(),
        OTHER,
        flow,
        permissions=["payment_method", "balances"],
        prefetch=[],
        verification_method="microdeposits",
        expected_version=base,
    )
    at.button(key=k(flow, "save")).click().run()
    at.button(key=k(flow, "theirs")).click().run()
    no_exceptions(at)
    assert at.radio(key=k(flow, "method")).value == "microdeposits"
    assert at.multiselect(key=k(flow, "perms")).value == list(theirs.permissions)
    assert not [e for e in at.error if "while you were editing" in e.value]


def test_revert_from_the_history_tab_saves_a_new_version() -> None:
    flow = "payment_element"
    open_page(None, "admin")  # builds the app, so its store can be used below
    eng = engine()
    start = flows.load_flow(eng, flow).version
    first = flows.save_flow(
        eng,
        OTHER,
        flow,
        permissions=["payment_method", "balances"],
        prefetch=["balances"],
        verification_method="automatic",
        expected_version=start,
    )
    flows.save_flow(
        eng,
        OTHER,
        flow,
        permissions=["payment_method"],
        prefetch=[],
        verification_method="instant",
        expected_version=first.version,
    )
    at = pick_flow(open_page(PAGE, "admin"), flow)
    at.selectbox(key=k(flow, "revert_to")).set_value(first.version).run()
    at.button(key=k(flow, "revert")).click().run()
    no_exceptions(at)
    stored = flows.load_flow(eng, flow)
    assert stored.version == first.version + 2
    assert stored.value() == first.value()
    assert any(f"equals version {first.version}" in s.value for s in at.success)
    from services import audit

    row = audit.query(eng, actor=Actor("t", "admin"), actions=["flow.revert"], limit=1).rows[0]
    assert row.outcome == "ok" and (row.idempotency_key or "").startswith("fcops-flow_revert_")


def test_a_malformed_customer_id_in_the_preview_is_explained() -> None:
    flow = "setup_intent"
    at = pick_flow(open_page(PAGE, "admin"), flow)
    at.text_input(key=k(flow, "customer")).set_value("pi_123abc").run()
    no_exceptions(at)
    assert any("`pi_123abc` is not a Stripe ID Flow configuration accepts: paste a cus_… ID" in e.value for e in at.error)
    at.text_input(key=k(flow, "customer")).set_value("cus_Abc123").run()
    assert any("customer=cus_Abc123" in c.value for c in at.code)


def test_a_disabled_save_says_why() -> None:
    flow = "payment_element"
    at = pick_flow(open_page(PAGE, "admin"), flow)
    stored = flows.load_flow(engine(), flow)
    save = at.button(key=k(flow, "save"))
    assert save.disabled and "nothing has changed" in (save.help or "")
    assert any("nothing has changed" in c.value for c in at.caption)
    at.multiselect(key=k(flow, "perms")).set_value(["balances"]).run()  # payment_method dropped
    save = at.button(key=k(flow, "save"))
    assert save.disabled and "problems shown above" in (save.help or "")
    toggled = set(stored.permissions) ^ {"transactions"} | {"payment_method"}
    at.multiselect(key=k(flow, "perms")).set_value(sorted(toggled)).run()
    at.multiselect(key=k(flow, "prefetch")).set_value([]).run()
    save = at.button(key=k(flow, "save"))
    assert not save.disabled
    assert f"Save as version {stored.version + 1}" in (save.help or "")


def test_leaving_and_coming_back_shows_the_stored_flow_with_no_unsaved_edits() -> None:
    current = flows.load_flow(engine(), "setup_intent")
    stored = flows.save_flow(
        engine(),
        OTHER,
        "setup_intent",
        permissions=["payment_method", "balances", "ownership"],
        prefetch=["balances"],
        verification_method=current.verification_method,
        expected_version=current.version,
    )
    at = open_page(PAGE, "admin")
    pick_flow(at, "setup_intent")
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()  # widgets of a page left are forgotten by Streamlit
    pick_flow(at, "setup_intent")
    no_exceptions(at)
    assert list(at.multiselect(key=k("setup_intent", "perms")).value) == list(stored.permissions)
    assert list(at.multiselect(key=k("setup_intent", "prefetch")).value) == ["balances"]
    assert "Unsaved edits" not in texts(at)
    assert at.button(key=k("setup_intent", "save")).disabled
    assert flows.load_flow(engine(), "setup_intent").version == stored.version


def in_address(at: AppTest) -> object:
    value = at.query_params.get("flow")
    return value[0] if isinstance(value, list) else value


def showing(at: AppTest) -> str:
    """The flow the page shows: its radio and its heading agree."""
    picked = at.radio(key="flows_selected").value
    assert [h.value for h in at.subheader][0] == flow_config.FLOW_TITLES[picked]
    return str(picked)


def test_the_flow_picked_is_in_the_address_and_a_reload_opens_it_again() -> None:
    """A reload showed PaymentIntent whatever flow the admin had open."""
    at = open_page(PAGE, "admin")
    assert in_address(at) is None  # opening the page writes nothing
    pick_flow(at, "setup_intent")
    no_exceptions(at)
    assert in_address(at) == "setup_intent"

    reloaded = open_page(PAGE, "admin")  # a new session opening that address
    reloaded.query_params["flow"] = "setup_intent"
    reloaded.run()
    no_exceptions(reloaded)
    assert showing(reloaded) == "setup_intent"
    assert in_address(reloaded) == "setup_intent"


def test_back_and_forward_walk_the_flows_picked_and_never_write_the_address() -> None:
    at = open_page(PAGE, "admin")
    pick_flow(at, "setup_intent")
    pick_flow(at, "invoice")
    assert (showing(at), in_address(at)) == ("invoice", "invoice")
    at.run()  # a plain rerun changes nothing
    assert (showing(at), in_address(at)) == ("invoice", "invoice")

    at.query_params["flow"] = "setup_intent"  # Back
    at.run()
    no_exceptions(at)
    assert (showing(at), in_address(at)) == ("setup_intent", "setup_intent")
    at.query_params.pop("flow")  # Back to the page as first opened: the flow edited last
    at.run()
    assert (showing(at), in_address(at)) == (opening(), None)
    at.query_params["flow"] = "setup_intent"  # Forward
    at.run()
    assert (showing(at), in_address(at)) == ("setup_intent", "setup_intent")


def test_an_unknown_flow_in_the_address_is_explained_and_the_opening_flow_shown() -> None:
    at = open_page(PAGE, "admin")
    pick_flow(at, "invoice")
    at.query_params["flow"] = "wire_[transfer](https://x.example)"
    at.run()
    no_exceptions(at)
    assert showing(at) == opening()
    assert [w.value for w in at.warning if "does not know" in w.value] == [
        "The address names a flow fcops does not know (`wire_[transfer](https://x.example)`); "
        f"showing {flow_config.FLOW_TITLES[opening()]}. Choose a flow below."
    ]
    pick_flow(at, "checkout_session")
    assert in_address(at) == "checkout_session"


def marked(at: AppTest) -> list[str]:
    """The flows the list marks as holding unsaved edits (a caption under the flow)."""
    radio = at.radio(key="flows_selected")
    return [
        f for f, caption in zip(flow_config.FLOWS, radio.proto.captions, strict=True)
        if "unsaved edits" in caption
    ]


def test_switching_flows_keeps_each_flows_unsaved_edits_and_marks_them_in_the_list() -> None:
    """Clicking another flow and back threw the edits away (Streamlit forgets the widgets of a
    flow not drawn, and the page then refilled the editor from the saved configuration)."""
    flow, other = "subscription", "invoice"
    at = pick_flow(open_page(PAGE, "admin"), flow)
    stored = flows.load_flow(engine(), flow)
    perms = sorted(set(stored.permissions) | {"payment_method", "balances"})
    prefetch = sorted(set(stored.prefetch) | {"balances"})
    at.multiselect(key=k(flow, "perms")).set_value(perms).run()
    at.multiselect(key=k(flow, "prefetch")).set_value(prefetch).run()
    mine = "automatic" if stored.verification_method == "microdeposits" else "microdeposits"
    at.radio(key=k(flow, "method")).set_value(mine).run()
    at.text_input(key=k(flow, "note")).set_value("underwriting").run()
    assert "Unsaved edits" in texts(at)
    assert marked(at) == [flow]
    assert (showing(at), in_address(at)) == (flow, flow)  # the first edit keeps the flow picked

    pick_flow(at, other)
    no_exceptions(at)
    assert marked(at) == [flow]  # seen from the other flow too
    assert at.radio(key="flows_selected").value == other
    assert "Unsaved edits" not in texts(at)  # the other flow has none
    pick_flow(at, flow)
    no_exceptions(at)
    assert list(at.multiselect(key=k(flow, "perms")).value) == [
        p for p in flow_config.PERMISSIONS if p in perms
    ]
    assert list(at.multiselect(key=k(flow, "prefetch")).value) == [
        p for p in flow_config.PREFETCH if p in prefetch
    ]
    assert at.radio(key=k(flow, "method")).value == mine
    assert at.text_input(key=k(flow, "note")).value == "underwriting"
    assert "Unsaved edits" in texts(at)
    assert not at.button(key=k(flow, "save")).disabled

    at.switch_page("pages/home.py").run()  # leaving the page keeps them too
    at.switch_page(PAGE).run()
    pick_flow(at, flow)
    assert at.radio(key=k(flow, "method")).value == mine
    assert flows.load_flow(engine(), flow) == stored  # nothing saved by switching

    at.button(key=k(flow, "save")).click().run()
    no_exceptions(at)
    assert flows.load_flow(engine(), flow).verification_method == mine
    assert marked(at) == []  # saved: the mark is gone
    assert at.radio(key="flows_selected").value == flow


def test_an_admin_removed_since_the_page_was_drawn_saves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Save runs as a widget callback, before the router and the page's guard, with the actor
    of the page's last run: an admin removed meanwhile saved a new version once more."""
    import secrets

    from pages._runtime import get_app
    from services import audit, users

    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
    name = f"gone{secrets.token_hex(3)}"
    users.add_user(get_app().settings.users_file, username=name,
                   password="plum-orbit-canvas-42", role="admin")
    flow = "setup_intent"
    at = pick_flow(open_page(PAGE, name), flow)
    stored = flows.load_flow(engine(), flow)
    other = next(m for m in ("instant", "microdeposits", "automatic")
                 if m != stored.verification_method)
    at.radio(key=k(flow, "method")).set_value(other).run()
    users.remove_user(get_app().settings.users_file, name)
    at.button(key=k(flow, "save")).click().run()
    no_exceptions(at)
    assert flows.load_flow(engine(), flow).version == stored.version  # nothing saved
    assert SIGN_IN_ENDED in texts(at)
    rows = audit.query(engine(), actor=OTHER, actions=["flow.save"], limit=50).rows
    mine = [r for r in rows if r.actor == name]
    # refused by the service itself (runtime.call_keyed, the one path), so audited under their name
    assert [(r.outcome, r.message) for r in mine] == [("refused", SIGN_IN_ENDED)]


def save_other(flow: str, method: str) -> flow_config.FlowConfig:
    """Another admin saves ``flow`` with ``method`` on top of whatever is stored."""
    base = flows.load_flow(engine(), flow).version
    return flows.save_flow(
        engine(), OTHER, flow, permissions=["payment_method"], prefetch=[],
        verification_method=method, expected_version=base,
    )


def test_the_compare_boxes_follow_the_newest_pair_until_the_admin_picks_one() -> None:
    flow = "setup_intent"
    open_page(None, "admin")  # builds the app, so its store can be used below
    save_other(flow, "instant")
    at = pick_flow(open_page(PAGE, "admin"), flow)
    latest = flows.load_flow(engine(), flow).version
    pair = (at.selectbox(key=k(flow, "diff_a")), at.selectbox(key=k(flow, "diff_b")))
    assert (pair[0].value, pair[1].value) == (latest - 1, latest)
    # Someone saves twice while the page is open: the boxes move to the newest pair.
    save_other(flow, "automatic")
    newest = save_other(flow, "microdeposits").version
    at.run()
    no_exceptions(at)
    assert at.selectbox(key=k(flow, "diff_a")).value == newest - 1
    assert at.selectbox(key=k(flow, "diff_b")).value == newest
    # A pair the admin picks stays after further saves.
    at.selectbox(key=k(flow, "diff_a")).set_value(0).run()
    save_other(flow, "instant")
    at.run()
    no_exceptions(at)
    assert at.selectbox(key=k(flow, "diff_a")).value == 0
    assert at.selectbox(key=k(flow, "diff_b")).value == newest
