"""Turn a :class:`~sandbox.demo.model.DemoWorld` into Stripe objects with a believable history.

Every object gets the ``created`` time the world gives it, and every step of its life emits the
event Stripe would have sent at that moment (``setup_intent.created`` … ``succeeded``), so code
that reads history from ``/v1/events`` (conversion funnels, time to success) sees a real past.
Objects are built with ``sandbox.objects`` and the public functions of ``sandbox.api``, and
evolve through the same states the live routes use; event snapshots are taken as each state is
reached. This module loads customers and their Financial Connections accounts; the payments
half (payment methods, mandates, intents) is ``sandbox.demo.history``.

Transactions are not generated here: each account registers a loader with
``sandbox.api.financial_connections.transactions`` that builds the account's year
(``sandbox.demo.ledger``) the first time its transactions are read, so a world of hundreds of
customers loads in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sandbox import objects
from sandbox.api.financial_connections import REFRESH_EVENT, deactivation, refreshes, transactions
from sandbox.api.institutions import install_institutions, institution
from sandbox.core import State, clone
from sandbox.demo.history import (
    CustomerContext,
    account_can_pay,
    has_success_intent,
    linked_payment_method,
    load_intent,
)
from sandbox.demo.ledger import transactions_for
from sandbox.demo.model import (
    DemoAccount,
    DemoCustomer,
    DemoInstitution,
    DemoOwner,
    DemoTransaction,
    DemoWorld,
)
from sandbox.demo.seeds import DAY, MINUTE

Obj = dict[str, Any]


def load_world(state: State, world: DemoWorld) -> None:
    """Add every customer, FC account, PM, mandate, intent and event of ``world`` to ``state``."""
    install_institutions(state, world.institutions)
    banks = {bank.name: bank for bank in world.institutions}
    for demo_customer in sorted(world.customers, key=lambda c: c.created):
        load_customer(state, demo_customer, banks=banks, now=world.now)
    refreshes.schedule_subscriptions(state)


def load_customer(
    state: State, demo: DemoCustomer, *, banks: dict[str, DemoInstitution], now: int
) -> CustomerContext:
    customer = objects.customer(
        state,
        created=demo.created,
        name=demo.name,
        email=demo.email,
        phone=demo.phone,
        address=objects.address(**{k: demo.address.get(k) for k in objects.address()}),
        description=demo.description,
        metadata={"segment": "business"} if demo.is_business else {},
    )
    state.add(customer)
    state.emit("customer.created", customer, created=demo.created)
    ctx = CustomerContext(customer=customer, demo=demo)
    for account in demo.accounts:
        ctx.accounts.append(load_account(state, customer, account, banks=banks, now=now))
    for index, (account, fca) in enumerate(zip(demo.accounts, ctx.accounts, strict=True)):
        if account_can_pay(fca) and not has_success_intent(demo.intents, index):
            ctx.account_pms[index] = linked_payment_method(
                state, ctx, fca, at=account.created + MINUTE
            )
    for intent in sorted(demo.intents, key=lambda i: i.created):
        load_intent(state, ctx, intent, now=now)
    return ctx


def load_account(
    state: State,
    customer: Obj,
    demo: DemoAccount,
    *,
    banks: dict[str, DemoInstitution],
    now: int,
) -> Obj:
    bank = banks.get(demo.institution) or institution(state, demo.institution)
    active = demo.status == "active"
    fca = objects.fc_account(
        state,
        created=demo.created,
        account_holder={"customer": customer["id"], "type": "customer"},
        balance=None if demo.status == "disconnected" else clone(demo.balance),
        category=demo.category,
        subcategory=demo.subcategory,
        display_name=demo.display_name,
        institution_name=demo.institution,
        last4=demo.last4,
        status=demo.status,
        permissions=list(demo.permissions),
        subscriptions=list(demo.subscriptions),
        supported_payment_method_types=["us_bank_account"] if bank.supports_payments else [],
    )
    state.add(fca)
    state.emit("financial_connections.account.created", fca, created=demo.created)
    failed = bank.refresh_fails
    if "balances" in demo.permissions and demo.balance_refreshed_at is not None:
        fca["balance_refresh"] = objects.refresh_state(
            "failed" if failed else "succeeded",
            last_attempted_at=demo.balance_refreshed_at,
            next_at=demo.next_refresh_available_at if active else None,
        )
        _emit_refreshed(state, fca, "balance", demo.balance_refreshed_at)
    if "ownership" in demo.permissions and demo.owners:
        load_ownership(state, fca, demo, failed=failed, active=active, now=now)
    if "transactions" in demo.permissions:
        load_transaction_refresh(state, fca, demo, failed=failed, active=active, now=now)
    if active:
        _maybe_announce_deactivation(state, fca, demo, now=now)
    if demo.status in ("inactive", "disconnected"):
        event = "deactivated" if demo.status == "inactive" else "disconnected"
        state.emit(
            f"financial_connections.account.{event}",
            fca,
            previous_attributes={"status": "active"},
            created=_between(demo.created, now, 0.8),
        )
    return fca


RELINK_SHARE = 0.06  # active demo accounts whose deactivation Stripe has announced


def _maybe_announce_deactivation(state: State, fca: Obj, demo: DemoAccount, *, now: int) -> None:
    """Some active accounts need a relink soon (status_details.active, endive): the announced
    date lies 3-45 days ahead, announced up to 10 days ago (never before the account existed)."""
    if state.rng("relink", fca["id"]).random() >= RELINK_SHARE:
        return
    rng = state.rng("relink-when", fca["id"])
    expected = now + rng.randint(3, 45) * DAY
    announced = max(demo.created, now - rng.randint(2, 10) * DAY)
    cause = rng.choice(deactivation.RELINK_CAUSES)
    deactivation.announce_deactivation(
        state, fca, expected=expected, cause=cause, created=announced
    )
    if rng.random() < 0.3:  # Stripe later moved the date (…expected_deactivation_date_updated)
        moved = max(announced + 1, now - DAY)
        deactivation.announce_deactivation(
            state, fca, expected=expected + rng.randint(2, 14) * DAY, cause=cause, created=moved
        )


def load_ownership(
    state: State, fca: Obj, demo: DemoAccount, *, failed: bool, active: bool, now: int
) -> None:
    """Owners as fetched shortly after linking (prefetch), with a cooldown after it."""
    at = demo.created + 2 * MINUTE
    fca["ownership_refresh"] = objects.refresh_state(
        "failed" if failed else "succeeded",
        last_attempted_at=at,
        next_at=at + int(state.config.refresh_cooldown) if active else None,
    )
    if not failed:
        ownership = objects.ownership(state, account=fca["id"], created=at)
        ownership["owners"]["data"] = [
            _owner(state, ownership["id"], owner, refreshed_at=at) for owner in demo.owners
        ]
        state.add(ownership)
        for owner in ownership["owners"]["data"]:
            state.add(owner)
        fca["ownership"] = ownership["id"]
    _emit_refreshed(state, fca, "ownership", at)


def _owner(state: State, ownership_id: str, owner: DemoOwner, *, refreshed_at: int) -> Obj:
    contact = {k: getattr(owner, k) for k in ("email", "phone", "raw_address")}
    return objects.owner(
        state, ownership=ownership_id, name=owner.name, refreshed_at=refreshed_at, **contact
    )


def load_transaction_refresh(
    state: State, fca: Obj, demo: DemoAccount, *, failed: bool, active: bool, now: int
) -> None:
    """The latest transaction refresh, and a lazy loader for the rows it brought."""
    at = demo.balance_refreshed_at or demo.created + 3 * MINUTE
    next_at = demo.next_refresh_available_at or at + int(state.config.refresh_cooldown)
    fca["transaction_refresh"] = {
        "id": state.new_id("fctxnref_"),
        **objects.refresh_state(
            "failed" if failed else "succeeded",
            last_attempted_at=at,
            next_at=next_at if active else None,
        ),
    }
    _emit_refreshed(state, fca, "transactions", at)
    if not failed:  # a bank whose refreshes fail never delivered transactions (§10, B4)
        loader = _transactions_loader(state, fca["id"], demo, now=now)
        transactions.register_transaction_loader(state, fca["id"], loader)


def _transactions_loader(
    state: State, account_id: str, demo: DemoAccount, *, now: int
) -> transactions.Loader:
    def load(ref: str | None) -> Iterator[Obj]:
        rows = list(demo.transactions) or transactions_for(demo, now=now)
        for row in rows:
            yield transaction_from_demo(state, account_id, row, ref=ref)

    return load


def transaction_from_demo(
    state: State, account_id: str, t: DemoTransaction, *, ref: str | None
) -> Obj:
    updated = max(x for x in (t.transacted_at, t.posted_at, t.void_at) if x is not None)
    return objects.transaction(
        state,
        account=account_id,
        amount=t.amount,
        description=t.description,
        status=t.status,
        status_transitions={"posted_at": t.posted_at, "void_at": t.void_at},
        transacted_at=t.transacted_at,
        transaction_refresh=ref,
        updated=updated,
    )


def _emit_refreshed(state: State, fca: Obj, feature: str, at: int) -> None:
    state.emit(REFRESH_EVENT[feature], fca, created=at)


def _between(start: int, end: int, fraction: float) -> int:
    return int(start + max(0, end - start) * fraction)
