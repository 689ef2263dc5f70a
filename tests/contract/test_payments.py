"""ACH payments through the real ``stripe`` SDK: SetupIntents, PaymentIntents, PaymentMethods,
Mandates, Checkout and microdeposits (Stripe reference §2.5-2.10, §3.2-3.3, §6, §7)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import stripe

from sandbox.server import SandboxHandle
from tests.contract.conftest import hook, raw

ACH = {"allowed_payment_method_types": ["us_bank_account"]}
ACCEPTANCE = {
    "customer_acceptance": {
        "type": "online",
        "online": {"ip_address": "203.0.113.9", "user_agent": "contract-test"},
    }
}


def fc_options(permissions: list[str], prefetch: list[str] | None = None, **extra: Any) -> dict:
    fc: dict[str, Any] = {"permissions": permissions}
    if prefetch is not None:
        fc["prefetch"] = prefetch
    return {"us_bank_account": {"financial_connections": fc, **extra}}


def new_customer(client: stripe.StripeClient, name: str = "Pat Payer") -> Any:
    return client.v1.customers.create(params={"name": name, "email": "pat@example.com"})


def new_setup_intent(client: stripe.StripeClient, customer: str, **params: Any) -> Any:
    return client.v1.setup_intents.create(params={"customer": customer, **ACH, **params})


def event_types(client: stripe.StripeClient, object_id: str) -> list[str]:
    events = client.v1.events.list(params={"limit": 100}).data
    return [e.type for e in reversed(events) if e.data.object.id == object_id]


def linked_setup(client: stripe.StripeClient, sandbox: SandboxHandle, **options: Any) -> Any:
    """A customer whose bank account was linked through FC and saved (SI succeeded)."""
    cus = new_customer(client)
    si = new_setup_intent(
        client,
        cus.id,
        payment_method_options=fc_options(["payment_method", "balances"], **options),
    )
    hook(sandbox, f"setup_intents/{si.id}/link", institution="Test Institution")
    return client.v1.setup_intents.retrieve(si.id)


def manual_setup(
    client: stripe.StripeClient,
    sandbox: SandboxHandle,
    *,
    microdeposit_type: str = "descriptor_code",
    account_number: str = "000123456789",
    arrive: bool = True,
) -> Any:
    cus = new_customer(client)
    si = new_setup_intent(client, cus.id)
    hook(
        sandbox,
        f"setup_intents/{si.id}/manual_entry",
        account_number=account_number,
        routing_number="110000000",
        microdeposit_type=microdeposit_type,
    )
    if arrive:
        hook(sandbox, f"setup_intents/{si.id}/microdeposits_arrive")
    return client.v1.setup_intents.retrieve(si.id)


def verified_manual_pm(client: stripe.StripeClient, sandbox: SandboxHandle, account: str) -> Any:
    si = manual_setup(client, sandbox, account_number=account)
    return client.v1.setup_intents.verify_microdeposits(si.id, params={"descriptor_code": "SM11AA"})


# --------------------------------------------------------------------------- SetupIntent create


def test_a_new_setup_intent_waits_for_a_payment_method_and_echoes_its_fc_options(
    client: stripe.StripeClient,
) -> None:
    cus = new_customer(client)
    si = new_setup_intent(
        client,
        cus.id,
        payment_method_options=fc_options(
            ["payment_method", "balances", "ownership"],
            ["balances"],
            verification_method="instant",
        ),
        metadata={"order": "42"},
    )
    assert si.status == "requires_payment_method"
    assert si.client_secret.startswith(f"{si.id}_secret_")
    uba = si.payment_method_options.us_bank_account
    assert uba.verification_method == "instant"
    assert uba.financial_connections.permissions == ["payment_method", "balances", "ownership"]
    assert uba.financial_connections.prefetch == ["balances"]
    assert si.payment_method_types == ["us_bank_account"]
    assert si.metadata.to_dict() == {"order": "42"}
    assert event_types(client, si.id) == ["setup_intent.created"]


def test_an_intent_without_prefetch_shows_an_empty_prefetch_list_like_stripe(
    sandbox: SandboxHandle,
) -> None:
    """§2.5 and the fixtures (a session's ``prefetch: []``): empty is ``[]``, never null."""
    fc = "payment_method_options[us_bank_account][financial_connections]"
    cases: list[dict[str, Any]] = [
        {},  # no options at all: Stripe's defaults
        {f"{fc}[permissions][]": ["payment_method", "balances"]},
    ]
    for extra in cases:
        for path in ("/v1/setup_intents", "/v1/payment_intents"):
            params = {**extra, **({"amount": 1000, "currency": "usd"} if "payment" in path else {})}
            status, body, _ = raw(sandbox.base_url, "POST", path, params)
            assert status == 200, body
            found = body["payment_method_options"]["us_bank_account"]["financial_connections"]
            assert found["prefetch"] == [], (path, extra, found)
    # `prefetch=""` is not "[] on the wire": the pinned type has no Literal[''] there (the SDK
    # sends nothing for an empty list), so Stripe refuses the empty string.
    empty = {f"{fc}[permissions][]": ["payment_method"], f"{fc}[prefetch]": ""}
    status, body, _ = raw(sandbox.base_url, "POST", "/v1/setup_intents", empty)
    assert (status, body["error"]["code"]) == (400, "parameter_invalid_empty")
    assert body["error"]["param"] == f"{fc}[prefetch]"


def test_the_16x_allowed_payment_method_types_parameter_is_accepted(
    client: stripe.StripeClient,
) -> None:
    si = client.v1.setup_intents.create(
        params={"allowed_payment_method_types": ["us_bank_account"]}
    )
    assert si.payment_method_types == ["us_bank_account"]
    assert si.payment_method_options.us_bank_account.verification_method == "automatic"


def test_fc_permissions_without_payment_method_are_refused_with_the_param(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        new_setup_intent(
            client, new_customer(client).id, payment_method_options=fc_options(["balances"])
        )
    assert err.value.http_status == 400
    assert err.value.param == (
        "payment_method_options[us_bank_account][financial_connections][permissions]"
    )


def test_prefetching_a_feature_without_its_permission_is_refused(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        new_setup_intent(
            client,
            new_customer(client).id,
            payment_method_options=fc_options(["payment_method"], ["transactions"]),
        )
    assert (
        err.value.param
        == "payment_method_options[us_bank_account][financial_connections][prefetch]"
    )


def test_an_unknown_customer_is_a_404_on_the_customer_param(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        new_setup_intent(client, "cus_doesnotexist")
    assert err.value.http_status == 404
    assert err.value.code == "resource_missing"
    assert err.value.param == "customer"


# --------------------------------------------------------------------------- FC link (instant)


def test_linking_through_fc_succeeds_with_a_multi_use_mandate_and_an_attempt(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = linked_setup(client, sandbox, prefetch=["balances"])
    full = client.v1.setup_intents.retrieve(
        si.id, params={"expand": ["payment_method", "mandate", "latest_attempt", "customer"]}
    )
    assert full.status == "succeeded"
    assert full.mandate.type == "multi_use"
    assert full.mandate.status == "active"
    assert full.mandate.customer_acceptance.type == "online"
    assert full.mandate.payment_method == full.payment_method.id
    assert full.latest_attempt.id.startswith("setatt_")
    assert full.latest_attempt.status == "succeeded"
    assert full.payment_method.customer == full.customer.id
    fca_id = full.payment_method.us_bank_account.financial_connections_account
    fca = client.v1.financial_connections.accounts.retrieve(fca_id)
    assert fca.permissions == ["payment_method", "balances"]
    assert fca.account_holder.customer == full.customer.id
    assert fca.balance is not None  # prefetch refreshed the balance
    types = event_types(client, si.id)
    assert types == ["setup_intent.created", "setup_intent.succeeded"]
    attached = client.v1.events.list(params={"type": "payment_method.attached", "limit": 100})
    assert any(e.data.object.id == full.payment_method.id for e in attached.data)


def test_expanding_the_payment_method_reaches_the_fc_account_id(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = linked_setup(client, sandbox)
    expanded = client.v1.setup_intents.retrieve(si.id, params={"expand": ["payment_method"]})
    fca = expanded.payment_method.us_bank_account.financial_connections_account
    assert fca.startswith("fca_")
    # The pinned type has `financial_connections_account: Optional[str]`, not an ExpandableField,
    # so Stripe refuses to expand it (the sandbox used to allow it).
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        client.v1.setup_intents.retrieve(
            si.id,
            params={"expand": ["payment_method.us_bank_account.financial_connections_account"]},
        )


def test_a_bank_that_is_down_leaves_the_intent_waiting_with_a_setup_error(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = new_setup_intent(client, new_customer(client).id)
    body = hook(sandbox, f"setup_intents/{si.id}/link", institution="Down Bank (Error)")
    assert body["status"] == "requires_payment_method"
    again = client.v1.setup_intents.retrieve(si.id)
    assert again.last_setup_error.code
    assert "Down Bank" in again.last_setup_error.message
    assert event_types(client, si.id)[-1] == "setup_intent.setup_failed"


def test_server_side_confirm_with_an_fc_account_and_mandate_data_succeeds(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    first = linked_setup(client, sandbox)
    pm = client.v1.payment_methods.retrieve(first.payment_method)
    fca = pm.us_bank_account.financial_connections_account
    si = client.v1.setup_intents.create(
        params={
            "customer": first.customer,
            **ACH,
            "payment_method_data": {
                "type": "us_bank_account",
                "us_bank_account": {"financial_connections_account": fca},
                "billing_details": {"name": "Pat Payer"},
            },
            "mandate_data": ACCEPTANCE,
            "confirm": True,
        }
    )
    assert si.status == "succeeded"
    mandate = client.v1.mandates.retrieve(si.mandate, params={"expand": ["payment_method"]})
    assert mandate.customer_acceptance.online.ip_address == "203.0.113.9"
    assert mandate.payment_method.us_bank_account.financial_connections_account == fca


def test_confirming_without_mandate_data_is_refused(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    first = linked_setup(client, sandbox)
    si = client.v1.setup_intents.create(
        params={"customer": first.customer, **ACH, "payment_method": first.payment_method}
    )
    assert si.status == "requires_confirmation"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.confirm(si.id)
    assert err.value.param == "mandate_data"
    ok = client.v1.setup_intents.confirm(si.id, params={"mandate_data": ACCEPTANCE})
    assert ok.status == "succeeded"


def test_a_payment_method_without_a_billing_name_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.create(
            params={
                **ACH,
                "payment_method_data": {
                    "type": "us_bank_account",
                    "us_bank_account": {
                        "routing_number": "110000000",
                        "account_number": "000123456789",
                    },
                },
            }
        )
    assert err.value.param == "payment_method_data[billing_details][name]"


# --------------------------------------------------------------------------- manual entry + microdeposits


def test_manual_entry_waits_for_microdeposits_with_a_hosted_verification_url(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox, arrive=False)
    assert si.status == "requires_action"
    assert si.next_action.type == "verify_with_microdeposits"
    vwm = si.next_action.verify_with_microdeposits
    assert vwm.microdeposit_type == "descriptor_code"
    assert vwm.hosted_verification_url.startswith(
        "https://payments.stripe.com/microdeposit/sacs_test_"
    )
    assert vwm.arrival_date > si.created
    pm = client.v1.setup_intents.retrieve(
        si.id, params={"expand": ["payment_method"]}
    ).payment_method
    assert pm.us_bank_account.financial_connections_account is None
    assert pm.us_bank_account.last4 == "6789"
    assert event_types(client, si.id) == ["setup_intent.created", "setup_intent.requires_action"]


def test_verifying_before_the_deposits_arrive_is_refused_clearly(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox, arrive=False)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.verify_microdeposits(si.id, params={"descriptor_code": "SM11AA"})
    assert err.value.code == "setup_intent_unexpected_state"
    assert "not arrived" in err.value.user_message
    assert client.v1.setup_intents.retrieve(si.id).status == "requires_action"


def test_the_verified_descriptor_code_saves_the_account_with_a_mandate(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox)
    done = client.v1.setup_intents.verify_microdeposits(si.id, params={"descriptor_code": "SM11AA"})
    assert done.status == "succeeded"
    assert done.next_action is None
    mandate = client.v1.mandates.retrieve(done.mandate)
    assert mandate.status == "active" and mandate.type == "multi_use"
    assert event_types(client, si.id)[-1] == "setup_intent.succeeded"


def test_the_verified_amounts_save_the_account(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox, microdeposit_type="amounts")
    done = client.v1.setup_intents.verify_microdeposits(si.id, params={"amounts": [32, 45]})
    assert done.status == "succeeded"


def test_wrong_amounts_count_down_three_attempts_then_fail_the_intent(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox, microdeposit_type="amounts")
    remaining = []
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as err:
            client.v1.setup_intents.verify_microdeposits(si.id, params={"amounts": [12, 34]})
        assert err.value.code == "payment_method_microdeposit_verification_amounts_mismatch"
        remaining.append(err.value.user_message)
    assert "2 verification attempts remaining" in remaining[0]
    assert "1 verification attempt remaining" in remaining[1]
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.verify_microdeposits(si.id, params={"amounts": [12, 34]})
    assert err.value.code == "payment_method_microdeposit_verification_attempts_exceeded"
    failed = client.v1.setup_intents.retrieve(si.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_setup_error.code == (
        "payment_method_microdeposit_verification_attempts_exceeded"
    )
    assert failed.payment_method is None
    assert event_types(client, si.id)[-1] == "setup_intent.setup_failed"


def test_a_descriptor_code_allows_ten_attempts(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox)
    codes = []
    for _ in range(10):
        with pytest.raises(stripe.InvalidRequestError) as err:
            client.v1.setup_intents.verify_microdeposits(
                si.id, params={"descriptor_code": "SM99ZZ"}
            )
        codes.append(err.value.code)
    assert codes[:9] == ["payment_method_microdeposit_verification_descriptor_code_mismatch"] * 9
    assert codes[9] == "payment_method_microdeposit_verification_attempts_exceeded"


@pytest.mark.parametrize(
    ("kind", "values", "code"),
    [
        ("descriptor_code", "SM33CC", "payment_method_microdeposit_verification_attempts_exceeded"),
        ("amounts", [10, 11], "payment_method_microdeposit_verification_attempts_exceeded"),
        ("descriptor_code", "SM44DD", "payment_method_microdeposit_verification_timeout"),
        ("amounts", [40, 41], "payment_method_microdeposit_verification_timeout"),
    ],
)
def test_the_failing_test_values_fail_the_intent_at_once(
    client: stripe.StripeClient, sandbox: SandboxHandle, kind: str, values: Any, code: str
) -> None:
    si = manual_setup(client, sandbox, microdeposit_type=kind)
    params = {"amounts": values} if kind == "amounts" else {"descriptor_code": values}
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.verify_microdeposits(si.id, params=params)
    assert err.value.code == code
    after = client.v1.setup_intents.retrieve(si.id)
    assert after.status == "requires_payment_method"
    assert after.last_setup_error.code == code


def test_amounts_and_descriptor_code_together_are_refused(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.verify_microdeposits(
            si.id, params={"amounts": [32, 45], "descriptor_code": "SM11AA"}
        )
    assert err.value.code == "parameters_exclusive"


def test_malformed_amounts_are_refused_without_using_an_attempt(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox, microdeposit_type="amounts")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.verify_microdeposits(si.id, params={"amounts": [32]})
    assert err.value.code == "payment_method_microdeposit_verification_amounts_invalid"
    done = client.v1.setup_intents.verify_microdeposits(si.id, params={"amounts": [32, 45]})
    assert done.status == "succeeded"


def test_the_wrong_kind_of_verification_is_refused(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox, microdeposit_type="amounts")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.verify_microdeposits(si.id, params={"descriptor_code": "SM11AA"})
    assert err.value.param == "descriptor_code"


def test_manual_entry_is_refused_when_instant_verification_is_required(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = new_setup_intent(
        client,
        new_customer(client).id,
        payment_method_options={"us_bank_account": {"verification_method": "instant"}},
    )
    status, body, _ = raw(
        sandbox.base_url, "POST", f"/_sandbox/setup_intents/{si.id}/manual_entry", {}, auth=False
    )
    assert status == 400
    assert "instant" in body["error"]["message"]


def test_microdeposits_that_fail_to_send_fail_the_intent_asynchronously(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = manual_setup(client, sandbox, account_number="000666666661", arrive=False)
    after = client.v1.setup_intents.retrieve(si.id)
    assert after.status == "requires_payment_method"
    assert after.last_setup_error.code == "payment_method_microdeposit_failed"


# --------------------------------------------------------------------------- cancel, update, list


def test_cancel_records_the_reason_and_a_canceled_intent_cannot_be_canceled_again(
    client: stripe.StripeClient,
) -> None:
    si = new_setup_intent(client, new_customer(client).id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.setup_intents.cancel(si.id, params={"cancellation_reason": "fraudulent"})
    done = client.v1.setup_intents.cancel(si.id, params={"cancellation_reason": "duplicate"})
    assert (done.status, done.cancellation_reason) == ("canceled", "duplicate")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.cancel(si.id)
    assert err.value.code == "setup_intent_unexpected_state"
    assert event_types(client, si.id)[-1] == "setup_intent.canceled"


def test_update_merges_metadata_and_list_filters_by_customer_and_created(
    client: stripe.StripeClient,
) -> None:
    cus = new_customer(client)
    first = new_setup_intent(client, cus.id, metadata={"a": "1", "b": "2"})
    second = new_setup_intent(client, cus.id)
    updated = client.v1.setup_intents.update(first.id, params={"metadata": {"b": "", "c": "3"}})
    assert updated.metadata.to_dict() == {"a": "1", "c": "3"}
    listed = client.v1.setup_intents.list(params={"customer": cus.id})
    assert [s.id for s in listed.data] == [second.id, first.id]
    paged = list(
        client.v1.setup_intents.list(params={"customer": cus.id, "limit": 1}).auto_paging_iter()
    )
    assert [s.id for s in paged] == [second.id, first.id]
    none = client.v1.setup_intents.list(
        params={"customer": cus.id, "created": {"gt": second.created}}
    )
    assert none.data == []


def test_the_same_idempotency_key_returns_the_same_setup_intent(
    client: stripe.StripeClient,
) -> None:
    cus = new_customer(client)
    key = str(uuid.uuid4())
    a = client.v1.setup_intents.create(
        params={"customer": cus.id, **ACH}, options={"idempotency_key": key}
    )
    b = client.v1.setup_intents.create(
        params={"customer": cus.id, **ACH}, options={"idempotency_key": key}
    )
    assert a.id == b.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.setup_intents.create(
            params={"customer": cus.id, **ACH, "usage": "on_session"},
            options={"idempotency_key": key},
        )
    assert len(client.v1.setup_intents.list(params={"customer": cus.id}).data) == 1


# --------------------------------------------------------------------------- PaymentIntents


def debit(client: stripe.StripeClient, si: Any, amount: int = 2500, **params: Any) -> Any:
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "usd",
            "customer": si.customer,
            "payment_method": si.payment_method,
            **ACH,
            "confirm": True,
            "off_session": True,
            **params,
        }
    )


def available_usd(client: stripe.StripeClient, si: Any) -> int:
    """What the linked account of ``si`` has to debit (§2.1: available, else current)."""
    pm = client.v1.payment_methods.retrieve(si.payment_method)
    fca = client.v1.financial_connections.accounts.retrieve(
        pm.us_bank_account.financial_connections_account
    )
    cash = fca.balance.cash.available
    return int(cash["usd"] if cash else fca.balance.current["usd"])


def test_amount_and_currency_are_required_and_ach_is_usd_only(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.create(params={"currency": "usd", **ACH})
    assert (err.value.code, err.value.param) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "eur", **ACH})
    assert err.value.param == "currency"


def test_debiting_a_saved_account_processes_then_succeeds(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = linked_setup(client, sandbox)
    pi = debit(client, si, statement_descriptor="FCOPS RENT")
    assert pi.status == "processing"
    settled = client.v1.payment_intents.retrieve(
        pi.id, params={"expand": ["latest_charge", "payment_method"]}
    )
    assert settled.status == "succeeded"
    assert settled.amount_received == 2500
    assert settled.latest_charge.status == "succeeded"
    assert settled.latest_charge.payment_method_details.us_bank_account.mandate == si.mandate
    assert settled.payment_method.us_bank_account.financial_connections_account.startswith("fca_")
    assert event_types(client, pi.id) == [
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]


def test_a_debit_larger_than_the_linked_balance_fails_for_insufficient_funds(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = linked_setup(client, sandbox, prefetch=["balances"])
    pi = debit(client, si, amount=available_usd(client, si) + 100)
    failed = client.v1.payment_intents.retrieve(pi.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "insufficient_funds"


def test_an_nsf_test_account_fails_after_processing_without_blocking_the_account(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = verified_manual_pm(client, sandbox, "000222222227")
    pi = debit(client, si)
    assert pi.status == "processing"
    failed = client.v1.payment_intents.retrieve(pi.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "insufficient_funds"
    assert failed.last_payment_error.payment_method.id == si.payment_method
    assert (
        client.v1.payment_methods.retrieve(si.payment_method).us_bank_account.status_details is None
    )
    assert event_types(client, pi.id)[-1] == "payment_intent.payment_failed"


def test_a_closed_account_is_blocked_and_its_mandate_goes_inactive(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = verified_manual_pm(client, sandbox, "000111111113")
    pi = debit(client, si)
    failed = client.v1.payment_intents.retrieve(pi.id)
    assert failed.last_payment_error.code == "account_closed"
    pm = client.v1.payment_methods.retrieve(si.payment_method)
    assert pm.us_bank_account.status_details.blocked.reason == "bank_account_closed"
    assert pm.us_bank_account.status_details.blocked.network_code == "R02"
    assert client.v1.mandates.retrieve(si.mandate).status == "inactive"
    with pytest.raises(stripe.InvalidRequestError) as err:
        debit(client, si, mandate_data=ACCEPTANCE)
    assert err.value.code == "payment_method_bank_account_blocked"


def test_a_processing_payment_can_be_canceled(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = verified_manual_pm(client, sandbox, "000000000009")
    pi = debit(client, si)
    assert client.v1.payment_intents.retrieve(pi.id).status == "processing"
    canceled = client.v1.payment_intents.cancel(
        pi.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert canceled.status == "canceled"
    assert canceled.canceled_at is not None
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.cancel(pi.id)
    assert err.value.code == "payment_intent_unexpected_state"


def test_a_payment_intent_can_verify_its_own_microdeposits(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    cus = new_customer(client)
    pi = client.v1.payment_intents.create(
        params={"amount": 1500, "currency": "usd", "customer": cus.id, **ACH}
    )
    hook(sandbox, f"payment_intents/{pi.id}/manual_entry", microdeposit_type="amounts")
    waiting = client.v1.payment_intents.retrieve(pi.id)
    assert waiting.status == "requires_action"
    hook(sandbox, f"payment_intents/{pi.id}/microdeposits_arrive")
    processing = client.v1.payment_intents.verify_microdeposits(pi.id, params={"amounts": [32, 45]})
    assert processing.status == "processing"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert "payment_intent.requires_action" in event_types(client, pi.id)


def test_linking_a_payment_intent_confirms_it(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    cus = new_customer(client)
    pi = client.v1.payment_intents.create(
        params={"amount": 1500, "currency": "usd", "customer": cus.id, **ACH}
    )
    body = hook(sandbox, f"payment_intents/{pi.id}/link", institution="Test Institution")
    assert body["status"] == "processing"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_search_finds_payment_intents_by_status_customer_and_metadata(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = linked_setup(client, sandbox)
    tag = uuid.uuid4().hex[:8]
    paid = debit(client, si, metadata={"batch": tag})
    open_pi = client.v1.payment_intents.create(
        params={
            "amount": 900,
            "currency": "usd",
            "customer": si.customer,
            **ACH,
            "metadata": {"batch": tag},
        }
    )
    found = client.v1.payment_intents.search(params={"query": f"metadata['batch']:'{tag}'"})
    assert {p.id for p in found.data} == {paid.id, open_pi.id}
    waiting = client.v1.payment_intents.search(
        params={"query": f"status:'requires_payment_method' AND customer:'{si.customer}'"}
    )
    assert [p.id for p in waiting.data] == [open_pi.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.search(params={"query": "colour:'blue'"})
    listed = client.v1.payment_intents.list(params={"customer": si.customer})
    assert [p.id for p in listed.data] == [open_pi.id, paid.id]


# --------------------------------------------------------------------------- PaymentMethods


def test_customer_payment_methods_list_retrieve_and_detach(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    si = linked_setup(client, sandbox)
    listed = client.v1.customers.payment_methods.list(
        si.customer, params={"type": "us_bank_account"}
    )
    assert [pm.id for pm in listed.data] == [si.payment_method]
    same = client.v1.payment_methods.list(
        params={"customer": si.customer, "type": "us_bank_account"}
    )
    assert [pm.id for pm in same.data] == [si.payment_method]
    one = client.v1.customers.payment_methods.retrieve(si.customer, si.payment_method)
    assert one.us_bank_account.routing_number == "110000000"
    detached = client.v1.payment_methods.detach(si.payment_method)
    assert detached.customer is None
    assert client.v1.mandates.retrieve(si.mandate).status == "inactive"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.detach(si.payment_method)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.payment_methods.retrieve(si.customer, si.payment_method)
    assert err.value.http_status == 404
    reattached = client.v1.payment_methods.attach(
        si.payment_method, params={"customer": si.customer}
    )
    assert reattached.customer == si.customer


def test_fingerprints_are_stable_for_the_same_account_numbers(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    a = manual_setup(client, sandbox, account_number="000123456789")
    b = manual_setup(client, sandbox, account_number="000123456789")
    c = manual_setup(client, sandbox, account_number="000222222227")
    prints = [
        client.v1.payment_methods.retrieve(s.payment_method).us_bank_account.fingerprint
        for s in (a, b, c)
    ]
    assert prints[0] == prints[1] != prints[2]


# --------------------------------------------------------------------------- Checkout


def checkout(client: stripe.StripeClient, **options: Any) -> Any:
    return client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "success_url": "https://example.com/ok",
            "cancel_url": "https://example.com/cancel",
            "customer": new_customer(client).id,
            **ACH,
            "payment_method_options": {"us_bank_account": options} if options else {},
        }
    )


def test_checkout_refuses_microdeposits_as_a_verification_method(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        checkout(client, verification_method="microdeposits")
    assert err.value.param == "payment_method_options[us_bank_account][verification_method]"


def test_an_open_checkout_session_has_a_url_until_it_expires(client: stripe.StripeClient) -> None:
    session = checkout(
        client,
        verification_method="instant",
        financial_connections={
            "permissions": ["payment_method", "balances"],
            "prefetch": ["balances"],
        },
    )
    assert session.status == "open"
    assert session.url.endswith(session.id)
    uba = session.payment_method_options.us_bank_account
    assert uba.verification_method == "instant"
    assert uba.financial_connections.permissions == ["payment_method", "balances"]
    full = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["setup_intent", "customer"]}
    )
    assert full.setup_intent.status == "requires_payment_method"
    assert full.customer.id == session.customer
    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)


def test_a_setup_mode_session_hands_its_intent_data_on_and_completes_when_the_customer_links(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    """The Collect page's hosted link: `setup_intent_data` reaches the SetupIntent Checkout
    creates, `expand[]=setup_intent` works on create, and linking completes the session."""
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "success_url": "https://example.com/ok",
            "customer": new_customer(client).id,
            **ACH,
            "payment_method_options": fc_options(["payment_method", "balances"]),
            "setup_intent_data": {
                "metadata": {"fcops_flow": "setup_intent"},
                "description": "Rent",
            },
            "expand": ["setup_intent"],
        }
    )
    si = session.setup_intent
    assert si.metadata.to_dict() == {"fcops_flow": "setup_intent"}
    assert si.description == "Rent"
    assert si.client_secret.startswith(f"{si.id}_secret_")
    assert session.payment_status == "no_payment_required"
    assert session.url and session.expires_at > session.created
    hook(sandbox, f"setup_intents/{si.id}/link", institution="Test Institution")
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["setup_intent"]})
    assert (done.status, done.url) == ("complete", None)
    assert done.setup_intent.status == "succeeded"
    assert "checkout.session.completed" in event_types(client, session.id)


def test_a_payment_mode_session_totals_its_line_items_and_completes_through_the_hook(
    client: stripe.StripeClient, sandbox: SandboxHandle
) -> None:
    cus = new_customer(client)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://example.com/ok",
            "customer": cus.id,
            **ACH,
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 1250,
                        "product_data": {"name": "Rent"},
                    },
                    "quantity": 2,
                }
            ],
        }
    )
    assert session.amount_total == 2500
    assert session.payment_status == "unpaid"
    hook(sandbox, f"payment_intents/{session.payment_intent}/link", institution="Test Institution")
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert done.status == "complete"
    assert done.url is None
    assert done.payment_intent.status == "succeeded"
    assert done.payment_status == "paid"
    kinds = [
        e.type
        for e in client.v1.events.list(params={"limit": 50}).data
        if e.data.object.id == session.id
    ]
    assert "checkout.session.async_payment_succeeded" in kinds


@pytest.mark.parametrize("how", ["deactivate", "disconnect"])
def test_a_saved_payment_method_stays_usable_after_its_fc_account_lost_its_connection(
    client: stripe.StripeClient, sandbox: SandboxHandle, how: str
) -> None:
    """Stripe's disconnections guide: the account's earlier data stays readable and the payment
    method created from it keeps working; only fresh data (refreshes) stops (issue 7, B8)."""
    si = linked_setup(client, sandbox)
    pm = client.v1.payment_methods.retrieve(si.payment_method)
    fca = pm.us_bank_account.financial_connections_account
    if how == "deactivate":
        hook(sandbox, f"financial_connections/accounts/{fca}/deactivate")
    else:
        client.v1.financial_connections.accounts.disconnect(fca)
    assert client.v1.financial_connections.accounts.retrieve(fca).status != "active"
    pi = debit(client, si)
    assert pi.status == "processing"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
