"""Sign-in that lasts: the browser cookie, restoring from it, expiry, and a logout that forgets.

A Streamlit session lives as long as one browser tab's connection; F5, a new tab or a typed URL
starts a new one. What carries a sign-in across them is a signed cookie (a JWT with the username
and its expiry, the format streamlit-authenticator writes), read here from the request that opened
the session (``st.context.cookies``).

Writing it takes a browser: a hidden component sets ``document.cookie`` once it has mounted. A
rerun right after sign-in would drop that component before it ran (the cause of "no cookie is
ever written"), so the token waits in the session and the writer is drawn on every run until the
browser reports it written; that report is the rerun that opens the app. Logout works the same
way for deleting it.

Log out ends the sign-in in every tab of the browser: each sign-in has a random id (in the cookie
and in the session), Log out records it as ended in the store (``services.usecases.sign_out``),
and every run of every tab asks whether its id has ended before it does anything
(:func:`stands`, through ``pages._person``, and ``pages._runtime.call``). Another browser's
sign-in has its own id and stays.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import extra_streamlit_components
import jwt
import streamlit as st
import streamlit.components.v1 as components

from pages import _runtime as runtime
from services import users
from services.usecases import sign_out as sign_out_case

# Keys this module keeps in st.session_state.
COOKIE_TO_WRITE = "_fcops_cookie_to_write"  # (token, expires_at epoch seconds)
COOKIE_TO_DELETE = "_fcops_cookie_to_delete"
EXPIRES_AT = "_fcops_signed_in_until"  # epoch seconds; the sign-in ends then
STAMP = "_fcops_signed_in_with"  # services.users.session_stamp of the password signed in with
SIGN_IN_ID = "_fcops_sign_in_id"  # this sign-in's id, shared by every tab restored from its cookie
NOTICE = "_fcops_signed_out_notice"  # why the login form shows (signed out in another tab)
ENDED_ELSEWHERE = "You signed out in another tab. Sign in again to continue."
# Why a sign-in ended at a click, said on the login form: only what the person knows already
# (their own account), never who did it or when.
REMOVED = (
    "Your account was removed by an admin, so you were signed out. Ask an admin if you still "
    "need access."
)
PASSWORD_SET = (
    "Your password was set again since you signed in, so you were signed out. Sign in with "
    "your current password."
)
# streamlit-authenticator's keys: who is signed in, and "logged out here" (no cookie restore).
AUTH_KEYS = ("name", "authentication_status", "username", "email", "roles")
LOGGED_OUT = "logout"

# The cookie manager's built frontend (a tiny React app around universal-cookie), declared
# under our own name so we get its answer: True once the browser has set or removed the cookie.
_BUILD = Path(extra_streamlit_components.__file__).parent / "CookieManager" / "frontend" / "build"
_cookie_js = components.declare_component("fcops_cookie", path=str(_BUILD))


def make_token(
    username: str,
    key: str,
    lifetime_days: float,
    now: float | None = None,
    stamp: str = "",
    sign_in_id: str = "",
) -> tuple[str, float]:
    """The signed cookie value for ``username`` and the moment it expires (epoch seconds);
    ``stamp`` binds it to the user's password (:func:`services.users.session_stamp`),
    ``sign_in_id`` names this sign-in (Log out ends it in every tab of the browser)."""
    expires = (time.time() if now is None else now) + lifetime_days * 86_400
    claims = {"username": username, "exp_date": expires, "stamp": stamp}
    if sign_in_id:
        claims["sid"] = sign_in_id
    return jwt.encode(claims, key, algorithm="HS256"), expires


def read_token(
    token: str | None, key: str, now: float | None = None
) -> tuple[str, float, str] | None:
    """(username, expires, stamp) from a cookie value, or None when it is missing, forged or
    expired."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    username, expires = claims.get("username"), claims.get("exp_date")
    if not isinstance(username, str) or not isinstance(expires, (int, float)):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    return username, float(expires), str(claims.get("stamp") or "")


def token_sign_in_id(token: str, key: str) -> str:
    """The sign-in id a cookie carries; for a cookie written before sign-ins had ids, one
    derived from the cookie (every tab of that browser shares it just the same)."""
    try:
        sid = jwt.decode(token, key, algorithms=["HS256"]).get("sid")
    except jwt.PyJWTError:
        sid = None
    return sid if isinstance(sid, str) and sid else sign_out_case.sign_in_id_of_token(token)


def ended_elsewhere() -> bool:
    """Whether this session's sign-in was logged out (in this tab or another, on any replica)."""
    sid = st.session_state.get(SIGN_IN_ID)
    return bool(sid) and sign_out_case.has_ended(runtime.get_app().services, str(sid))


def stands(entry: dict[str, Any] | None, stamp: object, sign_in_id: object) -> bool:
    """Whether a sign-in made with ``stamp`` under ``sign_in_id`` (read from a session earlier)
    is still the user's: made with the password they have now (a password set since, or the
    user removed and added again, ends it), and not logged out in another tab of this browser.
    Callable from any thread (pages._person.on_click)."""
    now = users.session_stamp(entry)
    ended = bool(sign_in_id) and sign_out_case.has_ended(runtime.get_app().services, str(sign_in_id))
    return bool(now) and stamp == now and not ended


def why_ended(entry: dict[str, Any] | None) -> str:
    """Why this session's sign-in is no longer the user's (see :func:`stands`), as the
    login form says it: logged out in another tab, the user removed, or their password set."""
    if ended_elsewhere():
        return ENDED_ELSEWHERE
    if not entry or not users.session_stamp(entry):
        return REMOVED
    return PASSWORD_SET


def _mark_signed_in(username: str, entry: dict[str, Any], expires: float, sign_in_id: str) -> None:
    st.session_state.pop(NOTICE, None)
    st.session_state[SIGN_IN_ID] = sign_in_id
    st.session_state[STAMP] = users.session_stamp(entry)
    st.session_state["authentication_status"] = True
    st.session_state["username"] = username
    st.session_state["name"] = f"{entry.get('first_name', '')} {entry.get('last_name', '')}".strip()
    st.session_state["email"] = entry.get("email")
    st.session_state["roles"] = entry.get("roles")
    st.session_state[LOGGED_OUT] = False
    st.session_state[EXPIRES_AT] = expires


def restore(cookie_name: str, key: str, usernames: dict[str, Any]) -> None:
    """Sign this new session in from the browser's cookie, unless someone logged out here.

    A user removed from the users file since the cookie was written stays signed out, and so
    does a sign-in logged out in another tab whose cookie the browser still holds.
    """
    if st.session_state.get("authentication_status") or st.session_state.get(LOGGED_OUT):
        return
    token = st.context.cookies.get(cookie_name)
    found = read_token(token, key)
    if token is None or found is None or found[0] not in usernames:
        return
    if found[2] != users.session_stamp(usernames[found[0]]):  # its password changed since
        return
    sign_in_id = token_sign_in_id(token, key)
    if sign_out_case.has_ended(runtime.get_app().services, sign_in_id):
        return
    _mark_signed_in(found[0], usernames[found[0]], found[1], sign_in_id)


def cookie_read() -> None:
    """The login form is on screen: :func:`restore` has read the cookie this session opened
    with, and from now on only the form signs this session in."""
    if not st.session_state.get("authentication_status"):
        st.session_state[LOGGED_OUT] = True


def signed_in_by_form(
    username: str, key: str, lifetime_days: float, entry: dict[str, Any] | None
) -> None:
    """After a password sign-in: sign this session in, remember when it ends and which
    password it was made with, and queue the cookie for the browser."""
    stamp = users.session_stamp(entry)
    sign_in_id = sign_out_case.new_sign_in_id()
    token, expires = make_token(username, key, lifetime_days, stamp=stamp, sign_in_id=sign_in_id)
    _mark_signed_in(username, entry or {}, expires, sign_in_id)
    st.session_state[COOKIE_TO_WRITE] = (token, expires)
    st.session_state.pop(COOKIE_TO_DELETE, None)
    st.session_state[LOGGED_OUT] = False


def expired(now: float | None = None) -> bool:
    """True when this session's sign-in has passed its cookie lifetime."""
    until = st.session_state.get(EXPIRES_AT)
    return until is not None and float(until) <= (time.time() if now is None else now)


_SET_KEY = "fcops-cookie-set"
_DELETE_KEY = "fcops-cookie-delete"


def sync_cookie(cookie_name: str) -> bool:
    """Draw the (invisible) cookie writer or deleter while one is queued, until the browser has
    said it is done; call it on every run, signed in or not.

    The browser's answer reruns the script once. That rerun only reads the answer (the widget's
    value) and draws nothing. Returns True on that run: the first one signed in by the form.
    """
    just_written = False
    pending = st.session_state.get(COOKIE_TO_WRITE)
    if pending is not None:
        if st.session_state.get(_SET_KEY):
            st.session_state.pop(COOKIE_TO_WRITE, None)
            just_written = True
        else:
            token, expires = pending
            _cookie_js(
                method="set",
                cookie=cookie_name,
                value=token,
                options={
                    "path": "/",
                    "expires": datetime.fromtimestamp(expires, tz=UTC).isoformat(),
                    "sameSite": "strict",
                },
                key=_SET_KEY,
                default=False,
            )
    if st.session_state.get(COOKIE_TO_DELETE):
        if st.session_state.get(_DELETE_KEY):
            st.session_state.pop(COOKIE_TO_DELETE, None)
        else:
            _cookie_js(method="delete", cookie=cookie_name, key=_DELETE_KEY, default=False)
    return just_written


_FORM_ANYWAY = "_fcops_form_anyway"


def signing_out() -> bool:
    """True while the cookie of the user who just logged out is still in the browser."""
    return bool(st.session_state.get(COOKIE_TO_DELETE)) and not st.session_state.get(_FORM_ANYWAY)


def show_form_anyway() -> None:
    """For a browser that never answers the cookie deleter: show the login form regardless."""
    st.session_state[_FORM_ANYWAY] = True


def log_out(reason: str | None = None) -> None:
    """Forget everything this session holds (every page's results, filters, widget values and
    request keys), stay logged out here even though the request that opened the session still
    carries the cookie, and queue the cookie's removal from the browser.

    When the sign-in ended without this person logging out here (``reason``, from
    :func:`why_ended`; logged out in another tab is always one), say why on the login form and
    leave the cookie alone: that tab removed it already, or the browser has signed in again
    since, and a cookie of an ended sign-in, a removed user or an old password signs nobody in
    (see :func:`restore`). Waiting for its removal showed "Signing out… Continue", then the
    login form with no reason."""
    if ended_elsewhere():
        reason = ENDED_ELSEWHERE
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    for key in AUTH_KEYS:
        st.session_state[key] = None
    st.session_state[LOGGED_OUT] = True
    if reason:
        st.session_state[NOTICE] = reason
    else:
        st.session_state[COOKIE_TO_DELETE] = True


def sign_out() -> None:
    """The Log out button: end this sign-in in every tab of this browser (audited), then
    :func:`log_out` here. Other browsers and devices of the same user stay signed in."""
    actor = runtime.current_actor()
    sign_in_id = str(st.session_state.get(SIGN_IN_ID) or "")
    until = float(st.session_state.get(EXPIRES_AT) or time.time() + 86_400)
    log_out()
    if actor is None:  # it had ended already (log_out said so)
        return
    try:  # not runtime.call: that makes a change as the person signed in now, and nobody is
        sign_out_case.sign_out(runtime.get_app().services, actor, sign_in_id, expires_at=until)
    except Exception as err:  # the page must never show a traceback
        runtime.show_error(err)


def notice() -> None:
    """On the login form: why it shows, when this tab's sign-in ended without a Log out here."""
    message = st.session_state.get(NOTICE)
    if message:
        st.info(message, icon=":material/logout:")
