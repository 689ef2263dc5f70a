"""An account's stored transactions as CSV, as the Transactions table shows them (its filters
and order): finance takes them to a spreadsheet. Audited as ``transactions.export``, refusals
too, since bank data leaves the app."""

from __future__ import annotations

from dataclasses import asdict

from services.adapters import transaction_store as store
from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.rules.ids import parse_id
from services.rules.money import decimal_amount
from services.rules.spreadsheet import csv_text
from services.rules.transactions import TransactionFilter, TransactionView
from services.usecases.sync_transactions import ACCOUNT_KIND
from services.usecases.view_transactions import TRANSACTION_SORTS, _filters_checked

MAX_ROWS = 100_000  # one account's years of history; more is cut, and the file says so
COLUMNS = ("date_utc", "description", "amount", "currency", "direction", "status", "id")


def export_csv(
    svc: Services,
    actor: Actor,
    account_id: str,
    chosen: TransactionFilter,
    *,
    sort: str | None = None,
) -> str:
    """Every stored transaction of ``account_id`` matching ``chosen``, in ``sort`` order (the
    table's; unknown: newest first), amounts as signed decimals ("-12.34", money out) with
    their currency, every text cell formula-escaped."""
    params = {"account": account_id[:80], **{k: str(v) for k, v in asdict(chosen).items() if v}}
    with audited(
        svc.engine, actor=actor, action="transactions.export", target=account_id[:80],
        params=params,
    ) as ctx:
        require(actor, "transactions.view")
        fca, _ = parse_id(account_id, allowed=ACCOUNT_KIND)
        order = sort if sort in TRANSACTION_SORTS else "newest"
        rows = store.load_transactions(
            svc.engine, fca, limit=MAX_ROWS + 1, sort=order, **_filters_checked(chosen)
        )
        views = [TransactionView.of(t) for t in rows[:MAX_ROWS]]
        lines = [
            [
                v.transacted_at.strftime("%Y-%m-%d %H:%M:%S"),
                v.description,
                decimal_amount(v.amount, v.currency),
                v.currency.upper(),
                "money in" if v.direction == "in" else "money out",
                v.status,
                v.id,
            ]
            for v in views
        ]
        if len(rows) > MAX_ROWS:
            lines.append([f"Cut at {MAX_ROWS:,} rows: narrow the dates for the rest."])
        ctx.params["rows"] = len(views)
        ctx.message = f"Exported {len(views)} transactions as CSV."
        return csv_text(COLUMNS, lines)
    raise AssertionError("unreachable")  # pragma: no cover
