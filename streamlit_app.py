"""The one-process server ``bin/run`` starts: the dashboard, the job engine (DBOS workers) and
``POST /webhooks/stripe`` on the same port, via Streamlit's ``st.App`` (Streamlit 1.67+).

``streamlit run streamlit_app.py`` serves ``dashboard.py`` as usual; at start-up (not on the first
visit) it builds the app, launches DBOS — which resumes any workflow a previous run left
unfinished — and, in sandbox mode, registers this server's webhook URL with the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from streamlit import config

import bootstrap
from services.adapters.webhook_server import PATH, webhook_route
from services.usecases import webhooks


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    from pages import _runtime as runtime

    port = int(config.get_option("server.port") or 8501)
    # In a worker thread: DBOS's synchronous start-up refuses to run on the event loop.
    await asyncio.to_thread(runtime.start, webhook_url=f"http://127.0.0.1:{port}{PATH}")
    yield {}


app = st.App(
    "dashboard.py",
    lifespan=lifespan,
    routes=[webhook_route(bootstrap.webhook_secret, webhooks.receive)],
)
