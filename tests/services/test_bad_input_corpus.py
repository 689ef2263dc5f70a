"""The bad-input corpus: hostile and malformed inputs a person or a crafted client can send.

Each input must be refused with a sentence a person can act on (a domain error, or a row error
for CSV rows), change nothing, and never surface a database or Python error. Store-backed parts
run on SQLite and on PostgreSQL (where NUL bytes fail in the driver if they get that far).

Every family is driven through the rule that checks it (``services.rules.input_limits``, IDs,
money, CSV) and through the use cases that take it (customer search, account and transaction
filters, pickers, the ownership review and microdeposit queues, collection forms, lookups, debit
checks, refreshes, flow configs, the debit policy, audit filters, users, sign-in). Use cases get
Services without a Stripe gateway: a refusal must come before any Stripe call (one that got
that far would be an AttributeError, a failure here). ``CORPUS_SIZE`` counts the inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services import audit, users
from services.adapters.models import AuditEntry, CustomerRecord, Setting, SignInThrottle
from services.adapters.store import session_scope
from services.auth import Actor
from services.errors import FcopsError, Forbidden
from services.rules import input_limits as lim
from services.rules import policy_bounds
from services.rules.ids import parse_id
from services.rules.money import MoneyError, parse_amount, validate_currency
from services.usecases import sign_in

ADMIN = Actor(username="alice", role="admin")
REFUSALS = (FcopsError, MoneyError)  # errors whose message is written for a person

HOSTILE_TEXT: list[Any] = [
    "\x00",
    "a\x00b",
    "\x00" * 50,
    "name\x07",
    "esc\x1b[2J",
    "tab\tin",
    "cr\rin",
    "line\nfeed",
    "del\x7f",
    "\u202eevil",
    "zero\u200bwidth",
    "\ufeffbom",
    "x" * 10_000,
    "é" * 5_000,
    "\x85next",
    "\u2028sep",
    "😀" * 300,
    "\udcff",
    12,
    3.5,
    ["list"],
    {"k": "v"},
    b"bytes",
]
BAD_IDS = [
    "",
    "   ",
    "cus",
    "cus_",
    "cus_a",
    "xyz_123456",
    "fca_12 34",
    "fca_abc\x00def",
    "fca_' OR 1=1--",
    "pi_%",
    "pi_12-34",
    "cus_" + "a" * 300,
    "CUS_ABCDEF",
    "ba_123456",
    "tok_123456",
    "sk_test_abcdef",
    "https://dashboard.stripe.com/customers/",  # a Dashboard URL naming no object (one naming an ID gives that ID: test_shown_as_typed)
    "fca_abc;drop",
    "fca_abc\ndef",
    "cus_é12345",
    "tok_123456",  # (ch_ and py_ are payments: Payment lookup takes them)
    "{{cus_123}}",
    "cus_\u200b12345",
    "fcsess_",
    "evt_ab",
]
BAD_AMOUNTS = [
    "",
    " ",
    "-5",
    "(5.00)",
    "0",
    "0.00",
    "1e3",
    "1E-2",
    "abc",
    "12.345",
    "1,23.00",
    "1.2.3",
    "$-1",
    "€5",
    "100000000.00",
    "99999999999",
    "nan",
    "inf",
    "12\x00",
    "1 000",
    "١٢٣",
    "0x10",
    "--1",
    "+",
    ".",
    "12.5.",
    "5%",
]
BAD_CURRENCIES = [
    "",
    "us",
    "usdd",
    "uds",
    "US$",
    "12a",
    "xxx",
    "usd\x00",
    "u s",
    "€",
    "dollars",
    "xau",
    "ZZZ",
    "u\u200bsd",
    "   ",
]
# Maximum balance age in hours, against the policy's own bounds (services.rules.policy_bounds:
# 15 minutes to 30 days); the form takes fractions of an hour.
BAD_POLICY_HOURS: list[Any] = [
    10**20,
    -1,
    0,
    0.24,
    720.01,
    721,
    1e308,
    math.inf,
    math.nan,
    True,
    None,
    "1e9",
    "forever",
    "",
    "24h",
    "\x00",
]
GOOD_POLICY_HOURS: list[float] = [0.25, 0.5, 1, 24, 720]
BAD_PERCENT: list[Any] = [-0.01, 100.01, 1e20, math.nan, -math.inf, "50%", "ten", True, None, ""]
BAD_STRIPE_FIELDS: list[tuple[str, Any]] = [
    ("customer.name", "n" * 10_000),
    ("customer.name", "n" * 257),
    ("customer.name", "a\x00b"),
    ("customer.name", "\x1b[31mred"),
    ("customer.email", "e" * 5_000 + "@x.com"),
    ("customer.email", "not-an-email"),
    ("customer.email", "a@b"),
    ("customer.email", "a @b.co"),
    ("customer.email", "x@y.z\x00"),
    ("statement_descriptor", "D" * 23),
    ("statement_descriptor", "<script>"),
    ("statement_descriptor", "12345"),
    ("statement_descriptor", 'ACME "X"'),
    ("idempotency_key", "k" * 256),
]
BAD_METADATA: list[dict[str, Any]] = [
    {f"k{i}": "v" for i in range(51)},
    {"k" * 41: "v"},
    {"a[b]": "v"},
    {"k": "v" * 501},
    {"k": "v\x00"},
    {"": "v"},
    {"k\x00": "v"},
    {"  ": "v"},
]
BAD_USERS: list[dict[str, str]] = [
    {"username": "", "password": "plum-orbit-canvas-42", "role": "ops"},
    {"username": "a", "password": "plum-orbit-canvas-42", "role": "ops"},
    {"username": "Alice", "password": "plum-orbit-canvas-42", "role": "ops"},
    {"username": "al ice", "password": "plum-orbit-canvas-42", "role": "ops"},
    {"username": "al\x00ice", "password": "plum-orbit-canvas-42", "role": "ops"},
    {"username": "1alice", "password": "plum-orbit-canvas-42", "role": "ops"},
    {"username": "a" * 33, "password": "plum-orbit-canvas-42", "role": "ops"},
    {"username": "alice", "password": "plum-orbit-canvas-42", "role": "root"},
    {"username": "alice", "password": "plum-orbit-canvas-42", "role": ""},
    {"username": "alice", "password": "password1234", "role": "ops"},
    {"username": "alice", "password": "alice-alice-1", "role": "ops"},
    {"username": "alice", "password": "fcops-ops-demo", "role": "ops"},
    {"username": "alice", "password": "short", "role": "ops"},
    {"username": "alice", "password": "plum\x00orbit-canvas", "role": "ops"},
    {"username": "alice", "password": " plum-orbit-canvas-42", "role": "ops"},
    {"username": "alice", "password": "p" * 100, "role": "ops"},
]
SIGN_IN_NAMES = [
    "",
    "\x00",
    "admin\x00",
    "a" * 10_000,
    "%",
    "_",
    "' OR '1'='1",
    "admin' --",
    "\u202eadmin",
    "ADMIN ",
    "😀",
    "../../etc/passwd",
    "${jndi:ldap://x}",
    "\n",
    "a\\b",
]
AUDIT_FILTERS = ["\x00", "a\x00b", "x" * 10_000, "\x1b[0m"]
BAD_CSV: list[str | bytes] = [
    "",
    "\n\n",
    "account,amount\n",
    b"\xff\xfe\x00garbage",
    "no,useful,columns\n1,2,3\n",
    "account,amount\nfca_123456,\x00\n",
    "account,amount\nfca_123456,-5\n",
    "account,amount\nfca_123456,1e9\n",
    'account,amount\n=HYPERLINK("x"),5\n',
    "account,amount\nfca_123456,5,extra,cells\n",
    "amount\n5\n",
    "account,amount,currency\nfca_123456,5,xxx\n",
    "account,amount\nnot_an_id,5\n",
    "account,amount\n" + "fca_123456,1\n" * 3 + "cus_\x00,5\n",
]
SEARCH_TERMS = [
    "\x00",
    "ab\x00",
    "x" * 10_000,
    "ab\x1b[2J",
    "\u202eab",
    "ab\u2028cd",
    "x" * 201,
    "ab\x7fcd",
]
ACCOUNT_FILTERS: list[dict[str, Any]] = [
    {"customer_id": "cus_\x00abc"},
    {"customer_id": "' OR 1=1"},
    {"customer_id": "fca_123456"},
    {"institution": "Bank\x00"},
    {"institution": "B" * 10_000},
    {"stale_after_seconds": 10**20},
    {"stale_after_seconds": -1},
    {"stale_after_seconds": math.nan},
    {"status": "active\x00"},
    {"permission": "%"},
    {"sort": "balance; drop table"},
    {"no_such_filter": 1},
]
TRANSACTION_FILTERS: list[dict[str, Any]] = [
    {"text": "\x00"},
    {"text": "rent\x00"},
    {"text": "r" * 10_000},
    {"status": "void\x00"},
    {"status": "%"},
    {"direction": "sideways"},
    {"direction": "in\x00"},
    {"start": "2026-01-01"},
    {"end": 1_800_000_000},
]
REVIEW_SEARCHES: list[dict[str, Any]] = [
    {"search": "\x00"},
    {"search": "fca_\x00"},
    {"search": "s" * 101},
    {"institution": "\x00"},
    {"institution": "i" * 10_000},
    {"verdicts": ["mismatch\x00"]},
    {"verdicts": ["%"]},
]
BAD_CUSTOMER_FORMS: list[dict[str, Any]] = [
    {"email": "e" * 5_000 + "@example.com"},
    {"email": "a\x00@example.com"},
    {"email": ""},
    {"email": "not-an-email"},
    {"email": None},
    {"email": 12},
    {"email": "ok@example.com", "name": "n" * 10_000},
    {"email": "ok@example.com", "name": "n" * 257},
    {"email": "ok@example.com", "name": "Ann\x00"},
    {"email": "ok@example.com", "name": "\x1b[31m"},
    {"email": "ok@example.com", "name": ["list"]},
]
BAD_KEYS: list[Any] = ["", "   ", "k" * 256, "k\x00", "k\n1", None]
BAD_CANCELS: list[dict[str, Any]] = [
    {"intent_id": "seti_\x00abc", "reason": None},
    {"intent_id": "cus_1234567890", "reason": None},
    {"intent_id": "pi_1234567890", "reason": "because\x00"},
    {"intent_id": "pi_1234567890", "reason": "x" * 10_000},
    {"intent_id": "pi_1234567890", "reason": "fraudulent"},
]
BAD_VERIFICATIONS: list[dict[str, Any]] = [
    {"amounts": [32]},
    {"amounts": [32, 45, 1]},
    {"amounts": [0, 45]},
    {"amounts": [100, 45]},
    {"amounts": [True, 45]},
    {"amounts": ["32", "45"]},
    {"amounts": 3245},
    {"amounts": [32.5, 45]},
    {"descriptor_code": "SM\x0011AA"},
    {"descriptor_code": "S" * 10_000},
    {"descriptor_code": "XX11AA"},
    {"descriptor_code": ""},
    {"amounts": [32, 45], "descriptor_code": "SM11AA"},
]
BAD_AMOUNT_VALUES: list[Any] = [0, -1, 10**20, 10_000_000_000, 1.5, True, None, "100", math.nan]
BAD_FEATURES = ["", "balances", "balance\x00", "x" * 10_000, "../balance"]
BAD_FLOW_SAVES: list[dict[str, Any]] = [
    {"flow": "setup_intent\x00"},
    {"flow": "x" * 10_000},
    {"permissions": ["payment_method\x00"]},
    {"permissions": ["%"]},
    {"permissions": "payment_method"},
    {"permissions": ["p"] * 1_000},
    {"prefetch": ["balances\x00"]},
    {"prefetch": [None]},
    {"verification_method": "instant\x00"},
    {"verification_method": "sometimes"},
    {"note": "n\x00"},
    {"note": "n" * 10_000},
    {"expected_version": -1},
    {"expected_version": 10**30},
    {"expected_version": "zero"},
]
AUDIT_QUERIES: list[dict[str, Any]] = [
    {"actions": ["flow.save\x00"]},
    {"actions": ["a" * 10_000]},
    {"outcome": "ok\x00"},
    {"outcome": "o" * 10_000},
    {"limit": 10**20},
    {"limit": 0},
    {"offset": -1},
    {"offset": 10**30},
]
REPORT_FILTERS: list[dict[str, Any]] = [
    {"flows": ["setup_intent\x00"]},
    {"flows": "setup_intent"},
    {"flows": ["f"] * 1_000},
    {"methods": ["instant\x00"]},
    {"methods": ["m" * 10_000]},
    {"methods": 5},
    {"start": "2026-01-01"},
    {"end": 20260101},
]
RETURNS_INPUTS: list[dict[str, Any]] = [
    {"window_days": 0},
    {"window_days": 10**9},
    {"window_days": True},
    {"window_days": "60"},
    {"warning_level": 0},
    {"warning_level": 2},
    {"warning_level": math.nan},
    {"warning_level": "1"},
]
PAGING: list[dict[str, Any]] = [
    {"page": "abc"},
    {"page": math.nan},
    {"page": None},
    {"page": 1.5},
    {"page": "1e9"},
    {"page_size": "ten"},
    {"page_size": math.inf},
    {"page_size": [50]},
]
BAD_POLICIES: list[dict[str, Any]] = [
    {"max_age_seconds": 10**20},
    {"max_age_seconds": 721 * 3600},
    {"max_age_seconds": 0},
    {"max_age_seconds": 1e308},
    {"max_age_seconds": True},
    {"buffer_percent": 1e6},
    {"buffer_percent": -0.01},
    {"buffer_percent": math.nan},
    {"buffer_percent": math.inf},
    {"buffer_percent": "5"},
    {"buffer_amount": 10**20},
    {"buffer_amount": -1},
    {"buffer_amount": 1.5},
    {"buffer_amount": None},
    {"note": "n\x00"},
    {"note": "n" * 10_000},
    {"currency": "usd\x00"},
    {"currency": "xxx"},
]

CORPUS_SIZE = sum(
    len(x)
    for x in (
        HOSTILE_TEXT,
        BAD_IDS,
        BAD_AMOUNTS,
        BAD_CURRENCIES,
        BAD_POLICY_HOURS,
        BAD_PERCENT,
        BAD_STRIPE_FIELDS,
        BAD_METADATA,
        BAD_USERS,
        SIGN_IN_NAMES,
        AUDIT_FILTERS,
        BAD_CSV,
        SEARCH_TERMS,
        ACCOUNT_FILTERS,
        TRANSACTION_FILTERS,
        REVIEW_SEARCHES,
        BAD_CUSTOMER_FORMS,
        BAD_KEYS,
        BAD_CANCELS,
        BAD_VERIFICATIONS,
        BAD_AMOUNT_VALUES,
        BAD_FEATURES,
        BAD_FLOW_SAVES,
        AUDIT_QUERIES,
        BAD_POLICIES,
        REPORT_FILTERS,
        RETURNS_INPUTS,
        PAGING,
    )
)


def test_the_corpus_has_at_least_150_inputs() -> None:
    print(f"bad-input corpus: {CORPUS_SIZE} distinct inputs")
    assert CORPUS_SIZE >= 150, CORPUS_SIZE


def _refusals(cases: Iterable[Any], call: Callable[[Any], object]) -> list[str]:
    """Every case must raise a refusal with a short, readable sentence; return the failures."""
    failures = []
    for case in cases:
        try:
            result = call(case)
        except Forbidden as err:  # the role was refused: the input itself was never judged
            failures.append(f"{case!r:.60}: refused for the role, not the input ({err})"[:200])
            continue
        except REFUSALS as err:
            message = str(err)
            if not message or "Traceback" in message or len(message) > 400 or "\x00" in message:
                failures.append(f"{case!r:.60}: unreadable message {message!r:.120}")
            continue
        except Exception as err:
            failures.append(f"{case!r:.60}: {type(err).__name__}: {err}"[:200])
            continue
        failures.append(f"{case!r:.60}: accepted as {result!r:.60}")
    return failures


def test_hostile_text_is_refused_by_the_text_rule() -> None:
    accepted_as_text = {"é" * 5_000, "😀" * 300}  # printable, refused for length only
    assert (
        _refusals(HOSTILE_TEXT, lambda v: lim.clean_text(v, field="The name", max_length=256)) == []
    )
    assert all(len(v) > 256 for v in accepted_as_text)


def test_bad_ids_are_refused() -> None:
    assert _refusals(BAD_IDS, parse_id) == []


def test_bad_amounts_are_refused() -> None:
    assert _refusals(BAD_AMOUNTS, lambda v: parse_amount(v, "usd")) == []


def test_bad_currencies_are_refused() -> None:
    assert _refusals(BAD_CURRENCIES, validate_currency) == []


def _policy_hours(value: Any) -> float:
    return lim.bounded_number(
        value,
        field="Max balance age",
        minimum=policy_bounds.MIN_AGE_HOURS,
        maximum=policy_bounds.MAX_AGE_HOURS,
        unit="h",
    )


def _policy_percent(value: Any) -> float:
    return lim.bounded_number(
        value, field="Buffer", minimum=0, maximum=policy_bounds.POLICY_MAX_BUFFER_PERCENT, unit="%"
    )


def _policy_problems(*, hours: float = 24, percent: float = 0) -> list[str]:
    return policy_bounds.problems(buffer_amount=0, buffer_percent=percent, max_age_hours=hours)


def test_policy_values_outside_the_policys_bounds_are_refused() -> None:
    """The corpus had its own bounds (1 to 720 h, whole hours) and called 0.5 h bad, while the
    policy takes 15 minutes and up: the bounds now come from the policy's rule alone."""
    assert _refusals(BAD_POLICY_HOURS, _policy_hours) == []
    assert _refusals(BAD_PERCENT, _policy_percent) == []
    # The rule the page and the save service apply agrees on every number in the corpus.
    for hours in BAD_POLICY_HOURS:
        if isinstance(hours, int | float) and not isinstance(hours, bool) and abs(hours) < 1e300:
            assert _policy_problems(hours=hours), hours
    for percent in BAD_PERCENT:
        if isinstance(percent, float) and math.isfinite(percent):
            assert _policy_problems(percent=percent), percent


def test_policy_values_inside_the_policys_bounds_are_accepted() -> None:
    for hours in GOOD_POLICY_HOURS:
        assert _policy_hours(hours) == hours
        assert _policy_problems(hours=hours) == []
    for percent in (0, 0.5, 100):
        assert _policy_percent(percent) == percent
        assert _policy_problems(percent=percent) == []


def test_stripe_fields_over_their_limits_are_refused_before_the_call() -> None:
    assert _refusals(BAD_STRIPE_FIELDS, lambda fv: lim.stripe_text(fv[1], field=fv[0])) == []
    assert _refusals(BAD_METADATA, lim.stripe_metadata) == []


def test_bad_users_are_refused_and_the_file_is_untouched(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
    path = tmp_path / "users.yaml"
    users.add_user(path, username="bob", password="plum-orbit-canvas-42", role="ops")
    before = path.read_bytes()
    assert _refusals(BAD_USERS, lambda kw: users.add_user(path, **kw)) == []
    assert path.read_bytes() == before


def test_bad_csv_files_give_a_file_error_or_row_errors_only() -> None:
    from services.rules.debit_csv import parse_debits_csv

    failures = []
    for data in BAD_CSV:
        try:
            debits, errors = parse_debits_csv(data)
        except REFUSALS + (ValueError,) as err:
            if not str(err) or "Traceback" in str(err):
                failures.append(f"{data!r:.60}: {err!r}")
            continue
        except Exception as err:
            failures.append(f"{data!r:.60}: {type(err).__name__}: {err}")
            continue
        bad_rows = [e for e in errors if not e.message]
        if bad_rows or (not errors and not debits):
            failures.append(f"{data!r:.60}: nothing said ({debits!r:.60})")
        if any(d for d in debits if "\x00" in repr(d)):
            failures.append(f"{data!r:.60}: a NUL byte got through")
    assert failures == []


# ------------------------------------------------------------------ store-backed (both databases)


def _count(engine: Engine, model: type) -> int:  # type: ignore[type-arg]
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_hostile_sign_in_names_are_refused_without_a_database_error(
    engine, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(users, "BCRYPT_ROUNDS", 4)
    path = tmp_path / "users.yaml"
    users.add_user(path, username="admin", password="plum-orbit-canvas-42", role="admin")
    clock = iter(range(1_800_000_000, 1_900_000_000, 1_000))
    failures = []
    for name in SIGN_IN_NAMES:
        try:
            result = sign_in.sign_in(
                engine,
                users_file=path,
                username=name,
                password="wrong-password-1",
                client="10.0.0.1",
                sandbox=False,
                now=lambda: float(next(clock)),
            )
        except Exception as err:
            failures.append(f"{name!r:.40}: {type(err).__name__}: {err}"[:200])
            continue
        if result.ok or not result.message:
            failures.append(f"{name!r:.40}: {result}")
    assert failures == []
    with session_scope(engine) as session:
        keys = session.execute(select(SignInThrottle.key)).scalars().all()  # type: ignore[call-overload]
        targets = session.execute(select(AuditEntry.target)).scalars().all()  # type: ignore[call-overload]
    assert not any("\x00" in k or len(k) > 200 for k in keys)
    assert not any(t and ("\x00" in t or len(t) > 100) for t in targets)


def test_hostile_audit_filters_are_refused_and_wildcards_match_literally(engine) -> None:  # type: ignore[no-untyped-def]
    ops = Actor(username="omar", role="ops")
    audit.record(engine, actor=ops, action="a", target="fca_1%", outcome="ok")
    audit.record(engine, actor=ops, action="a", target="fca_1x", outcome="ok")
    before = _count(engine, AuditEntry)
    assert _refusals(AUDIT_FILTERS, lambda t: audit.query(engine, actor=ADMIN, target=t)) == []
    assert _refusals(AUDIT_FILTERS, lambda t: audit.query(engine, actor=ADMIN, actor_name=t)) == []
    assert [r.target for r in audit.query(engine, actor=ADMIN, target="1%").rows] == ["fca_1%"]
    assert audit.query(engine, actor=ADMIN, target="fca__").total == 0
    assert _count(engine, AuditEntry) == before


# ------------------------------------------------------------------ use cases (both databases)


def _svc(engine: Engine) -> Any:
    """Services without Stripe: every refusal below must come before any Stripe call."""
    from services.context import Services

    return Services(gateway=None, engine=engine, mode="sandbox")  # type: ignore[arg-type]


OPS = Actor(username="omar", role="ops")
FINANCE = Actor(username="fay", role="finance")


def test_customer_search_refuses_nul_and_huge_terms(engine) -> None:  # type: ignore[no-untyped-def]
    from services.usecases import browse_accounts

    svc = _svc(engine)
    before = _count(engine, CustomerRecord)
    failures = _refusals(SEARCH_TERMS, lambda t: browse_accounts.search_customers(svc, ADMIN, t))
    failures += _refusals(
        SEARCH_TERMS, lambda t: browse_accounts.search_customers_page(svc, ADMIN, t)
    )
    assert _count(engine, CustomerRecord) == before
    assert failures == []


def test_account_filters_refuse_what_no_filter_box_sends(engine) -> None:  # type: ignore[no-untyped-def]
    from services.usecases import browse_accounts

    svc = _svc(engine)
    assert (
        _refusals(ACCOUNT_FILTERS, lambda f: browse_accounts.list_accounts(svc, ADMIN, **f)) == []
    )


def test_transaction_and_picker_searches_refuse_hostile_text(engine) -> None:  # type: ignore[no-untyped-def]
    from services.rules.transactions import TransactionFilter
    from services.usecases import balance_history, view_transactions

    svc = _svc(engine)
    failures = _refusals(
        SEARCH_TERMS,
        lambda t: view_transactions.account_choices(
            svc, ADMIN, permission="transactions", search=t
        ),
    )
    failures += _refusals(
        TRANSACTION_FILTERS,
        lambda f: view_transactions.list_transactions(
            svc, ADMIN, "fca_1234567890", TransactionFilter(**f)
        ),
    )
    failures += _refusals(
        BAD_IDS, lambda i: view_transactions.list_transactions(svc, ADMIN, i, TransactionFilter())
    )
    failures += _refusals(BAD_IDS, lambda i: balance_history.for_account(svc, FINANCE, i))
    assert failures == []


def test_ownership_review_and_queue_searches_refuse_hostile_text(engine) -> None:  # type: ignore[no-untyped-def]
    from services.usecases import microdeposits, review_ownership

    svc = _svc(engine)
    failures = _refusals(REVIEW_SEARCHES, lambda f: review_ownership.review_list(svc, OPS, **f))
    failures += _refusals(
        [t for t in BAD_IDS if t.startswith("fca_")] + SEARCH_TERMS,
        lambda t: review_ownership.find_account(svc, OPS, t),
    )
    failures += _refusals(
        SEARCH_TERMS, lambda t: microdeposits.microdeposit_queue(svc, OPS, search=t)
    )
    failures += _refusals(SEARCH_TERMS, lambda t: microdeposits.waiting_count(svc, OPS, search=t))
    assert failures == []


def test_collection_forms_refuse_before_calling_stripe(engine) -> None:  # type: ignore[no-untyped-def]
    from services.usecases import (
        collect_cancel,
        collect_customers,
        collection_requests,
        microdeposits,
    )

    svc = _svc(engine)  # no gateway: a refusal that reached Stripe would be an AttributeError
    failures = _refusals(
        BAD_CUSTOMER_FORMS,
        lambda f: collect_customers.create_customer(svc, OPS, idempotency_key="k-1", **f),
    )
    failures += _refusals(
        BAD_IDS,
        lambda c: collection_requests.create_setup_intent(
            svc, OPS, customer_id=c, idempotency_key="k-2"
        ),
    )
    failures += _refusals(
        BAD_KEYS,
        lambda k: collection_requests.create_setup_intent(
            svc, OPS, customer_id="cus_1234567890", idempotency_key=k
        ),
    )
    failures += _refusals(
        BAD_CANCELS,
        lambda f: collect_cancel.cancel_request(svc, OPS, idempotency_key="k-3", **f),
    )
    failures += _refusals(
        BAD_VERIFICATIONS,
        lambda f: microdeposits.verify_microdeposits(
            svc, OPS, "pi_1234567890", idempotency_key="k-4", **f
        ),
    )
    assert failures == []
    with session_scope(engine) as session:  # refusals are logged, readably, on both databases
        logged = session.execute(select(AuditEntry).where(AuditEntry.action == "collect.customer"))
        kept = [dict(e.params) for (e,) in logged]
    assert len(kept) == len(BAD_CUSTOMER_FORMS)
    texts = [v for params in kept for v in params.values() if isinstance(v, str)]
    assert texts and all("\x00" not in v and len(v) < 600 for v in texts)


def test_lookups_and_checks_refuse_bad_ids_and_amounts(engine) -> None:  # type: ignore[no-untyped-def]
    from services.usecases import check_debit, lookup_account, refresh_balance

    svc = _svc(engine)
    failures = _refusals(BAD_IDS, lambda i: lookup_account.lookup(svc, OPS, i))
    failures += _refusals(BAD_IDS, lambda i: check_debit.check_debit(svc, FINANCE, i, 100, "usd"))
    failures += _refusals(
        BAD_AMOUNT_VALUES,
        lambda a: check_debit.check_debit(svc, FINANCE, "fca_1234567890", a, "usd"),
    )
    failures += _refusals(
        BAD_CURRENCIES, lambda c: check_debit.check_debit(svc, FINANCE, "fca_1234567890", 100, c)
    )
    failures += _refusals(
        BAD_IDS, lambda i: refresh_balance.refresh(svc, OPS, i, "balance", idempotency_key="k-5")
    )
    failures += _refusals(
        BAD_KEYS,
        lambda k: refresh_balance.refresh(svc, OPS, "fca_1234567890", "balance", idempotency_key=k),
    )
    failures += _refusals(
        BAD_FEATURES,
        lambda f: refresh_balance.refresh(svc, OPS, "fca_1234567890", f, idempotency_key="k-6"),
    )
    assert failures == []


def test_flow_configs_refuse_crafted_values_and_store_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    from services.usecases import edit_flows

    before = _count(engine, Setting)
    assert (
        _refusals(
            BAD_FLOW_SAVES,
            lambda f: edit_flows.save_flow(
                engine,
                ADMIN,
                **{
                    "flow": "setup_intent",
                    "permissions": ["payment_method"],
                    "prefetch": [],
                    "verification_method": "automatic",
                    "expected_version": 0,
                    **f,
                },
            ),
        )
        == []
    )
    assert (
        _refusals(
            [{"to_version": v} for v in (-1, 10**30, "1", None, True)],
            lambda f: edit_flows.revert(engine, ADMIN, "setup_intent", expected_version=0, **f),
        )
        == []
    )
    assert _count(engine, Setting) == before


def test_report_filters_refuse_crafted_lists_dates_and_windows(engine) -> None:  # type: ignore[no-untyped-def]
    from services.usecases import check_review, conversion_report, returns_report

    svc = _svc(engine)
    manager = Actor(username="mia", role="manager")
    failures = _refusals(
        REPORT_FILTERS, lambda f: conversion_report.report(svc, manager, now=1_800_000_000, **f)
    )
    failures += _refusals(
        REPORT_FILTERS,
        lambda f: conversion_report.intents_csv(svc, manager, now=1_800_000_000, **f),
    )
    failures += _refusals(RETURNS_INPUTS, lambda f: returns_report.report(svc, FINANCE, **f))
    failures += _refusals(
        [f for f in RETURNS_INPUTS if "window_days" in f],
        lambda f: check_review.review(svc, FINANCE, **f),
    )
    assert failures == []


def test_paging_refuses_what_is_not_a_whole_number(engine) -> None:  # type: ignore[no-untyped-def]
    from services.usecases import browse_accounts, review_ownership

    svc = _svc(engine)
    failures = _refusals(PAGING, lambda p: browse_accounts.list_accounts(svc, ADMIN, **p))
    failures += _refusals(
        PAGING, lambda p: browse_accounts.search_customers_page(svc, ADMIN, "zz", **p)
    )
    failures += _refusals(PAGING, lambda p: review_ownership.review_list(svc, OPS, **p))
    assert failures == []
    assert browse_accounts.list_accounts(svc, ADMIN, page=-3, page_size=10**9).page_size == 500


def test_audit_filters_refuse_crafted_actions_outcomes_and_pages(engine) -> None:  # type: ignore[no-untyped-def]
    assert _refusals(AUDIT_QUERIES, lambda q: audit.query(engine, actor=ADMIN, **q)) == []


def test_the_debit_policy_refuses_values_the_page_would_not_allow(engine) -> None:  # type: ignore[no-untyped-def]
    from services.rules.debit import DebitPolicy
    from services.usecases import debit_policy

    before = _count(engine, Setting)

    def save(case: dict[str, Any]) -> object:
        policy = DebitPolicy()  # a crafted client sends what the form's widgets would not
        extra = {k: case.pop(k) for k in ("note", "currency") if k in case}
        for name, value in case.items():
            object.__setattr__(policy, name, value)
        return debit_policy.save_policy(engine, ADMIN, policy, expected_version=0, **extra)

    failures = _refusals([dict(c) for c in BAD_POLICIES], save)
    assert _count(engine, Setting) == before
    assert failures == []
