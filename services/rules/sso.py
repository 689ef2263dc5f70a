"""Single sign-on: which fcops role an identity provider's claims give a person. Pure rules.

The mapping comes from settings (``FCOPS_SSO_ROLES="fcops-admins=admin, fcops-ops=ops"``) and
the claim to read from ``FCOPS_SSO_ROLE_CLAIM`` (default ``groups``; a dotted path such as
``realm_access.roles`` reaches into nested claims). The claim may hold one value or a list; the
first mapping entry any of them matches wins, so the admin orders the mapping. No match: no role,
and the person is refused with a page that says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.errors import ValidationError

RoleMap = tuple[tuple[str, str], ...]


def parse_role_map(text: str, *, roles: Sequence[str] | None) -> RoleMap:
    """``"group=role, group2=role2"`` as pairs; malformed pairs (and, given ``roles``, unknown
    roles) are refused."""
    pairs: list[tuple[str, str]] = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        value, sep, role = part.rpartition("=")
        value, role = value.strip(), role.strip()
        if not sep or not value or not role:
            raise ValidationError(
                f"FCOPS_SSO_ROLES entry '{part}' must look like claim-value=role (e.g. fcops-ops=ops)."
            )
        if roles is not None and role not in roles:
            raise ValidationError(
                f"FCOPS_SSO_ROLES maps '{value}' to '{role}', which is not a role: use one of "
                f"{', '.join(roles)}."
            )
        pairs.append((value, role))
    return tuple(pairs)


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The claim at ``path`` (dotted for nesting) as a list of strings; [] when absent."""
    node: Any = claims
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return []
        node = node[key]
    if isinstance(node, str):
        return [node]
    if isinstance(node, Sequence):
        return [str(v) for v in node if isinstance(v, str | int)]
    return []


def role_for(claims: Mapping[str, Any], *, claim: str, mapping: RoleMap) -> str | None:
    values = set(claim_values(claims, claim))
    for value, role in mapping:
        if value in values:
            return role
    return None


def sso_username(claims: Mapping[str, Any]) -> str:
    """A stable name for audit rows: ``sso:`` plus the email, else the subject."""
    who = claims.get("email") or claims.get("preferred_username") or claims.get("sub") or "unknown"
    return f"sso:{str(who)[:120]}"


def display_name(claims: Mapping[str, Any]) -> str:
    return str(claims.get("name") or claims.get("email") or claims.get("sub") or "")[:120]


def check_roles(mapping: RoleMap, *, roles: Sequence[str]) -> None:
    """Refuse a mapping that names a role fcops does not have."""
    for value, role in mapping:
        if role not in roles:
            raise ValidationError(
                f"FCOPS_SSO_ROLES maps '{value}' to '{role}', which is not a role: use one of "
                f"{', '.join(roles)}."
            )
