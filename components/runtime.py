"""Streamlit-side glue shared by every page: the app, the signed-in actor, guards, actions.

Caching lives here at the edge (``st.cache_resource`` for the app), so services stay
framework-free.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

import bootstrap
from services.auth import PERMISSIONS, Actor
from services.errors import FcopsError

T = TypeVar("T")
log = logging.getLogger("fcops.ui")

MODE_BADGES = {
    "sandbox": ("Sandbox", "blue", ":material/science:"),
    "test": ("Stripe test mode", "orange", ":material/build:"),
    "live": ("LIVE Stripe", "red", ":material/bolt:"),
}


@st.cache_resource(show_spinner="Starting fcops…")
def _build() -> bootstrap.App:
    return bootstrap.build_app()


def get_app() -> bootstrap.App:
    return _build()


def current_actor() -> Actor | None:
    """The signed-in user, with the role taken from the server-side credentials."""
    if not st.session_state.get("authentication_status"):
        return None
    username = st.session_state.get("username")
    if not username:
        return None
    entry = get_app().credentials.get("usernames", {}).get(username)
    if not entry:
        return None
    roles = entry.get("roles") or []
    role = roles[0] if roles else ""
    name = f"{entry.get('first_name', '')} {entry.get('last_name', '')}".strip() or username
    return Actor(username=username, role=role, name=name)


def guard(permission: str) -> Actor:
    """Stop the page (showing only a message) unless the signed-in role has ``permission``."""
    actor = current_actor()
    if actor is None:
        st.warning("Sign in to see this page.", icon=":material/lock:")
        st.stop()
    assert actor is not None
    if not actor.can(permission):
        allowed = ", ".join(sorted(PERMISSIONS.get(permission, ())))
        st.error(f"Your role ({actor.role}) cannot open this page. It is for: {allowed}.")
        st.stop()
    return actor


def mode_badge() -> None:
    label, color, icon = MODE_BADGES[get_app().mode]
    st.badge(label, color=color, icon=icon)  # type: ignore[arg-type]


def page_header(title: str, caption: str | None = None) -> None:
    """Title plus the mode badge every page shows."""
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.title(title)
    with right:
        mode_badge()
    if caption:
        st.caption(caption)


def show_error(err: BaseException) -> None:
    if isinstance(err, FcopsError):
        st.error(str(err), icon=":material/error:")
    else:
        log.exception("Unexpected error", exc_info=err)
        st.error(
            "Something unexpected went wrong and nothing was changed. The details were written to the "
            "server log; try again, and tell an admin if it keeps happening.",
            icon=":material/error:",
        )


def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Run a service call; on failure show a sentence (never a stack trace) and return None."""
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # the page must never show a traceback
        show_error(err)
        return None


def idempotency_key(scope: str, payload: Any) -> str:
    """A key stable across reruns and double clicks for the same request in this session.

    It changes when the payload changes or when :func:`new_request` starts a fresh request.
    """
    nonce_key = f"_idem_nonce_{scope}"
    if nonce_key not in st.session_state:
        st.session_state[nonce_key] = secrets.token_hex(8)
    blob = json.dumps(payload, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{st.session_state[nonce_key]}|{blob}".encode()).hexdigest()[:32]
    return f"fcops-{scope}-{digest}"


def new_request(scope: str) -> None:
    """Forget the previous request so the next submit creates a new object."""
    st.session_state[f"_idem_nonce_{scope}"] = secrets.token_hex(8)
