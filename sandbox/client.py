"""Plays the bank customer's part through the sandbox's simulation hooks (outside /v1).

Only the demo (a page's "play the customer" buttons), tests and benchmarks (faults, the rate
limit, the request log) use this; ``services/`` never does, because live Stripe has no such
endpoints.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class SimulationError(Exception):
    """The sandbox refused a simulation step; the message says why."""


class Simulator:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, **params: Any) -> dict[str, Any]:
        data = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}).encode()
        req = urllib.request.Request(f"{self.base_url}/_sandbox/{path}", data=data, method="POST")
        return self._send(req)

    def _get(self, path: str) -> dict[str, Any]:
        return self._send(urllib.request.Request(f"{self.base_url}/_sandbox/{path}"))

    def _send(self, req: urllib.request.Request) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            try:
                body = json.loads(err.read() or b"{}")
                message = body.get("error", {}).get("message") or str(body)
            except ValueError:
                message = f"HTTP {err.code}"
            raise SimulationError(message) from None
        except (urllib.error.URLError, TimeoutError) as err:
            raise SimulationError(f"The sandbox did not answer: {err}") from None

    def health(self) -> dict[str, Any]:
        return self._get("health")

    def institutions(self) -> list[dict[str, Any]]:
        data = self._get("institutions")
        return list(data.get("data", data.get("institutions", [])))

    def advance_clock(self, seconds: int) -> dict[str, Any]:
        return self._post("clock/advance", seconds=seconds)

    def complete_refreshes(self) -> dict[str, Any]:
        return self._post("refreshes/complete")

    def force_faults(self, mode: str, count: int = 1, seconds: float | None = None) -> dict[str, Any]:
        """The next ``count`` /v1 requests get a 429, a 500, or a slow answer (``seconds`` long)."""
        return self._post("faults", mode=mode, count=count, seconds=seconds)

    def clear_faults(self) -> dict[str, Any]:
        """Forget forced faults that have not fired yet."""
        return self._post("faults", clear="true")

    def set_fault_rate(self, rate: float) -> dict[str, Any]:
        """This share (0-1) of /v1 requests fails from now on (429, 500 or slow, seeded)."""
        return self._post("faults", rate=rate)

    def set_rate_limit(self, per_second: float) -> dict[str, Any]:
        """/v1 requests beyond ``per_second`` get 429 (a token bucket, burst ``per_second``,
        full now); 0 turns the limit off."""
        return self._post("faults", rate_limit=per_second)

    def record_requests(self, on: bool = True) -> dict[str, Any]:
        """Start recording /v1 requests (forgetting earlier ones), or stop (``on=False``)."""
        return self._post("requests", record="true" if on else "false")

    def recorded_requests(self) -> dict[str, Any]:
        """``{"recording", "count", "refused", "data": [{"method", "path", "query",
        "headers"}]}``: the /v1 requests recorded, in order; ``refused`` of them got a 429."""
        return self._get("requests")

    def complete_session(
        self,
        session_id: str,
        *,
        institution: str,
        accounts: int = 1,
        subcategories: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Link ``accounts`` accounts as the customer would; ``subcategories`` picks their kinds
        (refused when the session's filters do not allow them)."""
        extra = {f"subcategories[{i}]": s for i, s in enumerate(subcategories)}
        return self._post(
            f"financial_connections/sessions/{session_id}/complete",
            institution=institution,
            accounts=accounts,
            **extra,
        )

    def announce_deactivation(
        self,
        account_id: str,
        *,
        expected_deactivation_date: int | None = None,
        days: int = 14,
        cause: str = "access_expired",
    ) -> dict[str, Any]:
        """Stripe expects the account to become inactive (``status_details.active``: relink
        required) on the date, or ``days`` from now; the date passing deactivates it."""
        return self._post(
            f"financial_connections/accounts/{account_id}/upcoming_deactivation",
            expected_deactivation_date=expected_deactivation_date,
            days=days,
            cause=cause,
        )

    def deactivate_account(self, account_id: str) -> dict[str, Any]:
        return self._post(f"financial_connections/accounts/{account_id}/deactivate")

    def reactivate_account(self, account_id: str) -> dict[str, Any]:
        return self._post(f"financial_connections/accounts/{account_id}/reactivate")

    def _intent_hook(self, intent_id: str, step: str, **params: Any) -> dict[str, Any]:
        """POST one customer step of a SetupIntent or PaymentIntent (its id's prefix says which)."""
        kind = "payment_intents" if intent_id.startswith("pi_") else "setup_intents"
        return self._post(f"{kind}/{intent_id}/{step}", **params)

    def link_bank(self, intent_id: str, *, institution: str) -> dict[str, Any]:
        return self._intent_hook(intent_id, "link", institution=institution)

    def manual_entry(
        self,
        intent_id: str,
        *,
        account_number: str = "000123456789",
        routing_number: str = "110000000",
        microdeposit_type: str = "descriptor_code",
    ) -> dict[str, Any]:
        return self._intent_hook(
            intent_id,
            "manual_entry",
            account_number=account_number,
            routing_number=routing_number,
            microdeposit_type=microdeposit_type,
        )

    def microdeposits_arrive(self, intent_id: str) -> dict[str, Any]:
        return self._intent_hook(intent_id, "microdeposits_arrive")
