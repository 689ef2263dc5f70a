"""The composition root refuses unsafe set-ups before anything reaches Stripe."""

from __future__ import annotations

from pathlib import Path

import pytest

import bootstrap
from services import users
from services.adapters.settings import load_settings
from services.errors import ConfigurationError

TEST_KEY = "sk_test_" + "Q7w" * 8
COOKIE_KEY = "t4Rk9vQ2mZpL8xWc3nYb6HsJ1dFgA5eU"  # random-looking, 32 characters


def _settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    base = {"FCOPS_DATA_DIR": str(tmp_path)}
    base.update(env)
    return load_settings(base, secrets_path=tmp_path / "none.toml")


def test_test_mode_needs_a_cookie_key(tmp_path: Path) -> None:
    users.add_user(tmp_path / "users.yaml", username="alice", password="a long password", role="admin")
    with pytest.raises(ConfigurationError, match="FCOPS_COOKIE_KEY"):
        bootstrap.build_app(_settings(tmp_path, STRIPE_API_KEY=TEST_KEY))


def test_test_mode_refuses_to_start_with_the_demo_credentials(tmp_path: Path) -> None:
    users.ensure_demo_users(tmp_path / "users.yaml")
    with pytest.raises(ConfigurationError, match="demo user"):
        bootstrap.build_app(
            _settings(tmp_path, STRIPE_API_KEY=TEST_KEY, FCOPS_COOKIE_KEY=COOKIE_KEY)
        )


def test_test_mode_starts_with_real_users_and_no_sandbox(tmp_path: Path) -> None:
    users.add_user(tmp_path / "users.yaml", username="alice", password="a long password", role="admin")
    app = bootstrap.build_app(_settings(tmp_path, STRIPE_API_KEY=TEST_KEY, FCOPS_COOKIE_KEY=COOKIE_KEY))
    assert app.mode == "test"
    assert app.simulator is None and app.sandbox is None
    assert app.gateway.base_url is None  # talks to api.stripe.com, not a local sandbox
    assert (tmp_path / "fcops-test.db").exists()
    assert "alice" in app.credentials["usernames"]


def test_sandbox_mode_starts_its_own_sandbox_and_demo_users(tmp_path: Path) -> None:
    app = bootstrap.build_app(
        _settings(tmp_path, FCOPS_SANDBOX_CUSTOMERS="3", FCOPS_SANDBOX_REFRESH_DELAY="0")
    )
    try:
        assert app.mode == "sandbox"
        assert app.gateway.base_url and app.gateway.base_url.startswith("http://127.0.0.1:")
        assert app.simulator is not None and app.simulator.health()["ok"] is True
        assert {"admin", "ops", "finance", "manager"} <= set(app.credentials["usernames"])
        assert len(list(app.gateway.iter_customers())) == 3
    finally:
        app.sandbox.stop()
