"""Single sign-on role mapping: settings parsing, claim lookup, first match wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.adapters import settings as settings_module
from services.adapters.settings import load_settings
from services.auth import ROLES
from services.errors import ConfigurationError, ValidationError
from services.rules.sso import claim_values, parse_role_map, role_for, sso_username
from services.usecases.sign_in_sso import resolve

MAP = parse_role_map("fcops-admins=admin, fcops-ops=ops; finance-team=finance", roles=ROLES)


def test_the_mapping_keeps_its_order_and_checks_roles() -> None:
    assert MAP == (("fcops-admins", "admin"), ("fcops-ops", "ops"), ("finance-team", "finance"))
    assert parse_role_map("", roles=ROLES) == ()
    assert parse_role_map("cn=ops=ops", roles=ROLES) == (("cn=ops", "ops"),)  # last "=" splits
    with pytest.raises(ValidationError, match="not a role"):
        parse_role_map("x=superuser", roles=ROLES)
    with pytest.raises(ValidationError, match="must look like"):
        parse_role_map("justagroup", roles=ROLES)


@pytest.mark.parametrize(
    ("claims", "claim", "role"),
    [
        ({"groups": ["staff", "fcops-ops"]}, "groups", "ops"),
        ({"groups": ["fcops-ops", "fcops-admins"]}, "groups", "admin"),  # mapping order wins
        ({"groups": "finance-team"}, "groups", "finance"),
        ({"realm_access": {"roles": ["fcops-ops"]}}, "realm_access.roles", "ops"),
        ({"groups": ["staff"]}, "groups", None),
        ({}, "groups", None),
        ({"groups": {"fcops-ops": True}}, "groups", None),
        ({"groups": [None, 7, "fcops-ops"]}, "groups", "ops"),
    ],
)
def test_the_role_comes_from_the_configured_claim(claims: dict, claim: str, role: str | None) -> None:  # type: ignore[type-arg]
    assert role_for(claims, claim=claim, mapping=MAP) == role


def test_names_for_audit_rows() -> None:
    assert sso_username({"email": "a@b.c", "sub": "1"}) == "sso:a@b.c"
    assert sso_username({"sub": "123"}) == "sso:123"
    assert claim_values({"a": {"b": "x"}}, "a.b") == ["x"]


def test_settings_read_the_mapping_and_refuse_a_bad_one(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    s = load_settings({"FCOPS_SSO_ROLES": "g1=ops", "FCOPS_SSO_ROLE_CLAIM": "roles"}, secrets_path=none)
    assert s.sso_enabled and s.sso_roles == (("g1", "ops"),) and s.sso_role_claim == "roles"
    assert not load_settings({}, secrets_path=none).sso_enabled
    with pytest.raises(ConfigurationError, match="must look like"):
        load_settings({"FCOPS_SSO_ROLES": "justagroup"}, secrets_path=none)
    # A role fcops does not have stops the start (the composition root checks the roles).
    import bootstrap

    bad = load_settings({"FCOPS_SSO_ROLES": "g1=root", "FCOPS_DATA_DIR": str(tmp_path)}, secrets_path=none)
    with pytest.raises(ConfigurationError, match="not a role"):
        bootstrap.build_app(bad)


def test_unmapped_people_get_a_sentence_that_names_the_groups(tmp_path: Path) -> None:
    s = load_settings({"FCOPS_SSO_ROLES": "fcops-ops=ops"}, secrets_path=tmp_path / "none.toml")
    refused = resolve({"email": "z@x.io", "name": "Zed", "groups": ["staff"]}, s)
    assert refused.actor is None and "no fcops role" in refused.message and "fcops-ops" in refused.message
    ok = resolve({"email": "a@x.io", "groups": ["fcops-ops"]}, s)
    assert ok.actor is not None and (ok.actor.username, ok.actor.role) == ("sso:a@x.io", "ops")


def test_default_paths_are_in_the_repository() -> None:
    root = Path(__file__).resolve().parents[2]
    assert root / ".streamlit" / "secrets.toml" == settings_module.DEFAULT_SECRETS
    assert root == settings_module.ROOT
