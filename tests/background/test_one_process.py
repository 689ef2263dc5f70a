"""What ``bin/run`` starts (``streamlit run streamlit_app.py``) is one process serving the
dashboard, the job engine and ``POST /webhooks/stripe`` on the same port; in sandbox mode it
registers that URL with the sandbox, which then delivers signed events there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlmodel import select

from bootstrap import SANDBOX_KEY
from services.adapters.gateway import StripeGateway
from services.adapters.job_models import WebhookEventRecord
from services.adapters.store import make_engine, session_scope
from tests.browser.conftest import _free_port, _port_below_ephemeral_range

ROOT = Path(__file__).resolve().parents[2]


def test_bin_run_serves_dashboard_worker_and_webhooks_on_one_port() -> None:
    port, sandbox_port = _free_port(), _port_below_ephemeral_range()
    data = tempfile.mkdtemp(prefix="fcops-oneproc-")
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    env.update(FCOPS_DATA_DIR=data, FCOPS_SANDBOX_CUSTOMERS="10", FCOPS_SANDBOX_SEED="3",
               FCOPS_SANDBOX_REFRESH_DELAY="0", FCOPS_SANDBOX_PORT=str(sandbox_port))
    log = Path(data) / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port",
             str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise AssertionError(log.read_text()[-2000:])
        # The endpoint answers on the dashboard's port, before anyone opened a page.
        request = urllib.request.Request(f"{base}/webhooks/stripe", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=5)
            raise AssertionError("an unsigned POST was accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 400
        gateway = StripeGateway(SANDBOX_KEY, base_url=f"http://127.0.0.1:{sandbox_port}")
        endpoints = gateway.list_webhook_endpoints()
        assert [e["url"] for e in endpoints] == [f"http://127.0.0.1:{port}/webhooks/stripe"]
        customer = gateway.create_customer({"name": "Webhook Check"}, idempotency_key=None)
        engine = make_engine(f"sqlite:///{Path(data) / 'fcops-sandbox.db'}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with session_scope(engine) as session:
                rows = session.exec(
                    select(WebhookEventRecord).where(WebhookEventRecord.type == "customer.created")
                ).all()
            mine = [r for r in rows if r.payload["data"]["object"]["id"] == customer["id"]]
            if mine and mine[0].status == "processed":
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"customer.created was not applied: {log.read_text()[-2000:]}")
        assert json.dumps(mine[0].payload)  # stored whole, as Stripe sent it
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
