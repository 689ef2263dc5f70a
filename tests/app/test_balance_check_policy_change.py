"""Balance check: a result on screen says when an admin saved another debit policy after it
(with Check again), and a short debit on a day-old balance offers a refresh before blocking."""

from __future__ import annotations

from services.auth import Actor
from services.rules.debit import DebitPolicy
from tests.app.conftest import no_exceptions, open_page, save_policy
from tests.app.test_balance_check_page import PAGE, check_id, markdown, new_account

HOUR = 3_600
ADMIN = Actor(username="admin", role="admin")
TWO_DAYS = DebitPolicy(buffer_amount=10_000, max_age_seconds=48 * HOUR)


def save(policy: DebitPolicy) -> int:
    return save_policy(policy, ADMIN)


def captions(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(c.value for c in at.caption)


def warnings(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(w.value for w in at.warning)


def test_a_policy_saved_after_the_check_is_said_beside_it_and_check_again_applies_it(
    defaults_after: None,
) -> None:
    save(DebitPolicy())  # the defaults' figures, whatever an earlier test left
    _, fca = new_account(available=454_987, age=28 * HOUR)
    at = check_id(open_page(PAGE, "finance"), fca, "4,500.00")
    no_exceptions(at)
    assert "STALE" in markdown(at) and "would cover" not in warnings(at)
    assert "changed after this check" not in warnings(at)
    version = save(TWO_DAYS)  # an admin saves a new version while the result stays on screen
    at.run()
    no_exceptions(at)
    assert "STALE" in markdown(at)  # the check on screen is as it was made ...
    said = [w.value for w in at.warning if "changed after this check" in w.value]
    assert len(said) == 1, warnings(at)  # ... and says the policy changed since
    assert said[0].startswith(
        f"The debit policy changed after this check (now version {version}, saved by admin at "
    ) and said[0].endswith(": check again to apply it.")
    at.button(key="bc_policy_again").click().run()
    no_exceptions(at)
    assert "INSUFFICIENT" in markdown(at) and "$50.13 short" in markdown(at)
    assert f"Policy applied (version {version})" in captions(at)
    assert "changed after this check" not in warnings(at)


def test_a_short_debit_on_a_day_old_balance_offers_a_refresh_before_blocking_it(
    defaults_after: None,
) -> None:
    save(TWO_DAYS)
    # The sandbox's refresh moves a balance by up to ±3 %, by a draw from the account's ID (which
    # depends on what ran before): $4,449.87 stays short of $4,600.00 even at +3 % ($4,583.37).
    _, fca = new_account(available=444_987, age=28 * HOUR)
    at = check_id(open_page(PAGE, "finance"), fca, "4,500.00")
    no_exceptions(at)
    assert "INSUFFICIENT" in markdown(at) and "$150.13 short" in markdown(at)
    assert "The balance is 28 h old: a refresh may show money" in captions(at)
    at.button(key="bc_refresh_now").click().run()
    no_exceptions(at)
    assert any("refreshed" in s.value for s in at.success)
    assert "still **insufficient**" in captions(at)
    assert not [b for b in at.button if b.key == "bc_refresh_now"]  # now a fresh balance


def test_a_short_debit_whose_refresh_stripe_does_not_allow_yet_says_when_it_will(
    defaults_after: None,
) -> None:
    """The page offers "Refresh balance now" on a short debit with an hour-old balance when
    Stripe allows it; when Stripe did not yet, it said nothing of when it would (only a stale
    balance got "Next refresh available in …")."""
    save(TWO_DAYS)
    _, fca = new_account(available=454_987, age=28 * HOUR, next_refresh_in=2 * HOUR)
    at = check_id(open_page(PAGE, "finance"), fca, "4,500.00")
    no_exceptions(at)
    assert "INSUFFICIENT" in markdown(at) and "$50.13 short" in markdown(at)
    assert not [b for b in at.button if b.key == "bc_refresh_now"]
    assert any("Next refresh available in 2 h" in i.value for i in at.info), [i.value for i in at.info]

    _, fresh = new_account(available=454_987, age=60, next_refresh_in=2 * HOUR)
    at = check_id(open_page(PAGE, "finance"), fresh, "4,500.00")  # a fresh figure: no offer
    no_exceptions(at)
    assert "INSUFFICIENT" in markdown(at)
    assert not any("Next refresh available" in i.value for i in at.info)
