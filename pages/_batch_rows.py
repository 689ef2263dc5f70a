"""Batch check's tables: the rows that could not be checked, and every row with its verdict.

Both fit the main column at 1,400 px beside the sidebar (the rows' table was 1,322 px wide in
938: the reasons, reference and ID were behind a sideways scroll). What finance acts on comes
first (verdict, whom, how much, the balance, why); a picked row shows everything about it, the
reasons in full, below the table.

An ID cell holds and draws the whole ID, cut at the column's edge: the table's search matches
the text a cell draws, so an ID pasted from Stripe's Dashboard found nothing when the cell drew
"fca_…7g8h9i0j", and a copied cell gave that text.

The picked row is kept (:data:`PICKED`, and ``?job=…&row=…`` in the address): going to another
page and back, a reload or a new tab given the address pick it again in the same result (the
table forgot it, so the detail the person was reading was gone).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.charts import VERDICT_LABELS
from components.literal import literal, plain
from components.money import format_money
from components.table_columns import money_columns
from services.rules.table_values import major_units, one_currency, utc_time
from services.rules.wording import MISSING, counted

LABELS = VERDICT_LABELS  # the chart and the table use the same words
SHORT_TIME = "MM-DD HH:mm"  # the full time is in the picked row's detail
ID_HELP = (
    "Whom the row debits, as the file names them: a bank account (fca_…), payment method (pm_…) "
    "or customer (cus_…). The cell holds the whole ID (the table's search finds a pasted one); "
    "select the row to read it all when the column cuts it."
)
# Widths in px, measured in Chromium at 1,400 px with the sidebar open: the main column is
# 938 px, the row picker 32 px. Reasons takes what is left (and gives Currency its room when
# a batch has several currencies). The ID shows its kind and 15 characters after it;
# the problems' table, with room to spare, shows a whole 28-character ID (ERROR_ID).
WIDTHS = {"Row": 48, "Verdict": 92, "ID": 150, "Amount": 90, "Balance": 90, "Currency": 48,
          "Reference": 100, "As of": 86}  # fmt: skip
MAIN_WIDTH, ROW_PICKER = 938, 32
ERROR_ID = 220  # 6.75 px a character and 16 of padding (Jobs' measure)
PICKED = "batch_picked"  # (job, the file's row number or None): the row picked in that result
JOB_PARAM, ROW_PARAM = "job", "row"


def errors(frame: pd.DataFrame) -> None:
    """The rows that could not be checked, each with its problem (the widest column)."""
    failed = frame[frame["verdict"] == "error"]
    if failed.empty:
        return
    st.warning(
        f"{counted(len(failed), 'row')} could not be checked; the other rows were.",
        icon=":material/warning:",
    )
    st.dataframe(
        failed[["row", "error", "target"]],
        hide_index=True,
        placeholder=MISSING,
        width="stretch",
        column_config={
            "row": st.column_config.NumberColumn(
                "Row", help="Row number as a spreadsheet shows it", width=WIDTHS["Row"]
            ),
            "error": st.column_config.TextColumn(
                "Problem", width=MAIN_WIDTH - WIDTHS["Row"] - ERROR_ID
            ),
            "target": st.column_config.TextColumn("ID", width=ERROR_ID, help=ID_HELP),
        },
    )


def row_columns(several_currencies: bool) -> tuple[list[str], dict[str, Any]]:
    """The rows' table's column order and configs (money columns aside: their format depends on
    the currencies), widths adding up to the main column with the row picker."""
    order = ["Row", "Verdict", "ID", "Amount", "Balance",
             *(["Currency"] if several_currencies else []), "Reasons", "Reference", "As of"]  # fmt: skip
    reasons = MAIN_WIDTH - ROW_PICKER - sum(WIDTHS[c] for c in order if c != "Reasons")
    config = {
        "Row": st.column_config.NumberColumn(
            "Row", width=WIDTHS["Row"], help="Row number as a spreadsheet shows it"
        ),
        "Verdict": st.column_config.TextColumn("Verdict", width=WIDTHS["Verdict"]),
        "ID": st.column_config.TextColumn("ID", width=WIDTHS["ID"], help=ID_HELP),
        "Currency": st.column_config.TextColumn("Curr.", width=WIDTHS["Currency"], help="Currency"),
        "Reasons": st.column_config.TextColumn(
            "Reasons", width=reasons, help="Why the verdict; select the row to read them in full."
        ),
        "Reference": st.column_config.TextColumn(
            "Reference", width=WIDTHS["Reference"], help="The file's reference column, as typed"
        ),
        "As of": st.column_config.DatetimeColumn(
            "As of", format=SHORT_TIME, timezone="UTC", width=WIDTHS["As of"],
            help="When the bank reported the balance (UTC). Select the row for the full date and "
            "whether this run refreshed it.",
        ),  # fmt: skip
    }
    return order, config


def table(frame: pd.DataFrame, job: str) -> None:
    """Every row with its verdict, filtered by verdict; a picked row's detail below."""
    st.subheader("Rows")
    present = [v for v in LABELS if v in set(frame["verdict"])]
    chosen = st.multiselect(
        "Show verdicts",
        present,
        default=present,
        format_func=LABELS.__getitem__,
        # One filter per result: a choice made on the last batch (only "OK", say) would
        # otherwise hide the next batch's Insufficient rows.
        key=f"batch_filter:{job}",
    )
    shown = frame[frame["verdict"].isin(chosen)].reset_index(drop=True)
    view = pd.DataFrame(
        {
            "Row": shown["row"],
            "ID": shown["target"],
            "Reference": shown["reference"].fillna(""),
            "Amount": major(shown["amount"], shown["currency"]),
            "Currency": shown["currency"].fillna("").str.upper(),
            "Verdict": shown["verdict"].map(LABELS),
            "Balance": major(shown["balance"], shown["currency"]),
            "As of": [utc_time(t) if pd.notna(t) else None for t in shown["balance_as_of"]],
            "Refreshed": shown["refreshed"],
            "Reasons": shown["reasons"],
        }
    )
    data, money_config = money_columns(view, ("Amount", "Balance"), list(shown["currency"]))
    for name, config in money_config.items():
        config["width"] = WIDTHS[name]
    order, config = row_columns(one_currency(shown["currency"]) is None and not shown.empty)
    kept = [i for i, n in enumerate(shown["row"]) if n == kept_row(job)]
    picked = st.dataframe(
        data,
        hide_index=True,
        placeholder=MISSING,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        # The row picked before (another page, a reload): the table had forgotten it.
        selection_default={"selection": {"rows": kept[:1]}} if kept else None,
        key=f"batch_rows:{job}",
        column_order=order,
        column_config={**config, **money_config},
    )
    selected = list(picked.selection.rows) if picked else []
    if selected and selected[0] < len(shown):
        row = shown.iloc[selected[0]]
        keep_row(job, int(row["row"]))
        detail(row)
    else:
        keep_row(job, None)
        st.caption("Select a row to read all of it: the whole ID and its reasons in full.")


def kept_row(job: str) -> int | None:
    """The row picked in ``job``'s result: this session's pick, else (a reload, a new tab) the
    address's when it names this result."""
    if PICKED in st.session_state:
        kept_job, row = st.session_state[PICKED]
        return row if kept_job == job else None
    said = str(st.query_params.get(ROW_PARAM) or "")
    if st.query_params.get(JOB_PARAM) == job and said.isdigit() and len(said) <= 9:
        return int(said)
    return None


def keep_row(job: str, row: int | None) -> None:
    """Remember the picked row, in the session and in the address (none: neither)."""
    st.session_state[PICKED] = (job, row)
    if row is None:
        for param in (JOB_PARAM, ROW_PARAM):
            if param in st.query_params:
                del st.query_params[param]
    elif st.query_params.get(JOB_PARAM) != job or st.query_params.get(ROW_PARAM) != str(row):
        st.query_params.update({JOB_PARAM: job, ROW_PARAM: str(row)})


def detail(row: pd.Series) -> None:
    """One row as a whole, below the table: nothing in it is cut."""
    currency = row["currency"] if isinstance(row["currency"], str) else None
    lines = [f"**Row {int(row['row'])}** · **{LABELS.get(row['verdict'], row['verdict'])}** · "
             f"{plain(fmt(row['amount'], currency))}"]  # fmt: skip
    lines.append(f"ID: {literal(row['target'], 200) if row['target'] else MISSING}")
    if isinstance(row["account_id"], str) and row["account_id"] != row["target"]:
        lines.append(f"Checked against the bank account {literal(row['account_id'], 200)}")
    if isinstance(row["reference"], str) and row["reference"]:
        lines.append(f"Reference: {plain(row['reference'], 200)}")
    if pd.notna(row["balance"]):
        when = row["balance_as_of"]
        lines.append(
            f"Balance: {plain(fmt(row['balance'], currency))}"
            + (f", as of {when:%Y-%m-%d %H:%M} UTC" if pd.notna(when) else "")
            + ("; refreshed during this run" if bool(row["refreshed"]) else "")
        )
    with st.container(border=True, key="batch_row_detail"):
        st.markdown("  \n".join(lines))
        st.markdown(plain(row["reasons"] or MISSING, 4000))


def major(amounts: pd.Series, currencies: pd.Series) -> list[float | None]:
    """Minor units → major units per row (numbers, so the grid sorts them numerically)."""
    return [
        major_units(int(a), c) if pd.notna(a) and isinstance(c, str) else None
        for a, c in zip(amounts, currencies, strict=True)
    ]


def fmt(amount: object, currency: object) -> str:
    if amount is None or pd.isna(amount) or not isinstance(currency, str):  # type: ignore[call-overload]
        return MISSING
    return format_money(int(amount), currency)  # type: ignore[call-overload]
