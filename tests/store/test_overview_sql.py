"""Home's counts and the ownership review list, computed in SQL, equal the same figures computed
in Python over every stored row (issue 13), on SQLite and PostgreSQL.

The store is filled by the page benchmark's bulk fill (a small one), then varied so every count
has rows on both sides of its condition.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.page_fill import NOW, fill
from services.adapters import ownership_checks
from services.adapters.models import AccountRecord, IntentRecord, OwnershipCheck
from services.adapters.store import session_scope
from services.auth import Actor
from services.rules.intents import OPEN_STATUSES
from services.usecases import debit_policy
from services.usecases.overview import overview_from_store

DAY = 86_400
STATUSES = ["active", "active", "active", "inactive", "disconnected"]
REFRESH = [None, "succeeded", "succeeded", "pending", "failed"]
CATEGORIES = ["cash", "cash", "cash", "credit"]


def _varied_store(engine: Engine) -> None:
    fill(engine, 0, 60, 2)
    rng = random.Random(13)
    with session_scope(engine) as session:
        ids = list(session.exec(select(AccountRecord.id)).all())
        for ident in ids:
            no_balance = rng.random() < 0.2
            session.execute(
                update(AccountRecord)
                .where(AccountRecord.id == ident)  # type: ignore[arg-type]
                .values(
                    status=rng.choice(STATUSES),
                    balance_refresh_status=None if no_balance else rng.choice(REFRESH),
                    ownership_refresh_status=rng.choice(REFRESH),
                    transaction_refresh_status=rng.choice(REFRESH),
                    balance_as_of=None if no_balance else NOW - rng.randint(0, 20 * DAY),
                    relink_required_by=NOW + rng.randint(1, 30) * DAY
                    if rng.random() < 0.1
                    else None,
                    category=rng.choice(CATEGORIES),
                )
            )


def _rows(engine: Engine, model: Any) -> list[Any]:
    with session_scope(engine) as session:
        return list(session.exec(select(model)).all())


def test_home_counts_in_sql_equal_the_counts_over_every_row_in_python(engine: Engine) -> None:
    _varied_store(engine)
    accounts = _rows(engine, AccountRecord)
    checks = _rows(engine, OwnershipCheck)
    intents = _rows(engine, IntentRecord)
    policy = debit_policy.load_policy(engine).policy
    cutoff = NOW - policy.max_age_seconds
    refresh = ("balance_refresh_status", "ownership_refresh_status", "transaction_refresh_status")
    relink = [a.relink_required_by for a in accounts if a.relink_required_by is not None]

    got = overview_from_store(engine, Actor("admin", "admin"), now=NOW, conversion=False)

    assert got.ops is not None and got.finance is not None
    assert (got.accounts, got.intents) == (len(accounts), len(intents))
    verdicts = Counter(c.verdict for c in checks)
    expected_ops = {
        "inactive": sum(a.status == "inactive" for a in accounts),
        "disconnected": sum(a.status == "disconnected" for a in accounts),
        "refresh_failed": sum(any(getattr(a, f) == "failed" for f in refresh) for a in accounts),
        "mismatches": verdicts["mismatch"],
        "partials": verdicts["partial"],
        "open_requests": sum(
            i.kind == "setup_intent" and i.status in OPEN_STATUSES and i.created >= NOW - 30 * DAY
            for i in intents
        ),
        "relink_needed": len(relink),
        "relink_soonest": min(relink) if relink else None,
    }
    assert {k: getattr(got.ops, k) for k in expected_ops} == expected_ops
    # what finance can bring up to date: active cash accounts with balance access, no refresh
    # running (cards, inactive and disconnected accounts left out)
    can = [
        a
        for a in accounts
        if a.status == "active"
        and a.category == "cash"
        and ",balances," in a.permissions
        and a.balance_refresh_status != "pending"
    ]
    stale = [a for a in can if a.balance_as_of is not None and a.balance_as_of < cutoff]
    never = [a for a in can if a.balance_as_of is None]
    assert got.finance.stale_balances == len(stale)
    assert got.finance.stale_failed == sum(a.balance_refresh_status == "failed" for a in stale)
    assert got.finance.never_refreshed == len(never)
    assert got.finance.never_failed == sum(a.balance_refresh_status == "failed" for a in never)
    assert len(can) < sum(a.balance_as_of is None or a.balance_as_of < cutoff for a in accounts)
    # Every count has rows on both sides, so a wrong condition would show.
    assert 0 < expected_ops["inactive"] < len(accounts)
    assert 0 < expected_ops["refresh_failed"] < len(accounts)
    assert 0 < got.finance.stale_balances < len(accounts)
    assert got.finance.never_refreshed > 0


def _python_review(
    engine: Engine, verdicts: list[str], search: str, institution: str | None
) -> list[str]:
    accounts = {a.id: a for a in _rows(engine, AccountRecord)}
    text = search.strip()

    def keep(check: OwnershipCheck) -> bool:
        account = accounts.get(check.account_id)
        bank = account.institution_name if account else None
        if check.verdict not in verdicts or (institution and bank != institution):
            return False
        if text.startswith("fca_"):
            return check.account_id.startswith(text)
        if text.startswith("cus_"):
            return (check.customer_id or "").startswith(text)
        if text.isdigit():
            return account is not None and account.last4 == text.zfill(4)
        return not text or text.lower() in (bank or "").lower()

    kept = [c for c in _rows(engine, OwnershipCheck) if keep(c)]
    return [c.account_id for c in sorted(kept, key=lambda c: (c.score, c.account_id))]


@pytest.mark.parametrize(
    ("verdicts", "search", "institution"),
    [
        (["mismatch", "partial"], "", None),
        (["match", "mismatch", "partial", "no_data"], "", "StripeBank"),
        (["mismatch", "partial", "match"], "fca_b000001", None),
        (["mismatch", "partial", "match"], "cus_b000002", None),
        (["mismatch", "partial", "match", "no_data"], "harbor", None),
        (["mismatch", "partial", "match", "no_data"], "Evergreen", "Evergreen Federal"),
        (["mismatch"], "zzz", None),
    ],
)
def test_the_review_list_filters_and_pages_in_sql_as_python_would(
    engine: Engine, verdicts: list[str], search: str, institution: str | None
) -> None:
    _varied_store(engine)
    expected = _python_review(engine, verdicts, search, institution)

    pages, page, got = 1, 1, []
    while page <= pages:
        result = ownership_checks.review_page(
            engine,
            verdicts=verdicts,
            page=page,
            page_size=7,
            pii=False,
            search=search,
            institution=institution,
        )
        got += [r.account_id for r in result.rows]
        pages, page = result.pages, page + 1

    assert got == expected
    assert result.total == len(expected)
    assert result.counts == dict(Counter(c.verdict for c in _rows(engine, OwnershipCheck)))
    if search != "zzz":
        assert expected, "the case should match some rows"


def test_the_review_list_finds_an_account_by_its_last_four_digits(engine: Engine) -> None:
    _varied_store(engine)
    account = _rows(engine, AccountRecord)[5]
    result = ownership_checks.review_page(
        engine,
        verdicts=["match", "mismatch", "partial", "no_data"],
        page=1,
        page_size=500,
        pii=False,
        search=str(int(account.last4)),  # "0042" typed as "42" still finds it
    )
    assert account.id in [r.account_id for r in result.rows]
    assert all(r.last4 == account.last4 for r in result.rows)


def test_a_review_search_with_a_nul_or_over_100_characters_is_refused_in_a_sentence(
    engine: Engine,
) -> None:
    from services.context import Services
    from services.errors import ValidationError
    from services.usecases import review_ownership

    svc = Services(gateway=None, engine=engine, mode="sandbox")  # type: ignore[arg-type]
    for bad in ("fca_\x00", "x" * 101):
        with pytest.raises(ValidationError, match="(at most 100|remove it)"):
            review_ownership.review_list(svc, Actor("ops", "ops"), search=bad)
