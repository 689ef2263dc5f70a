""""Did our check work?" counted in SQL (services/usecases/check_figures.py) equals the rules of
services/rules/check_effect.py over every debit of the window and every check, loaded, on SQLite
and PostgreSQL (issue 13): the verdict table, the counts, the misses, the checks kept from
bouncing and the policy options.

The store is filled by the page benchmark's debit fill (returns with ok and insufficient
verdicts before them), plus the odd cases: two checks at the same second, a check at the debit's
very second, one exactly at the lookback and one a second beyond it, a debit without an account,
insufficient verdicts no debit followed (one in the window, one before it, one followed by a
debit just after the lookahead), a return whose ok check had an old balance, and returns of
several codes (an NSF only when every code is retryable). The figures
are read from each debit's last check as stored and as looked up per debit.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bench.page_fill import DAY, NOW, fill_debits
from services.adapters import check_history, debit_chains, last_checks, original_dates, verdict_days
from services.adapters.models import DebitCheckRecord, DebitOutcomeRecord
from services.rules import check_effect as rules
from services.rules.debit import DebitPolicy
from services.usecases import check_figures, check_rows
from services.usecases.debit_outcomes import load_behind

LOOKBACK = rules.LOOKBACK_SECONDS


def _debit(id_: str, account: str | None, created: int, **extra: object) -> dict[str, object]:
    return {
        "id": id_,
        "original_id": id_,
        "customer_id": "cus_odd",
        "payment_method": "pm_odd",
        "account_id": account,
        "institution": "",
        "last4": "0001",
        "verification_method": None,
        "flow": "",
        "amount": 10_000,
        "currency": "usd",
        "status": "settled",
        "failure_code": None,
        "return_code": None,
        "category": None,
        "created": created,
        "observed_at": NOW,
    } | extra


def _check(account: str, at: int, verdict: str = "ok", **extra: object) -> dict[str, object]:
    return {
        "account_id": account,
        "source": "single",
        "amount": 10_000,
        "currency": "usd",
        "verdict": verdict,
        "balance": 30_000,
        "balance_source": "stored",
        "as_of": at - 3_600,
        "required": 10_000,
        "buffer_amount": 0,
        "buffer_percent": 0.0,
        "max_age_seconds": 3 * DAY,
        "checked_at": at,
        "checked_by": "finance",
    } | extra


def _odd_cases(engine: Engine) -> None:
    nsf = {"status": "returned", "failure_code": "insufficient_funds", "return_code": "R01",
           "category": "other"}
    t = NOW - 10 * DAY
    debits = [
        _debit("pi_tie", "fca_tie", t, **nsf),
        _debit("pi_same", "fca_same", t),
        _debit("pi_edge", "fca_edge", t, **nsf),
        _debit("pi_beyond", "fca_beyond", t),
        _debit("pi_manual", None, t, **nsf),
        _debit("pi_old", "fca_old", t, **nsf),
        _debit("pi_late", "fca_late", NOW - 20 * DAY + LOOKBACK + 1),
        _debit("pi_exact", "fca_exact", t),
        _debit("pi_short", "fca_short", t),
        # returns of several codes: an NSF only when every code is retryable (misses filters on
        # the first code in SQL, the rule decides)
        _debit("pi_both", "fca_both", t, **(nsf | {"return_code": "R09/R01"})),
        _debit("pi_mixed", "fca_mixed", t, **(nsf | {"return_code": "R01/R02"})),
        _debit("pi_later", "fca_later", t, **(nsf | {"return_code": "R02/R01"})),
    ]
    checks = [
        _check("fca_tie", t - 100, balance=12_000),
        _check("fca_tie", t - 100, verdict="insufficient", balance=5_000),  # the later id wins
        _check("fca_same", t),
        _check("fca_edge", t - LOOKBACK, balance=10_500),
        _check("fca_beyond", t - LOOKBACK - 1),
        _check("fca_old", t - 60, as_of=t - 2 * DAY - 60),
        _check("fca_kept", NOW - 3 * DAY, verdict="insufficient", amount=7_000),
        _check("fca_kept", NOW - 100 * DAY, verdict="insufficient"),  # before the window
        _check("fca_late", NOW - 20 * DAY, verdict="insufficient", amount=4_000),
        _check("fca_tie", t - 200, verdict="insufficient"),  # debited within the lookahead
        # exactly what 2.5 % and 100.00 need (10,000 + 250 + 100), and one minor unit less
        _check("fca_exact", t - 50, balance=10_350),
        _check("fca_short", t - 50, balance=10_349),
        _check("fca_both", t - 50),
        _check("fca_mixed", t - 50),
        _check("fca_later", t - 50),
    ]
    with engine.begin() as conn:
        conn.execute(insert(DebitOutcomeRecord), debits)
        conn.execute(insert(DebitCheckRecord), checks)


@pytest.fixture
def filled(engine: Engine) -> Engine:
    fill_debits(engine, 0, 400, now=NOW, background=False)
    _odd_cases(engine)
    last_checks.backfill(engine)  # the odd cases were inserted past the writers too
    original_dates.backfill(engine)
    debit_chains.rebuild(engine)
    verdict_days.rebuild(engine)  # so the verdict table adds up the day counts
    with engine.connect() as conn:
        assert not last_checks.missing(conn) and not original_dates.missing(conn)
    return engine


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "looked-up"])
@pytest.mark.parametrize("window_days", [7, 60])
def test_check_figures_in_sql_equal_the_rules(filled: Engine, window_days: int, stored: bool) -> None:
    """Both ways to each debit's last check: the column the writers keep, and the per-debit
    lookup (any other lookback)."""
    start = NOW - window_days * DAY
    since = start - 180 * DAY
    window = check_figures.Window(since=since, start=start, end=NOW, stored=stored)
    debits = load_behind(filled, since=since, start=start, end=NOW)[0]
    debits.sort(key=lambda d: (d.created, d.id))
    checks = check_history.load_checks(filled, since=start - LOOKBACK)
    joined = rules.join_checks(debits, checks)

    table, count, checked = check_figures.verdicts(filled, window)
    assert (count, checked) == (len(joined), sum(1 for j in joined if j.check))
    assert table.to_dict("records") == rules.verdict_table(joined).to_dict("records")
    assert checked > 0 and count > checked

    missed = check_figures.misses(filled, window)
    assert missed == rules.misses(joined)
    # what the options read of each miss, without loading it whole
    assert check_figures.miss_facts(filled, window) == [rules.facts_of(j) for j in missed]
    assert ("pi_both" in {j.debit.id for j in missed}) == (window_days > 7)
    assert not {"pi_mixed", "pi_later"} & {j.debit.id for j in missed}
    assert len(missed) > (5 if window_days > 7 else 0)
    for limit in (0, 1, 3, len(missed) + 5):  # roles without the options read only the newest
        newest = list(reversed(missed[-limit:])) if limit else []
        assert check_figures.newest_misses(filled, window, limit) == (newest, len(missed))
        both = check_rows.read_misses(filled, window, limit)  # and with every miss's facts
        assert (both.newest, both.total) == (newest, len(missed))
        assert both.facts == [rules.facts_of(j) for j in missed]

    kept = check_figures.kept(filled, window, until=NOW)
    assert kept == rules.kept_from_bouncing(checks, debits, since=start, until=NOW)
    assert kept.amounts == {"usd": 7_000 + (4_000 if window_days > 7 else 0)}

    for current in (
        DebitPolicy(max_age_seconds=3 * DAY),
        DebitPolicy(buffer_percent=150.0),
        DebitPolicy(buffer_amount=100, buffer_percent=2.5, max_age_seconds=2 * DAY),
        DebitPolicy(buffer_percent=0.1 + 0.2),  # 0.30000000000000004: the rows are read
    ):
        limits = {"max_percent": 2_000.0, "min_age_seconds": 900}
        got = check_figures.options(filled, window, current, **limits)  # type: ignore[arg-type]
        expected = rules.policy_options(joined, current, **limits)  # type: ignore[arg-type]
        assert got == expected
        one_pass = check_figures.figures(filled, window, current, **limits)  # type: ignore[arg-type]
        assert one_pass.options == expected
        facts = check_rows.read_misses(filled, window, 1).facts
        given = check_figures.figures(filled, window, current, **limits, missed=facts)  # type: ignore[arg-type]
        assert given.options == one_pass.options
        assert given.table.to_dict("records") == one_pass.table.to_dict("records")
        assert one_pass.table.to_dict("records") == table.to_dict("records")
        assert (one_pass.debits, one_pass.checked) == (count, checked)
        if window_days > 7:
            assert any(o.blocked for o in expected) and len(expected) > 3
