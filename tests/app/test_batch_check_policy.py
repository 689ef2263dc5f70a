"""Batch check page: the summary names the one debit policy version every row was judged by,
and says when a newer one (saved since) applies to the next batch."""

from __future__ import annotations

from services.auth import Actor
from services.rules.debit import DebitPolicy
from tests.app.conftest import no_exceptions, open_page, save_policy
from tests.app.test_balance_check_page import new_account

PAGE = "pages/batch_check.py"
ADMIN = Actor(username="apptest-admin", role="admin")


def save(policy: DebitPolicy) -> int:
    return save_policy(policy, ADMIN)


def captions(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.value for c in at.caption]


def test_the_summary_names_the_policy_version_and_a_newer_one_for_the_next_batch(
    defaults_after: None,
) -> None:
    version = save(DebitPolicy(buffer_amount=2_500, buffer_percent=1.5, max_age_seconds=7_200))
    _, fca = new_account(available=500_000)
    at = open_page(PAGE, "finance")
    at.text_area(key="batch_text").set_value(f"id,amount,currency\n{fca},100.00,usd\n")
    at.button(key="batch_run").click().run()
    no_exceptions(at)
    named = (
        f":material/policy: Policy version {version} (buffer $25.00 + 1.5 % of the debit, "
        "max age 2 h) applied to every row."
    )
    assert named in captions(at)
    assert not any("has changed since" in c for c in captions(at))
    save(DebitPolicy(buffer_amount=5_000_000))  # an admin saves a new one afterwards
    at.run()
    assert named in captions(at)  # this result keeps its version
    assert any(
        f"has changed since (version {version + 1}): it applies to the next batch check" in c
        for c in captions(at)
    )
