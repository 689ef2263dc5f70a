"""Batch check page: upload or paste a CSV, bad rows reported per row, summary, filter, download."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from services.auth import Actor
from services.rules.debit_csv import PlannedDebit
from services.usecases import jobs
from tests.app.conftest import (
    column_config,
    jobs_settled,
    no_exceptions,
    open_page,
    refused,
    texts,
)
from tests.app.test_balance_check_page import new_account

PAGE = "pages/batch_check.py"
FINANCE = Actor(username="finance", role="finance")


def csv_with_good_and_bad_rows() -> tuple[str, str, str]:
    _, rich = new_account(available=500_000)
    _, poor = new_account(available=1_000)
    text = "\n".join(
        [
            "id,amount,currency,reference",
            f"{rich},100.00,usd,ok row",
            f"{poor},75.00,usd,short row",
            "fca_000000000000unknown,10.00,usd,unknown id",
            f"{rich},ten dollars,usd,bad amount",
            f"{rich},10.00,eur,other currency",
        ]
    )
    return text, rich, poor


def run(at: AppTest) -> AppTest:
    return at.button(key="batch_run").click().run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def money_at_risk(at: AppTest, name: str, text: str) -> Any:
    """The "Money at risk" metric once ``text`` is uploaded as the file ``name`` and checked."""
    at.file_uploader(key="batch_file").set_value((name, text.encode(), "text/csv"))
    run(at.run())
    no_exceptions(at)
    return next(m for m in at.metric if m.label == "Money at risk")


def test_finance_sees_the_uploader_paste_box_and_template() -> None:
    at = open_page(PAGE, "finance")
    no_exceptions(at)
    assert at.text_area(key="batch_text") is not None
    assert len(at.get("file_uploader")) == 1
    # Finance's last batch, if an earlier test ran one, comes back with its results' download.
    earlier = jobs.recent_jobs(FINANCE, kinds=["balances.batch_check"], mine=True, limit=1)
    labels = [d.label for d in at.get("download_button")]
    if earlier and earlier[0].status == "succeeded":
        assert labels == ["Download template", "Download results (CSV)"]
    else:
        assert labels == ["Download template"]


def test_the_csv_format_names_every_payment_id_a_row_refuses() -> None:
    """A row refuses a ch_… as it refuses a py_… (both are payments, Balance check takes them),
    but the format named only `py_…` among the payment IDs."""
    at = open_page(PAGE, "finance")
    [fmt] = [m.value for m in at.markdown if "IDs are refused" in m.value]
    assert "payment (`py_…` or `ch_…`) IDs are refused" in fmt, fmt


def test_an_uploaded_csv_gets_verdicts_per_row_and_errors_for_bad_rows() -> None:
    text, _, _ = csv_with_good_and_bad_rows()
    at = open_page(PAGE, "finance")
    at.file_uploader(key="batch_file").set_value(("debits.csv", text.encode(), "text/csv"))
    run(at.run())
    no_exceptions(at)
    shown = metrics(at)
    assert (shown["Rows"], shown["Checked"], shown["Errors"]) == ("5", "2", "3")
    assert (shown["OK"], shown["Insufficient"]) == ("1", "1")
    assert shown["Money at risk"] == "$75.00"
    assert any("3 rows could not be checked" in w.value for w in at.warning)
    problems = at.dataframe[0].value
    assert list(problems["row"]) == [4, 5, 6]
    # A table draws text as typed: the ID without the Markdown code marks
    assert problems["error"].iloc[0].startswith("Stripe has no Financial Connections account fca_0")
    rows = at.dataframe[1].value
    assert list(rows["Verdict"]) == ["OK", "Insufficient", "Error", "Error", "Error"]
    assert list(rows["Amount"])[:2] == [100.0, 75.0]  # numbers, formatted by the column
    # The refused EUR row keeps its €10.00, so the amounts are in two currencies: plain
    # numbers, with the currency beside each (one currency is dollar-formatted: see below).
    assert list(rows["Currency"]) == ["USD", "USD", "USD", "", "EUR"]  # "ten dollars": none
    config = column_config(at.dataframe[1])
    # Each cell in its currency's minor units: the "localized" format drew 125 and 1,250 beside
    # a balance of 1,174.74.
    assert config["Amount"]["type_config"].get("format") is None  # the cells' own text shows
    drawn = pa.ipc.open_stream(at.dataframe[1].proto.arrow_data.styler.display_values).read_pandas()
    assert list(drawn["Amount"]) == ["100.00", "75.00", "10.00", "—", "10.00"]
    assert list(drawn["Balance"])[:3] == ["5,000.00", "10.00", "—"]
    assert config["As of"]["type_config"]["type"] == "datetime"
    labels = [d.label for d in at.get("download_button")]
    assert "Download results (CSV)" in labels
    # Neither download reruns the page (a rerun dropped the file before the browser fetched it).
    assert all(d.proto.ignore_rerun for d in at.get("download_button"))
    assert "Stay on this page" not in texts(at)  # the while-it-runs hint is gone afterwards


def test_an_absurd_but_valid_total_at_risk_is_read_whole_with_the_exact_figure_in_its_help() -> None:
    """st.metric cut "$100,000,009.00" to "$100,000,00…" in its quarter of a 1,400 px page; the
    figure is compact there ("$100.0M", as the Stripe Dashboard writes a large total) and exact
    in the metric's help. A total that fits stays exact, with no "Exactly" in its help."""
    _, poor = new_account(available=1_000)
    text = "\n".join(["id,amount,currency", f"{poor},99999999.00,usd", f"{poor},10.00,usd"])
    at = open_page(PAGE, "finance")
    money = money_at_risk(at, "huge.csv", text)
    assert money.value == "$100.0M"
    assert money.proto.help.startswith("Exactly $100,000,009.00. Insufficient + stale")
    fits = "\n".join(["id,amount,currency", f"{poor},9999999.99,usd"])
    money = money_at_risk(at, "fits.csv", fits)
    assert money.value == "$9,999,999.99"
    assert money.proto.help.startswith("Insufficient + stale")


def test_pasted_csv_text_works_like_an_upload_and_rows_can_be_filtered() -> None:
    text, _, poor = csv_with_good_and_bad_rows()
    at = open_page(PAGE, "admin")
    at.text_area(key="batch_text").set_value(text)
    run(at)
    no_exceptions(at)
    assert metrics(at)["Checked"] == "2"
    verdict_filter(at).set_value(["insufficient"]).run()
    rows = at.dataframe[-1].value
    assert list(rows["ID"]) == [poor]


def verdict_filter(at: AppTest):  # type: ignore[no-untyped-def]
    return next(m for m in at.multiselect if m.label == "Show verdicts")


def test_a_filter_chosen_on_one_batch_does_not_hide_the_next_batchs_rows() -> None:
    _, rich = new_account(available=500_000)
    _, poor = new_account(available=1_000)
    at = open_page(PAGE, "admin")
    at.text_area(key="batch_text").set_value(f"id,amount,currency\n{rich},100.00,usd\n")
    run(at)
    verdict_filter(at).set_value(["ok"]).run()  # the first batch, all OK, filtered to OK
    at.text_area(key="batch_text").set_value(
        f"id,amount,currency\n{rich},100.00,usd\n{poor},75.00,usd\n"
    )
    run(at)
    no_exceptions(at)
    assert metrics(at)["Insufficient"] == "1"
    # The new result starts with every verdict it has shown: the Insufficient row is there.
    assert verdict_filter(at).value == ["ok", "insufficient"]
    assert list(at.dataframe[-1].value["Verdict"]) == ["OK", "Insufficient"]


def test_a_file_that_is_not_usable_is_explained() -> None:
    at = open_page(PAGE, "finance")
    at.text_area(key="batch_text").set_value("id,amount\n")
    run(at)
    no_exceptions(at)
    assert any("cannot be used" in e.value and "no debit rows" in e.value for e in at.error)
    assert not at.metric


def test_a_file_without_an_amount_column_is_explained() -> None:
    at = open_page(PAGE, "finance")
    at.text_area(key="batch_text").set_value("id,currency\nfca_abc123,usd\n")
    run(at)
    no_exceptions(at)
    assert any("amount" in e.value for e in at.error)


def test_running_without_input_asks_for_a_file() -> None:
    at = run(open_page(PAGE, "finance"))
    no_exceptions(at)
    assert any("Upload a CSV file" in w.value for w in at.warning)


def test_the_page_says_what_it_read_before_anything_runs() -> None:
    at = open_page(PAGE, "finance")
    assert not [c for c in at.caption if "Ready:" in c.value]
    text, _, _ = csv_with_good_and_bad_rows()
    at.text_area(key="batch_text").set_value(text).run()
    no_exceptions(at)
    ready = [c.value for c in at.caption if "Ready:" in c.value]
    assert len(ready) == 1
    # The unknown id parses (only Stripe can say it is unknown); the bad amount and the EUR row
    # (a batch is USD, as ACH Direct Debit is) do not.
    assert "has 5 rows, 3 to check for $185.00" in ready[0] and "2 with problems" in ready[0]
    # ... and that the IDs are looked up at Stripe when it runs: "3 to check" became "2 checked,
    # 3 errors" afterwards, the unknown fca_ failing only at Stripe, without a word before.
    assert "3 to check for $185.00 (their IDs are looked up at Stripe when it runs" in ready[0]
    assert not at.metric  # nothing ran yet


@pytest.mark.parametrize("role", ["ops", "manager"])
def test_roles_without_balance_checks_cannot_open_the_batch_page(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.text_area


def test_a_result_is_put_aside_while_another_file_is_given() -> None:
    _, rich = new_account(available=500_000)
    first = f"id,amount,currency\n{rich},100.00,usd\n"
    at = open_page(PAGE, "finance")
    at.text_area(key="batch_text").set_value(first)
    run(at)
    assert metrics(at)["Rows"] == "1"
    # Another input, not run yet (here one that cannot be used): no result under its message.
    at.text_area(key="batch_text").set_value("id,amount\n").run()
    no_exceptions(at)
    assert any("no debit rows" in e.value for e in at.error)
    assert not at.metric and "Download results (CSV)" not in [
        d.label for d in at.get("download_button")
    ]
    assert "The last result is put aside" in texts(at)
    # The same input as the result's again: the result is its own, shown again.
    at.text_area(key="batch_text").set_value(first).run()
    assert metrics(at)["Rows"] == "1" and "put aside" not in texts(at)


def test_an_excel_windows_file_is_read_and_a_split_amount_row_says_what_to_write() -> None:
    """Excel on Windows saves "CSV" as Windows-1252: it was refused as "not UTF-8 text". A
    thousands separator in an unquoted amount was only "Row has 5 cells…"."""
    _, rich = new_account(available=500_000)
    text = "\r\n".join(
        [
            "id,amount,currency,reference",
            f"{rich},100.00,usd,Café \u201cRent\u201d",
            f"{rich},1,000.50,usd,big one",
        ]
    )
    at = open_page(PAGE, "finance")
    at.file_uploader(key="batch_file").set_value(("debits.csv", text.encode("cp1252"), "text/csv"))
    run(at.run())
    no_exceptions(at)
    assert not at.error
    problems = at.dataframe[0].value.set_index("row")["error"]
    assert list(problems.index) == [3]
    assert problems[3].startswith("Row 3: if the amount is 1,000.50")
    assert "5 cells (the header has 4)" in problems[3]
    assert 'quotes ("1,000.50")' in problems[3] and "(1000.50)" in problems[3]
    rows = at.dataframe[1].value
    assert list(rows["Reference"]) == ["Café \u201cRent\u201d", ""]
    assert list(rows["Verdict"]) == ["OK", "Error"]


def test_a_job_this_session_started_is_shown_when_the_run_that_started_it_was_cut_short() -> None:
    """Leaving the page while it waited for a new batch stopped that script run before it could
    say "follow this job": back on the page, the form was empty and neither progress nor the
    result showed, so finance ran the batch (and its Stripe requests) again."""
    _, rich = new_account(available=500_000)
    at = open_page(PAGE, "finance")
    job_id = jobs.start_batch_check(
        FINANCE, jobs_rows(rich), refresh_stale=False
    )
    # What the cut-short run had left: the job, nothing else.
    for key in ("batch_check_result", "batch_check_failed", "batch_check_follow"):
        at.session_state[key] = None
        del at.session_state[key]
    at.session_state["batch_check_job"] = job_id
    at.session_state["batch_check_result_source"] = "march.csv"
    for _ in range(40):
        at.run()
        if at.metric:
            break
    no_exceptions(at)
    assert metrics(at)["Rows"] == "1"
    assert "Showing your last batch check (march.csv), finished" in texts(at)
    # A Run click with nothing given asks for a file and keeps the result of the last batch.
    run(at)
    assert any("Upload a CSV file" in w.value for w in at.warning)
    assert metrics(at)["Rows"] == "1"


def test_a_reload_or_a_new_tab_still_names_the_file_checked() -> None:
    """The file's name lived in the session only: after F5 or in a new tab the page said "The
    check (16 rows) runs in the background", then "Showing your last batch check, finished …"
    with no name. It is kept with the job (its name, never its contents)."""
    text, _, _ = csv_with_good_and_bad_rows()
    at = open_page(PAGE, "finance")
    at.file_uploader(key="batch_file").set_value(("march-debits.csv", text.encode(), "text/csv"))
    run(at.run())
    no_exceptions(at)
    jobs_settled()
    mine = jobs.recent_jobs(FINANCE, kinds=["balances.batch_check"], mine=True, limit=1)
    assert mine[0].source == "march-debits.csv"
    again = open_page(PAGE, "finance")  # a new session: a reload, a new tab
    no_exceptions(again)
    assert "Showing your last batch check (march-debits.csv), finished" in texts(again)


def test_finances_failed_batch_tried_again_by_an_admin_is_the_one_shown() -> None:
    """An admin's Try again (Jobs page) runs as the admin, so finance's page, looking for
    finance's own last batch, kept showing the failure: in the same session and on a new
    visit, it now follows the retry of finance's batch and shows its result."""
    from services.adapters import jobs as engine
    from services.adapters.models import utcnow
    from services.usecases import jobs_retry
    from tests.app.conftest import shared_app

    text, _, _ = csv_with_good_and_bad_rows()
    at = open_page(PAGE, "finance")
    at.file_uploader(key="batch_file").set_value(("april-debits.csv", text.encode(), "text/csv"))
    run(at.run())
    jobs_settled(at)
    [failed] = jobs.recent_jobs(FINANCE, kinds=["balances.batch_check"], mine=True, limit=1)
    engine.update_job(  # as the list shows a batch whose run failed
        shared_app().engine, failed.id, status="failed", finished_at=utcnow(),
        error="Stripe had a temporary problem (HTTP 500). Try again in a minute.",
    )
    again = open_page(PAGE, "finance")
    assert any("did not finish" in e.value for e in again.error), texts(again)
    retry = jobs_retry.retry_job(Actor(username="admin", role="admin"), failed.id)
    jobs_settled()
    for page in (again.run(), open_page(PAGE, "finance")):  # the same session; a new visit
        no_exceptions(page)
        assert not any("did not finish" in e.value for e in page.error), texts(page)
        assert metrics(page)["Rows"] == "5"
        shown = texts(page)
        assert "Showing your last batch check (april-debits.csv), finished" in shown, shown
        assert f"admin tried it again as `{retry}`" in shown, shown


def jobs_rows(account: str) -> list[PlannedDebit]:
    return [
        PlannedDebit(
            row=2, target=account, target_kind="account", amount=10_000, currency="usd",
            reference="r",
        )
    ]


def test_money_in_every_row_that_could_not_be_checked_is_counted_and_downloaded() -> None:
    """"A further … is in rows that could not be checked" counted only the row whose ID
    Stripe did not know ($2.50), not the rows without an ID or with an ID of the wrong shape;
    the results file left those rows' amount and currency blank."""
    from pages._runtime import get_app
    from services.usecases import check_batch

    _, rich = new_account(available=500_000)
    text = "\n".join(
        [
            "id,amount,currency,reference",
            f"{rich},100.00,usd,checked",
            ",10.00,usd,no id",
            "ba_123,5.00,usd,wrong kind of id",
            "fca_000000000000unknown,2.50,usd,unknown id",
            f"{rich},ten,usd,bad amount",
        ]
    )
    at = open_page(PAGE, "finance")
    at.text_area(key="batch_text").set_value(text)
    run(at)
    no_exceptions(at)
    assert (metrics(at)["Checked"], metrics(at)["Errors"]) == ("1", "4")
    captions = [c.value for c in at.caption]
    assert any(
        "A further $17.50 is in the 3 rows that could not be checked" in c
        and "1 other row has no readable amount." in c
        for c in captions
    ), captions
    assert list(at.dataframe[1].value["Amount"])[:4] == [100.0, 10.0, 5.0, 2.5]
    config = column_config(at.dataframe[1])
    assert config["Amount"]["type_config"] == {"type": "number", "format": "dollar"}
    result = at.session_state["batch_check_result"]  # what the download button builds from
    downloaded = check_batch.results_csv(get_app().services, FINANCE, result)
    cells = {line.split(",")[0]: line.split(",")[:5] for line in downloaded.splitlines()[1:]}
    assert cells["3"] == ["3", "", "no id", "10.00", "USD"]
    assert cells["4"] == ["4", "ba_123", "wrong kind of id", "5.00", "USD"]  # the ID as typed
    assert cells["5"][3:] == ["2.50", "USD"]
    assert cells["6"] == ["6", rich, "bad amount", "ten", "USD"]


def test_the_result_says_when_its_rows_were_checked_on_the_page_and_in_the_file() -> None:
    """The reasons say "3 h old" and "in 2 min" as of the run: finance coming back later, or
    reading the saved file, needs that moment (the file's name had none: two runs' downloads
    were both balance-check-results.csv)."""
    import csv
    import io
    import time as clock

    from pages._runtime import get_app
    from services.usecases import check_batch

    text, _, _ = csv_with_good_and_bad_rows()
    at = open_page(PAGE, "finance")
    at.text_area(key="batch_text").set_value(text)
    run(at)
    no_exceptions(at)
    result = at.session_state["batch_check_result"]
    now = int(get_app().services.now())
    assert result.checked_at is not None and now - 120 <= result.checked_at <= now
    stamp = clock.strftime("%Y-%m-%d %H:%M UTC", clock.gmtime(result.checked_at))
    assert any(c.value.startswith(f"Checked {stamp} (") for c in at.caption), [
        c.value for c in at.caption
    ]
    name = clock.strftime("balance-check-results-%Y-%m-%d-%H%M.csv", clock.gmtime(result.checked_at))
    assert result.file_name == name  # the download button's file name
    rows = list(csv.DictReader(io.StringIO(check_batch.results_csv(get_app().services, FINANCE, result))))
    iso = clock.strftime("%Y-%m-%dT%H:%M:%SZ", clock.gmtime(result.checked_at))
    assert rows and {r["checked_at"] for r in rows} == {iso}


def test_your_own_batch_tried_again_says_so_after_a_reload_too() -> None:
    """Who tried the batch again was kept in the session (the page that turned to the retry):
    after a reload the retry's result showed with no word of the failure before it. It is read
    from the job now (the retry names the batch it tries again), on every run."""
    from services.adapters import jobs as engine
    from services.adapters.models import utcnow
    from services.usecases import jobs_retry
    from tests.app.conftest import shared_app

    text, _, _ = csv_with_good_and_bad_rows()
    at = open_page(PAGE, "admin")
    at.text_area(key="batch_text").set_value(text)
    run(at)
    jobs_settled(at)
    admin = Actor(username="admin", role="admin")
    [failed] = jobs.recent_jobs(admin, kinds=["balances.batch_check"], mine=True, limit=1)
    engine.update_job(
        shared_app().engine, failed.id, status="failed", finished_at=utcnow(),
        error="Stripe had a temporary problem (HTTP 500). Try again in a minute.",
    )
    retry = jobs_retry.retry_job(admin, failed.id)  # from the Jobs page
    jobs_settled()
    again = open_page(PAGE, "admin")  # a reload: a new session
    no_exceptions(again)
    assert metrics(again)["Rows"] == "5"
    assert f"you tried it again as `{retry}`" in texts(again), texts(again)


def test_the_summary_says_which_refreshes_failed_at_the_bank() -> None:
    """Stale 2 beside "0 balances refreshed" said nothing of why: the bank failed both refreshes,
    said only in each row's reasons."""
    failing = [new_account(available=500_000, age=3 * 86_400, institution="Refresh Errors Bank")[1]
               for _ in range(2)]
    at = open_page(PAGE, "finance")
    at.text_area(key="batch_text").set_value("id,amount\n" + "".join(f"{f},10.00\n" for f in failing))
    at.checkbox(key="batch_refresh").check()
    run(at)
    no_exceptions(at)
    assert metrics(at)["Stale"] == "2"
    said = texts(at)
    assert "0 balances refreshed" in said
    assert ("2 refreshes failed at the bank (Refresh Errors Bank); their rows are judged on the "
            "older balance.") in said, said
