"""Sign in through the team's identity provider (Streamlit's ``st.login``, OIDC).

The provider vouches for who the person is; fcops decides what they may do: the role comes from
a configured claim through the mapping in settings (``services.rules.sso``). A person whose
claims map to no role is refused. Both outcomes are audited once per sign-in (``signin.sso``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from services import audit
from services.adapters.models import AuditEntry
from services.adapters.settings import Settings
from services.adapters.store import session_scope
from services.auth import Actor
from services.rules.sso import display_name, role_for, sso_username
from services.usecases.sign_in import SIGNED_OUT_ROLE


@dataclass(frozen=True)
class SsoOutcome:
    actor: Actor | None
    username: str
    name: str
    message: str


def resolve(claims: Mapping[str, Any], settings: Settings) -> SsoOutcome:
    """The actor these claims make (no audit: called on every rerun for the role check)."""
    username, name = sso_username(claims), display_name(claims)
    role = role_for(claims, claim=settings.sso_role_claim, mapping=settings.sso_roles)
    if role is None:
        wanted = ", ".join(sorted({value for value, _ in settings.sso_roles}))
        return SsoOutcome(
            actor=None,
            username=username,
            name=name,
            message=(
                f"You are signed in at your identity provider as {name or username}, but your "
                f"account has no fcops role: its '{settings.sso_role_claim}' claim holds none of "
                f"{wanted}. Ask an fcops admin to add you to one of these groups."
            ),
        )
    return SsoOutcome(
        actor=Actor(username=username, role=role, name=name),
        username=username,
        name=name,
        message=f"Signed in as {role}.",
    )


def record(engine: Engine, outcome: SsoOutcome, *, claims: Mapping[str, Any]) -> bool:
    """Audit one single sign-on: ``ok`` with the role, or ``refused`` with the reason.

    A sign-in is one identity token (its ``iat``): a reload or a new tab with the same login
    writes no second row. Returns whether a row was written."""
    params = {"issuer": str(claims.get("iss") or "")[:200], "issued_at": claims.get("iat")}
    if params["issued_at"] is not None and _already_recorded(engine, outcome.username, params):
        return False
    if outcome.actor is not None:
        audit.record(engine, actor=outcome.actor, action="signin.sso", target=outcome.username,
                     outcome="ok", params=params)
    else:
        audit.record(engine, actor=Actor(username=outcome.username, role=SIGNED_OUT_ROLE),
                     action="signin.sso", target=outcome.username, outcome="refused",
                     params=params, message="no mapped role")
    return True


def _already_recorded(engine: Engine, username: str, params: Mapping[str, Any]) -> bool:
    with session_scope(engine) as session:
        recent = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "signin.sso", AuditEntry.target == username)
            .order_by(col(AuditEntry.id).desc())
            .limit(20)
        ).all()
    return any(row.params == dict(params) for row in recent)
