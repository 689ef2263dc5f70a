"""Look up an account: a pasted PI/SI/PM/fca/cus ID resolved to its FC account(s)."""

from __future__ import annotations

from dataclasses import replace

from services.adapters import account_mirror as mirror
from services.auth import Actor, require
from services.context import Services
from services.errors import NotFound
from services.rules.ids import parse_id, unknown_id_sentence
from services.rules.payment_details import PaymentDetails, details_of
from services.usecases.debit_outcomes import record_payment_intent
from services.usecases.resolve_account import LOOKUP_KINDS, Resolution, resolve


def lookup(
    svc: Services, actor: Actor, text: str | None, *, what: str | None = None
) -> Resolution:
    """Resolve a pasted PI/SI/PM/fca/cus ID to its FC account(s), mirroring what it finds: the
    account(s), and a PaymentIntent's debit outcome as its webhook would keep it."""
    require(actor, "accounts.view")
    object_id, kind = parse_id(text, allowed=LOOKUP_KINDS, what=what)
    began = mirror.read_mark(svc.engine)  # before the read (see mirror.read_mark)
    try:
        resolution = resolve(svc.gateway, object_id, details=True)
    except NotFound as err:
        raise NotFound(
            unknown_id_sentence(
                object_id, kind, or_what=", or nothing it points to", request_id=err.request_id
            ),
            request_id=err.request_id,
        ) from None
    for account in [resolution.account, *resolution.accounts]:
        if account:
            mirror.upsert_account(svc.engine, account, read_began=began)
    if resolution.kind == "payment_intent" and resolution.intent is not None:
        # What Stripe says of the debit now (its status, last_payment_error): a return whose
        # webhook is still on its way, or never synced, is planned on Returns (and linked from
        # the lookup) at once. The same answer again changes nothing; a card or unconfirmed
        # intent is no debit and is skipped.
        record_payment_intent(svc.engine, resolution.intent, at=svc.now())
    return replace(resolution, details=_details(svc, resolution))


def _details(svc: Services, found: Resolution) -> PaymentDetails | None:
    """Amount, status, customer, bank, mandate and Dashboard link of an intent or a PM."""
    if found.intent is not None:
        # payment_method too: a returned debit's is no longer on the intent (resolve found it)
        return details_of(
            found.kind, found.intent, mode=svc.mode, payment_method=found.payment_method or {}
        )
    pm = found.payment_method
    if found.kind != "payment_method" or pm is None:
        return None
    customer = None
    if pm.get("customer"):
        try:
            customer = svc.gateway.retrieve_customer(str(pm["customer"]))
        except NotFound:  # the details go without the name and email
            customer = None
    return details_of("payment_method", pm, mode=svc.mode, customer=customer)
