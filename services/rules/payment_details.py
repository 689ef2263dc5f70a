"""What Stripe's Dashboard shows for a payment, read from an expanded intent (pure).

The payment lookup retrieves a PaymentIntent with ``expand[]=payment_method``, ``customer``
and ``latest_charge.payment_method_details.us_bank_account.mandate`` (a SetupIntent with
``mandate``), and this module turns that JSON into :class:`PaymentDetails`.

How the bank account was verified is not a field of the PaymentMethod (the pinned SDK's
``PaymentMethod.UsBankAccount`` has ``financial_connections_account`` but no verification
status): an account linked through Financial Connections was verified instantly; a manually
entered one is verified by microdeposits only once its intent got past
``next_action.verify_with_microdeposits`` (reference §6). So the wording reads both the
PaymentMethod and the intent, and never calls a waiting account "verified".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.rules.nacha import Return, describe_code, return_from
from services.rules.returns import attempt_error

__all__ = [
    "AttemptFailure",
    "PaymentDetails",
    "dashboard_url",
    "details_of",
    "failure_of",
    "manual_verification",
    "status_words",
    "verification_words",
]

DASHBOARD = "https://dashboard.stripe.com"
# Dashboard paths per object prefix; the FC account and PaymentMethod have no page of their own.
_DASHBOARD_PATHS = {"pi_": "payments", "seti_": "setup_intents", "cus_": "customers"}
_SUCCEEDED = ("succeeded", "processing")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _id_of(value: Any) -> str | None:
    """An expandable field's ID, whether Stripe sent the ID or the expanded object."""
    if isinstance(value, Mapping):
        return str(value.get("id")) if value.get("id") else None
    return str(value) if value else None


def dashboard_url(object_id: str | None, mode: str) -> str | None:
    """The object's page in Stripe's Dashboard: ``/test/…`` in test mode, none in sandbox mode
    (the sandbox's objects do not exist in any Stripe account)."""
    if not object_id or mode not in ("test", "live"):
        return None
    path = next((p for prefix, p in _DASHBOARD_PATHS.items() if object_id.startswith(prefix)), None)
    if path is None:
        return None
    return f"{DASHBOARD}{'/test' if mode == 'test' else ''}/{path}/{object_id}"


def verification_words(pm: Mapping[str, Any] | None, intent: Mapping[str, Any] | None) -> str:
    """How the bank account behind ``pm`` was verified, in a sentence."""
    if not pm:
        return "No bank account yet: the customer has not linked or entered one."
    if pm.get("type") != "us_bank_account":
        return f"Not a bank account ({pm.get('type') or 'another method'}): no ACH verification."
    bank = _map(pm.get("us_bank_account"))
    if bank.get("financial_connections_account"):
        return "Verified instantly: linked through Financial Connections."
    return f"Entered manually (routing and account number); {manual_verification(intent)}."


def manual_verification(intent: Mapping[str, Any] | None) -> str:
    """Whether microdeposits verified a manually entered account, from its intent."""
    if intent is None:
        return "whether microdeposits verified it shows on its SetupIntent or PaymentIntent"
    next_action = _map(intent.get("next_action")).get("type")
    status = intent.get("status")
    if next_action == "verify_with_microdeposits":
        return "not verified yet: waiting for the customer to confirm the microdeposits"
    if status in _SUCCEEDED:
        return "verified by microdeposits"
    if status == "canceled":
        return "never verified: the intent was canceled"
    failure = failure_of(intent)
    # The debit reached the bank: a return, or a failure only its charge still tells (Stripe
    # cleared last_payment_error): a charge is made on a verified account only.
    if failure is not None and (failure.ret is not None or failure.charge):
        return "verified by microdeposits"
    # A verification failure is in the intent's own error: never a charge's failure_code.
    error = _map(intent.get("last_setup_error") or intent.get("last_payment_error"))
    if error:
        return f"not verified: {str(error.get('message') or error.get('code')).rstrip('.')}"
    return "not verified yet"


@dataclass(frozen=True)
class AttemptFailure:
    """A PaymentIntent's failed last attempt, as ``last_payment_error`` gives it (or, once
    Stripe cleared that, its latest charge's ``failure_code`` and ``failure_message``), and the
    Nacha return it stands for when the bank sent the debit back (``ret``; None for a refusal
    or a code fcops has no return for)."""

    code: str | None
    decline_code: str | None
    message: str | None
    ret: Return | None
    # The failed charge (py_…) the reason was read from, when Stripe had cleared
    # ``last_payment_error`` (the intent was updated after its return).
    charge: str | None = None

    @property
    def returned(self) -> str | None:
        """'R01 (insufficient funds) or R09 (uncollected funds)', for a return."""
        if self.ret is None:
            return None
        return " or ".join(describe_code(c) for c in self.ret.codes)

    @property
    def stripe_words(self) -> str:
        """What Stripe said: its codes and its message."""
        codes = ", ".join(f"`{c}`" for c in (self.code, self.decline_code) if c) or "no code"
        message = str(self.message or "").strip()
        on = f" on the failed payment `{self.charge}`" if self.charge else ""
        said = f"Stripe's code {codes}{on}" + (f": “{message.rstrip('.')}.”" if message else ".")
        if self.charge:
            said += (" The PaymentIntent itself no longer says why: it was updated after the "
                     "attempt, and Stripe then clears its last payment error.")
        return said

    @property
    def sentence(self) -> str:
        """One plain sentence for the top of the payment lookup."""
        if self.returned:
            return (
                f"The bank returned this debit: {self.returned}. {self.stripe_words} "
                "Stripe then cleared the PaymentIntent's payment method, so the bank account "
                "below is the one that was debited."
            )
        return (
            f"The last attempt to collect this payment failed. {self.stripe_words} Stripe "
            "then cleared the PaymentIntent's payment method; the one shown is the one that "
            "was tried."
        )


def failure_of(intent: Mapping[str, Any] | None) -> AttemptFailure | None:
    """The failed last attempt of a PaymentIntent back to ``requires_payment_method`` (or
    canceled after it), or None. After an ACH failure Stripe empties ``payment_method`` and
    keeps the account in ``last_payment_error.payment_method`` (reference §6.4-6.5)."""
    if not intent or intent.get("status") not in ("requires_payment_method", "canceled"):
        return None
    if intent.get("payment_method"):  # a new method is attached: the error is history
        return None
    error = attempt_error(intent)  # once Stripe cleared it, the latest charge's failure
    if not error:
        return None
    code = error.get("code")
    blocked = _map(
        _map(_map(error.get("payment_method")).get("us_bank_account")).get("status_details")
    ).get("blocked")
    # Only a code nacha.STRIPE_CODES knows is a return; any other is said in Stripe's words.
    ret = return_from(str(code) if code else None, _map(blocked).get("network_code"))
    charge = error.get("charge")
    return AttemptFailure(
        code, error.get("decline_code"), error.get("message"), ret,
        charge=str(charge) if charge else None,
    )  # fmt: skip


@dataclass(frozen=True)
class PaymentDetails:
    """What the Dashboard's payment page shows, in our own types. Money in minor units."""

    id: str
    kind: str  # payment_intent | setup_intent | payment_method
    status: str | None
    amount: int | None  # minor units; None for a SetupIntent or PaymentMethod
    currency: str | None
    created: int | None
    customer_id: str | None
    customer_name: str | None
    customer_email: str | None
    method_type: str | None
    bank_name: str | None
    last4: str | None
    verification: str
    mandate_id: str | None
    mandate_status: str | None  # active | inactive | pending
    mandate_type: str | None  # multi_use | single_use
    dashboard_url: str | None
    failure: AttemptFailure | None = None  # a PaymentIntent's failed or returned last attempt

    @property
    def bank_label(self) -> str | None:
        if self.method_type != "us_bank_account":
            return None
        return f"{self.bank_name or 'Bank account'} ••{self.last4 or '????'}"


def _mandate_of(kind: str, intent: Mapping[str, Any]) -> Any:
    """A SetupIntent's ``mandate``; a PaymentIntent's sits on its latest charge."""
    if kind == "setup_intent":
        return intent.get("mandate")
    charge = _map(intent.get("latest_charge"))
    return _map(_map(charge.get("payment_method_details")).get("us_bank_account")).get("mandate")


def details_of(
    kind: str,
    obj: Mapping[str, Any],
    *,
    mode: str,
    payment_method: Mapping[str, Any] | None = None,
    customer: Mapping[str, Any] | None = None,
) -> PaymentDetails:
    """Details of an expanded intent (``kind`` payment_intent/setup_intent) or a PaymentMethod.

    ``payment_method`` and ``customer`` override what ``obj`` carries (for a PaymentMethod
    looked up on its own, or a field that came back unexpanded).
    """
    is_intent = kind in ("payment_intent", "setup_intent")
    pm = payment_method if payment_method is not None else _map(obj.get("payment_method"))
    if not is_intent:
        pm = obj
    cus = customer if customer is not None else _map(obj.get("customer"))
    bank = _map(pm.get("us_bank_account"))
    mandate = _mandate_of(kind, obj) if is_intent else None
    return PaymentDetails(
        id=str(obj.get("id")),
        kind=kind,
        status=obj.get("status") if is_intent else None,
        amount=obj.get("amount") if kind == "payment_intent" else None,
        currency=obj.get("currency") if kind == "payment_intent" else None,
        created=obj.get("created"),
        customer_id=_id_of(obj.get("customer")),
        customer_name=cus.get("name"),
        customer_email=cus.get("email"),
        method_type=pm.get("type"),
        bank_name=bank.get("bank_name"),
        last4=bank.get("last4"),
        verification=verification_words(pm or None, obj if is_intent else None),
        mandate_id=_id_of(mandate),
        mandate_status=_map(mandate).get("status"),
        mandate_type=_map(mandate).get("type"),
        dashboard_url=dashboard_url(str(obj.get("id")), mode) if is_intent else None,
        failure=failure_of(obj) if kind == "payment_intent" else None,
    )


# An intent's status in a person's words: a short value for the card's Status metric (it must
# fit its column at 1,400 px: "requires_payment_method" was cut to "requires_pay…") and what it
# means, said beside it.
_STATUS_WORDS = {
    "succeeded": ("Succeeded", "Stripe has finished with it"),
    "processing": ("Processing", "at the bank; ACH takes a few business days"),
    "requires_payment_method": ("Waiting", "for the customer to link or enter a bank account"),
    "requires_confirmation": ("Waiting", "to be confirmed"),
    "requires_action": ("Waiting", "for the customer to act (e.g. verify microdeposits)"),
    "requires_capture": ("Authorized", "to be captured"),
    "canceled": ("Canceled", "it will not collect or save anything"),
}


def status_words(details: PaymentDetails) -> tuple[str, str] | None:
    """(short status, what it means) for the card, or None without a status (a PaymentMethod).
    A PaymentIntent back to ``requires_payment_method`` after a failed or returned debit needs a
    new payment method; it is not waiting for a first one."""
    status = details.status
    if not status:
        return None
    failure = details.failure
    if failure is not None and status == "requires_payment_method":
        return ("Returned" if failure.returned else "Failed"), "needs a new payment method"
    if failure is not None and failure.returned and status == "canceled":
        return "Canceled", "after the bank returned the debit"
    return _STATUS_WORDS.get(status, ("Other", "a status fcops has no words for yet"))
