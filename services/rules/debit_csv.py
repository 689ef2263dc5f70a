"""Read a CSV of planned debits, keeping every good row and explaining every bad one.

Operators export these files from spreadsheets, so headers vary in case and wording and a file
may be saved with a BOM or with semicolons. Problems with the file as a whole (not text, no
header, no amount column, too big) raise BatchFileError; problems with one row become a
RowError for that row and the other rows still parse, so one typo does not block a batch.

Row numbers are the ones a spreadsheet shows: the header is row 1 and the first data row is
row 2. Blank lines are skipped but still counted, exactly as a spreadsheet counts them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from services.rules.money import (
    MisreadAmount,
    MoneyError,
    parse_unambiguous_amount,
    validate_currency,
)
from services.rules.wording import counted

__all__ = [
    "BatchFileError",
    "PlannedDebit",
    "RowError",
    "parse_debits_csv",
]


class BatchFileError(ValueError):
    """The file as a whole cannot be read as planned debits; the message says how to fix it."""


class _RowProblem(ValueError):
    """One row cannot be used; becomes a RowError, never leaves this module."""


@dataclass(frozen=True)
class PlannedDebit:
    """One debit to make: who (an fca_, pm_ or cus_ id), how much, and an optional reference."""

    row: int
    target: str
    target_kind: str
    amount: int
    currency: str
    reference: str | None


@dataclass(frozen=True)
class RowError:
    """Why one row was not accepted, with the row's cells as read (header name -> cell).

    What the row said travels with it, so the result file lets finance match the row and the
    unchecked money is counted: ``amount`` (minor units) and ``currency`` when the amount reads
    as one (whatever else is wrong with the row), the two cells as typed, and the reference.
    All empty when the row's cells do not line up with the header (which cell is the amount
    would be a guess)."""

    row: int
    message: str
    raw: dict[str, str]
    amount: int | None = None
    currency: str | None = None
    amount_text: str = ""
    currency_text: str = ""
    reference: str | None = None
    target_text: str = ""  # the row's ID cell as typed ("acct_nope"), so finance can match it


# Canonical column -> accepted header spellings (compared lowercased, spaces and dashes as _).
_ALIASES: dict[str, tuple[str, ...]] = {
    "account": ("account", "account_id", "fca", "fca_id", "financial_connections_account"),
    "payment_method": ("payment_method", "payment_method_id", "pm", "pm_id"),
    "customer": ("customer", "customer_id", "cus", "cus_id"),
    "id": ("id", "target", "target_id"),
    "amount": ("amount",),
    "currency": ("currency",),
    "reference": ("reference", "description", "ref", "memo"),
}
_HEADER_TO_COLUMN = {alias: column for column, names in _ALIASES.items() for alias in names}

# Id prefix -> kind, and the reverse for the kind-specific columns (reference §1.10).
_PREFIX_KIND = {"fca_": "account", "pm_": "payment_method", "cus_": "customer"}
_KIND_PREFIX = {kind: prefix for prefix, kind in _PREFIX_KIND.items()}
# Balance check takes these one at a time (each is a Stripe look-up of its payment method); a
# batch row names whom to debit, read from the mirror or in chunks, so a batch refuses them.
_LOOKED_UP = {
    "pi_": "a PaymentIntent", "seti_": "a SetupIntent", "py_": "a payment", "ch_": "a payment"
}
TAKES = "an fca_… (bank account), pm_… (payment method) or cus_… (customer) id"
_ID_COLUMNS = ("account", "payment_method", "customer", "id")
# A full row's cells, for the sentence a row with too few cells gets.
_EXAMPLE = {"amount": "125.00", "id": "fca_…", "account": "fca_…", "payment_method": "pm_…",
            "customer": "cus_…"}  # fmt: skip
_ID_BODY = re.compile(r"[A-Za-z0-9_]+")
_MAX_REFERENCE = 500  # Stripe metadata values are limited to 500 characters (reference §2.9).

_DELIMITERS = (",", ";", "\t")


def parse_debits_csv(
    data: bytes | str,
    *,
    default_currency: str = "usd",
    max_rows: int = 50_000,
    allowed_currencies: Collection[str] | None = None,
) -> tuple[list[PlannedDebit], list[RowError]]:
    """Parse planned debits from CSV text or bytes (UTF-8, with or without a BOM, or the
    Windows-1252 that Excel on Windows saves as "CSV (Comma delimited)").

    Columns (header names are case-insensitive): one or more of `account`/`account_id`/`fca`,
    `payment_method`/`pm`, `customer`/`customer_id`, or a single `id` whose prefix decides the
    kind; `amount` in major units ("125.00"); optional `currency` (else `default_currency`);
    optional `reference`/`description`. Other columns are ignored.

    `allowed_currencies` limits which currencies a row may use; by default only
    `default_currency`, because a batch is one currency (ACH Direct Debit is USD only).
    """
    default = validate_currency(default_currency)
    allowed = {validate_currency(c) for c in allowed_currencies or (default,)}
    text = _decode(data)
    records = _records(text)
    header = _read_header(records)
    columns = _map_columns(header)
    debits: list[PlannedDebit] = []
    errors: list[RowError] = []
    seen = 0
    for row_number, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        seen += 1
        if seen > max_rows:
            raise BatchFileError(
                f"The file has more than {max_rows:,} rows; split it into smaller files."
            )
        result = _parse_row(row_number, cells, header, columns, default, allowed)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            debits.append(result)
    if seen == 0:
        raise BatchFileError("The file has a header but no debit rows.")
    return debits, errors


# --- the file ------------------------------------------------------------------------------


def _decode(data: bytes | str) -> str:
    if isinstance(data, bytes):
        if data.startswith(b"PK\x03\x04"):
            raise BatchFileError(
                "This looks like an Excel workbook, not a CSV file. Save it as CSV and try again."
            )
        text = _bytes_to_text(data)
    elif isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        raise BatchFileError("Expected the contents of a CSV file.")
    if "\x00" in text:
        raise BatchFileError("This does not look like a CSV file (it contains binary data).")
    if not text.strip():
        raise BatchFileError("The file is empty.")
    return text


def _bytes_to_text(data: bytes) -> str:
    """UTF-8 (with or without a BOM) first; else Windows-1252, which is what Excel on Windows
    writes for "CSV (Comma delimited)" (an é or a curly quote in a name is one byte there and
    not UTF-8). Bytes that are neither (cp1252 leaves five byte values undefined) are refused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise BatchFileError(
            "The file is not UTF-8 text. Save it as 'CSV UTF-8' and try again."
        ) from exc


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for each record; a quoted line break stays in one row."""
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = max(_DELIMITERS, key=first_line.count)
    number = 0
    stated = first_line.strip()
    if stated.lower().startswith("sep=") and len(stated) == 5:
        # Excel's "sep=;" line names the delimiter; Excel does not show it as a row, so the
        # rows are numbered as if it were not there.
        rest = text.lstrip("\r\n").split("\n", 1)
        delimiter, text = stated[4], rest[1] if len(rest) > 1 else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BatchFileError(
                f"This is not valid CSV near row {number + 1}: {exc}. "
                "Check for an unmatched quote character."
            ) from exc
        number += 1
        yield number, cells


def _read_header(records: Iterator[tuple[int, list[str]]]) -> list[str]:
    """The first non-blank record, checked to be a header rather than data."""
    for _, cells in records:
        if any(cell.strip() for cell in cells):
            header = [cell.strip() for cell in cells]
            if not any(_canonical(name) for name in header) and any(
                _looks_like_data(cell) for cell in header
            ):
                raise BatchFileError(
                    "The first row must be a header naming the columns, for example "
                    "'id,amount,currency'; it looks like data."
                )
            return header
    raise BatchFileError("The file is empty.")  # pragma: no cover - _decode rejects blank text


def _map_columns(header: list[str]) -> dict[str, int]:
    """Canonical column name -> index, refusing files that are ambiguous or incomplete."""
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        column = _canonical(name)
        if column is None:
            continue
        if column in columns:
            first = header[columns[column]]
            raise BatchFileError(
                f"The columns '{first}' and '{name}' both mean {column}; keep only one."
            )
        columns[column] = index
    if "id" in columns and any(c in columns for c in _ID_COLUMNS[:3]):
        raise BatchFileError(
            "Use either one 'id' column or 'account'/'payment_method'/'customer' columns, not both."
        )
    found = ", ".join(f"'{name}'" for name in header if name) or "none"
    if not any(c in columns for c in _ID_COLUMNS):
        raise BatchFileError(
            "No column says whom to debit. Add an 'id' column (fca_…, pm_… or cus_… ids) "
            f"or an 'account', 'payment_method' or 'customer' column. Columns found: {found}."
        )
    if "amount" not in columns:
        raise BatchFileError(f"No 'amount' column. Columns found: {found}.")
    return columns


def _canonical(name: str) -> str | None:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _HEADER_TO_COLUMN.get(key)


def _looks_like_data(cell: str) -> bool:
    value = cell.strip()
    return value.startswith(tuple(_PREFIX_KIND)) or bool(re.fullmatch(r"[$€£¥]?[\d,.]+", value))


# --- one row ------------------------------------------------------------------------------


def _parse_row(
    row: int,
    cells: list[str],
    header: list[str],
    columns: dict[str, int],
    default: str,
    allowed: set[str],
) -> PlannedDebit | RowError:
    raw = _raw(cells, header)
    if len(cells) != len(header):
        message = (
            f"Row {row} has {counted(len(cells), 'cell')} but the header has "
            f"{counted(len(header), 'column')}."
        )
        grouped = _split_grouped_amount(cells, len(cells) - len(header), columns["amount"])
        if grouped:  # the advice first: the Problem column shows a sentence's start
            split = f"split the row into {len(cells)} cells (the header has {len(header)})"
            return RowError(row, _thousands_advice(row, grouped, split), raw)
        halves = next(
            (
                (a.strip(), b.strip())
                for a, b in zip(cells, cells[1:], strict=False)
                if a.strip().isdigit() and b.strip().isdigit() and len(b.strip()) == 2
            ),
            None,
        )
        if len(cells) == len(header) + 1 and halves:
            whole, cents = halves
            message += (
                f" If the amount is {whole},{cents}, its decimal comma split it into two "
                f"cells: fcops reads a dot as the decimal mark, so write {whole}.{cents}."
            )
        elif len(cells) > len(header):  # what a person can do, not only what was counted
            message += (
                " A value with a comma in it (a reference such as \"Rent, March\") needs double "
                "quotes around it; otherwise delete the extra cells."
            )
        else:
            example = ",".join(_EXAMPLE.get(h.strip().lower(), "") for h in header)
            message += (
                f" Give it a cell under each column ({', '.join(repr(h) for h in header)}), "
                f"leaving optional ones empty (e.g. {example})."
            )
        return RowError(row, message, raw)
    amount_at = columns["amount"]
    grouped = _split_grouped_amount(cells, len(cells) - 1 - amount_at, amount_at)
    if grouped and "." not in cells[amount_at]:
        # The cells fit the header only because the columns after the amount were to be empty
        # ("fca_1,1,000" under id,amount,reference): reading 1 and a reference "000" is a guess.
        after = " and ".join(f"'{name}'" for name in header[amount_at + 1 :])
        moved = f"put {grouped.split(',', 1)[1]} under {after}"
        return RowError(row, _thousands_advice(row, grouped, moved), raw)
    values = {column: cells[index].strip() for column, index in columns.items()}
    try:
        target, kind = _target(values)
        currency = _currency(values.get("currency", ""), default, allowed)
        amount = _amount(row, values["amount"], currency)
        reference = _reference(values.get("reference", ""))
    except (MoneyError, _RowProblem) as exc:
        return _row_error(row, str(exc), raw, values, default)
    return PlannedDebit(row, target, kind, amount, currency, reference)


def _row_error(
    row: int, message: str, raw: dict[str, str], values: dict[str, str], default: str
) -> RowError:
    """The row's error with the money it names, when that reads as money on its own (a row
    with no ID, or in a currency this batch does not take, still names an amount)."""
    typed, code = values["amount"], values.get("currency", "")
    reference = values.get("reference", "")[:_MAX_REFERENCE] or None
    target = next((values[c] for c in _ID_COLUMNS if values.get(c)), "")[:_MAX_REFERENCE]
    try:
        currency = validate_currency(code) if code else default
        amount = parse_unambiguous_amount(typed, currency)  # "1.000" names no amount
    except MoneyError:
        return RowError(row, message, raw, None, None, typed, code, reference, target)
    return RowError(row, message, raw, amount, currency, typed, code, reference, target)


def _amount(row: int, text: str, currency: str) -> int:
    """The row's amount, never read as a guess (:func:`parse_unambiguous_amount`, the rule
    Balance check's amount box follows too); its own sentences name the row."""
    try:
        return parse_unambiguous_amount(text, currency)
    except MisreadAmount as err:
        raise _RowProblem(f"Row {row}: the amount {err}") from None


_LEAD_GROUP = re.compile(r"[$]?\s*\d{1,3}")
_GROUP = re.compile(r"\d{3}")
_LAST_GROUP = re.compile(r"\d{3}(\.\d+)?")


def _split_grouped_amount(cells: list[str], extra: int, amount: int) -> str | None:
    """The amount as typed ("1,000.50") when the row's ``extra`` cells are exactly its
    thousands groups after the amount column, else None. Only a hint for the message: the row
    stays an error, since another cell (a reference with a comma) may be what split."""
    parts = [cell.strip() for cell in cells[amount : amount + extra + 1]]
    if extra < 1 or len(parts) != extra + 1 or not _LEAD_GROUP.fullmatch(parts[0]):
        return None
    if not all(_GROUP.fullmatch(p) for p in parts[1:-1]) or not _LAST_GROUP.fullmatch(parts[-1]):
        return None
    return ",".join(parts)


def _thousands_advice(row: int, grouped: str, effect: str) -> str:
    return (
        f"Row {row}: if the amount is {grouped}, its thousands separator {effect}. Put the "
        f'amount in quotes ("{grouped}") or write it without the separator '
        f"({grouped.replace(',', '')})."
    )


def _raw(cells: list[str], header: list[str]) -> dict[str, str]:
    """Cells keyed by header name; unnamed or extra cells get a positional name."""
    raw: dict[str, str] = {}
    for index, cell in enumerate(cells):
        name = header[index] if index < len(header) and header[index] else ""
        raw[name or f"column {index + 1}"] = cell
    return raw


def _target(values: dict[str, str]) -> tuple[str, str]:
    filled = [(column, values[column]) for column in _ID_COLUMNS if values.get(column)]
    if not filled:
        raise _RowProblem("No id: fill in whom to debit (an fca_…, pm_… or cus_… id).")
    if len(filled) > 1:
        names = " and ".join(column for column, _ in filled)
        raise _RowProblem(f"Both {names} are filled in; give only one id per row.")
    column, target = filled[0]
    kind = next((k for prefix, k in _PREFIX_KIND.items() if target.startswith(prefix)), None)
    looked_up = next((what for prefix, what in _LOOKED_UP.items() if target.startswith(prefix)), None)
    if kind is None and looked_up:
        raise _RowProblem(
            f"'{target}' is {looked_up}: a batch row takes whom to debit, {TAKES}. Check a "
            "payment's account on the Balance check page, one at a time."
        )
    if kind is None:
        raise _RowProblem(f"'{target}' is not an id this tool can debit; a batch row takes {TAKES}.")
    if column != "id" and kind != column:
        expected = _KIND_PREFIX[column]
        raise _RowProblem(f"'{target}' is in the {column} column but is not a {expected}… id.")
    if not _ID_BODY.fullmatch(target[len(_KIND_PREFIX[kind]) :]):
        raise _RowProblem(f"'{target}' is not a valid id; it should be letters and digits only.")
    return target, kind


def _currency(text: str, default: str, allowed: set[str]) -> str:
    currency = validate_currency(text) if text else default
    if currency not in allowed:
        listed = ", ".join(sorted(c.upper() for c in allowed))
        why = " (ACH Direct Debit is in US dollars)" if allowed == {"usd"} else ""
        raise _RowProblem(
            f"Currency {currency.upper()} cannot be debited in this batch, which takes {listed} "
            f"only{why}. Correct the currency if it is a typo, or take the row out."
        )
    return currency


def _reference(text: str) -> str | None:
    if len(text) > _MAX_REFERENCE:
        raise _RowProblem(f"The reference is longer than {_MAX_REFERENCE} characters.")
    return text or None


def batch_chunks(planned: Sequence[PlannedDebit], size: int) -> list[list[PlannedDebit]]:
    """The batch cut in chunks of about ``size`` rows (a job's checkpointed steps), never
    splitting one ID's rows: a batch judges the rows of one account together, and a chunk is
    judged on its own (before, row 1,001 on an account was judged without rows 1 to 1,000).
    Each chunk is in file order; an ID with more rows than ``size`` is one bigger chunk."""
    groups: dict[str, list[PlannedDebit]] = {}
    for debit in planned:
        groups.setdefault(debit.target, []).append(debit)
    chunks: list[list[PlannedDebit]] = []
    current: list[PlannedDebit] = []
    for group in groups.values():
        if current and len(current) + len(group) > size:
            chunks.append(sorted(current, key=lambda d: d.row))
            current = []
        current += group
    if current:
        chunks.append(sorted(current, key=lambda d: d.row))
    return chunks
