"""Tables of the fcops store (SQLite by default, PostgreSQL for several replicas).

Stripe objects that pages browse are mirrored here so paging and filtering run in SQL, not in a
DataFrame of everything. JSON columns keep the whole Stripe object for detail views.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuditEntry(SQLModel, table=True):
    """One row per state-changing action: who, when, what, on what, with which result."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(index=True)
    role: str
    action: str = Field(index=True)
    target: str | None = Field(default=None, index=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcome: str  # "ok" | "error" | "refused" | "unknown" (services.audit.OUTCOMES)
    message: str | None = None
    stripe_request_id: str | None = None
    idempotency_key: str | None = None


class CustomerRecord(SQLModel, table=True):
    __tablename__ = "customers"

    id: str = Field(primary_key=True)
    email: str | None = Field(default=None, index=True)
    email_lower: str | None = Field(default=None, index=True)
    name: str | None = None
    name_lower: str | None = Field(default=None, index=True)
    phone: str | None = None
    created: int = Field(sa_column=Column(BigInteger, nullable=False))
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    synced_at: datetime = Field(default_factory=utcnow)


class AccountRecord(SQLModel, table=True):
    """A Financial Connections account, flattened for filtering; ``raw`` is Stripe's object."""

    __tablename__ = "fc_accounts"
    __table_args__ = (
        Index("ix_fca_status_inst", "status", "institution_name"),
        Index("ix_fca_balance_as_of", "balance_as_of"),
        Index("ix_fca_created_id", "created", "id"),  # the browser's newest-first paging
        Index("ix_fca_inst_id", "institution_name", "id"),  # account pickers, in bank order
        Index(  # covers the home page's account counts (one aggregate, no row reads)
            "ix_fca_counts",
            "status",
            "category",
            "balance_as_of",
            "balance_refresh_status",
            "ownership_refresh_status",
            "transaction_refresh_status",
            "permissions",
        ),
    )

    id: str = Field(primary_key=True)
    customer_id: str | None = Field(default=None, index=True)
    institution_name: str = Field(index=True)
    display_name: str | None = None
    last4: str | None = None
    category: str
    subcategory: str
    status: str
    permissions: str = ""  # comma-separated, sorted, wrapped in commas: ",balances,payment_method,"
    subscriptions: str = ""
    balance_currency: str | None = None
    balance_current: int | None = Field(default=None, sa_column=Column(BigInteger))
    balance_available: int | None = Field(default=None, sa_column=Column(BigInteger))
    balance_as_of: int | None = Field(default=None, sa_column=Column(BigInteger))
    balance_refresh_status: str | None = None
    balance_next_refresh_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    ownership_refresh_status: str | None = None
    transaction_refresh_status: str | None = None
    # status_details.active.expected_deactivation_date when Stripe asks for a relink
    relink_required_by: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    created: int = Field(sa_column=Column(BigInteger, nullable=False))
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    synced_at: datetime = Field(default_factory=utcnow)
    # the accounts data version an event's write made (account_mirror.read_mark; None: no event)
    event_mark: int | None = Field(default=None, sa_column=Column(BigInteger))


class BalanceSnapshot(SQLModel, table=True):
    """Every balance the store has seen, for balance-over-time charts."""

    __tablename__ = "balance_history"
    __table_args__ = (UniqueConstraint("account_id", "as_of", "currency", name="uq_balance_seen"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(index=True)
    as_of: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str
    current: int | None = Field(default=None, sa_column=Column(BigInteger))
    available: int | None = Field(default=None, sa_column=Column(BigInteger))
    seen_at: datetime = Field(default_factory=utcnow)


class SyncState(SQLModel, table=True):
    """Progress of an incremental sync (cursor and when it last ran)."""

    __tablename__ = "sync_state"

    name: str = Field(primary_key=True)
    cursor: str | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DataVersion(SQLModel, table=True):
    """A counter per kind of mirrored data, bumped by every write that changes it (syncs,
    webhooks, our own writes), so a page's cache can key on it (services.adapters.data_version)."""

    __tablename__ = "data_versions"

    name: str = Field(primary_key=True)  # intents | accounts
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class Setting(SQLModel, table=True):
    """Small versioned documents edited by admins (debit policy, flow configurations…)."""

    __tablename__ = "settings_docs"

    key: str = Field(primary_key=True)
    version: int = 1
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_by: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class SettingVersion(SQLModel, table=True):
    """History of every saved version of a :class:`Setting` (for diff and revert)."""

    __tablename__ = "settings_history"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_setting_version"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True)
    version: int
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_by: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    note: str | None = None


class TransactionRecord(SQLModel, table=True):
    """FC transactions mirrored by the incremental sync (upserted by ``fctxn_`` id)."""

    __tablename__ = "fc_transactions"
    __table_args__ = (Index("ix_fctxn_account_time", "account_id", "transacted_at"),)

    id: str = Field(primary_key=True)
    account_id: str = Field(index=True)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str
    description: str
    status: str
    transacted_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    transaction_refresh: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    synced_at: datetime = Field(default_factory=utcnow)


class OwnershipCheck(SQLModel, table=True):
    """The latest owner-vs-customer comparison per account, for the mismatch review list."""

    __tablename__ = "ownership_checks"
    # The review list: filter by verdict, worst score first, paged in SQL.
    __table_args__ = (Index("ix_owncheck_verdict_score", "verdict", "score", "account_id"),)

    account_id: str = Field(primary_key=True)
    customer_id: str | None = Field(default=None, index=True)
    ownership_id: str | None = None
    verdict: str = Field(index=True)  # match | partial | mismatch | no_data
    score: int = 0
    reason: str = ""
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    checked_at: datetime = Field(default_factory=utcnow)
    checked_by: str | None = None


class IntentRecord(SQLModel, table=True):
    """SetupIntents and PaymentIntents kept by the incremental sync, for conversion analysis."""

    __tablename__ = "intents"
    __table_args__ = (
        Index("ix_intent_created", "created"),
        Index("ix_intent_status_created", "status", "created"),  # Collect's lists, paged in SQL
        Index("ix_intent_kind_created", "kind", "created"),  # open requests, newest first
        # Covers the conversion aggregate: it reads this index, never the rows' JSON.
        Index(
            "ix_intent_funnel",
            "verification_method",
            "created",
            "flow",
            "path",
            "outcome",
            "verified",
            "succeeded_at",
            "pm_created",
        ),
    )

    id: str = Field(primary_key=True)
    kind: str = Field(index=True)  # setup_intent | payment_intent
    customer_id: str | None = Field(default=None, index=True)
    status: str = Field(index=True)
    verification_method: str = Field(index=True)
    flow: str | None = Field(default=None, index=True)  # metadata["fcops_flow"] when we created it
    created: int = Field(sa_column=Column(BigInteger, nullable=False))
    succeeded_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    # Classified when stored (services.rules.funnel.stored_facts), so conversion is a GROUP BY.
    # NULL on rows stored before these columns existed; the report classifies those once.
    path: str | None = Field(default=None, index=True)
    outcome: str | None = None  # funnel stage, "waiting" when the reading time decides it
    verified: bool | None = None
    pm_created: int | None = Field(default=None, sa_column=Column(BigInteger))
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    synced_at: datetime = Field(default_factory=utcnow)


class IntentDay(SQLModel, table=True):
    """The stored intents counted per creation day (UTC), verification method and flow, kept
    by every intent write (services.adapters.intent_days), so conversion adds up days instead of
    reading every intent. ``waiting``: waiting on the customer, abandoned or pending depending
    on the time of reading."""

    __tablename__ = "intent_days"
    __table_args__ = (Index("ix_intent_days_day", "day", "verification_method", "flow"),)

    id: int | None = Field(default=None, primary_key=True)
    day: int = Field(sa_column=Column(BigInteger, nullable=False))  # created // 86400
    verification_method: str
    flow: str | None = None
    started: int = 0
    instant: int = 0  # path "instant"
    manual: int = 0  # path "manual"
    verified: int = 0
    succeeded: int = 0  # one column per stored outcome
    failed: int = 0
    canceled: int = 0
    abandoned: int = 0
    pending: int = 0
    other_method: int = 0
    waiting: int = 0


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins per entered username (``user:NAME``) or per client (``client:IP``).

    Kept in the store so every app replica sees the same counts, delays and lockouts.
    """

    __tablename__ = "sign_in_throttle"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    first_failure_at: float = 0.0
    last_failure_at: float = 0.0
    next_allowed_at: float = 0.0  # no attempt is checked before this (growing delay)
    locked_until: float = 0.0  # temporary lockout after too many failures
    # tries refused unchecked while slowed down or locked (None: a store from before this column)
    refused: int | None = Field(default=0, nullable=True)


class DebitOutcomeRecord(SQLModel, table=True):
    """One ACH debit (a PaymentIntent on us_bank_account) and what became of it, kept from
    PaymentIntent events and the intent sync. ``observed_at`` is the Stripe time of the newest
    event (or listing) the state columns come from, so an older event arriving late changes
    nothing but dates still unknown."""

    __tablename__ = "debit_outcomes"
    __table_args__ = (
        Index("ix_debit_created", "created"),
        Index("ix_debit_status_category", "status", "category"),
        # Return rates (services/adapters/outcome_figures.py): one pass per original, no rows read
        Index(
            "ix_debit_chain",
            *("original_id", "created", "id", "status", "category", "return_code"),
            *("verification_method", "institution", "flow"),
        ),
        # Blocked accounts: the blocked outcomes (a few in a hundred), latest per payment method
        Index("ix_debit_blocked", "blocked_reason", "payment_method", "returned_at", "created", "id"),
        # "Did our check work?" (services/usecases/check_figures.py): the window's debits with
        # their stored last check and their original's stored date (window_debits), counted
        # from the index alone; the original of a row not computed yet is looked up by id
        Index(
            "ix_debit_window_dated",
            *("created", "original_created", "original_id", "status", "return_code"),
            *("category", "currency", "amount", "check_verdict", "check_age", "check_room"),
            *("check_asked", "last_check_id", "account_id"),
        ),
        # its verdict table counted in this order (no sort), and the settled ok-checked debits
        # the policy options count sought by verdict and status
        Index(
            "ix_debit_verdicts",
            *("check_verdict", "status", "return_code", "category", "currency", "created"),
            *("original_created", "amount", "check_age", "check_room", "check_asked"),
            *("original_id", "last_check_id", "account_id"),  # read only for rows not copied
        ),
        Index("ix_debit_original_created", "id", "created"),
        # the debits of a range of dates (services/adapters/verdict_days.py: the verdict and
        # headroom day counts), from the index alone; it replaced ix_debit_dated (OBSOLETE_INDEXES)
        Index(
            "ix_debit_days",
            *("original_created", "created", "check_verdict", "status", "return_code"),
            *("category", "currency", "amount", "check_age", "check_room", "check_asked"),
        ),
        # the window's returns, newest first (Returns' debits behind a figure, its retry picker:
        # only the rows shown are read from the table) and the misses' candidates with what
        # their options read (counted from the index alone)
        Index(
            "ix_debit_returns",
            *("status", "created", "original_created", "category", "return_code", "id"),
            *("original_id", "check_verdict", "currency", "amount", "check_age", "check_room"),
            "check_asked",
        ),
    )

    id: str = Field(primary_key=True)
    original_id: str = Field(index=True)  # the first attempt's id (itself for an original)
    customer_id: str | None = Field(default=None, index=True)
    payment_method: str | None = None
    account_id: str | None = Field(default=None, index=True)
    institution: str | None = None
    last4: str | None = None
    verification_method: str | None = None
    flow: str | None = None
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str
    created: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str  # pending | settled | returned
    failure_code: str | None = None  # Stripe's last_payment_error.code
    return_code: str | None = None  # Nacha code, or candidates joined by "/" (R01/R09)
    category: str | None = None  # unauthorized | administrative | other
    blocked_reason: str | None = None
    blocked_code: str | None = None  # the block's network_code (R02, R10…)
    processing_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    settled_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    returned_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    observed_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    synced_at: datetime = Field(default_factory=utcnow)
    # the last pre-debit check's id (services/adapters/last_checks.py): 0 none, NULL not yet
    # computed; the index finds the uncomputed rows and the debits of a deleted check
    last_check_id: int | None = Field(default=None, index=True)
    # what the figures read of that check, copied with it (services/adapters/last_checks.py):
    # its verdict ("" none; NULL not copied yet), checked_at - as_of, balance - amount, amount
    check_verdict: str | None = Field(default=None, index=True)
    check_age: int | None = Field(default=None, sa_column=Column(BigInteger))
    check_room: int | None = Field(default=None, sa_column=Column(BigInteger))
    check_asked: int | None = Field(default=None, sa_column=Column(BigInteger))
    # the original's created (services/adapters/original_dates.py): -1 not stored, NULL not yet
    original_created: int | None = Field(
        default=None, sa_column=Column(BigInteger, index=True)
    )


class DebitChainRecord(SQLModel, table=True):
    """One row per chain of ``debit_outcomes`` (an original debit and its re-initiations, one
    debit for Nacha), kept at write time so the return rates read one row per chain
    (services/adapters/debit_chains.py, outcome_figures.py). Every value is the whole chain's,
    as ``outcome_figures._chains`` computes it when every attempt is counted."""

    __tablename__ = "debit_chains"
    __table_args__ = (
        # rates, weekly rates and breakdowns: a range of dates, every column read off the index
        Index(
            "ix_debit_chains_created",
            *("created", "long", "unauthorized", "administrative", "overall"),
            *("verification_method", "institution", "flow"),
        ),
        # the few chains spanning more than 30 days, counted exactly from their attempts: a
        # partial index, so no planner reads the other chains through it (``long = 0`` looks
        # more selective than a range of dates to SQLite without statistics)
        Index(
            "ix_debit_chains_long",
            "original_id",
            sqlite_where=text("long = 1"),
            postgresql_where=text("long"),
        ),
    )

    original_id: str = Field(primary_key=True)
    created: int = Field(sa_column=Column(BigInteger, nullable=False))  # the original's, else min
    first_created: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_created: int = Field(sa_column=Column(BigInteger, nullable=False))
    unauthorized: int = 0  # 1: an attempt came back in this category
    administrative: int = 0
    overall: int = 0  # 1: an attempt came back (any category)
    verification_method: str = "unknown"  # the original's value, else the least; never empty
    institution: str = "unknown"
    flow: str = "unknown"
    long: bool = False  # last_created - first_created > 30 days


class DebitChainDayRecord(SQLModel, table=True):
    """The short (not ``long``) rows of ``debit_chains`` summed per UTC day of their ``created``
    and breakdown values, kept with them at write time, so the return rates add up whole days
    instead of reading every chain (services/adapters/debit_chains.py, outcome_figures.py)."""

    __tablename__ = "debit_chain_days"
    # SQLite keeps the rows in key order: a range of days is read off the table itself
    __table_args__ = {"sqlite_with_rowid": False}

    day: int = Field(sa_column=Column(BigInteger, primary_key=True))  # created // 86,400
    verification_method: str = Field(primary_key=True)
    institution: str = Field(primary_key=True)
    flow: str = Field(primary_key=True)
    debits: int = 0  # chains
    unauthorized: int = 0  # chains with an attempt returned in this category
    administrative: int = 0
    overall: int = 0


class LatestBlockRecord(SQLModel, table=True):
    """Each payment method's latest blocked outcome (the debit outcome Blocked accounts lists
    for it), kept at write time so the list counts and pages one row per payment method
    instead of ranking every blocked outcome on each read (services/adapters/latest_blocks.py)."""

    __tablename__ = "latest_blocks"
    __table_args__ = (
        Index("ix_latest_blocks_order", "returned_at", "created", "debit_id"),
    )

    payment_key: str = Field(primary_key=True)  # the payment method, else the debit's own id
    debit_id: str
    returned_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created: int = Field(sa_column=Column(BigInteger, nullable=False))
    # what the list's search reads, copied from the debit (searched without reading it)
    customer_id: str | None = None
    payment_method: str | None = None
    account_id: str | None = None
    institution: str | None = None
    last4: str | None = None
    blocked_code: str | None = None
    return_code: str | None = None
    blocked_reason: str | None = None


class DebitCheckRecord(SQLModel, table=True):
    """Every pre-debit verdict (single check, batch row, or seeded demo history), so returns can
    be joined with the check before them: did an ``ok`` let an R01 through?"""

    __tablename__ = "debit_checks"
    # each debit's last verdict (services/usecases/check_figures.py): the newest check of the
    # account at or before a time, ties by id, read backwards off the index with no sort
    # and the verdicts of one kind made in a span, oldest first ("kept from bouncing": the
    # window's insufficient ones), without reading every check
    __table_args__ = (
        Index("ix_debit_check_last", "account_id", "checked_at", "id"),
        Index("ix_debit_check_verdict", "verdict", "checked_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(index=True)
    source: str  # single | batch | retry | demo
    target: str | None = None  # the ID finance entered
    reference: str | None = None  # the batch row's reference
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str
    verdict: str  # ok | insufficient | stale | unavailable
    balance: int | None = Field(default=None, sa_column=Column(BigInteger))
    balance_source: str | None = None
    as_of: int | None = Field(default=None, sa_column=Column(BigInteger))
    required: int = Field(sa_column=Column(BigInteger, nullable=False))
    buffer_amount: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    buffer_percent: float = 0.0
    max_age_seconds: int = Field(sa_column=Column(BigInteger, nullable=False))
    checked_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    checked_by: str | None = None


# the day counts the writers keep (their own module: this one stays under 500 lines); imported
# here so every table is known wherever the models are
from services.adapters.day_models import (  # noqa: E402
    DebitHeadroomDayRecord as DebitHeadroomDayRecord,
)
from services.adapters.day_models import (  # noqa: E402
    DebitVerdictDayRecord as DebitVerdictDayRecord,
)
