"""Roles, what each may do, and the check every state-changing service makes.

The UI hides what a role cannot use; this module is what actually enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.errors import Forbidden

ROLES: tuple[str, ...] = ("admin", "ops", "finance", "manager")

# permission -> roles allowed
PERMISSIONS: dict[str, frozenset[str]] = {
    "accounts.view": frozenset({"admin", "ops", "finance"}),
    "accounts.refresh": frozenset({"admin", "ops", "finance"}),
    "accounts.sync": frozenset({"admin", "ops", "finance", "manager"}),
    "owners.view_pii": frozenset({"admin", "ops"}),
    "ownership.review": frozenset({"admin", "ops"}),
    "transactions.view": frozenset({"admin", "ops", "finance"}),
    "transactions.manage": frozenset({"admin", "ops", "finance"}),
    "balances.check": frozenset({"admin", "finance"}),
    "policy.edit": frozenset({"admin"}),
    "collect.create": frozenset({"admin", "ops"}),
    "collect.cancel": frozenset({"admin", "ops"}),
    "collect.simulate": frozenset({"admin", "ops"}),
    "flows.view": frozenset({"admin", "ops"}),
    "flows.edit": frozenset({"admin"}),
    "conversion.view": frozenset({"admin", "manager"}),
    "intents.sync": frozenset({"admin", "manager", "ops"}),
    "returns.view": frozenset({"admin", "finance", "manager"}),
    "accounts.blocked": frozenset({"admin", "ops", "finance"}),
    "returns.sync": frozenset({"admin", "finance", "manager", "ops"}),
    "debits.retry": frozenset({"admin", "finance"}),
    "audit.view": frozenset({"admin"}),
    "jobs.view": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Actor:
    """The signed-in person on whose behalf a service acts."""

    username: str
    role: str
    name: str = ""

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS.get(permission, frozenset())


ENDED_ROLE = "sign-in ended"  # no role has it: every service refuses such an actor
SIGN_IN_ENDED = (
    "Nothing was changed: your sign-in no longer stands (your account was removed or its "
    "password set again). Sign in again."
)


def sign_in_ended(actor: Actor) -> Actor:
    """``actor`` once their sign-in no longer stands (removed, or their password set again since
    the page was drawn). Every service refuses it with :data:`SIGN_IN_ENDED`, so a change asked
    with it is refused inside the service's audited block: its audit row names the person."""
    return Actor(username=actor.username, role=ENDED_ROLE, name=actor.name)


def require(actor: Actor | None, permission: str) -> Actor:
    """Return the actor if allowed, else raise Forbidden with a sentence a person understands."""
    if not isinstance(actor, Actor):
        raise Forbidden("Sign in first.")
    if actor.role == ENDED_ROLE:
        raise Forbidden(SIGN_IN_ENDED)
    if permission not in PERMISSIONS:
        raise Forbidden(f"Unknown permission '{permission}'.")
    if not actor.can(permission):
        allowed = ", ".join(sorted(PERMISSIONS[permission]))
        raise Forbidden(
            f"Your role ({actor.role}) may not do this ({permission}); it needs one of: {allowed}."
        )
    return actor


def signed_in(actor: Actor | None) -> Actor:
    """Return the actor, or raise Forbidden when nobody is signed in (for reads every role may
    make, whose content then follows the role)."""
    if not isinstance(actor, Actor):
        raise Forbidden("Sign in first.")
    if actor.role == ENDED_ROLE:
        raise Forbidden(SIGN_IN_ENDED)
    return actor


SYSTEM = Actor(username="system", role="admin", name="fcops")
