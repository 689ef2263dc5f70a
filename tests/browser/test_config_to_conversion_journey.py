"""Admin changes the SetupIntent flow → ops creates a SetupIntent carrying it and plays the
customer → the manager's conversion page counts it. Headless Chromium on a real server."""

from __future__ import annotations

import re

from tests.browser.conftest import sign_in, wait_idle

USABLE = re.compile(r"([\d,]+) usable of [\d,]+ ended")
STARTED = re.compile(r"([\d,]+) started with")


def settle(pg) -> None:  # type: ignore[no-untyped-def]
    """Give a rerun time to start before waiting for it to finish (the flag flips late)."""
    pg.wait_for_timeout(500)
    wait_idle(pg)


def sign_out(pg) -> None:  # type: ignore[no-untyped-def]
    pg.get_by_role("button", name="Log out").click()
    settle(pg)
    pg.get_by_label("Username").wait_for()


def open_page(pg, title: str) -> None:  # type: ignore[no-untyped-def]
    pg.get_by_test_id("stSidebar").get_by_role("link", name=title, exact=True).click()
    settle(pg)


def pick_option(pg, widget_label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    box = pg.get_by_test_id("stMultiSelect").filter(has_text=widget_label)
    box.click()
    pg.get_by_role("option", name=option, exact=True).click()
    pg.keyboard.press("Escape")
    settle(pg)


def open_setup_intent_flow(pg) -> None:  # type: ignore[no-untyped-def]
    """Flow configuration, SetupIntent picked and its editor drawn."""
    open_page(pg, "Flow configuration")
    # The radio's option: the page may open on SetupIntent already (the flow this admin edited
    # last), where its heading and tab name it too
    pg.get_by_role("radiogroup", name="Flow").get_by_text("SetupIntent", exact=True).click()
    # The editor below belongs to the flow named in the heading: wait until that is SetupIntent.
    pg.get_by_test_id("stHeading").filter(has_text=re.compile(r"^\s*SetupIntent\s*$")).wait_for()
    settle(pg)


def add_setup_intent_permission(pg) -> str:  # type: ignore[no-untyped-def]
    """Add a data permission the SetupIntent flow lacks and save; returns the permission."""
    open_setup_intent_flow(pg)
    perms_box = pg.get_by_test_id("stMultiSelect").filter(has_text="Permissions")
    added = next(
        p for p in ("balances", "ownership", "transactions") if p not in perms_box.inner_text()
    )
    pick_option(pg, "Permissions", added)
    pg.get_by_role("button", name="Save").click()
    settle(pg)
    pg.get_by_text(re.compile(r"Saved version \d+\.")).wait_for()
    return str(added)


def new_customer(pg, address: str) -> None:  # type: ignore[no-untyped-def]
    """Collect's step 1: create a customer with this email and wait until it is chosen."""
    pg.get_by_text("New customer", exact=True).click()
    settle(pg)
    email = pg.get_by_label("Email")
    email.wait_for()
    email.fill(address)
    email.press("Tab")
    pg.get_by_role("button", name="Create customer").click()
    settle(pg)
    pg.get_by_text("Requests will be created for").wait_for()


def setup_intent_counts(pg, method: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(usable, started) of ``method`` on the conversion page for the setup_intent flow."""
    wait_idle(pg)  # never read the cards of a run that is still redrawing them
    flow_box = pg.get_by_test_id("stMultiSelect").filter(has_text="Flow")
    if "SetupIntent" not in flow_box.inner_text():  # the box names flows by their titles
        flow_box.click()
        option = pg.get_by_role("option", name="SetupIntent", exact=True)
        if option.count() == 0:  # no intent of this flow stored yet
            pg.keyboard.press("Escape")
            return 0, 0
        option.click()
        pg.keyboard.press("Escape")
        settle(pg)
    caption = pg.get_by_text(re.compile(rf"[\d,]+ started with {method} "))
    if caption.count() == 0:  # no card: nothing of this method in the filtered range
        return 0, 0
    text = caption.first.inner_text()
    usable, started = USABLE.search(text), STARTED.search(text)
    assert usable and started, text
    return int(usable.group(1).replace(",", "")), int(started.group(1).replace(",", ""))


def test_admin_config_reaches_the_setup_intent_and_the_manager_counts_it(page, app_url) -> None:  # type: ignore[no-untyped-def]
    # Manager baseline (the first visit also runs the first sync); the method is read later.
    sign_in(page, app_url, "manager", "fcops-manager-demo")
    open_page(page, "Conversion")
    page.get_by_text("intents stored").wait_for()
    baseline = {m: setup_intent_counts(page, m) for m in ("automatic", "instant", "microdeposits")}
    sign_out(page)

    # Admin: add a data permission to the SetupIntent flow and save.
    sign_in(page, app_url, "admin", "fcops-admin-demo")
    added = add_setup_intent_permission(page)
    sign_out(page)

    # Ops: a new customer, a SetupIntent with that configuration, then play the customer.
    sign_in(page, app_url, "ops", "fcops-ops-demo")
    open_page(page, "Collect accounts")
    assert added in page.get_by_text("SetupIntent flow: permissions").inner_text()
    new_customer(page, "journey-customer@example.com")
    page.get_by_role("button", name="Create SetupIntent").click()
    settle(page)
    on_object = page.get_by_text("On the object Stripe returned").inner_text()
    assert added in on_object and "payment_method" in on_object
    assert page.get_by_test_id("stCode").filter(has_text="_secret_").count() == 1
    config_text = page.get_by_text("SetupIntent flow: permissions").inner_text()
    found = re.search(r"verification (automatic|instant|microdeposits)", config_text)
    assert found, config_text
    method = found.group(1)
    page.get_by_role("button", name="Link at bank").click()
    settle(page)
    page.get_by_text("Linked through Financial Connections").wait_for()
    assert "succeeded" in page.get_by_test_id("stMetric").filter(has_text="Status").inner_text()
    sign_out(page)

    # Manager: the store does not know yet; after a sync the SetupIntent counts as usable.
    sign_in(page, app_url, "manager", "fcops-manager-demo")
    open_page(page, "Conversion")
    page.get_by_role("button", name="Sync intents").click()
    settle(page)
    page.get_by_text(re.compile(r"Read [\d,]+ intents")).first.wait_for()
    usable, started = setup_intent_counts(page, method)
    assert usable == baseline[method][0] + 1
    assert started == baseline[method][1] + 1
