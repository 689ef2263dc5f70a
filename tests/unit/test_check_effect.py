"""Did our check work? The verdict × outcome join, the misses, the money kept from bouncing and
the policy suggestion, on hand-made debits and checks."""

from __future__ import annotations

import random

import pytest

from services.rules import check_effect as ce
from services.rules.debit import DebitPolicy
from services.rules.nacha import return_from
from services.rules.returns import Outcome

DAY = 86_400
HOUR = 3_600
T0 = 1_790_000_000
POLICY = DebitPolicy()  # no buffer, 24 h


def debit(
    name: str, account: str | None, created: int, *, amount: int = 10_000, code: str | None = None,
    status: str = "settled",
) -> Outcome:  # fmt: skip
    ret = return_from(code) if code else None
    return Outcome(
        id=f"pi_{name}", created=created, amount=amount, currency="usd", customer="cus_1",
        payment_method="pm_1", account=account, institution="Bank", last4="6789",
        verification_method="instant", flow=None, status="returned" if ret else status, ret=ret,
        retry_of=None, blocked_reason=None,
    )  # fmt: skip


def check(
    account: str, at: int, *, verdict: str = "ok", amount: int = 10_000, balance: int | None = 12_000,
    age: int = 2 * HOUR, policy: DebitPolicy = POLICY,
) -> ce.Check:  # fmt: skip
    return ce.Check(
        account=account, checked_at=at, amount=amount, currency="usd", verdict=verdict,
        balance=balance, as_of=None if balance is None else at - age,
        required=policy.required(amount), policy=policy,
    )  # fmt: skip


def test_each_debit_joins_the_last_check_of_its_account_before_it_and_none_after() -> None:
    early = check("fca_a", T0 - 5 * HOUR, verdict="insufficient")
    late = check("fca_a", T0 - HOUR)
    after = check("fca_a", T0 + HOUR, verdict="stale")
    other = check("fca_b", T0 - HOUR, verdict="unavailable")
    joined = ce.join_checks([debit("1", "fca_a", T0)], [after, late, other, early])
    assert joined[0].check is late


def test_a_check_older_than_the_lookback_or_a_debit_without_an_account_joins_nothing() -> None:
    old = check("fca_a", T0 - 8 * DAY)
    joined = ce.join_checks([debit("1", "fca_a", T0), debit("2", None, T0)], [old])
    assert [j.verdict for j in joined] == ["no check", "no check"]
    assert ce.join_checks([debit("1", "fca_a", T0)], [old], lookback=9 * DAY)[0].check is old


def test_the_table_counts_debits_per_verdict_and_outcome() -> None:
    joined = ce.join_checks(
        [
            debit("ok_settled", "fca_a", T0),
            debit("ok_r01", "fca_b", T0, code="insufficient_funds"),
            debit("ins_r01", "fca_c", T0, code="insufficient_funds"),
            debit("ok_r02", "fca_d", T0, code="bank_account_closed"),
            debit("pending", "fca_e", T0, status="pending"),
        ],
        [
            check("fca_a", T0 - HOUR), check("fca_b", T0 - HOUR),
            check("fca_c", T0 - HOUR, verdict="insufficient", balance=5_000),
            check("fca_d", T0 - HOUR),
        ],
    )  # fmt: skip
    table = ce.verdict_table(joined).set_index("verdict")
    assert table.loc["ok", "settled"] == 1
    assert table.loc["ok", "returned R01/R09"] == 1
    assert table.loc["ok", "returned, other code"] == 1
    assert table.loc["insufficient", "returned R01/R09"] == 1
    assert table.loc["no check", "pending"] == 1
    assert int(table["debits"].sum()) == 5
    assert [j.debit.id for j in ce.misses(joined)] == ["pi_ok_r01"]


def test_insufficient_verdicts_with_no_debit_after_them_are_money_kept_from_bouncing() -> None:
    stopped = check("fca_a", T0, verdict="insufficient", amount=30_000, balance=1_000)
    sent_anyway = check("fca_b", T0, verdict="insufficient", amount=20_000, balance=1_000)
    outside = check("fca_c", T0 - 90 * DAY, verdict="insufficient", amount=50_000)
    ok = check("fca_d", T0)
    debits = [debit("b", "fca_b", T0 + HOUR), debit("a_late", "fca_a", T0 + 8 * DAY)]
    kept = ce.kept_from_bouncing(
        [stopped, sent_anyway, outside, ok], debits, since=T0 - 60 * DAY, until=T0 + DAY
    )
    assert kept.checks == [stopped]
    assert kept.amounts == {"usd": 30_000}


def test_one_planned_debit_checked_again_is_kept_from_bouncing_once() -> None:
    """Three checks of one $5,000 debit counted three planned debits ($15,000)."""
    again = [check("fca_a", T0 + i * HOUR, verdict="insufficient", amount=500_000) for i in range(3)]
    other_amount = check("fca_a", T0 + 4 * HOUR, verdict="insufficient", amount=70_000)
    next_month = check("fca_a", T0 + 30 * DAY, verdict="insufficient", amount=500_000)
    kept = ce.kept_from_bouncing(
        [*reversed(again), other_amount, next_month], [], since=T0 - DAY, until=T0 + 40 * DAY
    )
    assert kept.checks == [again[0], other_amount, next_month]
    assert kept.amounts == {"usd": 1_070_000}


def test_the_smallest_buffer_that_catches_the_misses_is_suggested_with_its_cost() -> None:
    # Three R01s an ok let through, with 5 %, 12 % and 30 % of headroom; two settled debits
    # with 8 % and 50 % of headroom.
    debits = [
        debit("m5", "fca_1", T0, code="insufficient_funds"),
        debit("m12", "fca_2", T0, code="insufficient_funds"),
        debit("m30", "fca_3", T0, code="insufficient_funds"),
        debit("s8", "fca_4", T0),
        debit("s50", "fca_5", T0),
    ]
    checks = [
        check("fca_1", T0 - HOUR, balance=10_500), check("fca_2", T0 - HOUR, balance=11_200),
        check("fca_3", T0 - HOUR, balance=13_000), check("fca_4", T0 - HOUR, balance=10_800),
        check("fca_5", T0 - HOUR, balance=15_000),
    ]  # fmt: skip
    options = ce.policy_options(ce.join_checks(debits, checks), POLICY)
    buffers = {
        o.policy.buffer_percent: (o.caught, o.blocked)
        for o in options
        if o.kind == "buffer_percent"
    }
    # 5 % is exactly the headroom, and exactly enough still passes: 6 % is needed.
    assert buffers == {6.0: (1, 0), 13.0: (2, 1), 31.0: (3, 1)}
    best = ce.suggest(options)
    assert best is not None and best.policy.buffer_percent == 31.0
    assert (best.caught, best.misses, best.blocked) == (3, 3, 1)
    assert best.caught_amounts == {"usd": 30_000} and best.blocked_amounts == {"usd": 10_000}
    assert best.policy.max_age_seconds == POLICY.max_age_seconds  # the rest kept


def test_a_shorter_maximum_age_is_offered_when_the_misses_read_old_balances() -> None:
    debits = [debit("m", "fca_1", T0, code="insufficient_funds"), debit("s", "fca_2", T0)]
    checks = [
        check("fca_1", T0 - HOUR, balance=20_000, age=20 * HOUR),
        check("fca_2", T0 - HOUR, balance=20_000, age=2 * HOUR),
    ]
    options = ce.policy_options(ce.join_checks(debits, checks), POLICY)
    ages = [o for o in options if o.kind == "max_age"]
    assert [(o.policy.max_age_seconds, o.caught, o.blocked) for o in ages] == [(19 * HOUR, 1, 0)]
    assert ce.suggest(ages) == ages[0]


def test_no_suggestion_when_every_option_holds_back_more_good_debits_than_returns() -> None:
    debits = [
        debit("m", "fca_1", T0, code="insufficient_funds"), debit("s1", "fca_2", T0),
        debit("s2", "fca_3", T0),
    ]  # fmt: skip
    checks = [
        check("fca_1", T0 - HOUR, balance=11_000), check("fca_2", T0 - HOUR, balance=10_500),
        check("fca_3", T0 - HOUR, balance=10_200),
    ]  # fmt: skip
    options = ce.policy_options(ce.join_checks(debits, checks), POLICY)
    assert options and all(o.blocked > o.caught for o in options)
    assert ce.suggest(options) is None
    assert ce.suggest([]) is None


def test_one_settled_debit_held_back_per_return_caught_is_still_suggested() -> None:
    debits = [debit("m", "fca_1", T0, code="insufficient_funds"), debit("s", "fca_2", T0)]
    checks = [check("fca_1", T0 - HOUR, balance=11_000), check("fca_2", T0 - HOUR, balance=10_500)]
    best = ce.suggest(ce.policy_options(ce.join_checks(debits, checks), POLICY))
    assert best is not None and (best.caught, best.blocked) == (1, 1)
    assert best.policy.buffer_percent == 11.0


def test_options_stay_within_the_policy_bounds_and_above_the_current_buffer() -> None:
    debits = [debit("m", "fca_1", T0, code="insufficient_funds")]
    rich = [check("fca_1", T0 - HOUR, balance=40_000, age=10 * 60)]
    assert ce.policy_options(ce.join_checks(debits, rich), POLICY, max_percent=100) == []
    current = DebitPolicy(buffer_percent=20.0)
    near = [check("fca_1", T0 - HOUR, balance=11_000, policy=current)]
    assert ce.policy_options(ce.join_checks(debits, near), current) == []


@pytest.mark.parametrize("seed", range(6))
def test_each_option_catches_and_holds_back_exactly_what_its_policy_would_not_pass(seed: int) -> None:
    """options_from counts what an option catches without computing ``required`` per miss and
    option; on random facts (ages on and around whole hours, balances on and around what a
    percentage needs, amounts in two currencies) every count equals ``not ok_under(option)``."""
    rng = random.Random(seed)

    def facts() -> ce.Facts:
        asked = rng.choice([1, 99, 10_000, rng.randint(1, 500_000)])
        percent = rng.randint(0, 120)
        balance = asked + rng.choice([0, 100, 2_500]) + (asked * percent + 99) // 100
        balance += rng.choice([-1, 0, 0, 1, rng.randint(-5_000, 5_000)])
        age = rng.choice([0, 1, 900, 3_600 * rng.randint(1, 30), rng.randint(0, 3 * 86_400)])
        age += rng.choice([0, 0, -1, 1]) if age > 1 else 0
        return ce.Facts(balance, asked, age, rng.choice(["usd", "cad"]), rng.randint(1, 90_000))

    missed = [facts() for _ in range(300)]
    good = [facts() for _ in range(300)]
    for current in (
        DebitPolicy(),
        DebitPolicy(buffer_amount=100, buffer_percent=2.5, max_age_seconds=2 * 86_400),
        DebitPolicy(buffer_amount=2_500, buffer_percent=10.0, max_age_seconds=30 * 86_400),
    ):
        found = ce.options_from(missed, good, current, max_percent=100.0, min_age_seconds=900)
        assert len({o.kind for o in found}) == 2  # both kinds are offered
        passed = [f for f in missed if f.ok_under(current)]
        passing = [f for f in good if f.ok_under(current)]
        for option in found:
            caught = [f for f in passed if not f.ok_under(option.policy)]
            blocked = [f for f in passing if not f.ok_under(option.policy)]
            assert (option.caught, option.misses, option.blocked) == (
                len(caught), len(passed), len(blocked)
            )
            for items, amounts in ((caught, option.caught_amounts), (blocked, option.blocked_amounts)):
                want: dict[str, int] = {}
                for f in items:
                    want[f.currency] = want.get(f.currency, 0) + f.amount
                assert amounts == want
