"""The one-process server ``bin/run`` starts: the dashboard, the job engine (DBOS workers) and
``POST /webhooks/stripe`` on the same port, via Streamlit's ``st.App`` (Streamlit 1.67+).

``streamlit run streamlit_app.py`` serves ``dashboard.py`` as usual; at start-up (not on the first
visit) it builds the app, launches DBOS — which resumes any workflow a previous run left
unfinished — and, in sandbox mode, registers this server's webhook URL with the sandbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from streamlit import config

import bootstrap
from services.adapters.webhook_server import PATH, webhook_route
from services.errors import ConfigurationError
from services.usecases import webhooks

_log = logging.getLogger("fcops")


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    from pages import _runtime as runtime

    port = int(config.get_option("server.port") or 8501)
    try:
        # In a worker thread: DBOS's synchronous start-up refuses to run on the event loop.
        await asyncio.to_thread(runtime.start, webhook_url=f"http://127.0.0.1:{port}{PATH}")
    except ConfigurationError as err:
        # A set-up problem (unreachable database, bad key): keep serving, so whoever opens the
        # dashboard reads the set-up page that says what to fix, instead of a dead port. The
        # message is already masked (no password from a URL or key reaches it).
        _log.error("fcops cannot start yet: %s", err)
    yield {}


app = st.App(
    "dashboard.py",
    lifespan=lifespan,
    routes=[webhook_route(bootstrap.webhook_secret, webhooks.receive)],
)
