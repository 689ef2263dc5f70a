"""Sandbox only: a step that plays the customer's part, audited as ``collect.simulate``.

On Stripe the customer links or types a bank account in Stripe.js and the bank sends the
deposits; the sandbox does these through hooks outside ``/v1`` (``App.simulator``, wired by
bootstrap and None outside sandbox mode). This module never calls them itself: the page's
sandbox panel passes the step to run, and this checks the role and the mode, records the step,
turns a refusal into a sentence and returns the intent's new state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from services.audit import audited
from services.auth import Actor, require
from services.context import Services
from services.errors import FcopsError, StripeRequestError, ValidationError
from services.rules.intents import IntentView
from services.usecases.collection_requests import intent_view

SIMULATION_STEPS = ("link", "manual_entry", "microdeposits_arrive", "complete_session")


def simulate(
    svc: Services,
    actor: Actor,
    *,
    intent_id: str,
    step: str,
    params: Mapping[str, Any] | None,
    run_step: Callable[[], object],
) -> IntentView | None:
    """Run and audit one customer step; the intent's new state (None for FC sessions)."""
    if step not in SIMULATION_STEPS:
        raise ValidationError(f"Unknown simulation step '{step}'.")
    with audited(
        svc.engine,
        actor=actor,
        action="collect.simulate",
        target=str(intent_id)[:80],
        params={"step": step, **dict(params or {})},
    ) as ctx:
        require(actor, "collect.simulate")
        if svc.mode != "sandbox":
            raise ValidationError(
                "Playing the customer's part is only possible on the sandbox; on Stripe the "
                "customer does this in Stripe.js or on the hosted verification page."
            )
        try:
            run_step()
        except FcopsError:
            raise
        except Exception as err:  # the sandbox's refusal, whatever client raised it
            raise StripeRequestError(f"The sandbox refused this step: {err}") from None
        if step == "complete_session":
            ctx.message = f"Simulated {step} on {intent_id}."
            return None
        view = intent_view(svc, actor, intent_id)
        ctx.message = f"Simulated {step}; {view.id} is now {view.status}."
    return view
