"""A planted secret (a DATABASE_URL password, a Stripe key, a client secret) must not appear in
any message, repr, log line, audit row, CLI output or the set-up error page."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services import audit
from services.adapters import log_masking
from services.adapters.settings import load_settings
from services.adapters.store import open_store
from services.auth import Actor
from services.errors import ConfigurationError, StripeUnavailable
from services.rules.secrets import mask_secrets

DB_PASSWORD = "Pl4nted-db-Pa55word"
STRIPE_KEY = "sk_test_51PlantedSecretKeyAbCdEfGh123456"
CLIENT_SECRET = "seti_1AbC_secret_PlantedClientSecret99"
SECRETS = (DB_PASSWORD, STRIPE_KEY, "PlantedSecretKeyAbCdEfGh", "PlantedClientSecret99")
BAD_URL = f"postgresql://fcops:{DB_PASSWORD}@127.0.0.1:1/fcops"  # nothing listens on port 1
ADMIN = Actor(username="alice", role="admin")


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"planted secret leaked: {text!r}"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"connect to {BAD_URL} failed", "postgresql://fcops:***@127.0.0.1:1/fcops"),
        (f"host=db user=fcops password={DB_PASSWORD} dbname=x", "password=***"),
        (f"key {STRIPE_KEY} rejected", "sk_test_***3456"),
        (f"confirm with {CLIENT_SECRET}", "seti_1AbC_secret_***"),
        (f"Authorization: Bearer {STRIPE_KEY}", "Authorization: ***"),
        (f'{{"api_key": "{STRIPE_KEY}"}}', '"api_key": "***'),
    ],
)
def test_mask_secrets_hides_each_kind_and_keeps_the_rest_readable(text: str, kept: str) -> None:
    masked = mask_secrets(text)
    assert_clean(masked)
    assert kept in masked


def test_settings_repr_and_str_show_no_secret(tmp_path: Path) -> None:
    settings = load_settings(
        {"STRIPE_API_KEY": STRIPE_KEY, "DATABASE_URL": BAD_URL, "FCOPS_COOKIE_KEY": "x" + DB_PASSWORD * 2,
         "FCOPS_DATA_DIR": str(tmp_path)},
        secrets_path=tmp_path / "none.toml",
    )
    for text in (repr(settings), str(settings), f"{settings}", repr([settings])):
        assert_clean(text)
        assert "postgresql://fcops:***@127.0.0.1:1/fcops" in text  # still says which database
    assert settings.database_url == BAD_URL  # the real value is still there for the engine


def test_database_errors_show_no_password() -> None:
    for url in (BAD_URL, f"postgresql://fcops:{DB_PASSWORD}@127.0.0.1:notaport/x"):
        with pytest.raises(ConfigurationError) as err:
            open_store(url)
        assert_clean(str(err.value))


def test_log_lines_and_tracebacks_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    log_masking.install()
    log = logging.getLogger("fcops.test")
    with caplog.at_level(logging.INFO):
        log.info("connecting to %s with %s", BAD_URL, STRIPE_KEY)
        try:
            raise RuntimeError(f"boom at {BAD_URL} for {CLIENT_SECRET}")
        except RuntimeError:
            log.exception("failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "connecting to postgresql://fcops:***@" in text and "RuntimeError: boom at" in text
    assert_clean(text)
    assert_clean("\n".join(logging.Formatter().format(r) for r in caplog.records))


def test_audit_rows_hold_no_secret(engine) -> None:  # type: ignore[no-untyped-def]
    ops = Actor(username="omar", role="ops")
    audit.record(engine, actor=ops, action="x.one", target=f"for {STRIPE_KEY}", outcome="ok",
                 params={"url": BAD_URL, "nested": {"note": f"key {STRIPE_KEY}"},
                         "list": [CLIENT_SECRET]},
                 message=f"connected to {BAD_URL}")
    with pytest.raises(StripeUnavailable), audit.audited(engine, actor=ops, action="x.two"):
        raise StripeUnavailable(f"Stripe said no to {STRIPE_KEY} at {BAD_URL}")
    with pytest.raises(RuntimeError), audit.audited(engine, actor=ops, action="x.three"):
        raise RuntimeError(STRIPE_KEY)
    rows = audit.query(engine, actor=ADMIN).rows
    assert len(rows) == 3
    for row in rows:
        assert_clean(repr(row.model_dump()))
    assert "postgresql://fcops:***@" in (rows[-1].message or "")


def test_the_users_command_line_prints_no_secret(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from services import users

    monkeypatch.setenv("FCOPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://fcops:{DB_PASSWORD}@127.0.0.1:notaport/x")
    assert users._cli(["remove", "nobody"]) == 2
    out = capsys.readouterr()
    assert "DATABASE_URL cannot be used" in out.err
    assert_clean(out.out + out.err)


def test_the_set_up_error_page_shows_no_secret(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The router's set-up page, driven by the real composition root with the planted URL."""
    import os

    from streamlit.testing.v1 import AppTest

    import bootstrap
    from pages import _runtime

    env = {**os.environ, "DATABASE_URL": BAD_URL, "FCOPS_DATA_DIR": str(tmp_path),
           "FCOPS_SANDBOX_CUSTOMERS": "2"}
    env.pop("STRIPE_API_KEY", None)
    settings = load_settings(env, secrets_path=tmp_path / "none.toml")
    built: list[object] = []

    def get_app():  # type: ignore[no-untyped-def]
        app = bootstrap.build_app(settings)  # raises: the database cannot be opened
        built.append(app)
        return app

    monkeypatch.setattr(_runtime, "get_app", get_app)
    dashboard = Path(__file__).resolve().parents[2] / "dashboard.py"
    at = AppTest.from_file(str(dashboard), default_timeout=60).run()
    try:
        page = "\n".join(str(e.value) for e in (*at.title, *at.error, *at.caption))
        assert "fcops cannot start" in page and "Could not open the database" in page
        assert_clean(page)
        assert not at.exception
    finally:
        for app in built:  # pragma: no cover - only if the planted URL unexpectedly worked
            app.sandbox.stop()  # type: ignore[attr-defined]
