"""Who the signed-in person is now: the role a change is made with.

A page reads its actor once, at its guard; what runs after that without the page (a fragment's
own run, a widget's callback, a download built on the click in another thread) must not act with
that copy: a user removed or demoted since acted once more with the old role. Every service call
a page makes through ``pages._runtime`` passes its actors through :func:`as_now`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from services.auth import Actor, sign_in_ended
from services.errors import FcopsError

T = TypeVar("T")
Person = Callable[[], Actor | None]  # who this session's sign-in is at the time it is called


def of_session() -> Person:
    """This session's sign-in, read from its state now, as a function that says who it is at the
    moment it is called, from any thread: the users file read then (a role set or a user removed
    since counts), the sign-in still made with the password they have (see
    ``pages._session.stands``) and not logged out in another tab. A single sign-on's role is
    the identity provider's claims'."""
    from pages import _runtime as runtime
    from pages import _session  # imported here: see pages._runtime.current_actor

    if not st.session_state.get("authentication_status"):
        claims = runtime.sso_claims()
        if claims is None:
            return lambda: None
        from services.usecases import sign_in_sso

        sso = sign_in_sso.resolve(claims, runtime.get_app().settings).actor
        return lambda: sso
    username = st.session_state.get("username")
    stamp, sign_in_id = st.session_state.get(_session.STAMP), st.session_state.get(_session.SIGN_IN_ID)

    def now() -> Actor | None:
        if not username:
            return None
        entry = runtime.get_app().credentials.get("usernames", {}).get(username)
        if not entry or not _session.stands(entry, stamp, sign_in_id):  # removed, or re-passworded
            return None
        roles = entry.get("roles") or []
        name = f"{entry.get('first_name', '')} {entry.get('last_name', '')}".strip() or username
        return Actor(username=username, role=roles[0] if roles else "", name=name)

    return now


def acting_as(actor: Actor, person: Person | None = None) -> Actor:
    """The person behind ``actor`` as they are now (``person``: this session's, read now), for a
    change they ask for. When that sign-in no longer stands, the actor every service refuses (and
    audits the refusal of, naming the person): :func:`services.auth.sign_in_ended`."""
    now = (person or of_session())()
    if now is None or now.username != actor.username:
        return sign_in_ended(actor)
    return now


def as_now(
    args: tuple[Any, ...], kwargs: dict[str, Any], person: Person | None = None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``args`` and ``kwargs`` with every actor among them as the person is now (:func:`acting_as`)."""
    if not any(isinstance(a, Actor) for a in (*args, *kwargs.values())):
        return args, kwargs
    person = person or of_session()
    return (
        tuple(acting_as(a, person) if isinstance(a, Actor) else a for a in args),
        {k: acting_as(v, person) if isinstance(v, Actor) else v for k, v in kwargs.items()},
    )


def on_click(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[[], T | str]:
    """``fn(*args, **kwargs)`` for a download built on the click (``st.download_button``'s data):
    Streamlit runs it in another thread, without this session, so the sign-in is read now and the
    actors are the person as they are at the click. An empty file when it fails: the service's
    audit row says why (a refusal), and the server log (anything else)."""
    person = of_session()

    def later() -> T | str:
        try:
            now_args, now_kwargs = as_now(args, kwargs, person)
            return fn(*now_args, **now_kwargs)
        except FcopsError:  # refused or failed: audited by the service
            return ""
        except Exception:  # no page to say it on
            logging.getLogger("fcops.ui").exception("A download could not be built")
            return ""

    return later
