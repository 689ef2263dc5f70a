"""Composition root: builds the services from settings, once per server process.

Sandbox mode (no STRIPE_API_KEY) starts the offline Stripe sandbox in this process on a free
loopback port and points the same gateway at it; pages never branch on the mode.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Engine

import services.adapters.job_models  # noqa: F401  (the jobs and webhook tables)
from services import users
from services.adapters import log_masking
from services.adapters.gateway import StripeGateway
from services.adapters.settings import Settings, load_settings
from services.adapters.store import open_store
from services.auth import ROLES
from services.context import Services
from services.errors import ConfigurationError, ValidationError
from services.rules import sso
from services.rules.passwords import cookie_key_problem

log = logging.getLogger("fcops")
SANDBOX_KEY = "sk_test_fcops_sandbox_local"


@dataclass
class App:
    settings: Settings
    services: Services
    # The simulator seam: sandbox.client.Simulator in sandbox mode, else None. It plays the bank
    # customer's part (hooks live Stripe does not have); only pages/_play_customer.py uses it.
    simulator: Any | None
    sandbox: Any | None  # the running sandbox handle in sandbox mode
    cookie_key: str = field(repr=False)

    @property
    def mode(self) -> str:
        return self.settings.mode

    @property
    def credentials(self) -> dict[str, Any]:
        """The users file as it is now (read fresh: the CLI's changes count at once)."""
        return users.credentials(self.settings.users_file)

    @property
    def gateway(self) -> StripeGateway:
        return self.services.gateway

    @property
    def engine(self) -> Engine:
        return self.services.engine


_lock = threading.Lock()


def _database_url(settings: Settings) -> str:
    return settings.resolved_database_url  # the same store the users CLI writes its audit to


def start_sandbox(settings: Settings) -> Any:
    from sandbox.server import start_background

    return start_background(
        port=settings.sandbox_port,
        seed=settings.sandbox_seed,
        customers=settings.sandbox_customers,
        refresh_delay=settings.sandbox_refresh_delay,
    )


def seed_demo_checks(handle: Any, engine: Engine) -> int:
    """The demo world's past pre-debit checks, judged by fcops' rule and kept in the store, so
    "Did our check work?" has verdicts to join with the sandbox's debits (sandbox mode only)."""
    from sandbox.demo.checks import planned_checks
    from services.adapters.check_history import seed_demo

    with handle.state.lock:
        planned = planned_checks(handle.state)
    return seed_demo(engine, planned)


def build_app(settings: Settings | None = None) -> App:
    """Everything the pages need; raises ConfigurationError with a clear message if unusable."""
    log_masking.install()
    settings = settings or load_settings()
    try:
        sso.check_roles(settings.sso_roles, roles=ROLES)
    except ValidationError as err:
        raise ConfigurationError(str(err)) from None
    with _lock:
        if settings.mode == "sandbox":
            from sandbox.client import Simulator

            handle = start_sandbox(settings)
            gateway = StripeGateway(
                SANDBOX_KEY,
                base_url=handle.base_url,
                timeout_seconds=settings.stripe_timeout_seconds,
                max_network_retries=settings.stripe_max_retries,
            )
            simulator: Any | None = Simulator(handle.base_url)
            users.ensure_demo_users(settings.users_file)
            cookie_key = settings.cookie_key or secrets.token_urlsafe(32)
            log.info("fcops: sandbox mode, Stripe sandbox at %s", handle.base_url)
        else:
            handle = None
            simulator = None
            problem = cookie_key_problem(settings.cookie_key)
            if problem:
                raise ConfigurationError(problem)
            users.assert_no_demo_credentials(settings.users_file)
            assert settings.stripe_api_key is not None
            gateway = StripeGateway(
                settings.stripe_api_key,
                timeout_seconds=settings.stripe_timeout_seconds,
                max_network_retries=settings.stripe_max_retries,
            )
            cookie_key = settings.cookie_key
            log.info("fcops: %s mode against Stripe", settings.mode)
        try:
            engine = open_store(_database_url(settings))
        except Exception:
            if handle is not None:  # do not leave the sandbox running behind a failed start
                handle.stop()
            raise
        if handle is not None:
            seed_demo_checks(handle, engine)
        return App(
            settings=replace(settings),
            services=Services(gateway=gateway, engine=engine, mode=settings.mode),
            simulator=simulator,
            sandbox=handle,
            cookie_key=cookie_key,
        )


@dataclass
class Background:
    """What :func:`start_background` started in this process."""

    webhook_url: str | None
    webhook_endpoint_id: str | None
    secret: str = field(default="", repr=False)


_background: Background | None = None


def start_background(
    app: App, *, serve_webhooks: bool = True, webhook_url: str | None = None
) -> Background:
    """Start the job engine (DBOS: recovers unfinished workflows, serves the queues) and the
    webhook endpoint, once per process. In sandbox mode the endpoint registers itself with the
    sandbox through ``webhook_endpoints`` and keeps the signing secret it answers; in test and
    live mode the secret is ``STRIPE_WEBHOOK_SECRET`` (see the README).

    ``webhook_url``: the endpoint is already served elsewhere in this process (the dashboard's
    own server, ``streamlit_app.py``); register that URL instead of starting a server."""
    global _background
    from services.adapters import jobs
    from services.usecases import jobs as job_usecases  # registers the workflows with DBOS
    from services.usecases import jobs_daily, jobs_outcomes, webhooks  # noqa: F401  (workflows)

    with _lock:
        if _background is not None:
            jobs.bind(app.services)
            return _background
        jobs.launch(app.settings, app.services)
        jobs.off_loop(job_usecases.schedule_safety_sync, app.settings.safety_sync_minutes)
        jobs.off_loop(jobs_daily.schedule_nightly_refresh, app.settings.nightly_refresh_hour)
        background = Background(webhook_url=None, webhook_endpoint_id=None)
        background.secret = app.settings.webhook_secret
        if serve_webhooks:
            from services.adapters.webhook_server import serve_in_background
            if webhook_url is None:
                server = serve_in_background(
                    lambda: background.secret,
                    webhooks.receive,
                    host=app.settings.webhook_host,
                    port=app.settings.webhook_port,
                )
                webhook_url = server.url
            background.webhook_url = webhook_url
            if app.mode == "sandbox":
                endpoint = app.gateway.create_webhook_endpoint(
                    webhook_url, webhooks.ENABLED_EVENTS, description="fcops (this process)"
                )
                background.webhook_endpoint_id = str(endpoint["id"])
                background.secret = str(endpoint["secret"])
            log.info("fcops: webhook endpoint at %s", webhook_url)
        _background = background
        return background


def webhook_secret() -> str:
    """The signing secret of this process's endpoint ("" until :func:`start_background`)."""
    return _background.secret if _background is not None else ""
