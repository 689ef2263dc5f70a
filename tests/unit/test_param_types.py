"""mypy holds the product to the pinned version's parameters (the gateway takes the SDK's types).

bin/test type-checks the real call sites; this shows the guard bites: the removed and renamed
parameters of §9 are type errors at the gateway's signatures, and the endive spelling is not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = '''
from services.adapters.gateway import (
    CheckoutSessionCreateParams,
    FcSessionCreateParams,
    SetupIntentCreateParams,
    StripeGateway,
)


def calls(gw: StripeGateway) -> None:
    gw.create_setup_intent({"customer": "cus_1", "payment_method_types": ["us_bank_account"]}, idempotency_key=None)  # E1
    gw.create_fc_session({"account_holder": {"type": "customer"}, "permissions": ["balances"], "filters": {"countries": ["US"]}}, idempotency_key=None)  # E2
    gw.create_checkout_session({"mode": "setup", "payment_method_types": ["us_bank_account"]}, idempotency_key=None)  # E3
    gw.create_setup_intent({"customer": "cus_1", "allowed_payment_method_types": ["us_bank_account"]}, idempotency_key=None)
    gw.create_fc_session({"account_holder": {"type": "customer"}, "permissions": ["balances"], "filters": {"country": "US"}}, idempotency_key=None)
    ok: CheckoutSessionCreateParams = {"mode": "setup", "allowed_payment_method_types": ["us_bank_account"]}
    gw.create_checkout_session(ok, idempotency_key=None)
    unused: tuple[SetupIntentCreateParams, FcSessionCreateParams] | None = None
'''


def test_mypy_rejects_what_the_pinned_version_removed_and_accepts_its_replacements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mypy_api = pytest.importorskip("mypy.api")
    target = tmp_path / "calls.py"
    target.write_text(SNIPPET)
    monkeypatch.chdir(ROOT)
    out, err, _status = mypy_api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", str(target)]
    )
    lines = [line for line in out.splitlines() if "error:" in line]
    flagged = {SNIPPET.splitlines()[int(line.split(":")[1]) - 1].split("# ")[-1] for line in lines}
    assert flagged == {"E1", "E2", "E3"}, out + err
    assert all("typeddict-unknown-key" in line for line in lines), out
