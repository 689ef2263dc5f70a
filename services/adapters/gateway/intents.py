"""SetupIntents and PaymentIntents through the gateway (create, retrieve, cancel, list, verify
microdeposits), with the payment methods, charges, mandates and Checkout Sessions around them;
part of :class:`~services.adapters.gateway.StripeGateway`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from services.adapters.backoff import Backoff
from services.adapters.gateway import sdk
from services.adapters.gateway.sdk import (
    CheckoutSessionCreateParams,
    PaymentIntentCreateParams,
    SetupIntentCreateParams,
)

_IntentList = TypeVar("_IntentList", sdk.SetupIntentListParams, sdk.PaymentIntentListParams)


def _intent_list(
    params: _IntentList, created_gte: int | None, customer: str | None, expand: Sequence[str]
) -> _IntentList:
    """The list parameters SetupIntents and PaymentIntents share (mypy checks both SDK types)."""
    params["limit"] = 100
    if created_gte is not None:
        params["created"] = {"gte": created_gte}
    if customer:
        params["customer"] = customer
    if expand:
        params["expand"] = [f"data.{e}" for e in expand]
    return params


class _Calls(Protocol):
    """What these calls use of :class:`~services.adapters.gateway.StripeGateway` (and of
    :class:`IntentCalls` itself)."""

    @property
    def v1(self) -> sdk.V1Services: ...

    def _one(self, fn: Callable[[], Any]) -> dict[str, Any]: ...

    def _iter(
        self, path: str, params: Mapping[str, Any], retry: Backoff | None = None
    ) -> Iterator[dict[str, Any]]: ...

    def _opts(self, idempotency_key: str | None) -> sdk.RequestOptions: ...

    def _retrieve_intent(self, intent_id: str, expand: Sequence[str]) -> dict[str, Any]: ...

    def _cancel_intent(
        self, intent_id: str, reason: str | None, idempotency_key: str | None
    ) -> dict[str, Any]: ...


class IntentCalls:
    """Stripe's intents API and what hangs off an intent, as part of the gateway.

    SetupIntents and PaymentIntents share their call shapes, and an id's prefix says which one
    it is; each branch builds its own SDK params type, so mypy checks both.
    """

    def create_setup_intent(
        self: _Calls, params: SetupIntentCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._one(
            lambda: self.v1.setup_intents.create(params=params, options=self._opts(idempotency_key))
        )

    def create_payment_intent(
        self: _Calls, params: PaymentIntentCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._one(
            lambda: self.v1.payment_intents.create(
                params=params, options=self._opts(idempotency_key)
            )
        )

    def _retrieve_intent(self: _Calls, intent_id: str, expand: Sequence[str]) -> dict[str, Any]:
        if intent_id.startswith("pi_"):
            pi: sdk.PaymentIntentRetrieveParams = {"expand": list(expand)} if expand else {}
            return self._one(lambda: self.v1.payment_intents.retrieve(intent_id, params=pi))
        si: sdk.SetupIntentRetrieveParams = {"expand": list(expand)} if expand else {}
        return self._one(lambda: self.v1.setup_intents.retrieve(intent_id, params=si))

    def _cancel_intent(
        self: _Calls, intent_id: str, reason: str | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        options = self._opts(idempotency_key)
        if intent_id.startswith("pi_"):
            pi: sdk.PaymentIntentCancelParams = {"cancellation_reason": reason} if reason else {}
            return self._one(
                lambda: self.v1.payment_intents.cancel(intent_id, params=pi, options=options)
            )
        si: sdk.SetupIntentCancelParams = {"cancellation_reason": reason} if reason else {}
        return self._one(
            lambda: self.v1.setup_intents.cancel(intent_id, params=si, options=options)
        )

    def retrieve_setup_intent(
        self: _Calls, intent_id: str, *, expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        return self._retrieve_intent(intent_id, expand)

    def retrieve_payment_intent(
        self: _Calls, intent_id: str, *, expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        return self._retrieve_intent(intent_id, expand)

    def cancel_setup_intent(
        self: _Calls, intent_id: str, *, reason: str | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._cancel_intent(intent_id, reason, idempotency_key)

    def cancel_payment_intent(
        self: _Calls, intent_id: str, *, reason: str | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._cancel_intent(intent_id, reason, idempotency_key)

    def iter_setup_intents(
        self: _Calls,
        *,
        created_gte: int | None = None,
        customer: str | None = None,
        expand: Sequence[str] = (),
        page_retry: Backoff | None = None,
    ) -> Iterator[dict[str, Any]]:
        params = _intent_list(sdk.SetupIntentListParams(), created_gte, customer, expand)
        return self._iter("/v1/setup_intents", params, page_retry)

    def iter_payment_intents(
        self: _Calls,
        *,
        created_gte: int | None = None,
        customer: str | None = None,
        expand: Sequence[str] = (),
        page_retry: Backoff | None = None,
    ) -> Iterator[dict[str, Any]]:
        params = _intent_list(sdk.PaymentIntentListParams(), created_gte, customer, expand)
        return self._iter("/v1/payment_intents", params, page_retry)

    def verify_microdeposits(
        self: _Calls,
        intent_id: str,
        *,
        amounts: Sequence[int] | None = None,
        descriptor_code: str | None = None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Verify a manually entered account: exactly one of ``amounts`` or ``descriptor_code``."""
        options = self._opts(idempotency_key)
        if intent_id.startswith("pi_"):
            pi: sdk.PaymentIntentVerifyMicrodepositsParams = (
                {"amounts": list(amounts)}
                if amounts is not None
                else {"descriptor_code": str(descriptor_code)}
            )
            return self._one(
                lambda: self.v1.payment_intents.verify_microdeposits(
                    intent_id, params=pi, options=options
                )
            )
        si: sdk.SetupIntentVerifyMicrodepositsParams = (
            {"amounts": list(amounts)}
            if amounts is not None
            else {"descriptor_code": str(descriptor_code)}
        )
        return self._one(
            lambda: self.v1.setup_intents.verify_microdeposits(
                intent_id, params=si, options=options
            )
        )

    def retrieve_payment_method(self: _Calls, pm_id: str) -> dict[str, Any]:
        return self._one(lambda: self.v1.payment_methods.retrieve(pm_id))

    def list_payment_methods(self: _Calls, customer_id: str) -> list[dict[str, Any]]:
        params: sdk.PaymentMethodListParams = {
            "customer": customer_id,
            "type": "us_bank_account",
            "limit": 100,
        }
        return list(self._iter("/v1/payment_methods", params))

    def retrieve_charge(self: _Calls, charge_id: str) -> dict[str, Any]:
        """A payment (``py_…`` for bank debits, ``ch_…``): what its PaymentIntent is."""
        return self._one(lambda: self.v1.charges.retrieve(charge_id))

    def retrieve_mandate(self: _Calls, mandate_id: str) -> dict[str, Any]:
        return self._one(lambda: self.v1.mandates.retrieve(mandate_id))

    def create_checkout_session(
        self: _Calls, params: CheckoutSessionCreateParams, *, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._one(
            lambda: self.v1.checkout.sessions.create(
                params=params, options=self._opts(idempotency_key)
            )
        )

    def retrieve_checkout_session(
        self: _Calls, session_id: str, *, expand: Sequence[str] = ()
    ) -> dict[str, Any]:
        params: sdk.CheckoutSessionRetrieveParams = {"expand": list(expand)} if expand else {}
        return self._one(lambda: self.v1.checkout.sessions.retrieve(session_id, params=params))

    def iter_checkout_sessions(
        self: _Calls, *, customer: str, status: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The customer's Checkout Sessions, newest first (``status``: only open, expired or
        complete ones). Stripe's list has a ``payment_intent`` filter but no ``setup_intent``
        one (the pinned SDK's ``SessionListParams``): a SetupIntent's link is found among them."""
        params: sdk.CheckoutSessionListParams = {"customer": customer, "limit": 100}
        if status:
            params["status"] = status
        return self._iter("/v1/checkout/sessions", params)

    def expire_checkout_session(
        self: _Calls,
        session_id: str,
        *,
        expand: Sequence[str] = (),
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Expire an open Checkout Session; Stripe cancels the intent it made (the only way:
        Stripe refuses to cancel a Checkout Session's SetupIntent or PaymentIntent directly)."""
        params: sdk.CheckoutSessionExpireParams = {"expand": list(expand)} if expand else {}
        return self._one(
            lambda: self.v1.checkout.sessions.expire(
                session_id, params=params, options=self._opts(idempotency_key)
            )
        )
