"""One fcops job engine and webhook endpoint in this test process, on SQLite (store and DBOS
in files) and again on PostgreSQL (private schemas for the store and for DBOS).

DBOS is a process singleton: the fixture stops whatever engine an earlier test started in this
process and starts one on a fresh data directory and sandbox. These tests run before
tests/browser (the folder name sorts first): Playwright's sync API keeps an event loop running
on the main thread for the rest of the session, and DBOS's synchronous calls refuse to run on a
thread with a running loop.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bootstrap
from services.adapters import jobs as engine
from services.adapters.settings import load_settings
from tests.conftest import PG_URL, require_postgres


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def fcops(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Any]]:
    data = tmp_path_factory.mktemp("fcops-jobs")
    env = {
        "FCOPS_DATA_DIR": str(data),
        "FCOPS_SANDBOX_CUSTOMERS": "12",
        "FCOPS_SANDBOX_SEED": "7",
        "FCOPS_SANDBOX_REFRESH_DELAY": "0",
        "FCOPS_STRIPE_RATE_LIMIT": "50",
    }
    schema = None
    if request.param == "postgres":
        require_postgres()
        import psycopg

        schema = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in PG_URL else "?"
        env["DATABASE_URL"] = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
        env["FCOPS_DBOS_SCHEMA"] = f"{schema}_dbos"
    engine.shutdown()
    bootstrap._background = None
    settings = load_settings(env, secrets_path=Path(data) / "absent.toml")
    app = bootstrap.build_app(settings)
    background = bootstrap.start_background(app)
    yield app, background
    engine.shutdown()
    bootstrap._background = None
    if app.sandbox is not None:
        app.sandbox.stop()
    app.engine.dispose()
    if schema is not None:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}_dbos" CASCADE')


PG_RATE = 5  # Stripe requests/s for the scaled-out tests (slow enough to kill a job mid-run)
PG_CUSTOMERS = 30


@pytest.fixture
def pg_env() -> Iterator[dict[str, str]]:
    """The environment of fcops processes sharing one PostgreSQL (private schemas for the
    store and for DBOS, dropped afterwards), for tests that start several processes."""
    require_postgres()
    import os

    import psycopg

    root = Path(__file__).resolve().parents[2]
    schema = f"t_{secrets.token_hex(6)}"
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    env.update(
        DATABASE_URL=f"{PG_URL}{sep}options=-csearch_path%3D{schema}",
        FCOPS_DBOS_SCHEMA=f"{schema}_dbos",
        FCOPS_STRIPE_RATE_LIMIT=str(PG_RATE),
        FCOPS_SANDBOX_CUSTOMERS=str(PG_CUSTOMERS),
        PYTHONPATH=str(root),
    )
    yield env
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}_dbos" CASCADE')
