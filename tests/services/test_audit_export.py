"""CSV export of the audit log: same filters as the page, every row, safe in spreadsheets."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy.engine import Engine

from services import audit
from services.auth import Actor
from services.errors import Forbidden
from services.usecases import export_audit as audit_export
from services.usecases.export_audit import AuditFilters, export_csv

OPS = Actor(username="olga", role="ops")
ADMIN = Actor(username="ann", role="admin")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def record(engine: Engine, *, action: str, target: str, outcome: str = "ok", **kw: object) -> None:
    audit.record(engine, actor=OPS, action=action, target=target, outcome=outcome, **kw)  # type: ignore[arg-type]


def test_export_has_a_header_and_only_the_filtered_rows(engine: Engine) -> None:
    record(engine, action="account.refresh", target="fca_1", stripe_request_id="req_1")
    record(
        engine, action="account.refresh", target="fca_2", outcome="error", message="Stripe said no"
    )
    record(engine, action="flow.save", target="flow:invoice")
    text = export_csv(engine, actor=ADMIN, filters=AuditFilters(actions=("account.refresh",)))
    rows = rows_of(text)
    assert text.splitlines()[0].split(",") == list(audit_export.COLUMNS)
    assert [r["target"] for r in rows] == ["fca_2", "fca_1"]  # newest first
    assert rows[1]["stripe_request_id"] == "req_1" and rows[0]["message"] == "Stripe said no"
    errors = rows_of(export_csv(engine, actor=ADMIN, filters=AuditFilters(outcome="error")))
    assert [r["target"] for r in errors] == ["fca_2"]


def test_export_pages_through_every_matching_row(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_export, "BATCH", 7)
    for i in range(23):
        record(engine, action="account.sync", target=f"cus_{i:03d}")
    rows = rows_of(export_csv(engine, actor=ADMIN, filters=AuditFilters(target="cus_")))
    assert sorted(r["target"] for r in rows) == [f"cus_{i:03d}" for i in range(23)]
    capped = rows_of(export_csv(engine, actor=ADMIN, filters=AuditFilters(), max_rows=10))
    assert len(capped) == 10


def test_export_redacts_secrets_and_defuses_spreadsheet_formulas(engine: Engine) -> None:
    record(
        engine,
        action="collect.create",
        target='=HYPERLINK("http://evil")',
        params={"client_secret": "pi_1_secret_2", "customer": "cus_9"},
        message="-2+3",
    )
    [row] = rows_of(export_csv(engine, actor=ADMIN, filters=AuditFilters()))
    assert row["target"].startswith("'=") and row["message"] == "'-2+3"
    params = json.loads(row["params"])
    assert params == {"client_secret": "[redacted]", "customer": "cus_9"}


def test_only_admins_may_export(engine: Engine) -> None:
    with pytest.raises(Forbidden):
        export_csv(engine, actor=OPS, filters=AuditFilters())
