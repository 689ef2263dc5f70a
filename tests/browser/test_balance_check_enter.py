"""Enter in the amount (or the currency, or the ID) box checks the debit, as it did when the boxes were an
st.form; leaving the box (a blur, which also sends its value) does not. Since the boxes left the
form (so an amount typed and not checked is kept across pages), Enter only sent the value and
nothing was checked. Headless Chromium: Enter and a blur are the browser's, which AppTest lacks.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import open_check
from tests.browser.test_batch_journey import linked_account
from tests.browser.test_config_to_conversion_journey import settle

pytestmark = pytest.mark.browser
OK = "OK — the balance covers this debit"


def checked_line(page: Any) -> str:
    """The page's text, where the line under the form names the check shown ("$12.34 on fca_…")."""
    return str(page.inner_text("body"))


def test_enter_in_the_amount_box_checks_the_debit_and_a_blur_does_not(
    page: Any, app_url: str
) -> None:
    fca = linked_account(prefetch=True)["id"]
    open_check(page, app_url, fca)
    amount = page.get_by_role("textbox", name="Debit amount")
    currency = page.get_by_role("textbox", name="Currency")

    amount.fill("12.34")
    currency.click()  # a blur: the value is sent, nothing is checked
    settle(page)
    assert page.get_by_text(OK).count() == 0 and f" on {fca}" not in checked_line(page)
    assert "check=" not in page.url

    amount.press("Enter")  # the value was sent already: Enter alone checks it
    settle(page)
    page.get_by_text(OK).wait_for()
    assert f"$12.34 on {fca}" in checked_line(page)
    page.wait_for_url(re.compile(r"[?&]amount=12\.34"))

    amount.fill("56.78")
    amount.press("Enter")  # typed and Enter at once: the check is of what was typed
    settle(page)
    page.wait_for_url(re.compile(r"[?&]amount=56\.78"))
    assert f"$56.78 on {fca}" in checked_line(page)

    amount.fill("7.00")
    currency.click()  # a blur after typing: still the last check on screen and in the address
    settle(page)
    assert f"$56.78 on {fca}" in checked_line(page) and "amount=56.78" in page.url

    currency.press("Enter")  # Enter in the currency box checks too (it was in the form)
    settle(page)
    page.wait_for_url(re.compile(r"[?&]amount=7\.00"))
    assert f"$7.00 on {fca}" in checked_line(page)

    amount.fill("8.00")
    currency.click()  # sent, not checked
    settle(page)
    assert "amount=7.00" in page.url
    page.get_by_role("textbox", name="ID to check").press("Enter")  # Enter in the ID box checks too
    settle(page)
    page.wait_for_url(re.compile(r"[?&]amount=8\.00"))
    assert f"$8.00 on {fca}" in checked_line(page)
