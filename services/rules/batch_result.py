"""The result of a batch debit check: one row per CSV row, a summary, and the download.

Pure: money stays in integer minor units until the CSV download, which writes major units
("125.00") as finance reads them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd

from services.rules import wording
from services.rules.debit import INSUFFICIENT, OK, STALE, UNAVAILABLE, DebitPolicy
from services.rules.money import MoneyError, exponent, format_plain, parse_amount, validate_currency
from services.rules.spreadsheet import safe_text

__all__ = [
    "AT_RISK", "ERROR", "UNCONFIRMED", "VERDICTS", "BatchResult", "BatchRow", "BatchSummary",
    "policy_words",
]

ERROR = "error"
VERDICTS: tuple[str, ...] = (OK, INSUFFICIENT, STALE, UNAVAILABLE)
AT_RISK: tuple[str, ...] = (INSUFFICIENT, STALE, UNAVAILABLE)


@dataclass(frozen=True)
class BatchRow:
    """One CSV row's result: a verdict with reasons, or an error that only this row has."""

    row: int
    target: str
    target_kind: str
    amount: int | None
    currency: str | None
    reference: str | None
    verdict: str
    reasons: tuple[str, ...] = ()
    account_id: str | None = None
    balance: int | None = None
    balance_source: str | None = None
    as_of: int | None = None
    required: int | None = None
    shortfall: int | None = None
    refreshed: bool = False
    error: str | None = None
    # An error row's amount and currency cells as typed, for the download when they do not
    # read as money (finance matches the row by them).
    amount_text: str | None = None
    currency_text: str | None = None


_UNREAD = (
    ("unreadable", "no readable amount"),
    ("negative", "a negative amount"),
    ("zero", "a zero amount"),
    ("currency", "an amount in a currency that cannot be read"),
)


def amount_problem(amount_text: str | None, currency_text: str | None) -> str:
    """Why an error row's amount cell names no money: 'negative' ("-3", "(3.00)"), 'zero',
    'currency' (the amount reads; its currency code does not) or 'unreadable'."""
    shown = (amount_text or "").strip()
    signed = shown.startswith(("-", "\u2212")) or (shown.startswith("(") and shown.endswith(")"))
    bare = shown.lstrip("-\u2212 ").removeprefix("(").removesuffix(")") if signed else shown
    try:
        currency = validate_currency(currency_text) if currency_text else "usd"
    except MoneyError:
        currency = ""
    try:
        value = parse_amount(bare, currency or "usd", allow_zero=True)
    except MoneyError:
        return "unreadable"
    if value == 0:
        return "zero"
    return "negative" if signed else "currency" if not currency else "unreadable"


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    checked: int
    errors: int
    counts: dict[str, int]
    amounts: dict[str, dict[str, int]]  # verdict -> currency -> minor units
    at_risk: dict[str, int]  # currency -> minor units (insufficient + stale + unavailable)
    refreshed: int
    requests: int
    # currency -> minor units of rows that could not be checked for any reason (no ID, an ID
    # of the wrong shape or unknown to Stripe, a failed lookup, a currency the batch does not
    # take) but whose amount was readable: money the batch could not vouch for either.
    unchecked: dict[str, int] = field(default_factory=dict)
    unchecked_rows: int = 0  # the error rows counted in ``unchecked``
    # Refreshes asked for that gave no new balance: how ("failed" at the bank, "pending" when
    # the batch stopped waiting, "not started") -> (count, the banks' names, sorted).
    unrefreshed: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    # The other error rows by what is wrong with their amount (see :func:`amount_problem`).
    unread: dict[str, int] = field(default_factory=dict)

    def unread_said(self) -> str:
        """'3 other rows have no readable amount; 1 has a negative amount.' ('' for none): "4
        other rows have no readable amount" counted a "-3" among them, which reads."""
        parts: list[str] = []
        for kind, what in _UNREAD:
            n = self.unread.get(kind, 0)
            if n:
                subject = wording.counted(n, "other row") if not parts else f"{n:,}"
                parts.append(f"{subject} {'has' if n == 1 else 'have'} {what}")
        return "; ".join(parts) + "." if parts else ""

    def said(self) -> str:
        """'Checked 9 of 10 rows; 1 error; 3 balances refreshed.' (the job's and the audit's),
        then why asked-for refreshes gave no balance, if any did not."""
        why = self.unrefreshed_words()
        return (
            f"Checked {self.checked:,} of {self.rows:,} rows; {wording.counted(self.errors, 'error')}; "
            f"{wording.counted(self.refreshed, 'balance')} refreshed." + (f" {why}" if why else "")
        )

    def unrefreshed_words(self) -> str:
        """'5 refreshes failed at the bank (Down Bank (Error)); their rows are judged on the
        older balance.': a Stale count with no refresh behind it otherwise said nothing of why."""
        parts = []
        for how, verb in _UNREFRESHED.items():
            count, banks = self.unrefreshed.get(how, (0, ()))
            if count:
                named = f" ({', '.join(banks)})" if banks else ""
                parts.append(f"{wording.counted(count, 'refresh', 'refreshes')} {verb}{named}")
        if not parts:
            return ""
        one = sum(c for c, _ in self.unrefreshed.values()) == 1
        return "; ".join(parts) + f"; {'its' if one else 'their'} rows are judged on the older balance."


UNCONFIRMED = "unconfirmed"  # Stripe did not confirm the refresh, and no read showed it
_UNREFRESHED = {
    "failed": "failed at the bank",
    "pending": "had not finished when the batch stopped waiting",
    "not started": "could not be started (each row says why)",
    UNCONFIRMED: "may have started, but Stripe did not confirm it (each row says why)",
}


def _unrefreshed(missed: dict[str, tuple[str, str]]) -> dict[str, tuple[int, tuple[str, ...]]]:
    """How -> (accounts, their banks' names): each account counted once."""
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    for how, bank in missed.values():
        count, banks = out.get(how, (0, ()))
        out[how] = (count + 1, tuple(sorted({*banks, bank} - {""})))
    return out


@dataclass
class BatchResult:
    rows: list[BatchRow]
    refreshed: list[str] = field(default_factory=list)
    requests: int = 0
    rate_limited: int = 0
    policy: DebitPolicy = field(default_factory=DebitPolicy)
    from_mirror: int = 0  # accounts read from the live mirror instead of Stripe
    # The saved policy version every row was judged by (0: the defaults, never saved), and the
    # currency its fixed buffer is in. One per run: a version saved meanwhile is the next run's.
    policy_version: int = 0
    policy_currency: str = "usd"
    # When the rows were judged (Unix seconds; None for a result from before it was kept): the
    # reasons' "in 2 min" and "3 h old" are as of then, in a saved file too.
    checked_at: int | None = None
    # Account ID -> (how its asked-for refresh gave no balance: "failed", "pending",
    # "not started", "unconfirmed"; its bank's name): said in the summary, not only on each row.
    unrefreshed: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def policy_text(self) -> str:
        """'Policy version 3 (buffer $500.00 + 1 % of the debit, max age 24 h)'."""
        return policy_words(self.policy, self.policy_version, self.policy_currency)

    @property
    def file_name(self) -> str:
        """'balance-check-results-2026-12-06-1012.csv' (UTC): two runs' downloads keep apart."""
        if not self.checked_at:
            return "balance-check-results.csv"
        when = datetime.fromtimestamp(self.checked_at, UTC).strftime("%Y-%m-%d-%H%M")
        return f"balance-check-results-{when}.csv"

    def summary(self) -> BatchSummary:
        counts = {v: 0 for v in VERDICTS}
        amounts: dict[str, dict[str, int]] = {v: {} for v in VERDICTS}
        at_risk: dict[str, int] = {}
        unchecked: dict[str, int] = {}
        unread: dict[str, int] = {}
        errors = unchecked_rows = 0
        for row in self.rows:
            if row.verdict == ERROR or row.amount is None or row.currency is None:
                errors += 1
                if row.amount is not None and row.currency is not None:
                    unchecked[row.currency] = unchecked.get(row.currency, 0) + row.amount
                    unchecked_rows += 1
                else:
                    kind = amount_problem(row.amount_text, row.currency_text)
                    unread[kind] = unread.get(kind, 0) + 1
                continue
            counts[row.verdict] += 1
            per = amounts[row.verdict]
            per[row.currency] = per.get(row.currency, 0) + row.amount
            if row.verdict in AT_RISK:
                at_risk[row.currency] = at_risk.get(row.currency, 0) + row.amount
        return BatchSummary(
            rows=len(self.rows),
            checked=len(self.rows) - errors,
            errors=errors,
            counts=counts,
            amounts=amounts,
            at_risk=at_risk,
            refreshed=len(self.refreshed),
            requests=self.requests,
            unchecked=unchecked,
            unchecked_rows=unchecked_rows,
            unrefreshed=_unrefreshed(getattr(self, "unrefreshed", {})),
            unread=unread,
        )

    def to_frame(self) -> pd.DataFrame:
        """One line per CSV row, in file order; money in minor units, times as UTC datetimes."""
        columns = [
            "row", "target", "target_kind", "reference", "amount", "currency", "verdict",
            "reasons", "account_id", "balance", "balance_source", "balance_as_of", "required",
            "shortfall", "refreshed", "error",
        ]  # fmt: skip
        records = [
            {
                "row": r.row,
                "target": r.target,
                "target_kind": r.target_kind,
                "reference": r.reference,
                "amount": r.amount,
                "currency": r.currency,
                "verdict": r.verdict,
                # Tables draw text as typed: no Markdown code marks around IDs
                "reasons": _plain(" ".join(r.reasons) if r.reasons else (r.error or "")),
                "account_id": r.account_id,
                "balance": r.balance,
                "balance_source": r.balance_source,
                "balance_as_of": r.as_of,
                "required": r.required,
                "shortfall": r.shortfall,
                "refreshed": r.refreshed,
                "error": _plain(r.error),
            }
            for r in sorted(self.rows, key=lambda r: r.row)
        ]
        frame = pd.DataFrame.from_records(records, columns=columns)
        for name in ("amount", "balance", "required", "shortfall"):
            frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
        frame["balance_as_of"] = pd.to_datetime(
            pd.array(frame["balance_as_of"].tolist(), dtype="Int64"), unit="s", utc=True
        )
        return frame

    def to_csv(self) -> str:
        """The downloadable result: money in major units ("125.00") as finance reads it."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["row", "id", "reference", "amount", "currency", "verdict", "balance",
             "balance_source", "balance_as_of", "required", "shortfall", "refreshed",
             "account", "reasons", "error", "checked_at", "policy_version"]
        )  # fmt: skip
        for r in sorted(self.rows, key=lambda r: r.row):
            code = r.currency or "usd"
            # An error row says what it said: its amount as money, else as typed.
            amount = _major(r.amount, code) if r.amount is not None else safe_text(r.amount_text)
            writer.writerow(
                [
                    r.row, safe_text(r.target), safe_text(r.reference), amount,
                    _currency_cell(r.currency or r.currency_text), r.verdict, _major(r.balance, code), r.balance_source or "",
                    _iso(r.as_of), _major(r.required, code), _major(r.shortfall, code),
                    "yes" if r.refreshed else "no", r.account_id or "",
                    safe_text(_plain(" ".join(r.reasons))), safe_text(_plain(r.error)),
                    _iso(self.checked_at), self.policy_version,
                ]
            )  # fmt: skip
        return out.getvalue()


def policy_words(policy: DebitPolicy, version: int, currency: str = "usd") -> str:
    """The policy a check applied, as the page and the job's progress line say it."""
    terms = (
        f"buffer {format_plain(policy.buffer_amount, currency)} + {wording.percent(policy.buffer_percent / 100, 4)} "
        f"of the debit, max age {wording.duration(policy.max_age_seconds)}"
    )
    return f"Policy version {version} ({terms})" if version else f"Default policy ({terms}; none saved yet)"


def _currency_cell(code: str | None) -> str:
    """A currency as the other files write it (USD), also as typed in a refused row ("usd");
    anything that is not a code stays as typed (formula-escaped)."""
    text = (code or "").strip()
    return text.upper() if len(text) == 3 and text.isascii() and text.isalpha() else \
        safe_text(code or "")


def _plain(text: str | None) -> str | None:
    """A sentence without the Markdown code marks the page draws IDs with (a typed backtick is
    already a quote there: rules.ids.as_typed), so the CSV reads `fca_…` as fca_…."""
    return text.replace("`", "") if text else text


def _major(amount: int | None, currency: str) -> str:
    if amount is None:
        return ""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


def _iso(ts: int | None) -> str:
    return wording.iso(ts)
