"""Export accounts: the filtered mirrored accounts as CSV. Audited, because data leaves the app."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Engine

from services import audit
from services.adapters import account_mirror as mirror
from services.auth import Actor, require
from services.context import Services
from services.rules import wording
from services.rules.bank_account import AccountFilters, AccountRow
from services.rules.money import decimal_amount
from services.rules.spreadsheet import safe_text
from services.usecases.browse_accounts import account_filters

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "customer_id",
    "institution_name",
    "display_name",
    "last4",
    "category",
    "subcategory",
    "status",
    "permissions",
    "subscriptions",
    "balance_current",
    "balance_available",
    "balance_currency",
    "balance_as_of",
    "balance_refresh_status",
    "ownership_refresh_status",
    "transaction_refresh_status",
    "relink_required_by",
    "created",
)


def _csv_value(key: str, row: AccountRow) -> Any:
    if key in ("balance_current", "balance_available"):
        minor = getattr(row, key)
        return decimal_amount(minor, row.balance_currency) if minor is not None and \
            row.balance_currency else None
    if key == "balance_currency":
        return (row.balance_currency or "").upper() or None
    if key in ("permissions", "subscriptions"):
        return " ".join(getattr(row, key))
    if key in ("balance_as_of", "created", "relink_required_by"):
        ts = getattr(row, key)
        return wording.iso(ts)
    value = getattr(row, key)
    return safe_text(value) if isinstance(value, str) else value  # names come from banks


def iter_accounts_csv(
    engine: Engine, filters: AccountFilters, *, now: int, chunk_rows: int = 2000,
    sort: str | None = None,
) -> Iterator[bytes]:
    """CSV bytes in chunks, read from SQL in batches (never the whole table in memory at once).

    Money as the other files finance downloads have it (Transactions, the batch results): a
    signed decimal with no symbol or separators (1770.07, -5.00), its currency beside it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    with engine.connect() as conn:
        stmt = mirror.rows_stmt(filters, now).order_by(None).order_by(*mirror.account_order(sort))
        result = conn.execution_options(yield_per=chunk_rows).execute(stmt)
        for partition in result.partitions():
            for values in partition:
                row = mirror.to_row(values)
                writer.writerow([_csv_value(k, row) for k in CSV_COLUMNS])
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    tail = buffer.getvalue()
    if tail:
        yield tail.encode()


def export_accounts_csv(
    svc: Services,
    actor: Actor,
    *,
    sort: str | None = None,
    **wanted: Any,
) -> bytes:
    """The filtered accounts as CSV (UTF-8), audited as ``accounts.export``, in the page's
    ``sort`` order (an unknown one: newest first, as the page).

    ``wanted`` are the :class:`AccountFilters` fields, as for ``browse_accounts.list_accounts``.
    """
    filters = account_filters(svc.engine, wanted)
    params = {k: v for k, v in filters.__dict__.items() if v is not None and v is not False}
    if sort:
        params["sort"] = sort
    with audit.audited(svc.engine, actor=actor, action="accounts.export", params=params) as ctx:
        require(actor, "accounts.view")
        data = b"".join(iter_accounts_csv(svc.engine, filters, now=svc.now(), sort=sort))
        rows = max(0, data.count(b"\n") - 1)
        ctx.params["rows"] = rows
        ctx.message = f"Exported {rows} accounts as CSV."
    return data
