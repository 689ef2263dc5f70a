"""Shared fixtures: databases (SQLite and PostgreSQL), a running sandbox, service collaborators.

PostgreSQL tests use 127.0.0.1:5432 (database ``test``) or FCOPS_TEST_POSTGRES_URL. Where no
server answers they skip with the reason, except under CI (CI=true), where a missing server fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "FCOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as err:  # any failure means: no usable server here
        return f"PostgreSQL not reachable at {PG_URL.split('@')[-1]} ({err.__class__.__name__})"
    return None


def require_postgres() -> None:
    reason = _postgres_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason}; CI must run the PostgreSQL half of the store tests.")
        pytest.skip(reason)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a private schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    require_postgres()
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    from services.adapters.store import open_store

    eng = open_store(db_url)
    with eng.connect() as conn:
        conn.execute(text("select 1"))
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    from services.adapters.store import open_store

    eng = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def sandbox_handle():  # type: ignore[no-untyped-def]
    """One sandbox for the service tests: small world, refreshes complete immediately."""
    from sandbox.server import start_background

    handle = start_background(
        port=0, seed=11, customers=25, refresh_delay=0, refresh_cooldown=60, check_responses=True
    )
    yield handle
    handle.stop()


def quick_backoff():  # type: ignore[no-untyped-def]
    """The gateway's 429 back-off with its sleeps recorded instead of slept (tests never wait)."""
    from services.adapters.backoff import Backoff

    slept: list[float] = []
    return Backoff(sleep=slept.append), slept


@pytest.fixture
def gateway(sandbox_handle):  # type: ignore[no-untyped-def]
    from bootstrap import SANDBOX_KEY
    from services.adapters.gateway import StripeGateway

    backoff, _ = quick_backoff()
    return StripeGateway(
        SANDBOX_KEY, base_url=sandbox_handle.base_url, max_network_retries=0, backoff=backoff
    )


@pytest.fixture
def simulator(sandbox_handle):  # type: ignore[no-untyped-def]
    from sandbox.client import Simulator

    return Simulator(sandbox_handle.base_url)


@pytest.fixture
def services_ctx(gateway, sqlite_engine):  # type: ignore[no-untyped-def]
    from services.context import Services

    return Services(gateway=gateway, engine=sqlite_engine, mode="sandbox")


@pytest.fixture
def store_svc(gateway, engine):  # type: ignore[no-untyped-def]
    """Services on the parametrized database: the test runs on SQLite and on PostgreSQL."""
    from services.context import Services

    return Services(gateway=gateway, engine=engine, mode="sandbox")


def record_returned_debit(
    engine: Engine, name: str, *, now: int, days_ago: int, code: str, retry_of: str | None = None
) -> str:
    """Stores ``pi_<name>``: cus_rita's $42.00 debit from Gringotts ••4242, made ``days_ago``
    days before ``now``, that came back with ``code`` a day later; ``retry_of``: the debit it
    retries. Returns its ID. The debits Returns' retry link (``?retry=pi_…``) is tested with."""
    from services.usecases.debit_outcomes import record_payment_intent

    day = 86_400
    pm = {
        "id": f"pm_{name}",
        "type": "us_bank_account",
        "us_bank_account": {"bank_name": "Gringotts", "last4": "4242"},
    }
    intent = {
        "id": f"pi_{name}",
        "object": "payment_intent",
        "amount": 4_200,
        "currency": "usd",
        "created": now - days_ago * day,
        "customer": "cus_rita",
        "status": "requires_payment_method",
        "payment_method": pm,
        "last_payment_error": {"code": code, "payment_method": pm},
        "metadata": {"fcops_retry_of": retry_of} if retry_of else {},
    }
    record_payment_intent(engine, intent, at=now - days_ago * day + day)
    return f"pi_{name}"


def actor_for(role: str):  # type: ignore[no-untyped-def]
    from services.auth import Actor

    return Actor(username=f"test-{role}", role=role, name=f"Test {role}")


@pytest.fixture
def ops():  # type: ignore[no-untyped-def]
    return actor_for("ops")


@pytest.fixture
def admin():  # type: ignore[no-untyped-def]
    return actor_for("admin")


@pytest.fixture
def finance():  # type: ignore[no-untyped-def]
    return actor_for("finance")


@pytest.fixture
def manager():  # type: ignore[no-untyped-def]
    return actor_for("manager")
